// Properties of how `Policy` resolves its options per request: the base options, `hosts` entries, `endpoints`
// entries, `upstreamKey`, the documented defaults (derived ones included), `Policy.validate` / `InvalidPolicy`, and
// which stages a profile turns off.
//
// The model (`resolveModel`, `conflicts`, `expectedFields`, `hostOf` below, and `utils/policyModel.ts`) is written from the module docs of
// `Policy` (the "Defaults" table, "Validated when built", `Options` / `HostOptions` / `EndpointOptions`,
// `RetryOptions.maxAttempts`, `upstreamKey`, `InvalidPolicy`): a layer (host on base, endpoint on host) overrides
// only what it sets; a section set to `false` is off, an object turns it on over the layer below (or the defaults);
// `attemptTimeout` unset is 10 s, or `totalTimeout ÷ maxAttempts` (whole ms, at most `totalTimeout`) under a
// `totalTimeout` below 10 s; `maxAttempts` above 10 needs a `totalTimeout` or `maxElapsed`; a header switch `true` is
// the default name, a string its lower-case self; hosts are matched by `host:port` then `host` (case-insensitive,
// default ports filled in); endpoint patterns (`"METHOD /path"`, `*` or `:name` one segment, a last `**` the rest)
// match the path as sent (dot segments resolved, query left out) and the first match wins; the upstream key is
// `scheme://host:port` unless `upstreamKey` says otherwise.
//
// Observed through behaviour, one fresh policy per request, in virtual time: `describe`; the attempts a GET/PUT/
// DELETE/POST makes against a 503 with `Retry-After: 0` (retried at once); the `x-retry-count`-style and
// deadline headers each attempt carries; when the first attempt of a hanging call ends (attempt timeout vs deadline,
// and its phase); whether a hedge starts before it; whether the profile has a breaker. Grouping: two calls share a
// bulkhead (maxConcurrent 1) and a breaker (consecutiveFailures 1) exactly when they share the key and the profile.
// Validation: every bad value gives an `InvalidPolicy` problem at the path the user set it, once, and `validate`,
// `make` and the model agree.
//
// Rules taken from the code, the docs being silent: a request path with a trailing `/` matches a pattern without
// one; a pattern's `**` matches zero segments too (`/users/**` matches `/users`); per-key breakers and bulkheads
// belong to a profile (base or host entry): two hosts given one key by `upstreamKey` but with entries of their own do
// not share them; an attempt timeout that ends with the deadline is the deadline's (`Timeout` phase `Deadline`); of
// hedged copies the one that loses the race is interrupted (its `AttemptEnded` says so); an inherited problem is
// reported once, where it was set (endpoint × host already did this; base × host and base × endpoint now do too, see
// Policy.test.ts).
//
// Left out: rateLimit / retry-budget / pause grouping and IDN hosts (prop-PolicyGrouping covers them), `Config`,
// custom schedules and trailing-dot hosts (see the report).
//
// Mutants checked (each made its property fail with a shrunk counterexample, then the file was restored):
//   1. upstream.ts compileEndpoint: a last `**` needs a segment (`/.*` for `(?:/.*)?`)       → resolution
//   2. upstream.ts originPattern: the query string kept in the path                            → resolution
//   3. policy.ts stackFor: the last matching endpoint wins instead of the first                → resolution
//   4. policy.ts stackFor: `host` looked up before `host:port`                                 → resolution
//   5. policyOptions.ts derivedAttemptTimeout: totalTimeout not divided by maxAttempts         → resolution
//   6. policyOptions.ts: the maxAttempts cap at 11 instead of 10                                → resolution
//   7. policyOptions.ts resolveHeaderName: the header name not lower-cased                     → resolution
//   8. policyOptions.ts resolveHedging: `hedging: false` keeps the layer below's hedging       → resolution
//   9. policy.ts begin: `upstreamKey` ignored (the origin always)                               → grouping
//  10. policyStages.ts makeProfile: one bulkhead table for every profile                        → grouping
//  11. policyOptions.ts compileAll: endpoints take the host-only sections                      → validation
//  12. policyOptions.ts validateLayer: inherited problems not left out (the fix reverted)       → validation
//  13. policyOptions.ts validateLayer: a value set again where inherited left out too          → validation
//  14. policyOptions.ts compileAll: host entries named in lower case (the fix reverted)        → validation
//  15. the whole fix reverted (also: a bad-pattern endpoint's options unchecked)               → validation
//  16. model: the host applied over the endpoint                                               → resolution
//  17. model: an attempt timeout that ties the deadline is the attempt's                       → resolution
//  18. model: derived attempt timeout ÷ min(10, maxAttempts)                                   → resolution
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { HttpFailure, Policy } from "@sturdy/http"
import {
  Cause,
  Clock,
  Duration,
  Effect,
  Either,
  Exit,
  FastCheck as fc,
  Fiber,
  Option,
  TestClock,
  TestContext
} from "effect"
import type * as Scope from "effect/Scope"
import { endpointOf, hostEntryOf, type Target, targetOf } from "./utils/policyModel.js"

