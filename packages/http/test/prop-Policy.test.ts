// Properties of the whole `Policy` pipeline (retry, backoff, server waits, budget, deadline, attempt timeout, events),
// run in virtual time over `@sturdy/testing`'s ScriptedClient and driven by generated fault scripts.
//
// The model (`expected` below) is written from the module docs of `Policy` (its "Rules" and the `RetryOptions`
// table), `@sturdy/policy`'s `Retry` (the order of a decision: retryable → attempts → server wait → deadline →
// budget), `Backoff` (t(n) = min(maxDelay, baseDelay × 2ⁿ), n = 0 before the second attempt; "none" is t(n), "full"
// is in [1 ms, t(n)], "equal" in [t(n)/2, t(n)], whole milliseconds rounded down) and `RetryBudget` (a retry is
// allowed while retries < minRetries + ratio × requests). It plays one call attempt by attempt: each attempt's
// outcome is the script's (the last step repeats), bounded by the attempt's limit, the sooner of `attemptTimeout`
// and the deadline (a tie is the deadline's: `Timeout` phase `Deadline`); each failure is judged by the documented
// rules (which failures retry, which requests may be repeated and `retry.methods`, whose `Retry-After` is read,
// `maxRetryAfter`, `maxElapsed` counted from the first failure for the backoff and the server's wait alike) and the
// jittered wait is taken from the run's `RetryDecision` event, after checking it against its documented bounds, so
// that the model knows when the next attempt starts (a jittered backoff stopped by `maxElapsed` reports no wait: the
// model then checks that its envelope could pass the limit). From that it predicts exactly: the number of transport calls, each attempt's
// start time, the final outcome (the decoded body, or the failure's tag, status / reason / phase and `attempts`), the
// reason of every retry decision, the virtual time at which the call ends, the `x-retry-count` and
// `x-request-timeout-ms` headers of each attempt, and one Idempotency-Key for every attempt of a keyed POST.
//
// Rules taken from the code rather than the docs: an attempt timeout that ends with the deadline is the deadline's
// (`Timeout` phase `Deadline`, @sturdy/policy internal/deadline.ts); a `Retry-After` HTTP-date is read to the
// millisecond against the clock at the response (the date itself has whole seconds).
//
// Left out: hedging, the rate limiter, the bulkhead's queue, custom schedules and `retryOn`, the
// `decorrelated` jitter, `RateLimit` headers, `x-should-retry`, and calls sharing a pause (each run is one call on a
// fresh policy, so a server's pause can only hold that call's own retries, which wait at least as long already).
// The breaker stage and the pause across calls have their own files, prop-PolicyBreaker.test.ts and
// prop-PolicyPause.test.ts.
import { HttpClient, HttpClientError } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy, SturdyClient } from "@sturdy/http"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import { FaultScript, ScriptedClient } from "@sturdy/testing"
import {
  Cause,
  Clock,
  Duration,
  Effect,
  Exit,
  FastCheck as fc,
  Fiber,
  Layer,
  Option,
  Random,
  Schema,
  TestClock,
  TestContext
} from "effect"
import { systemError } from "./utils/fakeTransport.js"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const ada = { id: 1, name: "Ada" }
const base = "http://api.test"
const path = "/r"

// -----------------------------------------------------------------------------
// scripts
// -----------------------------------------------------------------------------

type RetryAfter =
  | { readonly _tag: "None" }
  | { readonly _tag: "Seconds"; readonly seconds: number }
  | { readonly _tag: "Date"; readonly seconds: number }

/** What one attempt meets. */
type Outcome =
  | { readonly _tag: "Ok"; readonly latency: number }
  | { readonly _tag: "WrongShape"; readonly latency: number }
  | { readonly _tag: "Malformed"; readonly latency: number }
  | { readonly _tag: "Truncated"; readonly latency: number }
  | { readonly _tag: "Status"; readonly status: number; readonly retryAfter: RetryAfter; readonly latency: number }
  | { readonly _tag: "Reset"; readonly latency: number }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "Refused" }
  | { readonly _tag: "Dns" }

type Method = "GET" | "PUT" | "POST" | "POST+key"

