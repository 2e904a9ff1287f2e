// Properties of how `Policy` groups its per-key state beyond breakers and bulkheads (prop-PolicyOptions covers those):
// the client-side rate limiter's counters, the retry budget, and the server pause (429/503 with `Retry-After`).
//
// The model is written from the module docs: `Policy` ("The upstream key is `scheme://host:port` unless `upstreamKey`
// says otherwise; breakers, bulkheads, limiters, retry budgets and server pauses are kept per key and shared by every
// call that uses the same `Policy`"; `upstreamKey`: the port filled in, the host in lower case, an IDN in ASCII, and a
// `hosts` entry written either way applies to both; the pipeline's server pause and "Rules"; `RetryOptions.budget`,
// `maxRetryAfter`, `respectRetryAfter`; `HostOptions.rateLimit`), `RateLimit` (a store keeps one counter per key,
// whichever limiter asks; the token bucket's and the fixed window's waits; mode `"fail"` / `"delay"`) and `RetryBudget`
// (a retry is allowed while `retries < minRetries + ratio × requests`). Requests are resolved to their profile (host
// entry) and endpoint by `utils/policyModel.ts`, the reference resolver prop-PolicyOptions uses; a layer overrides only
// what it sets, an object over `retry: false` starts from the defaults.
//
// Generated: policies whose base, `hosts` entries (ports, case, an IDN written in Unicode or in ASCII) and `endpoints`
// entries set or override `rateLimit`, `retry.budget`, `retry.maxAttempts`, `retry.maxRetryAfter` and
// `retry.respectRetryAfter`, with the default key, one key per host name (ports and schemes merged) or one key for
// everything; and calls in sequence, at generated gaps, across hosts (ports, default ports written out, case, IDN
// forms), methods and paths, each on a ScriptedClient of its own (so its attempts are its own), in virtual time.
// Observed: each call's outcome, when each attempt was sent, the `Rejected` events (key and rejection), and the
// budget's `stats` per key.
//
// Rules taken from the code, the docs being silent:
//   - a limiter is built per profile, but on the policy's one store, so two profiles whose calls share a key (through
//     `upstreamKey`) draw on one counter, as `RateLimit` documents for two limiters on one store; a token bucket and a
//     fixed window of one key are counters of different kinds and do not share (the memory store keeps them apart);
//   - a call whose retry stage is on with `budget: true` deposits one request into its key's budget, whatever its
//     method; a call with `budget: false` (or `retry: false`) deposits nothing and withdraws nothing;
//   - a call with `retry: false` reads pauses and server waits by the rules of the level it turned off (the package's
//     defaults at the top: 30 s of patience); it took the defaults even under `respectRetryAfter: false`, before the
//     fix this property checks (Policy.test.ts, "retry: false keeps the Retry-After rules of the level it turns off");
//   - a call whose `retry.respectRetryAfter` is `false` is not held by a pause another call of its key set (the docs:
//     "ignores server waits (and pauses) entirely"); it was, before the fix this property found (see Policy.test.ts,
//     "respectRetryAfter: false on an endpoint ignores the pause another endpoint's 429 set on the key").
//
// Mutants checked (each made its property fail with a shrunk counterexample, then the file was restored):
//   1. policyStages.ts rateLimit: the limiter keyed by the request's URL instead of the call's key  → rate limit
//   2. policyStages.ts retrying: `retry.budget: false` ignored (every call budgeted)               → retry budget
//   3. policyStages.ts serverPause: every call's patience the default 30 s                         → server pause
//   4. upstream.ts asciiHost: an IDN left in Unicode (two keys, two entries for one host)          → rate limit
//   5. model: one counter per profile and key (limiters of two profiles of one key apart)          → rate limit
//   6. policyStages.ts makeStack: the fix reverted (a respectRetryAfter: false call held by a pause) → server pause
//   7. policyOptions.ts resolveLayer: `retry: false` takes the package's Retry-After rules (the rule before the fix)
//      → server pause (a `false` layer weighs 2 of 8 in `pauseLayerArb` so that 50 runs meet it; at 1 of 7 they did not)
//
// Left out: concurrent callers of one key (the RateLimit and pause properties cover the lines), a limiter's waits that
// do not fit the deadline, `RateLimit` headers, hedges withdrawing from the budget, the pause table's bound.
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy } from "@sturdy/http"
import { RetryBudget } from "@sturdy/policy"
import { FaultScript, ScriptedClient } from "@sturdy/testing"
import { Cause, Clock, Duration, Effect, Exit, FastCheck as fc, Option, TestClock, TestContext } from "effect"
import type * as Scope from "effect/Scope"