// -----------------------------------------------------------------------------
// option trees
// -----------------------------------------------------------------------------

type DurIn = string | number | false | undefined

interface Layer {
  totalTimeout?: DurIn
  attemptTimeout?: DurIn
  retry?: false | { maxAttempts?: number | undefined; maxElapsed?: string | undefined } | undefined
  hedging?: false | { delay: string } | undefined
  deadlineHeader?: string | boolean | undefined
  retryCountHeader?: string | boolean | undefined
  circuitBreaker?: false | Record<string, unknown> | undefined
  bulkhead?: false | Record<string, unknown> | undefined
  rateLimit?: false | { limit: number; window: string } | undefined
}

const hostNames = ["a.test", "a.test:8080", "B.test", "c.test:80"] as const
const patterns = [
  "GET /users/:id",
  "/users/**",
  "* /users/*",
  "POST /orders",
  "/reports/**",
  "DELETE /users/me",
  "get /a b/*"
] as const

const millis = (input: DurIn): number | undefined =>
  input === undefined || input === false
    ? undefined
    : Duration.toMillis(Duration.decode(input as Duration.DurationInput))

const endpointLayerArb = (valid: boolean): fc.Arbitrary<Layer> =>
  fc.record({
    totalTimeout: fc.constantFrom<DurIn>(undefined, undefined, false, false, "1 second", "4 seconds", "20 seconds"),
    attemptTimeout: fc.constantFrom<DurIn>(undefined, undefined, undefined, false, "500 millis", "2 seconds"),
    retry: fc.oneof(
      fc.constant(undefined),
      fc.constant(false as const),
      fc.record({
        maxAttempts: fc.constantFrom(undefined, 1, 2, 3, 4, 5, ...(valid ? [] : [11, 11, 11])),
        maxElapsed: fc.constantFrom(undefined, undefined, "1 minute")
      })
    ),
    hedging: fc.constantFrom(undefined, false as const, { delay: "300 millis" }),
    deadlineHeader: fc.constantFrom(undefined, undefined, false, true, "X-Budget-Ms"),
    retryCountHeader: fc.constantFrom(undefined, undefined, false, true, "X-Try")
  }, { requiredKeys: [] })

const hostLayerArb = (valid: boolean): fc.Arbitrary<Layer> =>
  fc.tuple(
    endpointLayerArb(valid),
    fc.record({
      circuitBreaker: fc.constantFrom(undefined, undefined, false as const, {}),
      bulkhead: fc.constantFrom(undefined, undefined, false as const, {}),
      rateLimit: fc.constantFrom(undefined, undefined, false as const, { limit: 1000, window: "1 second" })
    }, { requiredKeys: [] })
  ).map(([a, b]) => ({ ...a, ...b }))

interface Tree {
  readonly base: Layer
  readonly hosts: ReadonlyArray<readonly [string, Layer]>
  readonly endpoints: ReadonlyArray<readonly [string, Layer]>
}

const treeArb = (valid: boolean): fc.Arbitrary<Tree> =>
  fc.record({
    base: hostLayerArb(valid),
    hosts: fc.uniqueArray(fc.tuple(fc.constantFrom(...hostNames), hostLayerArb(valid)), {
      maxLength: 3,
      selector: ([name]) => name.toLowerCase()
    }),
    endpoints: fc.uniqueArray(fc.tuple(fc.constantFrom(...patterns), endpointLayerArb(valid)), {
      maxLength: 4,
      selector: ([name]) => name
    })
  })

const optionsOf = (tree: Tree): Policy.Options => ({
  ...(tree.base as Policy.HostOptions),
  ...(tree.hosts.length === 0 ? {} : { hosts: Object.fromEntries(tree.hosts) as Record<string, Policy.HostOptions> }),
  ...(tree.endpoints.length === 0 ?
    {} :
    { endpoints: Object.fromEntries(tree.endpoints) as Record<string, Policy.EndpointOptions> })
})