interface Scenario {
  readonly method: Method
  readonly outcomes: ReadonlyArray<Outcome>
  readonly maxAttempts: number
  readonly baseDelay: number
  readonly maxDelay: number
  readonly jitter: "none" | "full" | "equal"
  readonly attemptTimeout: number
  readonly totalTimeout: number
  readonly maxRetryAfter: number
  readonly retryAfterJitter: number
  /** `false`: no budget; else a `RetryBudget` of this floor and ratio, with a window longer than any call. */
  readonly budget: false | { readonly minRetries: number; readonly ratio: number }
  /** `retry.methods`, the methods that retry, if set. */
  readonly methods: ReadonlyArray<"GET" | "PUT" | "POST"> | undefined
  readonly maxElapsed: number | undefined
  readonly idempotencyKey: boolean
  readonly retryUnsent: boolean
  readonly seed: number
}

const latencyArb = fc.constantFrom(0, 20, 300, 950, 1_500)
const retryAfterArb: fc.Arbitrary<RetryAfter> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ _tag: "None" as const }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 1, 2, 3, 40).map((seconds) => ({ _tag: "Seconds" as const, seconds })) },
  { weight: 1, arbitrary: fc.constantFrom(1, 2, 3, 40).map((seconds) => ({ _tag: "Date" as const, seconds })) }
)
const outcomeArb: fc.Arbitrary<Outcome> = fc.oneof(
  { weight: 3, arbitrary: latencyArb.map((latency) => ({ _tag: "Ok" as const, latency })) },
  { weight: 1, arbitrary: latencyArb.map((latency) => ({ _tag: "WrongShape" as const, latency })) },
  { weight: 1, arbitrary: latencyArb.map((latency) => ({ _tag: "Malformed" as const, latency })) },
  { weight: 1, arbitrary: latencyArb.map((latency) => ({ _tag: "Truncated" as const, latency })) },
  {
    weight: 10,
    arbitrary: fc.record({
      _tag: fc.constant("Status" as const),
      status: fc.constantFrom(400, 404, 408, 425, 429, 429, 429, 500, 501, 502, 503, 503, 503, 504, 505, 511),
      retryAfter: retryAfterArb,
      latency: latencyArb
    })
  },
  { weight: 2, arbitrary: latencyArb.map((latency) => ({ _tag: "Reset" as const, latency })) },
  { weight: 1, arbitrary: fc.constant({ _tag: "Hang" as const }) },
  { weight: 2, arbitrary: fc.constant({ _tag: "Refused" as const }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "Dns" as const }) }
)

const scenarioArbWith = (
  outcomes: fc.Arbitrary<Outcome>,
  totalTimeout: fc.Arbitrary<number>
): fc.Arbitrary<Scenario> =>
  fc
    .record({
      method: fc.constantFrom<Method>("GET", "PUT", "POST", "POST+key"),
      outcomes: fc.array(outcomes, { minLength: 1, maxLength: 8 }),
      maxAttempts: fc.integer({ min: 1, max: 7 }),
      baseDelay: fc.constantFrom(1, 100, 500, 1_000),
      maxDelay: fc.constantFrom(1_000, 2_000, 5_000),
      jitter: fc.constantFrom<Scenario["jitter"]>("none", "full", "equal"),
      attemptTimeout: fc.constantFrom(1_000, 2_000, 5_000),
      totalTimeout,
      maxRetryAfter: fc.constantFrom(1_000, 5_000, 30_000),
      retryAfterJitter: fc.constantFrom(0, 0.1),
      budget: fc.oneof(
        fc.constant(false as const),
        fc.record({ minRetries: fc.integer({ min: 0, max: 3 }), ratio: fc.constantFrom(0, 0.5, 1.5) })
      ),
      methods: fc.constantFrom<Scenario["methods"]>(undefined, undefined, [], ["GET"], ["GET", "POST"], [
        "PUT",
        "POST"
      ]),
      maxElapsed: fc.constantFrom(undefined, undefined, 500, 1_000, 1_500, 3_000),
      idempotencyKey: fc.boolean(),
      retryUnsent: fc.boolean(),
      seed: fc.integer()
    })
    .map((s) => ({ ...s, attemptTimeout: Math.min(s.attemptTimeout, s.totalTimeout) }))

const scenarioArb = scenarioArbWith(outcomeArb, fc.constantFrom(3_000, 10_000, 30_000))

