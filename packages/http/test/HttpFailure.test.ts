import { describe, expect, it } from "@effect/vitest"
import { HttpFailure, Policy } from "@sturdy/http"
import { Data, Duration, Effect, FastCheck, Option } from "effect"
import * as policyClassification from "../src/internal/policyClassification.js"

const request = { method: "GET", url: "https://api.example.com/items?api_key=<redacted>" }
const response = { ...request, headers: { "content-type": "application/json" } }
const status = (code: number): HttpFailure.StatusFailure => {
  const fields = { ...response, status: code, bodyExcerpt: "", payload: Option.none() }
  if (code === 429) return new HttpFailure.RateLimited({ ...fields, retryAfter: Option.some(Duration.seconds(3)) })
  if (code >= 500) return new HttpFailure.ServerError({ ...fields, retryAfter: Option.none() })
  if (code >= 400) return new HttpFailure.ClientError(fields)
  return new HttpFailure.UnexpectedStatus(fields)
}

const connection = (reason: HttpFailure.ConnectionError["reason"]) =>
  new HttpFailure.ConnectionError({ ...request, reason })
const timeout = (phase: HttpFailure.Timeout["phase"]) =>
  new HttpFailure.Timeout({ ...request, phase, timeout: Duration.millis(250) })
const decodeFailures: ReadonlyArray<HttpFailure.HttpFailure> = [
  new HttpFailure.InvalidJson({ ...response, status: 200, detail: "Unexpected end", bodyExcerpt: "{" }),
  new HttpFailure.SchemaMismatch({ ...response, status: 200, path: "$.id", issue: "Expected number", issues: [] }),
  new HttpFailure.BodyTooLarge({ ...response, status: 200, limitBytes: 10, declaredBytes: 20 }),
  new HttpFailure.UnexpectedContentType({ ...response, status: 200, contentType: "text/html", expected: ["+json"] }),
  new HttpFailure.BodyUndecodable({ ...response, status: 200, contentEncoding: "gzip" })
]

