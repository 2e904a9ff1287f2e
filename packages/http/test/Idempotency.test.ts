import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { HttpFailure, Idempotency } from "@sturdy/http"
import { Duration, Effect, FastCheck, Option } from "effect"

const url = "https://api.test/orders"
const refused = new HttpFailure.ConnectionError({ method: "POST", url, reason: "Refused" })
const dns = new HttpFailure.ConnectionError({ method: "POST", url, reason: "DnsLookup" })
const reset = new HttpFailure.ConnectionError({ method: "POST", url, reason: "Reset" })
const unavailable = new HttpFailure.ServerError({
  method: "POST",
  url,
  status: 503,
  headers: {},
  bodyExcerpt: "",
  payload: Option.none(),
  retryAfter: Option.none()
})
const timedOut = new HttpFailure.Timeout({ method: "POST", url, phase: "Attempt", timeout: Duration.seconds(1) })

describe("Idempotency", () => {
  it("TRACE is one of Sturdy's methods, no cast needed, and idempotent in any case", () => {
    const methods: ReadonlyArray<Idempotency.Method> = ["TRACE", "GET", "HEAD", "OPTIONS", "PUT", "DELETE"]
    for (const method of methods) {
      expect(Idempotency.isIdempotentMethod(method)).toBe(true)
      expect(Idempotency.isIdempotentMethod(method.toLowerCase())).toBe(true)
    }
    expect(["POST", "patch"].map(Idempotency.isIdempotentMethod)).toEqual([false, false])
  })

  it("the RFC 9110 idempotent methods are safe to repeat, POST and PATCH are not", () => {
    for (const method of ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"] as const) {
      expect(Idempotency.isIdempotent(HttpClientRequest.make(method)(url))).toBe(true)
    }
    expect(Idempotency.idempotentMethods.has("TRACE")).toBe(true)
    expect(Idempotency.isIdempotent(HttpClientRequest.post(url))).toBe(false)
    expect(Idempotency.isIdempotent(HttpClientRequest.patch(url))).toBe(false)
  })

  it("an Idempotency-Key makes any method safe to repeat; an empty one does not", () => {
    const keyed = HttpClientRequest.post(url, { headers: { "Idempotency-Key": "abc" } })
    expect(Idempotency.hasKey(keyed)).toBe(true)
    expect(Idempotency.isIdempotent(keyed)).toBe(true)
    expect(Idempotency.hasKey(HttpClientRequest.post(url, { headers: { "idempotency-key": "" } }))).toBe(false)
  })

  it("a failure that proves the request never left makes any request safe to repeat", () => {
    const post = HttpClientRequest.post(url)
    expect(Idempotency.isSafeToRepeat(post, refused)).toBe(true)
    expect(Idempotency.isSafeToRepeat(post, dns)).toBe(true)
    expect(Idempotency.isSafeToRepeat(post, reset)).toBe(false)
    expect(Idempotency.isSafeToRepeat(post, unavailable)).toBe(false)
    expect(Idempotency.isSafeToRepeat(post, timedOut)).toBe(false)
    expect(Idempotency.isSafeToRepeat(HttpClientRequest.put(url), unavailable)).toBe(true)
  })

  it.effect("ensureKey adds a UUID to POST and PATCH only, and keeps a key already there", () =>
    Effect.gen(function*() {
      const post = yield* Idempotency.ensureKey(HttpClientRequest.post(url))
      expect(post.headers[Idempotency.headerName]).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
      )
      const patch = yield* Idempotency.ensureKey(HttpClientRequest.patch(url))
      expect(patch.headers[Idempotency.headerName]).not.toBe(post.headers[Idempotency.headerName])
      const get = yield* Idempotency.ensureKey(HttpClientRequest.get(url))
      expect(get.headers[Idempotency.headerName]).toBeUndefined()
      const mine = yield* Idempotency.ensureKey(HttpClientRequest.post(url, { headers: { "Idempotency-Key": "k" } }))
      expect(mine.headers[Idempotency.headerName]).toBe("k")
    }))

  it("generated keys do not repeat", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.integer({ min: 2, max: 200 }), (count) => {
        const keys = new Set(Array.from({ length: count }, () => Effect.runSync(Idempotency.generateKey)))
        return keys.size === count
      }),
      { seed: 42, numRuns: 20 }
    )
  })

  it("QUERY (safe, idempotent, with a body) is treated like GET: safe to repeat after any failure", () => {
    const query = HttpClientRequest.make("QUERY" as "GET")("https://api.test/search").pipe(
      HttpClientRequest.bodyUnsafeJson({ q: "ada" })
    )
    expect(Idempotency.idempotentMethods.has("QUERY")).toBe(true)
    expect(Idempotency.isIdempotent(query)).toBe(true)
    expect(Idempotency.isSafeToRepeat(query, unavailable)).toBe(true)
    expect(Idempotency.isSafeToRepeat(query, reset)).toBe(true)
    expect(Idempotency.isSafeToRepeat(HttpClientRequest.post("https://api.test/search"), reset)).toBe(false)
  })

  it("isIdempotent reads the method case-insensitively, as isIdempotentMethod does", () => {
    for (const method of ["get", "Put", "delete", "trace", "query"]) {
      const request = HttpClientRequest.make(method as "GET")(url)
      expect(Idempotency.isIdempotentMethod(method)).toBe(true)
      expect(Idempotency.isIdempotent(request)).toBe(true)
      expect(Idempotency.isSafeToRepeat(request, unavailable)).toBe(true)
      expect(Effect.runSync(Idempotency.ensureKey(request))).toBe(request)
    }
    expect(Idempotency.isIdempotent(HttpClientRequest.make("post" as "GET")(url))).toBe(false)
  })

  it("a key of spaces and tabs is no key", () => {
    for (const value of [" ", "  ", "\t", " \t "]) {
      const request = HttpClientRequest.post(url, { headers: { "Idempotency-Key": value } })
      expect(Idempotency.hasKey(request)).toBe(false)
      expect(Idempotency.isIdempotent(request)).toBe(false)
      expect(Idempotency.isSafeToRepeat(request, reset)).toBe(false)
      const ensured = Effect.runSync(Idempotency.ensureKey(request))
      expect(ensured.headers[Idempotency.headerName]).toMatch(/^[0-9a-f-]{36}$/)
    }
    // a key with spaces around it is still a key
    expect(Idempotency.hasKey(HttpClientRequest.post(url, { headers: { "Idempotency-Key": " k " } }))).toBe(true)
  })
})