// server waits close to a short deadline: 429 and 503 with a Retry-After, a 503 without, and successes
const serverWaitArb = scenarioArbWith(
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        _tag: fc.constant("Status" as const),
        status: fc.constantFrom(429, 503),
        retryAfter: fc.oneof(
          fc.constantFrom(0, 1, 2, 3).map((seconds): RetryAfter => ({ _tag: "Seconds", seconds })),
          fc.constantFrom(1, 2, 3).map((seconds): RetryAfter => ({ _tag: "Date", seconds }))
        ),
        latency: fc.constantFrom(0, 20, 300, 950)
      })
    },
    {
      weight: 1,
      arbitrary: fc.constant<Outcome>({ _tag: "Status", status: 503, retryAfter: { _tag: "None" }, latency: 0 })
    },
    { weight: 1, arbitrary: fc.constant<Outcome>({ _tag: "Ok", latency: 0 }) }
  ),
  fc.constantFrom(2_500, 3_000, 4_500)
).map((s) => ({ ...s, retryAfterJitter: 0.1, maxRetryAfter: Math.max(s.maxRetryAfter, 5_000) }))

const faultOf = (outcome: Outcome): FaultScript.Fault => {
  switch (outcome._tag) {
    case "Ok":
      return FaultScript.json(ada, { latency: outcome.latency })
    case "WrongShape":
      return FaultScript.json({ id: "one" }, { latency: outcome.latency })
    case "Malformed":
      return FaultScript.malformedJson({ latency: outcome.latency })
    case "Truncated":
      return FaultScript.truncated({ body: ada, latency: outcome.latency })
    case "Status": {
      const ra = outcome.retryAfter
      return FaultScript.status(outcome.status, {
        latency: outcome.latency,
        ...(ra._tag === "Seconds"
          ? { retryAfter: String(ra.seconds) }
          : ra._tag === "Date"
          ? { retryAfter: { _tag: "RelativeDate" as const, seconds: ra.seconds } }
          : {})
      })
    }
    case "Reset":
      return FaultScript.reset("beforeHeaders", { latency: outcome.latency })
    case "Hang":
      return FaultScript.hang
    case "Refused":
    case "Dns":
      throw new Error("not scripted: failed by the wrapper")
  }
}

const unscripted = (outcome: Outcome) => outcome._tag === "Refused" || outcome._tag === "Dns"
const outcomeAt = (outcomes: ReadonlyArray<Outcome>, index: number) => outcomes[Math.min(index, outcomes.length - 1)]!

// -----------------------------------------------------------------------------
// the run
// -----------------------------------------------------------------------------

interface Sent {
  readonly at: number
  readonly headers: Readonly<Record<string, string>>
}

interface Observed {
  readonly exit: Exit.Exit<typeof User.Type, Policy.Failure>
  readonly sent: ReadonlyArray<Sent>
  readonly events: ReadonlyArray<{ readonly at: number; readonly event: Policy.Event }>
  readonly endedAt: number
}

/**
 * An `HttpClient` that plays `outcomes`: refused connections and failed DNS lookups are failed here, the way
 * undici fails them (a platform `RequestError` whose cause has the system `code`), and everything else goes to a
 * ScriptedClient whose sequence holds the other outcomes in order (so its last step repeats as the script's does).
 */
const scriptedTransport = (outcomes: ReadonlyArray<Outcome>, route: string) =>
  Effect.gen(function*() {
    const played = outcomes.filter((o) => !unscripted(o)).map(faultOf)
    const scripted = yield* ScriptedClient.make(
      FaultScript.routes({
        [route]: FaultScript.sequence(...(played.length > 0 ? played : [FaultScript.json(ada)]) as [FaultScript.Fault])
      })
    )
    const sent: Array<Sent> = []
    const client = HttpClient.make((request) =>
      Effect.gen(function*() {
        const outcome = outcomeAt(outcomes, sent.length)
        sent.push({ at: yield* Clock.currentTimeMillis, headers: request.headers })
        if (outcome._tag === "Refused" || outcome._tag === "Dns") {
          const cause = systemError(outcome._tag === "Refused" ? "ECONNREFUSED" : "ENOTFOUND")
          return yield* Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause }))
        }
        return yield* scripted.client.execute(request)
      })
    )
    return { client, sent }
  })