// -----------------------------------------------------------------------------
// requests
// -----------------------------------------------------------------------------

interface Req {
  readonly method: "GET" | "PUT" | "DELETE" | "POST"
  readonly url: string
}

const reqArb: fc.Arbitrary<Req> = fc.record({
  method: fc.constantFrom<Req["method"]>("GET", "PUT", "DELETE", "POST"),
  scheme: fc.constantFrom("http", "https"),
  host: fc.constantFrom("a.test", "A.Test", "b.test", "c.test", "d.test"),
  port: fc.constantFrom("", ":80", ":443", ":8080", ":8080"),
  path: fc.constantFrom(
    "",
    "/",
    "/users",
    "/users/",
    "/users/1",
    "/users/1/",
    "/users/me",
    "/users/1/posts",
    "/Users/1",
    "/orders",
    "/orders/1",
    "/reports",
    "/reports/2024/q1",
    "/reportsx",
    "/x/../users/7",
    "/users/./8",
    "/a b/c",
    "/a%20b/c",
    "/a b/c/d"
  ),
  query: fc.constantFrom("", "?q=1", "?next=/users/1", "#frag")
}).map(({ host, method, path, port, query, scheme }) => ({ method, url: `${scheme}://${host}${port}${path}${query}` }))

const requestOf = (req: Req) => HttpClientRequest.make(req.method)(req.url)

// -----------------------------------------------------------------------------
// the model
// -----------------------------------------------------------------------------

const matchEndpoint = (tree: Tree, method: string, path: string): readonly [string, Layer] | undefined =>
  endpointOf(tree.endpoints, method, path)

const hostOf = (tree: Tree, target: Target): readonly [string, Layer] | undefined => hostEntryOf(tree.hosts, target)

interface Resolved {
  readonly total: number | undefined
  readonly attempt: number | undefined
  readonly attemptSet: boolean
  readonly retry: { readonly maxAttempts: number; readonly maxElapsed: boolean } | undefined
  readonly hedging: boolean
  readonly breaker: boolean
  readonly bulkhead: boolean
  readonly rateLimit: boolean
  readonly deadlineHeader: string | undefined
  readonly retryCountHeader: string | undefined
}

const defaultsModel: Resolved = {
  total: 30_000,
  attempt: 10_000,
  attemptSet: false,
  retry: { maxAttempts: 3, maxElapsed: false },
  hedging: false,
  breaker: true,
  bulkhead: true,
  rateLimit: false,
  deadlineHeader: undefined,
  retryCountHeader: undefined
}

const section = (below: boolean, input: unknown): boolean => input === undefined ? below : input !== false

const headerName = (below: string | undefined, input: string | boolean | undefined, name: string) =>
  input === undefined ? below : input === false ? undefined : input === true ? name : input.toLowerCase()

const resolveModel = (below: Resolved, layer: Layer): Resolved => {
  const total = layer.totalTimeout === undefined ? below.total : millis(layer.totalTimeout)
  const retry = layer.retry === undefined
    ? below.retry
    : layer.retry === false
    ? undefined
    : {
      maxAttempts: layer.retry.maxAttempts ?? below.retry?.maxAttempts ?? 3,
      maxElapsed: layer.retry.maxElapsed !== undefined || (below.retry?.maxElapsed ?? false)
    }
  const attemptSet = below.attemptSet || layer.attemptTimeout !== undefined
  const derived = total === undefined || total >= 10_000
    ? 10_000
    : Math.min(total, Math.max(1, Math.floor(total / (retry?.maxAttempts ?? 1))))
  const attempt = !attemptSet
    ? derived
    : layer.attemptTimeout === undefined
    ? below.attempt
    : millis(layer.attemptTimeout)
  return {
    total,
    attempt,
    attemptSet,
    retry,
    hedging: section(below.hedging, layer.hedging),
    breaker: section(below.breaker, layer.circuitBreaker),
    bulkhead: section(below.bulkhead, layer.bulkhead),
    rateLimit: section(below.rateLimit, layer.rateLimit),
    deadlineHeader: headerName(below.deadlineHeader, layer.deadlineHeader, "x-request-timeout-ms"),
    retryCountHeader: headerName(below.retryCountHeader, layer.retryCountHeader, "x-retry-count")
  }
}

/** The cross-field problems of one resolved profile, by the option named (where exactly: the next properties'). */
const conflicts = (r: Resolved): Array<string> => [
  ...(r.attemptSet && r.attempt !== undefined && r.total !== undefined && r.attempt > r.total
    ? ["attemptTimeout"]
    : []),
  ...(r.retry !== undefined && r.retry.maxAttempts > 10 && r.total === undefined && !r.retry.maxElapsed
    ? ["retry.maxAttempts"]
    : [])
]