import { advanceToDone } from "../../policy/test/utils/advance.js"
import { endpointOf, hostEntryName, hostEntryOf, type Target, targetOf } from "./utils/policyModel.js"

// -----------------------------------------------------------------------------
// keys, hosts, requests
// -----------------------------------------------------------------------------

type KeyMode = "origin" | "host" | "one"

const upstreamKeyOf: Record<KeyMode, ((request: HttpClientRequest.HttpClientRequest) => string) | undefined> = {
  origin: undefined,
  // one key per host name, whatever the scheme and port (the URL standard's host: lower case, IDN in ASCII)
  host: (request) => new URL(request.url).hostname,
  one: () => "one"
}

const keyModel = (mode: KeyMode, target: Target): string =>
  mode === "origin" ? target.origin : mode === "host" ? target.host : "one"

const hostNames = ["a.test", "a.test:8080", "B.TEST", "bücher.test", "XN--BCHER-KVA.test:8443"] as const
const patterns = ["GET /x/**", "/y", "POST /x/*", "/x/1"] as const

interface Req {
  readonly method: "GET" | "PUT" | "DELETE" | "POST"
  readonly url: string
}

const reqArb: fc.Arbitrary<Req> = fc.record({
  method: fc.constantFrom<Req["method"]>("GET", "GET", "PUT", "DELETE", "POST"),
  scheme: fc.constantFrom("http", "https"),
  host: fc.constantFrom("a.test", "A.Test", "b.test", "B.TEST", "bücher.test", "BÜCHER.test", "xn--bcher-kva.test"),
  port: fc.constantFrom("", "", ":80", ":443", ":8080", ":8443"),
  path: fc.constantFrom("/x/1", "/x/2", "/y", "/z")
}).map(({ host, method, path, port, scheme }) => ({ method, url: `${scheme}://${host}${port}${path}` }))

const safe = (method: string) => method !== "POST"

interface Tree<L> {
  readonly keyMode: KeyMode
  readonly base: L
  readonly hosts: ReadonlyArray<readonly [string, L]>
  readonly endpoints: ReadonlyArray<readonly [string, L]>
}

const treeArb = <L>(baseArb: fc.Arbitrary<L>, hostArb: fc.Arbitrary<L>, endpointArb: fc.Arbitrary<L>) =>
  fc.record({
    keyMode: fc.constantFrom<KeyMode>("origin", "host", "one"),
    base: baseArb,
    hosts: fc.uniqueArray(fc.tuple(fc.constantFrom(...hostNames), hostArb), {
      maxLength: 4,
      selector: ([name]) => hostEntryName(name)
    }),
    endpoints: fc.uniqueArray(fc.tuple(fc.constantFrom(...patterns), endpointArb), {
      maxLength: 3,
      selector: ([name]) => name
    })
  })

const optionsOf = <L extends object>(tree: Tree<L>, extra: Policy.Options): Policy.Options => ({
  ...extra,
  ...tree.base,
  ...(upstreamKeyOf[tree.keyMode] === undefined ? {} : { upstreamKey: upstreamKeyOf[tree.keyMode] }),
  ...(tree.hosts.length === 0 ? {} : { hosts: Object.fromEntries(tree.hosts) as Record<string, Policy.HostOptions> }),
  ...(tree.endpoints.length === 0 ?
    {} :
    { endpoints: Object.fromEntries(tree.endpoints) as Record<string, Policy.EndpointOptions> })
})