const policyOptions = (s: Scenario, mutate?: Partial<Policy.Options>): Policy.Options => ({
  totalTimeout: Duration.millis(s.totalTimeout),
  attemptTimeout: Duration.millis(s.attemptTimeout),
  retry: {
    maxAttempts: s.maxAttempts,
    baseDelay: Duration.millis(s.baseDelay),
    maxDelay: Duration.millis(Math.max(s.baseDelay, s.maxDelay)),
    jitter: s.jitter,
    maxRetryAfter: Duration.millis(s.maxRetryAfter),
    retryAfterJitter: s.retryAfterJitter,
    budget: s.budget !== false,
    idempotencyKey: s.idempotencyKey,
    retryUnsent: s.retryUnsent,
    methods: s.methods,
    maxElapsed: s.maxElapsed === undefined ? undefined : Duration.millis(s.maxElapsed)
  },
  circuitBreaker: false,
  deadlineHeader: true,
  retryCountHeader: true,
  ...mutate
})

const play = (s: Scenario): Effect.Effect<Observed> =>
  Effect.gen(function*() {
    const method = s.method === "POST+key" ? "POST" : s.method
    const { client, sent } = yield* scriptedTransport(s.outcomes, `${method} ${path}`)
    const budget = s.budget === false
      ? Layer.empty
      : RetryBudget.layer({ ratio: s.budget.ratio, minRetries: s.budget.minRetries, window: "10 minutes" })
    const policy = yield* Policy.make(policyOptions(s)).pipe(Effect.provide(budget), Effect.orDie)
    const api = SturdyClient.makeWith(client, { baseUrl: base, policy })
    const events: Array<{ at: number; event: Policy.Event }> = []
    const onEvent = (event: Policy.Event) =>
      Effect.map(Clock.currentTimeMillis, (at) => {
        events.push({ at, event })
      })
    const options = {
      schema: User,
      onEvent,
      ...(s.method === "POST+key" ? { headers: { "idempotency-key": "k-1" } } : {}),
      ...(method === "GET" ? {} : { body: { sku: "A-1" } })
    }
    const call = method === "GET"
      ? api.get(path, options)
      : method === "PUT"
      ? api.put(path, options)
      : api.post(path, options)
    let endedAt = -1
    const fiber = yield* Effect.fork(
      Effect.withRandom(call, Random.make(s.seed)).pipe(
        Effect.ensuring(Effect.map(Clock.currentTimeMillis, (now) => {
          endedAt = now
        }))
      )
    )
    yield* TestClock.adjust("10 minutes")
    const exit = yield* Fiber.await(fiber)
    return { exit, sent, events, endedAt }
  }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))

// -----------------------------------------------------------------------------
// the model
// -----------------------------------------------------------------------------

/** A failure as the model names it: the tag and the field that tells the kind apart. */
interface Fail {
  readonly tag: string
  readonly detail: string | number | undefined
  /** The server's wait this failure names, read as Policy reads it (ms), if any. */
  readonly hint: number | undefined
}

const failOf = (outcome: Outcome, at: number): Fail | undefined => {
  switch (outcome._tag) {
    case "Ok":
      return undefined
    case "WrongShape":
      return { tag: "SchemaMismatch", detail: 200, hint: undefined }
    case "Malformed":
      return { tag: "InvalidJson", detail: 200, hint: undefined }
    case "Truncated":
      return { tag: "BodyTruncated", detail: 200, hint: undefined }
    case "Status": {
      const status = outcome.status
      const tag = status === 429 ? "RateLimited" : status >= 500 ? "ServerError" : "ClientError"
      const ra = outcome.retryAfter
      // Retry-After is honoured on 413, 429 and 503 only (`retry.retryAfterStatuses`)
      const honoured = status === 429 || status === 503
      const hint = !honoured || ra._tag === "None"
        ? undefined
        : ra._tag === "Seconds"
        ? ra.seconds * 1000
        : Math.max(0, Math.floor((at + ra.seconds * 1000) / 1000) * 1000 - at)
      return { tag, detail: status, hint }
    }
    case "Reset":
      return { tag: "ConnectionError", detail: "Reset", hint: undefined }
    case "Refused":
      return { tag: "ConnectionError", detail: "Refused", hint: undefined }
    case "Dns":
      return { tag: "ConnectionError", detail: "DnsLookup", hint: undefined }
    case "Hang":
      throw new Error("a hang fails by its limit")
  }
}

