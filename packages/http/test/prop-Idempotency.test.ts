// Properties of `Idempotency` (packages/http/src/Idempotency.ts) against a model written from its docs: the module's
// table (GET, HEAD, OPTIONS, TRACE, PUT, DELETE and QUERY repeat after any failure; POST, PATCH and any other method
// only with an `Idempotency-Key`; any request after a failure that proves it never left, `mayHaveReachedServer`
// false, whose list is HttpFailure's table), `isIdempotentMethod` ("case-insensitive"), `hasKey` ("a non-empty
// `Idempotency-Key`"), `ensureKey` (a fresh key on a non-idempotent request that has none, others unchanged),
// `generateKey` (`crypto.randomUUID()`: a version-4 UUID) and "a key is generated once per logical request and sent
// unchanged with every attempt", checked through `Policy` over `@sturdy/testing`'s ScriptedClient (its request log)
// on the TestClock.
//
// The model reads a method case-insensitively everywhere, as `isIdempotentMethod` is documented to, `Policy`'s
// `retry.methods` reads its list and `Telemetry` labels methods; and a header value as HTTP reads it (RFC 9110 §5.5:
// a field value has no leading or trailing spaces or tabs, which clients drop), so a key of spaces is no key.
//
// Found and fixed (regressions in Idempotency.test.ts):
// - "isIdempotent reads the method case-insensitively, as isIdempotentMethod does": `isIdempotent` (and so
//   `isSafeToRepeat`, `ensureKey` and Policy's retries) took a lower-case `get` for a method that is not safe to
//   repeat, while `isIdempotentMethod("get")` said it is;
// - "a key of spaces and tabs is no key": `hasKey` counted an `Idempotency-Key` of spaces, which reaches the server
//   empty, so a POST was repeated with no key the server could recognise.
//
// Left out: one-shot bodies (Policy.test.ts), the key header of hedged copies (prop-Policy.test.ts covers keyed
// retries of a scripted call; this file varies the key's spelling and the failures before the success).
//
// Mutation checks (each made the named property fail; the source was restored from a copy):
// - `isIdempotent` back to a case-sensitive lookup → "methods ...";
// - `hasKey` counting any non-empty value → "hasKey ...";
// - `ensureKey` deciding by a case-sensitive method lookup → "ensureKey ...";
// - Policy's keyed stage generating a key per attempt (internal/policy.ts `start`) → "through Policy ...".
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { HttpFailure, Idempotency, Policy } from "@sturdy/http"
import { FaultScript, ScriptedClient } from "@sturdy/testing"
import { Duration, Effect, Exit, FastCheck as fc, Fiber, Option, TestClock, TestContext } from "effect"

const url = "https://api.test/orders"

// -----------------------------------------------------------------------------
// the model
// -----------------------------------------------------------------------------

const tableIdempotent = ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "QUERY"]
const standard = [...tableIdempotent, "POST", "PATCH", "CONNECT"]

const modelIdempotentMethod = (method: string) => tableIdempotent.includes(method.toUpperCase())
/** A field value as HTTP reads it: without the spaces and tabs around it. */
const modelHasKey = (value: string | undefined) => value !== undefined && value.replace(/^[ \t]+|[ \t]+$/g, "") !== ""
const modelIdempotent = (method: string, key: string | undefined) => modelIdempotentMethod(method) || modelHasKey(key)

/** HttpFailure's table: the failures that prove the request never left. */
type FailureKind =
  | { readonly _tag: "ConnectionError"; readonly reason: HttpFailure.ConnectionError["reason"] }
  | { readonly _tag: "Timeout"; readonly phase: "Attempt" | "BodyRead" | "Deadline" }
  | { readonly _tag: "ServerError"; readonly status: number }
  | { readonly _tag: "ClientError"; readonly status: number }

const neverLeft = (kind: FailureKind) =>
  kind._tag === "ConnectionError" &&
  (kind.reason === "Refused" || kind.reason === "DnsLookup" || kind.reason === "ConnectTimeout" ||
    kind.reason === "Tls")

const failureOf = (kind: FailureKind, method: string): HttpFailure.HttpFailure => {
  switch (kind._tag) {
    case "ConnectionError":
      return new HttpFailure.ConnectionError({ method, url, reason: kind.reason })
    case "Timeout":
      return new HttpFailure.Timeout({ method, url, phase: kind.phase, timeout: Duration.seconds(1) })
    case "ServerError":
    case "ClientError": {
      const fields = {
        method,
        url,
        status: kind.status,
        headers: {},
        bodyExcerpt: "",
        payload: Option.none(),
        retryAfter: Option.none()
      }
      return kind._tag === "ServerError" ? new HttpFailure.ServerError(fields) : new HttpFailure.ClientError(fields)
    }
  }
}

// -----------------------------------------------------------------------------
// generators
// -----------------------------------------------------------------------------

/** A string in a random mix of cases. */
const anyCase = (text: string) =>
  fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length }).map((upper) =>
    [...text].map((ch, i) => upper[i] ? ch.toUpperCase() : ch.toLowerCase()).join("")
  )

const tokenChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~"
const methodArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...standard).chain(anyCase) },
  // an unknown method (an HTTP token), e.g. PURGE, BREW
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.constantFrom(...tokenChars), minLength: 1, maxLength: 8 })
  },
  { weight: 1, arbitrary: fc.constantFrom("PURGE", "purge", "BREW", "GETS", "XGET", "PUTT", "QUERY2") }
)

const keyValueArb = fc.oneof(
  fc.constant(""),
  fc.constantFrom(" ", "  ", "\t", " \t "),
  fc.constantFrom("k-1", " k-2 ", "\tabc", "3b241101-e2bb-4255-8caf-4136c566a962"),
  fc.string({ unit: fc.constantFrom(..."ab1 -\t"), minLength: 1, maxLength: 6 })
)
const keyHeaderArb = fc.option(fc.tuple(anyCase("Idempotency-Key"), keyValueArb), { nil: undefined })

const failureKindArb: fc.Arbitrary<FailureKind> = fc.oneof(
  fc.constantFrom<HttpFailure.ConnectionError["reason"]>(
    "Refused",
    "DnsLookup",
    "ConnectTimeout",
    "Tls",
    "Reset",
    "Unknown"
  ).map((reason) => ({ _tag: "ConnectionError" as const, reason })),
  fc.constantFrom("Attempt" as const, "BodyRead" as const, "Deadline" as const).map((phase) => ({
    _tag: "Timeout" as const,
    phase
  })),
  fc.constantFrom(500, 502, 503, 504).map((status) => ({ _tag: "ServerError" as const, status })),
  fc.constantFrom(400, 408, 409, 422).map((status) => ({ _tag: "ClientError" as const, status }))
)

const requestOf = (method: string, key: readonly [string, string] | undefined) =>
  HttpClientRequest.make(method as "GET")(url, key === undefined ? {} : { headers: { [key[0]]: key[1] } })

// -----------------------------------------------------------------------------
// properties
// -----------------------------------------------------------------------------

describe("Idempotency: methods and keys against the doc table", () => {
  it("methods: the table's methods are idempotent in any case, every other method is not", () =>
    fc.assert(
      fc.property(methodArb, (method) => {
        const expected = modelIdempotentMethod(method)
        expect(Idempotency.isIdempotentMethod(method), method).toBe(expected)
        // a request is idempotent by its method as isIdempotentMethod reads it (no key here)
        expect(Idempotency.isIdempotent(requestOf(method, undefined)), method).toBe(expected)
        // the constant lists the table's methods, upper-case
        expect([...Idempotency.idempotentMethods].sort()).toEqual([...tableIdempotent].sort())
      }),
      { seed: 7101, numRuns: 400 }
    ))

  it("hasKey: a key in any header case counts when it is not empty once spaces and tabs are dropped", () =>
    fc.assert(
      fc.property(methodArb, keyHeaderArb, (method, key) => {
        const request = requestOf(method, key)
        expect(Idempotency.hasKey(request), JSON.stringify(key)).toBe(modelHasKey(key?.[1]))
        expect(Idempotency.isIdempotent(request), `${method} ${JSON.stringify(key)}`).toBe(
          modelIdempotent(method, key?.[1])
        )
      }),
      { seed: 7102, numRuns: 400 }
    ))

  it("isSafeToRepeat: an idempotent request after any failure, any request after one that proves it never left", () =>
    fc.assert(
      fc.property(methodArb, keyHeaderArb, failureKindArb, (method, key, kind) => {
        const failure = failureOf(kind, method)
        expect(HttpFailure.mayHaveReachedServer(failure), JSON.stringify(kind)).toBe(!neverLeft(kind))
        expect(
          Idempotency.isSafeToRepeat(requestOf(method, key), failure),
          `${method} ${JSON.stringify(key)} ${JSON.stringify(kind)}`
        ).toBe(modelIdempotent(method, key?.[1]) || neverLeft(kind))
      }),
      { seed: 7103, numRuns: 500 }
    ))

  it.effect("ensureKey: a fresh UUID on a request that needs one; any other request, its key included, unchanged", () =>
    Effect.gen(function*() {
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
      const samples = fc.sample(fc.tuple(methodArb, keyHeaderArb), { seed: 7104, numRuns: 300 })
      const generated = new Set<string>()
      for (const [method, key] of samples) {
        const request = requestOf(method, key)
        const ensured = yield* Idempotency.ensureKey(request)
        const label = `${method} ${JSON.stringify(key)}`
        if (modelIdempotent(method, key?.[1])) {
          expect(ensured, label).toBe(request)
        } else {
          const value = ensured.headers[Idempotency.headerName]
          expect(value, label).toMatch(uuid)
          expect(generated.has(value!), label).toBe(false)
          generated.add(value!)
          expect(Idempotency.hasKey(ensured)).toBe(true)
          // the method, URL and other headers are the request's
          expect(ensured.method).toBe(request.method)
          expect(ensured.url).toBe(request.url)
          // ensureKey once is enough: a second call keeps the key
          expect((yield* Idempotency.ensureKey(ensured)).headers[Idempotency.headerName]).toBe(value)
        }
      }
      expect(generated.size).toBeGreaterThan(50)
    }))

  it("generateKey: version-4 UUIDs, lower-case, none repeated in a batch", () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), (count) => {
        const keys = Array.from({ length: count }, () => Effect.runSync(Idempotency.generateKey))
        for (const key of keys) {
          expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        }
        expect(new Set(keys).size).toBe(count)
      }),
      { seed: 7105, numRuns: 30 }
    ))
})