/** The layers a request runs with, base first: its host entry (the profile, "" for the base) and its endpoint. */
const layersOf = <L>(tree: Tree<L>, req: Req) => {
  const target = targetOf(req.url)
  const host = hostEntryOf(tree.hosts, target)
  const endpoint = endpointOf(tree.endpoints, req.method, target.path)
  return {
    target,
    key: keyModel(tree.keyMode, target),
    profile: host === undefined ? "" : hostEntryName(host[0]),
    layers: [tree.base, ...(host === undefined ? [] : [host[1]]), ...(endpoint === undefined ? [] : [endpoint[1]])]
  }
}

// -----------------------------------------------------------------------------
// running calls in sequence, each on a scripted client of its own
// -----------------------------------------------------------------------------

interface Call {
  readonly req: Req
  readonly gap: number
  readonly answers: readonly [FaultScript.Fault, ...Array<FaultScript.Fault>]
}

interface Seen {
  readonly startedAt: number
  readonly exit: Exit.Exit<unknown, Policy.Failure>
  readonly sent: ReadonlyArray<number>
  readonly rejected: ReadonlyArray<string>
}

const play = (options: Policy.Options, calls: ReadonlyArray<Call>, budget?: RetryBudget.RetryBudget.Options) =>
  Effect.gen(function*() {
    let events: Array<Policy.Event> = []
    const policy = yield* Policy.make({
      ...options,
      onEvent: (event) => Effect.sync(() => events.push(event))
    }).pipe(
      budget === undefined ? (self) => self : Effect.provide(RetryBudget.layer(budget)),
      Effect.orDie
    )
    const seen: Array<Seen> = []
    for (const call of calls) {
      yield* TestClock.adjust(call.gap)
      const scripted = yield* ScriptedClient.make(FaultScript.routes({ "/*": FaultScript.sequence(...call.answers) }))
      events = []
      const startedAt = yield* Clock.currentTimeMillis
      const exit = yield* advanceToDone(
        Policy.send(scripted.client, HttpClientRequest.make(call.req.method)(call.req.url)).pipe(
          Effect.provideService(Policy.Policy, policy)
        ),
        10_000,
        undefined,
        64
      )
      seen.push({
        startedAt,
        exit,
        sent: (yield* scripted.requests).map((r) => r.arrivedAt),
        rejected: events.flatMap((e) => e._tag === "Rejected" ? [`${e.key} ${e.rejection._tag}`] : [])
      })
    }
    return { seen, policy }
  })

const runTest = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(TestContext.TestContext)))

const resultOf = (exit: Exit.Exit<unknown, Policy.Failure>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  expect(Cause.isFailType(exit.cause), Cause.pretty(exit.cause)).toBe(true)
  const failure = Option.getOrThrow(Cause.failureOption(exit.cause))
  switch (failure._tag) {
    case "RateLimitExceeded":
      return `RateLimitExceeded ${failure.reason} ${Duration.toMillis(failure.retryAfter)}`
    case "RetryBudgetExhausted":
      return `RetryBudgetExhausted ${failure.attempts}`
    default:
      return failure._tag
  }
}

const ok = FaultScript.json({ ok: true })

// -----------------------------------------------------------------------------
// rate limit: one counter per key (and kind), across profiles and endpoints
// -----------------------------------------------------------------------------

interface Rate {
  readonly limit: 1 | 2
  readonly window: 1_000 | 2_000
  readonly algorithm: "token-bucket" | "fixed-window"
  readonly onExceeded: "fail" | "delay"
}