const everyProfile = (tree: Tree): Array<Resolved> => {
  const base = resolveModel(defaultsModel, tree.base)
  const hosts = tree.hosts.map(([, layer]) => resolveModel(base, layer))
  return [base, ...hosts].flatMap((profile) => [
    profile,
    ...tree.endpoints.map(([, layer]) => resolveModel(profile, layer))
  ])
}

const effective = (tree: Tree, req: Req): Resolved => {
  const target = targetOf(req.url)
  const base = resolveModel(defaultsModel, tree.base)
  const host = hostOf(tree, target)
  const profile = host === undefined ? base : resolveModel(base, host[1])
  const endpoint = matchEndpoint(tree, req.method, target.path)
  return endpoint === undefined ? profile : resolveModel(profile, endpoint[1])
}

// -----------------------------------------------------------------------------
// running
// -----------------------------------------------------------------------------

const failure503 = (request: HttpClientRequest.HttpClientRequest) =>
  new HttpFailure.ServerError({
    method: request.method,
    url: request.url,
    status: 503,
    headers: { "retry-after": "0" },
    bodyExcerpt: "",
    payload: Option.none(),
    retryAfter: Option.some(Duration.zero)
  })

const runTest = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(TestContext.TestContext)))

interface Observed {
  readonly describe: Policy.Describe
  readonly breaker: boolean
  readonly attempts: number
  readonly headers: ReadonlyArray<Readonly<Record<string, string>>>
  readonly firstEnd: { readonly at: number; readonly phase: string } | undefined
  readonly hedgedBeforeFirstEnd: boolean
}

const observe = (options: Policy.Options, req: Req, limit: number) =>
  Effect.gen(function*() {
    const request = requestOf(req)
    // the attempts against a 503 with Retry-After: 0, all at the same instant
    const failing = yield* Policy.make(options)
    const headers: Array<Record<string, string>> = []
    const attemptsSeen = new Set<number>()
    yield* Effect.exit(failing.run(request, (ready) =>
      Effect.suspend(() => {
        headers.push({ ...ready.headers })
        return Effect.fail(failure503(ready))
      }), {
      onEvent: (event) =>
        Effect.sync(() => {
          if (event._tag === "AttemptStarted" && event.hedge === 0) attemptsSeen.add(event.attempt)
        })
    }))
    // a hanging call: when its first attempt ends, and whether a hedge started before
    const hanging = yield* Policy.make(options)
    let firstEnd: { at: number; phase: string } | undefined
    let hedged = false
    const start = yield* Clock.currentTimeMillis
    const fiber = yield* Effect.fork(hanging.run(request, () => Effect.never, {
      onEvent: (event) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          if (event._tag === "HedgeStarted" && firstEnd === undefined) hedged = true
          if (
            // a copy that lost the race is interrupted: the first copy to end on its own
            event._tag === "AttemptEnded" && event.attempt === 1 && event.outcome !== "interrupted" &&
            firstEnd === undefined
          ) {
            firstEnd = {
              at: now - start,
              phase: event.failure?._tag === "Timeout" ? event.failure.phase : String(event.failure?._tag)
            }
          }
        })
    }))
    // up to 1 ms before the model's end, then past it
    if (Number.isFinite(limit)) {
      yield* TestClock.adjust(limit - 1)
      if (firstEnd !== undefined) return yield* Effect.die(`the first attempt ended at ${firstEnd.at}, before ${limit}`)
      yield* TestClock.adjust(1)
    } else yield* TestClock.adjust("2 minutes")
    yield* Fiber.interrupt(fiber)
    return {
      describe: failing.describe(request),
      breaker: Option.isSome(yield* failing.circuitBreaker(request)),
      attempts: attemptsSeen.size,
      headers,
      firstEnd,
      hedgedBeforeFirstEnd: hedged
    } satisfies Observed
  })

const safe = (method: string) => method !== "POST"

// -----------------------------------------------------------------------------
// properties
// -----------------------------------------------------------------------------