/** `Policy.isRetryableByDefault`, as the module docs state it, for the failures the scripts produce. */
const retryableByDefault = (f: Fail): boolean => {
  switch (f.tag) {
    case "ClientError":
      return f.detail === 408
    case "RateLimited":
      return true
    case "ServerError":
      return f.detail !== 501 && f.detail !== 505 && f.detail !== 511
    case "ConnectionError":
      return true
    case "Timeout":
      return f.detail === "Attempt"
    case "BodyTruncated":
      return true
    default:
      return false
  }
}

/** Proves the request never left: a refused connection, a failed DNS lookup (a connect timeout too). */
const provenUnsent = (f: Fail) => f.tag === "ConnectionError" && (f.detail === "Refused" || f.detail === "DnsLookup")

interface Expected {
  readonly starts: ReadonlyArray<number>
  /** Per attempt: the failure, or undefined for the success. */
  readonly failures: ReadonlyArray<Fail | undefined>
  readonly decisions: ReadonlyArray<{ readonly attempt: number; readonly reason: string; readonly retrying: boolean }>
  readonly final: { readonly _tag: "Success" } | {
    readonly _tag: "Failure"
    readonly fail: Fail
    readonly budget: boolean
  }
  readonly endedAt: number
}

/** Thrown when the scenario is on a tie the docs leave open (a response arriving at the instant its limit ends). */
class Tie extends Error {}

const backoffBounds = (s: Scenario, n: number): readonly [number, number] => {
  const t = Math.min(Math.max(s.baseDelay, s.maxDelay), s.baseDelay * 2 ** n)
  switch (s.jitter) {
    case "none":
      return [t, t]
    case "full":
      return [Math.min(1, t), t]
    case "equal":
      return [Math.floor(t / 2), t]
  }
}

/**
 * The call the docs describe. `decisionOf(k)` is what the run decided after attempt k failed (its `RetryDecision`
 * event): its wait is checked against its bounds before the model uses it, and a jittered backoff that may or may
 * not pass `maxElapsed` is checked to be on the side the run took.
 */