interface RateLayer {
  readonly rateLimit?: Rate | false | undefined
  readonly totalTimeout?: string | undefined
}

const rateArb = (shape: { limit: 1 | 2; window: 1_000 | 2_000 } | undefined): fc.Arbitrary<Rate> =>
  fc.record({
    limit: shape === undefined ? fc.constantFrom<1 | 2>(1, 2) : fc.constant(shape.limit),
    window: shape === undefined ? fc.constantFrom<1_000 | 2_000>(1_000, 2_000) : fc.constant(shape.window),
    algorithm: fc.constantFrom<Rate["algorithm"]>("token-bucket", "fixed-window"),
    onExceeded: fc.constantFrom<Rate["onExceeded"]>("fail", "delay")
  })

// Limits and windows differ between profiles only when no two profiles share a key (the default key): two limiters
// of different rates on one counter are not something the docs describe.
const rateTreeArb: fc.Arbitrary<Tree<RateLayer>> = fc
  .record({
    keyMode: fc.constantFrom<KeyMode>("origin", "host", "one"),
    shape: fc.record({ limit: fc.constantFrom<1 | 2>(1, 2), window: fc.constantFrom<1_000 | 2_000>(1_000, 2_000) })
  })
  .chain(({ keyMode, shape }) => {
    const rate = rateArb(keyMode === "origin" ? undefined : shape)
    const layer = fc.record({ rateLimit: fc.oneof(fc.constant(undefined), fc.constant(false as const), rate) }, {
      requiredKeys: []
    })
    return treeArb<RateLayer>(
      fc.record({ rateLimit: fc.oneof(fc.constant(undefined), rate) }, { requiredKeys: [] }),
      layer,
      // endpoints take no rateLimit: they use their host's (or the base's) limiter
      fc.record({ totalTimeout: fc.constantFrom(undefined, "20 seconds") }, { requiredKeys: [] })
    ).map((tree) => ({ ...tree, keyMode }))
  })

const rateOf = (layers: ReadonlyArray<RateLayer>): Rate | undefined => {
  let rate: Rate | undefined
  for (const layer of layers) {
    if (layer.rateLimit !== undefined) {
      rate = layer.rateLimit === false
        ? undefined
        : layer.rateLimit
    }
  }
  return rate
}

interface RateExpected {
  readonly result: string
  readonly sentAt: number | undefined
  readonly rejected: ReadonlyArray<string>
}

/** One call against the model's counters; `t` is when it starts. */
const rateStep = (
  counters: Map<string, { tat: number; start: number; count: number }>,
  tree: Tree<RateLayer>,
  req: Req,
  t: number
): RateExpected => {
  const { key, layers } = layersOf(tree, req)
  const rate = rateOf(layers)
  if (rate === undefined) return { result: "ok", sentAt: t, rejected: [] }
  const interval = rate.window / rate.limit
  const counterKey = `${key}\u0000${rate.algorithm}`
  const counter = counters.get(counterKey) ?? { tat: -Infinity, start: 0, count: 0 }
  counters.set(counterKey, counter)
  const refused = (wait: number): RateExpected => ({
    result: `RateLimitExceeded Limit ${Math.max(1, wait)}`,
    sentAt: undefined,
    rejected: [`${key} RateLimitExceeded`]
  })
  if (rate.algorithm === "token-bucket") {
    // a bucket of `limit` tokens, one back every window / limit; a full bucket starts its refill from the next call
    const tat = Math.max(counter.tat, t)
    const due = tat - (rate.limit - 1) * interval
    if (rate.onExceeded === "fail" && due > t) return refused(due - t)
    counter.tat = tat + interval
    return { result: "ok", sentAt: Math.max(t, due), rejected: [] }
  }
  // a window starts at its first call, and each call it grants moves its end window / limit further
  if (counter.count === 0 || counter.start + counter.count * interval <= t) {
    counter.start = t
    counter.count = 0
  }
  if (rate.onExceeded === "fail") {
    if (counter.count + 1 > rate.limit) return refused(counter.start + counter.count * interval - t)
    counter.count++
    return { result: "ok", sentAt: t, rejected: [] }
  }
  counter.count++
  const due = counter.start + Math.floor((counter.count - 1) / rate.limit) * rate.window
  return { result: "ok", sentAt: Math.max(t, due), rejected: [] }
}