describe("resolution: the options a request runs with are the model's", () => {
  it("describe, attempts, headers, attempt timeout / deadline, hedging and stages off", () =>
    fc.assert(
      fc.asyncProperty(treeArb(false), fc.array(reqArb, { minLength: 2, maxLength: 4 }), async (tree, reqs) => {
        const options = optionsOf(tree)
        const kinds = [...new Set(everyProfile(tree).flatMap(conflicts))].sort()
        const checked = Policy.validate(options)
        const named = Either.isLeft(checked)
          ? checked.left.problems.map((p) =>
            p.field.endsWith("retry.maxAttempts") ? "retry.maxAttempts" : p.field.split(".").pop()
          )
          : []
        expect([...new Set(named)].sort()).toStrictEqual(kinds)
        if (kinds.length > 0) return
        for (const req of reqs) {
          const m = effective(tree, req)
          const limit = Math.min(m.attempt ?? Infinity, m.total ?? Infinity)
          const seen = await runTest(observe(options, req, limit))
          const target = targetOf(req.url)
          const d = seen.describe
          expect(d.key).toBe(target.origin)
          expect({
            total: Option.getOrUndefined(d.totalTimeout) && Duration.toMillis(Option.getOrThrow(d.totalTimeout)),
            attempt: Option.getOrUndefined(d.attemptTimeout) && Duration.toMillis(Option.getOrThrow(d.attemptTimeout)),
            maxAttempts: d.maxAttempts,
            breaker: d.circuitBreaker,
            bulkhead: d.bulkhead,
            rateLimit: d.rateLimit,
            hedging: d.hedging,
            deadlineHeader: Option.getOrUndefined(d.deadlineHeader),
            retryCountHeader: Option.getOrUndefined(d.retryCountHeader)
          }).toStrictEqual({
            total: m.total,
            attempt: m.attempt,
            maxAttempts: m.retry?.maxAttempts ?? 1,
            breaker: m.breaker,
            bulkhead: m.bulkhead,
            rateLimit: m.rateLimit,
            hedging: m.hedging && safe(req.method),
            deadlineHeader: m.deadlineHeader,
            retryCountHeader: m.retryCountHeader
          })
          expect(seen.breaker).toBe(m.breaker)
          // a 503 with Retry-After: 0 is retried at once, up to maxAttempts, when the method is safe to repeat
          const attempts = m.retry === undefined || !safe(req.method) ? 1 : m.retry.maxAttempts
          expect(seen.attempts).toBe(attempts)
          seen.headers.forEach((sent, i) => {
            if (m.retryCountHeader !== undefined) expect(sent[m.retryCountHeader]).toBe(String(i))
            if (m.deadlineHeader !== undefined) {
              expect(sent[m.deadlineHeader]).toBe(Number.isFinite(limit) ? String(limit) : undefined)
            }
            for (const name of ["x-retry-count", "x-try", "x-request-timeout-ms", "x-budget-ms"]) {
              if (name !== m.retryCountHeader && name !== m.deadlineHeader) expect(sent[name]).toBeUndefined()
            }
          })
          // the first attempt of a hanging call ends at the sooner of the attempt timeout and the deadline (a tie is
          // the deadline's); it never ends when neither is set
          expect(seen.firstEnd).toStrictEqual(
            Number.isFinite(limit)
              ? {
                at: limit,
                phase: m.attempt !== undefined && m.attempt < (m.total ?? Infinity) ? "Attempt" : "Deadline"
              }
              : undefined
          )
          expect(seen.hedgedBeforeFirstEnd).toBe(m.hedging && safe(req.method) && limit > 300)
        }
      }),
      { seed: 4_711, numRuns: 100 }
    ), 60_000)
})

// -----------------------------------------------------------------------------
// grouping: upstreamKey and profiles
// -----------------------------------------------------------------------------

const groupUrls = [
  "http://a.test/x/1",
  "http://A.TEST:80/y",
  "http://a.test:8080/x",
  "https://a.test/x",
  "http://b.test:8080/y",
  "http://b.test/x/2?q=1",
  "http://c.test/y"
] as const

const keyFunctions = {
  origin: undefined,
  one: () => "one",
  firstSegment: (request: HttpClientRequest.HttpClientRequest) => `seg:${targetOf(request.url).path.split("/")[1]}`
} as const

interface Grouping {
  readonly hosts: ReadonlyArray<string>
  readonly key: keyof typeof keyFunctions
  readonly endpoint: boolean
  readonly first: string
  readonly second: string
}

const groupingArb: fc.Arbitrary<Grouping> = fc.record({
  hosts: fc.subarray(["a.test", "a.test:8080", "B.test:8080"]),
  key: fc.constantFrom("origin", "one", "firstSegment"),
  endpoint: fc.boolean(),
  first: fc.constantFrom(...groupUrls),
  second: fc.constantFrom(...groupUrls)
})