// -----------------------------------------------------------------------------
// through Policy
// -----------------------------------------------------------------------------

interface Scenario {
  readonly method: "POST" | "PATCH" | "post"
  /** the caller's own key (header spelling, value), if any */
  readonly key: readonly [string, string] | undefined
  readonly idempotencyKey: boolean
  /** failures before the success; each one retried */
  readonly failures: ReadonlyArray<"503" | "reset" | "429">
  readonly calls: number
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  method: fc.constantFrom("POST" as const, "PATCH" as const, "post" as const),
  key: fc.option(fc.tuple(anyCase("Idempotency-Key"), fc.constantFrom("k-1", "order-42", "3b241101")), {
    nil: undefined
  }),
  idempotencyKey: fc.boolean(),
  failures: fc.array(fc.constantFrom("503" as const, "reset" as const, "429" as const), { maxLength: 3 }),
  calls: fc.integer({ min: 1, max: 3 })
})

const faultOf = (failure: Scenario["failures"][number]): FaultScript.Fault =>
  failure === "503"
    ? FaultScript.status(503)
    : failure === "429"
    ? FaultScript.status(429, { retryAfter: "0" })
    : FaultScript.reset("beforeHeaders")

const play = (s: Scenario) =>
  Effect.gen(function*() {
    const steps = [...s.failures.map(faultOf), FaultScript.json({ ok: true })] as [FaultScript.Fault]
    const scripted = yield* ScriptedClient.make(FaultScript.routes({ "* /orders": FaultScript.cycle(...steps) }))
    const policy = yield* Policy.make({
      retry: {
        maxAttempts: 4,
        baseDelay: "1 millis",
        maxDelay: "1 millis",
        jitter: "none",
        budget: false,
        idempotencyKey: s.idempotencyKey
      },
      circuitBreaker: false
    }).pipe(Effect.orDie)
    const exits: Array<Exit.Exit<unknown, unknown>> = []
    for (let call = 0; call < s.calls; call++) {
      const request = HttpClientRequest.make(s.method as "POST")(url, {
        ...(s.key === undefined ? {} : { headers: { [s.key[0]]: s.key[1] } })
      }).pipe(HttpClientRequest.bodyUnsafeJson({ sku: "A-1" }))
      const fiber = yield* Effect.fork(
        Effect.exit(Policy.send(scripted.client, request).pipe(Effect.provideService(Policy.Policy, policy)))
      )
      yield* TestClock.adjust("1 second")
      exits.push(yield* Fiber.join(fiber))
    }
    return { exits, log: yield* scripted.requests }
  }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))

describe("Idempotency through Policy: one key per logical request, sent unchanged with every attempt", () => {
  it("through Policy: every attempt of a call carries its key; a retry happens only with a key", () =>
    fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { exits, log } = await Effect.runPromise(play(s))
        const keyed = s.key !== undefined || s.idempotencyKey
        // a retried failure is sent again only when the request has a key (a reset and a 503 may have reached the
        // server; none of these methods is idempotent)
        const perCall = keyed ? s.failures.length + 1 : 1
        expect(log).toHaveLength(perCall * s.calls)
        const calls = Array.from({ length: s.calls }, (_, i) => log.slice(i * perCall, (i + 1) * perCall))
        for (const [i, attempts] of calls.entries()) {
          const keys = attempts.map((entry) => entry.idempotencyKey)
          expect(new Set(keys).size, `call ${i}`).toBe(1)
          if (s.key !== undefined) {
            // the caller's key, as the caller wrote it, whatever the header's spelling
            expect(keys[0]).toBe(s.key[1])
          } else if (s.idempotencyKey) {
            expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
          } else {
            expect(keys[0]).toBeUndefined()
          }
          // one header, never two spellings of it
          for (const entry of attempts) {
            expect(Object.keys(entry.headers).filter((name) => name.toLowerCase() === "idempotency-key").length)
              .toBe(keyed ? 1 : 0)
          }
        }
        // each logical call generates its own key; a caller's key is the caller's
        const firstKeys = calls.map((attempts) => attempts[0]!.idempotencyKey)
        if (s.key === undefined && s.idempotencyKey) expect(new Set(firstKeys).size).toBe(s.calls)
        for (const exit of exits) expect(Exit.isSuccess(exit) || s.failures.length > 0).toBe(true)
        if (keyed) { for (const exit of exits) expect(Exit.isSuccess(exit)).toBe(true) }
      }),
      { seed: 7106, numRuns: 120 }
    ), 30_000)
})