const rateCallsArb = fc.array(
  fc.record({ req: reqArb, gap: fc.constantFrom(0, 0, 300, 500, 1_000, 2_500) }),
  { minLength: 2, maxLength: 10 }
)

describe("rate limit: calls share a counter exactly when they share the key (and the counter's kind)", () => {
  it(
    "refused (fail) or held (delay) by the counter of the key, whichever profile or endpoint it comes from",
    () =>
      fc.assert(
        fc.asyncProperty(rateTreeArb, rateCallsArb, async (tree, raw) => {
          const calls: Array<Call> = raw.map((c) => ({ ...c, answers: [ok] }))
          const options = optionsOf(tree, { retry: false, circuitBreaker: false })
          const { seen } = await runTest(play(options, calls))
          const counters = new Map<string, { tat: number; start: number; count: number }>()
          const expected = calls.map((call, i) => rateStep(counters, tree, call.req, seen[i]!.startedAt))
          expect(seen.map((s) => ({ result: resultOf(s.exit), sentAt: s.sent[0], rejected: s.rejected })))
            .toStrictEqual(
              expected
            )
        }),
        { seed: 20_261_206, numRuns: 50 }
      ),
    60_000
  )
})

// -----------------------------------------------------------------------------
// retry budget: one budget per key, across profiles and endpoints
// -----------------------------------------------------------------------------

interface RetryLayer {
  readonly retry?:
    | false
    | {
      readonly maxAttempts?: number | undefined
      readonly budget?: boolean | undefined
      readonly maxRetryAfter?: string | undefined
      readonly respectRetryAfter?: boolean | undefined
    }
    | undefined
}

const budgetLayerArb: fc.Arbitrary<RetryLayer> = fc.record({
  retry: fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant(false as const) },
    {
      weight: 4,
      arbitrary: fc.record({
        maxAttempts: fc.constantFrom(undefined, 1, 2, 4),
        budget: fc.constantFrom(undefined, true, false)
      }, { requiredKeys: [] })
    }
  )
}, { requiredKeys: [] })

interface ResolvedRetry {
  readonly maxAttempts: number
  readonly budget: boolean
  readonly maxRetryAfter: number
  readonly respectRetryAfter: boolean
}

const retryDefaults: ResolvedRetry = { maxAttempts: 3, budget: true, maxRetryAfter: 30_000, respectRetryAfter: true }

const retryOf = (layers: ReadonlyArray<RetryLayer>): ResolvedRetry | undefined => resolveRetry(layers).retry

// the rules for server waits and pauses: the retry options in force, else those of the level `retry: false` turned off
const retryAfterRulesOf = (layers: ReadonlyArray<RetryLayer>): ResolvedRetry => resolveRetry(layers).rules

const resolveRetry = (
  layers: ReadonlyArray<RetryLayer>
): { readonly retry: ResolvedRetry | undefined; readonly rules: ResolvedRetry } => {
  let retry: ResolvedRetry | undefined = retryDefaults
  let rules = retryDefaults
  for (const layer of layers) {
    if (layer.retry === undefined) continue
    if (layer.retry === false) {
      rules = retry ?? rules
      retry = undefined
      continue
    }
    const from: ResolvedRetry = retry ?? retryDefaults
    retry = {
      maxAttempts: layer.retry.maxAttempts ?? from.maxAttempts,
      budget: layer.retry.budget ?? from.budget,
      maxRetryAfter: layer.retry.maxRetryAfter === undefined
        ? from.maxRetryAfter
        : Duration.toMillis(Duration.decode(layer.retry.maxRetryAfter as Duration.DurationInput)),
      respectRetryAfter: layer.retry.respectRetryAfter ?? from.respectRetryAfter
    }
    rules = retry
  }
  return { retry, rules }
}