const expected = (
  s: Scenario,
  decisionOf: (attempt: number) => { readonly delay: number; readonly reason: string } | undefined
): Expected => {
  const deadline = s.totalTimeout
  const method = s.method === "POST+key" ? "POST" : s.method
  // `retry.methods` lists the methods that retry, and a listed method counts as safe to repeat
  const listed = s.methods === undefined ? undefined : s.methods.includes(method)
  const safe = listed === true || s.method === "GET" || s.method === "PUT" || s.method === "POST+key" ||
    s.idempotencyKey
  let firstFailure: number | undefined
  const starts: Array<number> = []
  const failures: Array<Fail | undefined> = []
  const decisions: Array<{ attempt: number; reason: string; retrying: boolean }> = []
  let retries = 0
  let now = 0
  for (let k = 1;; k++) {
    starts.push(now)
    const outcome = outcomeAt(s.outcomes, k - 1)
    const attemptEnd = now + s.attemptTimeout
    const limit = Math.min(attemptEnd, deadline)
    const phase = attemptEnd >= deadline ? "Deadline" : "Attempt"
    let fail: Fail | undefined
    let end: number
    if (outcome._tag === "Hang") {
      fail = { tag: "Timeout", detail: phase, hint: undefined }
      end = limit
    } else if (outcome._tag === "Refused" || outcome._tag === "Dns") {
      fail = failOf(outcome, now)
      end = now
    } else if (now + outcome.latency === limit) {
      throw new Tie()
    } else if (now + outcome.latency > limit) {
      fail = { tag: "Timeout", detail: phase, hint: undefined }
      end = limit
    } else {
      end = now + outcome.latency
      fail = failOf(outcome, end)
    }
    failures.push(fail)
    now = end
    if (fail === undefined) return { starts, failures, decisions, final: { _tag: "Success" }, endedAt: now }
    const stop = (reason: string, budget = false): Expected => {
      decisions.push({ attempt: k + 1, reason, retrying: false })
      return { starts, failures, decisions, final: { _tag: "Failure", fail, budget }, endedAt: now }
    }
    // 1. the failure's kind and the request's safety (and `retry.methods`)
    if (
      listed === false || !(retryableByDefault(fail) && (safe || (s.retryUnsent && provenUnsent(fail))))
    ) return stop("not-retryable")
    firstFailure ??= now
    // no retry starts later than maxElapsed after the first failure
    const latest = s.maxElapsed === undefined ? Infinity : firstFailure + s.maxElapsed - now
    // 2. the attempts
    if (k >= s.maxAttempts) return stop("exhausted")
    const decision = decisionOf(k)
    if (decision === undefined) throw new Error(`no RetryDecision after attempt ${k}`)
    const delay = decision.delay
    let reason: string
    if (fail.hint !== undefined) {
      // 3. the server's wait is the wait; above maxRetryAfter the call fails at once, past maxElapsed it stops
      const hint = fail.hint
      if (hint > s.maxRetryAfter) return stop("retry-after-too-long")
      if (hint > latest) return stop("exhausted")
      // 4. a wait that ends at or after the deadline (the hint itself, before jitter) gives up at once
      if (now + hint >= deadline) return stop("deadline")
      const jitterCap = Math.min(Math.floor(hint * s.retryAfterJitter), 1_000)
      const upper = Math.min(hint + jitterCap, s.maxRetryAfter, latest, deadline - now - 1)
      expect(delay, `attempt ${k}: the wait honours Retry-After ${hint} ms`).toBeGreaterThanOrEqual(hint)
      expect(delay, `attempt ${k}: the wait's jitter is bounded`).toBeLessThanOrEqual(upper)
      reason = "retry-after"
    } else {
      const [lower, upper] = backoffBounds(s, k - 1)
      if (lower > latest) return stop("exhausted")
      if (upper > latest && decision.reason === "exhausted") {
        // the jittered delay the run drew (not reported) started past maxElapsed: possible, as upper > latest
        return stop("exhausted")
      }
      expect(delay, `attempt ${k}: maxElapsed`).toBeLessThanOrEqual(latest)
      expect(delay, `attempt ${k}: the backoff's lower bound`).toBeGreaterThanOrEqual(lower)
      expect(delay, `attempt ${k}: the backoff's upper bound`).toBeLessThanOrEqual(upper)
      if (now + delay >= deadline) return stop("deadline")
      reason = "backoff"
    }
    // 5. the budget: a retry while retries < minRetries + ratio × requests (this call is the one request)
    if (s.budget !== false && !(retries < s.budget.minRetries + s.budget.ratio * 1)) return stop("budget-refused", true)
    retries++
    decisions.push({ attempt: k + 1, reason, retrying: true })
    now += delay
  }
}

// -----------------------------------------------------------------------------
// checks
// -----------------------------------------------------------------------------

const failureTag = (f: Fail) => f.tag

const detailOf = (failure: Policy.Failure): string | number | undefined =>
  failure._tag === "ConnectionError"
    ? failure.reason
    : failure._tag === "Timeout"
    ? failure.phase
    : "status" in failure
    ? failure.status
    : undefined