const groupingOptions = (g: Grouping, stage: "bulkhead" | "breaker"): Policy.Options => ({
  retry: false,
  hedging: false,
  ...(stage === "bulkhead"
    ? { circuitBreaker: false, bulkhead: { maxConcurrent: 1, maxQueued: 0 } }
    : { circuitBreaker: { consecutiveFailures: 1 }, bulkhead: false }),
  ...(keyFunctions[g.key] === undefined ? {} : { upstreamKey: keyFunctions[g.key] }),
  // an entry of its own: the profile inherits every option, but keeps its own per-key state
  hosts: Object.fromEntries(g.hosts.map((name) => [name, {}])),
  // endpoints make no profile: they share their host's state
  ...(g.endpoint ? { endpoints: { "/x/**": { totalTimeout: "20 seconds" } } } : {})
})

const keyModel = (g: Grouping, url: string): string =>
  g.key === "origin" ? targetOf(url).origin : g.key === "one" ? "one" : `seg:${targetOf(url).path.split("/")[1]}`

const profileModel = (g: Grouping, url: string): string => {
  const target = targetOf(url)
  const tree: Tree = { base: {}, hosts: g.hosts.map((name) => [name, {}]), endpoints: [] }
  return hostOf(tree, target)?.[0].toLowerCase() ?? ""
}

const outcome = (exit: Exit.Exit<unknown, { readonly _tag: string }>): string =>
  Exit.match(exit, {
    onSuccess: () => "ok",
    onFailure: (cause) => Option.match(Cause.failureOption(cause), { onNone: () => "defect", onSome: (e) => e._tag })
  })

describe("grouping: calls share per-key state exactly when they share the key and the profile", () => {
  it("bulkhead (maxConcurrent 1) and breaker (consecutiveFailures 1)", () =>
    fc.assert(
      fc.asyncProperty(groupingArb, async (g) => {
        const shared = keyModel(g, g.first) === keyModel(g, g.second) &&
          profileModel(g, g.first) === profileModel(g, g.second)
        const [busy, broken] = await runTest(Effect.gen(function*() {
          // a call holds the bulkhead of its key while it hangs
          const bulkheaded = yield* Policy.make(groupingOptions(g, "bulkhead"))
          const holder = yield* Effect.fork(bulkheaded.run(HttpClientRequest.get(g.first), () => Effect.never))
          yield* Effect.yieldNow()
          const busy = yield* Effect.exit(bulkheaded.run(HttpClientRequest.get(g.second), () => Effect.succeed("ok")))
          yield* Fiber.interrupt(holder)
          // a counted failure opens the breaker of its key
          const breaking = yield* Policy.make(groupingOptions(g, "breaker"))
          yield* Effect.exit(breaking.run(HttpClientRequest.get(g.first), (ready) =>
            Effect.fail(
              new HttpFailure.ServerError({
                method: "GET",
                url: ready.url,
                status: 500,
                headers: {},
                bodyExcerpt: "",
                payload: Option.none(),
                retryAfter: Option.none()
              })
            )))
          const broken = yield* Effect.exit(breaking.run(HttpClientRequest.get(g.second), () => Effect.succeed("ok")))
          return [busy, broken] as const
        }))
        expect(outcome(busy)).toBe(shared ? "BulkheadRejected" : "ok")
        expect(outcome(broken)).toBe(shared ? "CircuitOpen" : "ok")
      }),
      { seed: 90_210, numRuns: 150 }
    ), 60_000)
})

// -----------------------------------------------------------------------------
// validation: every bad value is named where it was set, once
// -----------------------------------------------------------------------------

/** One option of a layer, good or bad, and the field (after the layer's prefix) a bad one is reported at. */
interface Setting {
  readonly path: string
  readonly value: unknown
  readonly bad: string | undefined
}

const setting = (path: string, value: unknown, bad?: string): Setting => ({ path, value, bad })

const apply = (s: Setting, layer: Record<string, unknown>): void => {
  const keys = s.path.split(".")
  let at = layer
  for (const key of keys.slice(0, -1)) {
    if (typeof at[key] !== "object" || at[key] === null || Array.isArray(at[key])) at[key] = {}
    at = at[key] as Record<string, unknown>
  }
  at[keys[keys.length - 1]] = s.value
}