const budgetOptions = { ratio: 0.5, minRetries: 1 } as const

const failure503 = FaultScript.status(503, { retryAfter: "0" })

const budgetCallsArb = fc.array(
  fc.record({ req: reqArb, failures: fc.constantFrom(0, 1, 1, 2, 3) }),
  { minLength: 2, maxLength: 10 }
)

describe("retry budget: calls share a budget exactly when they share the key", () => {
  it(
    "a retry is refused by its key's budget, whichever profile or endpoint deposited and withdrew from it",
    () =>
      fc.assert(
        fc.asyncProperty(
          treeArb(budgetLayerArb, budgetLayerArb, budgetLayerArb),
          budgetCallsArb,
          async (tree, raw) => {
            const calls: Array<Call> = raw.map(({ failures, req }) => ({
              req,
              gap: 0,
              answers: [...Array.from({ length: failures }, () => failure503), ok] as unknown as Call["answers"]
            }))
            const options = optionsOf(tree, { circuitBreaker: false })
            const { policy, seen } = await runTest(Effect.gen(function*() {
              const played = yield* play(options, calls, budgetOptions)
              const keys = [...new Set(calls.map((c) => layersOf(tree, c.req).key))]
              const stats = yield* Effect.forEach(
                keys,
                (key) => Effect.map(played.policy.budget.stats(key), (s) => [key, s] as const)
              )
              return { ...played, policy: Object.fromEntries(stats) }
            }))
            const counts = new Map<string, { requests: number; retries: number }>()
            const expected = calls.map((call, i) => {
              const { key, layers } = layersOf(tree, call.req)
              const retry = retryOf(layers)
              const count = counts.get(key) ?? { requests: 0, retries: 0 }
              counts.set(key, count)
              if (retry?.budget === true) count.requests++
              const failures = raw[i]!.failures
              let attempts = 1
              for (;;) {
                if (attempts > failures) return { result: "ok", attempts, rejected: [] as Array<string> }
                if (retry === undefined || attempts >= retry.maxAttempts || !safe(call.req.method)) {
                  return { result: "ServerError", attempts, rejected: [] as Array<string> }
                }
                if (retry.budget) {
                  if (!(count.retries < budgetOptions.minRetries + budgetOptions.ratio * count.requests)) {
                    return {
                      result: `RetryBudgetExhausted ${attempts}`,
                      attempts,
                      rejected: [`${key} RetryBudgetExhausted`]
                    }
                  }
                  count.retries++
                }
                attempts++
              }
            })
            expect(seen.map((s) => ({ result: resultOf(s.exit), attempts: s.sent.length, rejected: s.rejected })))
              .toStrictEqual(expected)
            expect(
              Object.fromEntries(
                Object.entries(policy).map(([key, s]) => [key, { requests: s.requests, retries: s.retries }])
              )
            ).toStrictEqual(
              Object.fromEntries([...counts].map(([key, c]) => [key, { requests: c.requests, retries: c.retries }]))
            )
          }
        ),
        { seed: 1_206, numRuns: 50 }
      ),
    60_000
  )
})

// -----------------------------------------------------------------------------
// server pause: one pause per key, across profiles and endpoints; each call's own patience
// -----------------------------------------------------------------------------

const pauseLayerArb: fc.Arbitrary<RetryLayer> = fc.record({
  retry: fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constant(false as const) },
    {
      weight: 4,
      arbitrary: fc.record({
        maxAttempts: fc.constant(1),
        maxRetryAfter: fc.constantFrom(undefined, "2 seconds", "5 seconds"),
        respectRetryAfter: fc.constantFrom(undefined, undefined, false, true)
      }, { requiredKeys: ["maxAttempts"] })
    }
  )
}, { requiredKeys: [] })