describe("HttpFailure", () => {
  it("classifies connection failures by whether the request left the client", () => {
    for (const reason of ["Refused", "DnsLookup", "ConnectTimeout"] as const) {
      expect(HttpFailure.isTransient(connection(reason))).toBe(true)
      expect(HttpFailure.mayHaveReachedServer(connection(reason))).toBe(false)
    }
    expect(HttpFailure.isTransient(connection("Tls"))).toBe(false)
    expect(HttpFailure.mayHaveReachedServer(connection("Tls"))).toBe(false)
    for (const reason of ["Reset", "Unknown"] as const) {
      expect(HttpFailure.isTransient(connection(reason))).toBe(true)
      expect(HttpFailure.mayHaveReachedServer(connection(reason))).toBe(true)
      expect(connection(reason).reachedServer).toBe(true)
    }
  })

  it("a forward proxy that refused the tunnel (reason Proxy): never reached the origin, transient on 502, 503, 504 only", () => {
    const proxy = (proxyStatus: number | undefined) =>
      new HttpFailure.ConnectionError({ ...request, reason: "Proxy", proxyStatus, requestSent: false })
    for (const code of [502, 503, 504]) {
      expect(HttpFailure.isTransient(proxy(code))).toBe(true)
      expect(HttpFailure.isRetryableByDefault(proxy(code))).toBe(true)
      expect(HttpFailure.mayHaveReachedServer(proxy(code))).toBe(false)
      expect(proxy(code).message).toBe(`proxy refused the tunnel (CONNECT answered ${code}): GET ${request.url}`)
    }
    for (const code of [407, 403, 500, undefined]) {
      expect(HttpFailure.isTransient(proxy(code))).toBe(false)
      expect(HttpFailure.isRetryableByDefault(proxy(code))).toBe(false)
      expect(HttpFailure.mayHaveReachedServer(proxy(code))).toBe(false)
    }
    // the proxy's answer is not the origin's: its breaker does not count it, even a 502
    expect(Policy.countsAgainstUpstream(proxy(502))).toBe(false)
    expect(proxy(407).message).toBe(`proxy authentication required (CONNECT answered 407): GET ${request.url}`)
    expect(proxy(undefined).message).toBe(`proxy refused the tunnel: GET ${request.url}`)
  })

  it("a SOCKS5 proxy that refused the connection (proxyReply): transient on 1, 3, 4, 5, 6 only; never counted", () => {
    const socks = (proxyReply: number | undefined) =>
      new HttpFailure.ConnectionError({ ...request, reason: "Proxy", proxyReply, requestSent: false })
    for (const code of [1, 3, 4, 5, 6]) {
      expect(HttpFailure.isTransient(socks(code)), String(code)).toBe(true)
      expect(HttpFailure.isRetryableByDefault(socks(code))).toBe(true)
      expect(HttpFailure.mayHaveReachedServer(socks(code))).toBe(false)
      expect(Policy.countsAgainstUpstream(socks(code))).toBe(false)
    }
    for (const code of [2, 7, 8, 9, 255, undefined]) {
      expect(HttpFailure.isTransient(socks(code)), String(code)).toBe(false)
      expect(HttpFailure.isRetryableByDefault(socks(code))).toBe(false)
      expect(HttpFailure.mayHaveReachedServer(socks(code))).toBe(false)
    }
    expect(socks(4).message).toBe(`SOCKS proxy refused the connection (reply 4: host unreachable): GET ${request.url}`)
    expect(socks(9).message).toBe(`SOCKS proxy refused the connection (reply 9: unassigned): GET ${request.url}`)
  })

  it("a Reset, Unknown or timeout the transport knows was never written (requestSent: false) never reached the server", () => {
    for (const reason of ["Reset", "Unknown"] as const) {
      const unsent = new HttpFailure.ConnectionError({ ...request, reason, requestSent: false })
      expect(HttpFailure.mayHaveReachedServer(unsent)).toBe(false)
      expect(unsent.reachedServer).toBe(false)
      expect(HttpFailure.isTransient(unsent)).toBe(true)
      // a transport that says it wrote the request changes nothing
      expect(
        HttpFailure.mayHaveReachedServer(new HttpFailure.ConnectionError({ ...request, reason, requestSent: true }))
      )
        .toBe(true)
    }
    expect(new HttpFailure.ConnectionError({ ...request, reason: "Reset", requestSent: false }).message).toBe(
      "connection reset before the request was sent: GET https://api.example.com/items?api_key=<redacted>"
    )
    for (const phase of ["Attempt", "Deadline"] as const) {
      const unsent = new HttpFailure.Timeout({ ...request, phase, timeout: Duration.millis(250), requestSent: false })
      expect(HttpFailure.mayHaveReachedServer(unsent)).toBe(false)
      expect(HttpFailure.mayHaveReachedServer(timeout(phase))).toBe(true)
      expect(HttpFailure.isTransient(unsent)).toBe(HttpFailure.isTransient(timeout(phase)))
    }
    expect(
      new HttpFailure.Timeout({ ...request, phase: "Attempt", timeout: Duration.millis(250), requestSent: false })
        .message
    ).toBe(
      "attempt timed out after 250ms before the request was sent: GET https://api.example.com/items?api_key=<redacted>"
    )
  })

  it("classifies credentials that could not be had as never sent; only an unavailable token endpoint as transient", () => {
    const auth = (reason: HttpFailure.AuthenticationFailed["reason"]) =>
      new HttpFailure.AuthenticationFailed({ ...request, reason, detail: "the token endpoint answered 503" })
    expect(HttpFailure.isTransient(auth("Unavailable"))).toBe(true)
    expect(HttpFailure.isTransient(auth("Rejected"))).toBe(false)
    expect(HttpFailure.isTransient(auth("Malformed"))).toBe(false)
    for (const reason of ["Unavailable", "Rejected", "Malformed"] as const) {
      expect(HttpFailure.mayHaveReachedServer(auth(reason))).toBe(false)
      expect(HttpFailure.isHttpFailure(auth(reason))).toBe(true)
      expect(Option.isNone(HttpFailure.retryAfter(auth(reason)))).toBe(true)
    }
    expect(auth("Rejected").message).toBe(
      "credentials refused, request not sent (the token endpoint answered 503): " +
        "GET https://api.example.com/items?api_key=<redacted>"
    )
  })

  it("retries attempt and body timeouts but not a spent deadline", () => {
    expect(HttpFailure.isTransient(timeout("Attempt"))).toBe(true)
    expect(HttpFailure.isTransient(timeout("BodyRead"))).toBe(true)
    expect(HttpFailure.isTransient(timeout("Deadline"))).toBe(false)
    expect(timeout("BodyRead").message).toBe(
      "body read timed out after 250ms: GET https://api.example.com/items?api_key=<redacted>"
    )
  })

  it("treats 408, 425, 429 and 5xx other than 501/505/511 as transient", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.integer({ min: 300, max: 599 }), (code) => {
        const expected = code === 408 || code === 425 || code === 429 ||
          (code >= 500 && ![501, 505, 511].includes(code))
        return HttpFailure.isTransient(status(code)) === expected && HttpFailure.mayHaveReachedServer(status(code))
      }),
      { seed: 42, numRuns: 500 }
    )
  })

  it("425 Too Early is transient, though Policy leaves it out of its default retries", () => {
    expect(HttpFailure.isTransient(status(425))).toBe(true)
    expect(HttpFailure.isRetryableByDefault(status(425))).toBe(false)
  })

  it("never retries decode failures or invalid requests, but retries a truncated body", () => {
    for (const failure of decodeFailures) {
      expect(HttpFailure.isTransient(failure)).toBe(false)
      expect(HttpFailure.mayHaveReachedServer(failure)).toBe(true)
    }
    const truncated = new HttpFailure.BodyTruncated({
      ...response,
      status: 200,
      receivedBytes: 5,
      expectedBytes: 10
    })
    expect(HttpFailure.isTransient(truncated)).toBe(true)
    expect(truncated.message).toContain("(5 of 10 bytes)")
    for (const failure of decodeFailures) expect(HttpFailure.isRetryableByDefault(failure)).toBe(false)
    expect(new HttpFailure.BodyUndecodable({ ...response, status: 200, contentEncoding: "br" }).message).toBe(
      "response body does not decode as Content-Encoding br: 200 GET https://api.example.com/items?api_key=<redacted>"
    )
    const invalid = new HttpFailure.InvalidRequest({ ...request, reason: "InvalidHeader", detail: "x" })
    expect(HttpFailure.isTransient(invalid)).toBe(false)
    expect(HttpFailure.mayHaveReachedServer(invalid)).toBe(false)
  })

  it("a line's decode failure keeps its line field through toJSON and Policy's copy; its message is unchanged", () => {
    const fields = { ...response, status: 200 }
    const invalid = new HttpFailure.InvalidJson({
      ...fields,
      detail: "line 7: Unexpected end",
      bodyExcerpt: "{",
      line: 7
    })
    const mismatch = new HttpFailure.SchemaMismatch({
      ...fields,
      path: "$.id",
      issue: "line 0: Expected number",
      issues: [{ path: "$.id", message: "Expected number" }],
      line: 0
    })
    for (const [failure, line] of [[invalid, 7], [mismatch, 0]] as const) {
      expect(failure.line).toBe(line)
      expect(failure.message).toContain(`line ${line}: `)
      expect(failure.message).not.toMatch(new RegExp(`line ${line}.*line ${line}`))
      expect(JSON.parse(JSON.stringify(failure))).toMatchObject({ _tag: failure._tag, line })
      // classified as the whole body's failure is: permanent, not retried
      expect(HttpFailure.isTransient(failure)).toBe(false)
      expect(HttpFailure.isRetryableByDefault(failure)).toBe(false)
      // the copy Policy makes to record the attempts keeps it
      const copy = policyClassification.withAttempts(failure, 2)
      expect(copy).toMatchObject({ _tag: failure._tag, line, attempts: 2 })
      expect(JSON.parse(JSON.stringify(copy))).toMatchObject({ line, attempts: 2 })
    }
    // a whole body's failure has none, and none shows in its JSON
    const whole = new HttpFailure.InvalidJson({ ...fields, detail: "Unexpected end", bodyExcerpt: "{" })
    expect(whole.line).toBeUndefined()
    expect(Object.keys(JSON.parse(JSON.stringify(whole)))).not.toContain("line")
  })

  it("exposes the server's requested wait only for rate limits and server errors", () => {
    expect(HttpFailure.retryAfter(status(429))).toEqual(Option.some(Duration.seconds(3)))
    expect(HttpFailure.retryAfter(status(503))).toEqual(Option.none())
    expect(HttpFailure.retryAfter(status(404))).toEqual(Option.none())
    expect(HttpFailure.retryAfter(timeout("Attempt"))).toEqual(Option.none())
  })

  it("recognises its own failures only", () => {
    expect(HttpFailure.isHttpFailure(status(404))).toBe(true)
    expect(HttpFailure.isHttpFailure(timeout("Deadline"))).toBe(true)
    expect(HttpFailure.isHttpFailure(new Error("x"))).toBe(false)
    expect(HttpFailure.isHttpFailure({ _tag: "Timeout" })).toBe(false)
    class OtherTimeout extends Data.TaggedError("Timeout")<{}> {}
    expect(HttpFailure.isHttpFailure(new OtherTimeout())).toBe(false)
  })

  it("names status, method and URL in the message", () => {
    expect(status(404).message).toBe("404 Not Found GET https://api.example.com/items?api_key=<redacted>")
    expect(connection("Refused").message).toBe(
      "connection refused: GET https://api.example.com/items?api_key=<redacted>"
    )
  })

  it("a timeout names its limit, and a transport's limit of unknown length as such rather than as zero", () => {
    const timeout = (phase: HttpFailure.Timeout["phase"], millis: number) =>
      new HttpFailure.Timeout({ method: "GET", url: "https://x.test/", phase, timeout: Duration.millis(millis) })
    expect(timeout("Attempt", 2000).message).toBe("attempt timed out after 2s: GET https://x.test/")
    expect(timeout("BodyRead", 1500).message).toBe("body read timed out after 1s 500ms: GET https://x.test/")
    expect(timeout("Attempt", 0).message).toBe("attempt timed out on the transport's own limit: GET https://x.test/")
    expect(timeout("BodyRead", 0).message).toBe("body read timed out on the transport's own limit: GET https://x.test/")
    // a deadline already spent when the call began is a limit of zero indeed
    expect(timeout("Deadline", 0).message).toBe("deadline timed out after 0: GET https://x.test/")
  })

  it.effect("lets callers handle each kind with catchTags", () =>
    Effect.gen(function*() {
      const failing: Effect.Effect<string, HttpFailure.HttpFailure> = Effect.fail(status(429))
      const handled = yield* failing.pipe(
        Effect.catchTags({
          RateLimited: (e) => Effect.succeed(`wait ${Duration.format(Option.getOrThrow(e.retryAfter))}`),
          ClientError: () => Effect.succeed("client"),
          ServerError: () => Effect.succeed("server")
        }),
        Effect.orElseSucceed(() => "other")
      )
      expect(handled).toBe("wait 3s")
    }))

  describe("isRetryableByDefault", () => {
    const tooLarge = (headers: Record<string, string>) =>
      new HttpFailure.ClientError({ ...request, headers, status: 413, bodyExcerpt: "", payload: Option.none() })

    it("retries what a server may answer differently next time, and nothing a repeat cannot change", () => {
      const retried = [408, 429, 500, 502, 503, 504, 507, 520, 521, 522, 524, 599].map(status)
      const notRetried = [400, 401, 403, 404, 405, 409, 410, 413, 418, 422, 425, 451, 501, 505, 511, 304].map(status)
      for (const failure of retried) {
        expect([failure.status, HttpFailure.isRetryableByDefault(failure)]).toEqual([failure.status, true])
      }
      for (const failure of notRetried) {
        expect([failure.status, HttpFailure.isRetryableByDefault(failure)]).toEqual([failure.status, false])
      }
      for (const reason of ["Refused", "DnsLookup", "ConnectTimeout", "Reset", "Unknown"] as const) {
        expect(HttpFailure.isRetryableByDefault(connection(reason))).toBe(true)
      }
      expect(HttpFailure.isRetryableByDefault(connection("Tls"))).toBe(false)
      expect(HttpFailure.isRetryableByDefault(timeout("Attempt"))).toBe(true)
      expect(HttpFailure.isRetryableByDefault(timeout("Deadline"))).toBe(false)
      for (const failure of decodeFailures) expect(HttpFailure.isRetryableByDefault(failure)).toBe(false)
    })

    it("retries a 413 only when its server named a wait", () => {
      expect(HttpFailure.isRetryableByDefault(tooLarge({ "retry-after": "5" }))).toBe(true)
      expect(HttpFailure.isRetryableByDefault(tooLarge({ "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" }))).toBe(true)
      expect(HttpFailure.isRetryableByDefault(tooLarge({ "ratelimit-reset": "5" }))).toBe(true)
      expect(HttpFailure.isRetryableByDefault(tooLarge({ "retry-after": "soon" }))).toBe(false)
      expect(HttpFailure.isRetryableByDefault(tooLarge({ "ratelimit-remaining": "2", "ratelimit-reset": "5" }))).toBe(
        false
      )
      expect(HttpFailure.isRetryableByDefault(tooLarge({}))).toBe(false)
    })

    it("the server's word (x-should-retry, Stripe-Should-Retry) decides a status failure, never a body failure", () => {
      const said = (headers: Record<string, string>) => ({ ...response, headers: { ...response.headers, ...headers } })
      const yes = said({ "x-should-retry": "true" })
      const no = said({ "x-should-retry": "false" })
      expect(
        HttpFailure.isRetryableByDefault(
          new HttpFailure.ClientError({ ...yes, status: 400, bodyExcerpt: "", payload: Option.none() })
        )
      )
        .toBe(true)
      expect(
        HttpFailure.isRetryableByDefault(
          new HttpFailure.ServerError({
            ...no,
            status: 503,
            bodyExcerpt: "",
            payload: Option.none(),
            retryAfter: Option.none()
          })
        )
      ).toBe(false)
      // a 200 whose body does not decode: OpenAI's and Stripe's SDKs never read the header of a response that
      // succeeded by status, and Policy never retries a decode or schema failure
      const bodies = [
        new HttpFailure.InvalidJson({ ...yes, status: 200, detail: "Unexpected end", bodyExcerpt: "{" }),
        new HttpFailure.SchemaMismatch({ ...yes, status: 200, path: "$.id", issue: "Expected number", issues: [] })
      ]
      for (const failure of bodies) {
        expect(HttpFailure.isRetryableByDefault(failure)).toBe(false)
        expect(Policy.isRetryableByDefault(failure)).toBe(false)
      }
      const truncated = new HttpFailure.BodyTruncated({ ...no, status: 200, receivedBytes: 5, expectedBytes: 10 })
      expect(HttpFailure.isRetryableByDefault(truncated)).toBe(true)
    })

    it("an unreadable x-should-retry is no word: a readable Stripe-Should-Retry decides", () => {
      const failure = (headers: Record<string, string>) =>
        new HttpFailure.ClientError({ ...request, headers, status: 409, bodyExcerpt: "", payload: Option.none() })
      expect(HttpFailure.isRetryableByDefault(failure({ "x-should-retry": "maybe", "stripe-should-retry": "true" })))
        .toBe(true)
      expect(HttpFailure.isRetryableByDefault(failure({ "x-should-retry": "false", "stripe-should-retry": "true" })))
        .toBe(false)
      expect(HttpFailure.isRetryableByDefault(failure({ "x-should-retry": "maybe" }))).toBe(false)
    })

    it.prop(
      "is Policy's default predicate",
      [FastCheck.integer({ min: 100, max: 599 }), FastCheck.constantFrom({}, { "retry-after": "3" })],
      ([code, headers]) => {
        const failure = code === 413 ? tooLarge(headers) : status(code)
        expect(HttpFailure.isRetryableByDefault(failure)).toBe(Policy.isRetryableByDefault(failure))
      },
      { fastCheck: { seed: 3, numRuns: 300 } }
    )
  })
})