const endpointSettings: ReadonlyArray<Setting> = [
  setting("totalTimeout", "20 seconds"),
  setting("totalTimeout", -1, "totalTimeout"),
  setting("totalTimeout", "soon", "totalTimeout"),
  setting("attemptTimeot", "1 second", "attemptTimeot"),
  setting("retry.maxAttempts", 2),
  setting("retry.maxAttempts", 0, "retry.maxAttempts"),
  setting("retry.maxAttempts", 1.5, "retry.maxAttempts"),
  setting("retry.maxAttemps", 3, "retry.maxAttemps"),
  setting("retry.jitter", "fulll", "retry.jitter"),
  setting("retry.budget", "false", "retry.budget"),
  setting("retry.baseDelay", "-2 seconds", "retry.baseDelay"),
  setting("retry.retryOn", [503], "retry.retryOn"),
  setting("retry.retryOn.ServerErorr", true, "retry.retryOn.ServerErorr"),
  setting("deadlineHeader", "bad header", "deadlineHeader"),
  setting("retryCountHeader", true),
  setting("hedging", { delay: "100 millis", maxHedges: -1 }, "hedging.maxHedges"),
  setting("hedging", { delay: "100 millis" })
]

// fine alone, in conflict across layers: an endpoint's attempt timeout over a host's or the base's deadline
const shortDeadline = setting("totalTimeout", "1 second")
const longAttempt = setting("attemptTimeout", "2 seconds")

const hostSettings: ReadonlyArray<Setting> = [
  ...endpointSettings,
  shortDeadline,
  setting("circuitBreaker.failureRateThreshold", 2, "circuitBreaker.failureRateThreshold"),
  setting("circuitBreaker.minimumThroughput", 0, "circuitBreaker.minimumThroughput"),
  setting("circuitBreaker.consecutiveFailures", 5),
  setting("bulkhead.maxConcurrent", 0, "bulkhead.maxConcurrent"),
  setting("bulkhead.maxQueued", 10),
  setting("concurrencyLimit.maxLimit", 0, "concurrencyLimit.maxLimit"),
  setting("concurrencyLimit.initialLimit", 5),
  setting("adaptiveThrottle.k", 0.5, "adaptiveThrottle.k"),
  setting("adaptiveThrottle.window", "-1 seconds", "adaptiveThrottle.window"),
  setting("adaptiveThrottle.k", 1.5),
  setting("rateLimit", { limit: 0, window: "1 second" }, "rateLimit.limit"),
  setting("rateLimit", { limit: 10, window: "1 second", algorithm: "leaky" }, "rateLimit.algorithm")
]

// sections an endpoint does not take
const endpointOnlyBad: ReadonlyArray<Setting> = [
  setting("circuitBreaker", {}, "circuitBreaker"),
  setting("bulkhead", false, "bulkhead"),
  setting("concurrencyLimit", {}, "concurrencyLimit"),
  setting("adaptiveThrottle", {}, "adaptiveThrottle"),
  setting("rateLimit", { limit: 1, window: "1 second" }, "rateLimit"),
  setting("hosts", {}, "hosts")
]

interface BadTree {
  readonly base: ReadonlyArray<Setting>
  readonly hosts: ReadonlyArray<readonly [string, ReadonlyArray<Setting>]>
  readonly endpoints: ReadonlyArray<readonly [string, ReadonlyArray<Setting>]>
}

const badTreeArb: fc.Arbitrary<BadTree> = fc.record({
  base: fc.array(fc.constantFrom(...hostSettings), { maxLength: 3 }),
  hosts: fc.uniqueArray(
    fc.tuple(
      fc.constantFrom("a.test", "B.test", "c.test:8080"),
      fc.array(fc.constantFrom(...hostSettings), { maxLength: 3 })
    ),
    { maxLength: 2, selector: ([name]) => name.toLowerCase() }
  ),
  endpoints: fc.uniqueArray(
    fc.tuple(
      fc.constantFrom("GET /users/:id", "/reports/**", "users/x", "FETCH /a b"),
      fc.array(fc.constantFrom(...endpointSettings, ...endpointOnlyBad, longAttempt), { maxLength: 3 })
    ),
    { maxLength: 2, selector: ([name]) => name }
  )
})

/** The last setting of a path wins, as assigning it twice would. */
const build = (settings: ReadonlyArray<Setting>): Record<string, unknown> => {
  const layer: Record<string, unknown> = {}
  for (const s of settings) apply(s, layer)
  return layer
}