type PauseAnswer = "ok" | `${429 | 503} ${1 | 3 | 8}`

const pauseCallsArb = fc.array(
  fc.record({
    req: reqArb,
    gap: fc.constantFrom(0, 500, 1_000, 2_500),
    answer: fc.constantFrom<PauseAnswer>("ok", "ok", "429 1", "429 3", "429 8", "503 1", "503 3", "503 8")
  }),
  { minLength: 2, maxLength: 9 }
)

const faultOfAnswer = (answer: PauseAnswer): FaultScript.Fault => {
  if (answer === "ok") return ok
  const [status, seconds] = answer.split(" ")
  return FaultScript.status(Number(status), { retryAfter: seconds! })
}

describe("server pause: a 429/503's pause holds the calls of its key only, each by its own patience", () => {
  it("held, refused (Paused) or sent, by the pause of the call's key", () =>
    fc.assert(
      fc.asyncProperty(
        treeArb(
          fc.constant<RetryLayer>({ retry: { maxAttempts: 1 } }),
          pauseLayerArb,
          pauseLayerArb
        ),
        pauseCallsArb,
        async (tree, raw) => {
          const calls: Array<Call> = raw.map(({ answer, gap, req }) => ({ req, gap, answers: [faultOfAnswer(answer)] }))
          const options = optionsOf(tree, { circuitBreaker: false })
          const { seen } = await runTest(play(options, calls))
          const pauseEnd = new Map<string, number>()
          const longWaits = new Map<string, { until: number; probeAt: number }>()
          const expected = raw.map((call, i) => {
            const t = seen[i]!.startedAt
            const { key, layers } = layersOf(tree, call.req)
            const retry = retryAfterRulesOf(layers)
            const patience = retry.maxRetryAfter
            const left = Math.max(0, (pauseEnd.get(key) ?? 0) - t)
            let sentAt = t
            // `respectRetryAfter: false` ignores server waits and pauses entirely
            if (left > 0 && retry.respectRetryAfter) {
              const long = longWaits.get(key)
              const asked = long !== undefined && long.probeAt > t ? Math.max(left, long.until - t) : left
              if (!(asked <= patience && left < 30_000)) {
                return {
                  result: `RateLimitExceeded Paused ${left}`,
                  sentAt: undefined,
                  rejected: [`${key} RateLimitExceeded`]
                }
              }
              sentAt = t + left
            }
            if (call.answer === "ok") return { result: "ok", sentAt, rejected: [] as Array<string> }
            const [status, seconds] = call.answer.split(" ").map(Number) as [number, number]
            if (retry.respectRetryAfter) {
              const wait = seconds * 1_000
              if (wait <= retry.maxRetryAfter) {
                pauseEnd.set(key, Math.max(pauseEnd.get(key) ?? 0, sentAt + wait))
              } else {
                const known = longWaits.get(key)
                longWaits.set(
                  key,
                  known !== undefined && known.probeAt > sentAt
                    ? {
                      until: Math.max(sentAt + wait, known.until),
                      probeAt: Math.max(sentAt + retry.maxRetryAfter, known.probeAt)
                    }
                    : { until: sentAt + wait, probeAt: sentAt + retry.maxRetryAfter }
                )
                pauseEnd.set(key, Math.max(pauseEnd.get(key) ?? 0, sentAt + retry.maxRetryAfter))
              }
            }
            return {
              result: status === 429 ? "RateLimited" : "ServerError",
              sentAt,
              rejected: [] as Array<string>
            }
          })
          expect(seen.map((s) => ({ result: resultOf(s.exit), sentAt: s.sent[0], rejected: s.rejected })))
            .toStrictEqual(expected)
        }
      ),
      { seed: 61_206, numRuns: 50 }
    ), 60_000)
})