const check = (s: Scenario, run: Observed) => {
  const decisions = run.events.flatMap(({ event }) => event._tag === "RetryDecision" ? [event] : [])
  let model: Expected
  try {
    model = expected(s, (k) => {
      const decision = decisions.find((d) => d.attempt === k + 1)
      return decision === undefined ? undefined : { delay: Duration.toMillis(decision.delay), reason: decision.reason }
    })
  } catch (e) {
    if (e instanceof Tie) return
    throw e
  }
  const attempts = model.starts.length

  // transport calls: at most maxAttempts, exactly the model's, each at the time the model starts it
  expect(run.sent.length).toBeLessThanOrEqual(s.maxAttempts)
  expect(run.sent.map((x) => x.at)).toStrictEqual(model.starts)
  // each attempt says how many were sent before it, and the time it has left: the sooner of its attempt timeout and
  // the deadline
  expect(run.sent.map((x) => x.headers["x-retry-count"])).toStrictEqual(model.starts.map((_, i) => String(i)))
  expect(run.sent.map((x) => x.headers["x-request-timeout-ms"])).toStrictEqual(
    model.starts.map((at) => String(Math.min(s.attemptTimeout, s.totalTimeout - at)))
  )

  // a request that is not safe to repeat reaches the server at most once (a refused connection or a failed DNS
  // lookup never did); one with an Idempotency-Key carries the same key on every attempt
  if (s.method === "POST" && !s.idempotencyKey && !(s.methods ?? []).includes("POST")) {
    const reached = run.sent.filter((_, i) => !unscripted(outcomeAt(s.outcomes, i)))
    expect(reached.length).toBeLessThanOrEqual(1)
  }
  if (s.method === "POST+key" || (s.method === "POST" && s.idempotencyKey)) {
    const keys = new Set(run.sent.map((x) => x.headers["idempotency-key"]))
    expect(keys.size).toBe(1)
    expect([...keys][0]).toMatch(s.method === "POST+key" ? /^k-1$/ : /.+/)
  }

  // the outcome
  if (model.final._tag === "Success") {
    expect(run.exit).toStrictEqual(Exit.succeed(ada))
  } else {
    expect(Exit.isFailure(run.exit)).toBe(true)
    if (Exit.isSuccess(run.exit)) return
    // a typed failure, never a defect nor an interruption
    expect(Cause.isFailType(run.exit.cause), Cause.pretty(run.exit.cause)).toBe(true)
    const failure = Option.getOrThrow(Cause.failureOption(run.exit.cause))
    const fail = model.final.fail
    if (model.final.budget) {
      expect(failure._tag).toBe("RetryBudgetExhausted")
      if (failure._tag !== "RetryBudgetExhausted") return
      expect(failure.failure._tag).toBe(failureTag(fail))
      expect(failure.attempts).toBe(attempts)
    } else {
      expect({ tag: failure._tag, detail: detailOf(failure) }).toStrictEqual({ tag: fail.tag, detail: fail.detail })
      expect(Policy.attemptsOf(failure)).toBe(attempts)
    }
  }

  // never longer than totalTimeout, and exactly as long as the model's call
  expect(run.endedAt).toBeLessThanOrEqual(s.totalTimeout)
  expect(run.endedAt).toBe(model.endedAt)

  // the events, in order: per attempt Started then Ended, then one RetryDecision after each failure (and Rejected
  // after a decision the budget refused)
  const expectedEvents: Array<string> = []
  for (let k = 1; k <= attempts; k++) {
    const f = model.failures[k - 1]
    expectedEvents.push(`AttemptStarted ${k}`, `AttemptEnded ${k} ${f === undefined ? "success" : "failure"}`)
    const decision = model.decisions.find((d) => d.attempt === k + 1)
    if (decision !== undefined) expectedEvents.push(`RetryDecision ${k + 1} ${decision.reason} ${decision.retrying}`)
  }
  if (model.final._tag === "Failure" && model.final.budget) {
    expectedEvents.push(`Rejected ${attempts + 1} RetryBudgetExhausted`)
  }
  const seen = run.events.map(({ event }) => {
    switch (event._tag) {
      case "AttemptStarted":
        return `AttemptStarted ${event.attempt}`
      case "AttemptEnded":
        return `AttemptEnded ${event.attempt} ${event.outcome}`
      case "RetryDecision":
        return `RetryDecision ${event.attempt} ${event.reason} ${event.retrying}`
      case "Rejected":
        return `Rejected ${event.attempt} ${event.rejection._tag}`
      default:
        return event._tag
    }
  })
  expect(seen).toStrictEqual(expectedEvents)
  // each retry waits what its decision said
  for (const d of decisions.filter((d) => d.retrying)) {
    const failedAt = run.events.find(({ event }) =>
      event._tag === "AttemptEnded" && event.attempt === d.attempt - 1
    )!.at
    expect(model.starts[d.attempt - 1]! - failedAt).toBe(Duration.toMillis(d.delay))
  }
}

const property = (scenarios: fc.Arbitrary<Scenario>, numRuns: number, seed: number) =>
  fc.assert(
    fc.asyncProperty(scenarios, async (s) => {
      const run = await Effect.runPromise(play(s))
      check(s, run)
    }),
    { seed, numRuns }
  )

describe("Policy pipeline against its documented rules (generated fault scripts)", () => {
  it(
    "every call: transport calls, waits, outcome, time and events as the model predicts",
    () => property(scenarioArb, 300, 20261206),
    60_000
  )

  it(
    "server waits near a short deadline: honoured, capped, refused as documented",
    () => property(serverWaitArb, 200, 1206),
    60_000
  )
})