/** The fields the model expects: each bad value still in the tree, at the path it was set at. */
const expectedFields = (tree: BadTree): Array<string> => {
  const fields = new Set<string>()
  const add = (prefix: string, settings: ReadonlyArray<Setting>) => {
    const layer = build(settings)
    // only the settings whose value is still the one in the layer (a later one of the same path replaced it)
    for (const s of settings) {
      if (s.bad === undefined) continue
      const probe: Record<string, unknown> = {}
      apply(s, probe)
      const top = Object.keys(probe)[0]
      if (JSON.stringify(probe[top]) !== JSON.stringify(pick(layer[top], probe[top]))) continue
      fields.add(`${prefix}${s.bad}`)
    }
  }
  add("", tree.base)
  // the one cross-layer conflict generated: attemptTimeout 2 s on an endpoint under a deadline of 1 s, named on the
  // endpoint under the base's deadline, and under each host that sets that deadline itself (as the user spelt it)
  const last = (settings: ReadonlyArray<Setting>, path: string) =>
    [...settings].reverse().find((s) => s.path === path)?.value
  // (an endpoint whose key is no pattern too: its options are still checked, against the deadline above it as well)
  for (const [pattern, settings] of tree.endpoints) {
    if (last(settings, "attemptTimeout") !== "2 seconds" || last(settings, "totalTimeout") !== undefined) continue
    if (last(tree.base, "totalTimeout") === "1 second") {
      fields.add(`endpoints[${JSON.stringify(pattern)}].attemptTimeout`)
    }
    for (const [host, hostSettings] of tree.hosts) {
      if (last(hostSettings, "totalTimeout") === "1 second") {
        fields.add(`hosts[${JSON.stringify(host)}].endpoints[${JSON.stringify(pattern)}].attemptTimeout`)
      }
    }
  }
  for (const [name, settings] of tree.hosts) add(`hosts[${JSON.stringify(name)}].`, settings)
  for (const [name, settings] of tree.endpoints) {
    // a key that is no pattern is reported, and its options are still checked
    if (!name.startsWith("/") && !/^[A-Za-z]+ \//.test(name)) fields.add(`endpoints[${JSON.stringify(name)}]`)
    add(`endpoints[${JSON.stringify(name)}].`, settings)
  }
  return [...fields].sort()
}

// the part of `value` that `probe` (a nested single path) looks at
const pick = (value: unknown, probe: unknown): unknown => {
  if (typeof probe !== "object" || probe === null || Array.isArray(probe)) return value
  const key = Object.keys(probe)[0]
  if (key === undefined || typeof value !== "object" || value === null) return value
  // a whole section given at once (rateLimit) is compared whole
  if (Object.keys(probe).length !== 1) return value
  return { [key]: pick((value as Record<string, unknown>)[key], (probe as Record<string, unknown>)[key]) }
}

const badOptions = (tree: BadTree): Policy.Options =>
  ({
    ...build(tree.base),
    ...(tree.hosts.length === 0 ? {} : { hosts: Object.fromEntries(tree.hosts.map(([n, s]) => [n, build(s)])) }),
    ...(tree.endpoints.length === 0
      ? {}
      : { endpoints: Object.fromEntries(tree.endpoints.map(([n, s]) => [n, build(s)])) })
  }) as Policy.Options

describe("validation: InvalidPolicy names every bad value where it was set, once", () => {
  it("validate's problems are the model's, make agrees, and nothing throws", () =>
    fc.assert(
      fc.asyncProperty(badTreeArb, async (tree) => {
        const options = badOptions(tree)
        const expected = expectedFields(tree)
        const checked = Policy.validate(options)
        const fields = Either.isLeft(checked) ? checked.left.problems.map((p) => p.field) : []
        // once each: no field the user set is reported twice for the same reason, nor under a path they did not set
        expect(
          new Set(checked.pipe(Either.match({
            onLeft: (e) => e.problems.map((p) => `${p.field}\n${p.detail}`),
            onRight: () => []
          }))).size
        ).toBe(fields.length)
        expect([...new Set(fields)].sort()).toStrictEqual(expected)
        if (Either.isLeft(checked)) {
          expect(checked.left.field).toBe(checked.left.problems[0].field)
          expect(checked.left.detail).toBe(checked.left.problems[0].detail)
        }
        // make agrees with validate
        const made = await runTest(Effect.exit(Policy.make(options)))
        if (Either.isLeft(checked)) {
          expect(Exit.isFailure(made)).toBe(true)
          const failure = Exit.isFailure(made) ? Option.getOrUndefined(Cause.failureOption(made.cause)) : undefined
          expect(failure?.problems).toStrictEqual(checked.left.problems)
        } else expect(Exit.isSuccess(made)).toBe(true)
      }),
      { seed: 31_337, numRuns: 300 }
    ), 60_000)
})
