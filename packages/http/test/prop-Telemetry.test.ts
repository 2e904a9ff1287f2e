// Properties of `Telemetry` (packages/http/src/Telemetry.ts) as `Policy` wires it in (`telemetry: true`, a
// `TestTracer` installed), run on the TestClock over `@sturdy/testing`'s ScriptedClient with generated scripts of
// logical calls, each with its own script of attempt outcomes (a 200, a 503, a 500, a 400, a reset, a hang until the
// attempt timeout, a defect), its gap before it and, maybe, an interruption by the caller.
//
// The model plays the calls as the docs describe them and predicts, exactly:
// - per call, its `Outcome` (`success`, `failure`, `rejected` for a call the open breaker turned away, `interrupted`,
//   `defect`), its failure tag (`none` on success, interruption and defect), its attempts and their outcomes, and
//   its start and end on the TestClock;
// - every metric of the run's host (each run calls a host of its own): `requests_total` and `attempts_total` by
//   method, outcome and failure tag; both duration histograms' count, sum and buckets (TestClock milliseconds, the
//   documented boundaries); `retries_total` by reason; `policy_rejections_total` (a rejection counted once); the
//   breaker's `transitions_total` by from/to and its state gauge (0/1/2, the state last reported);
// - the span tree: one `http.client.request {METHOD}` span per call (kind `internal`; `HTTP` for a method the
//   conventions do not know) with one `http.client.attempt {METHOD}` child per attempt sent (kind `client`), their
//   request attributes (`http.request.method`, `_OTHER` and `http.request.method_original` for an unknown method or
//   another case, `url.full`, `server.address`, `server.port`), their end attributes (`http.response.status_code`,
//   `error.type`: the status, else the failure's tag, `_OTHER` for a defect; `sturdy.failure_tag`, `sturdy.outcome`,
//   `sturdy.attempts`, `sturdy.breaker_state` `open` on a call the breaker rejected), the attempt attributes
//   (`sturdy.attempt`, `sturdy.hedge_index`, `http.request.resend_count`, `sturdy.delay_ms`/`sturdy.delay_reason`
//   of the wait before it, `sturdy.breaker_state` `closed`/`half_open` once the tracked breaker reported a state,
//   `http.request.body.size` and, for a response read whole, `http.response.body.size`), the
//   call span's `retry`/`retry.stop` events (`retry.attempt`, `retry.delay_ms`, `retry.reason`), and every span's
//   start and end time (TestClock nanoseconds) and exit.
// The rules the model plays are Policy's "Rules" (GET, PUT and DELETE in any case repeat; POST and unknown methods do
// not; 5xx, resets and attempt timeouts retry, a 400 does not; an open breaker fails fast with `CircuitOpen`, which
// is not retried; the breaker counts 5xx, resets, timeouts and defects, a 400 is an answer; a failed half-open probe
// reopens at once), Retry's (defects and interruptions are never retried; each decision a span event) and
// CircuitBreaker's (an interruption is not recorded: a half-open probe interrupted leaves it half-open).
//
// Rules taken from the code: a retry that meets the open breaker ends the call with that `CircuitOpen` (a
// `retry.stop` event, reason `not-retryable`); a registry's breaker reports no state before its first transition (no
// gauge series, no `sturdy.breaker_state` on attempts until then).
//
// A second family runs hedged calls (copies of scripted latencies, the first answer wins, the others interrupted) and
// checks the attempt spans' numbering, hedge indexes and outcomes and the attempt metrics. The cardinality family
// fills the process's `host` set to exactly `cardinalityLimit` and checks that the next host is counted under
// `host="_OTHER"` in every instrument, other labels kept, while admitted hosts keep their own series; and the same for
// the `upstream` set with a tracked registry's breakers (transitions and the state gauge, which under `_OTHER` holds
// the state last reported beyond the limit).
//
// Mutation checks (each made the named property fail with a shrunk counterexample; the source was restored from a
// copy), all in internal/telemetry.ts:
// - a policy's rejection reported as outcome `failure` → "every call ..." (requests, a breaker's CircuitOpen);
// - the probe's attempt reporting the state last published (`open`) instead of `half_open` → "every call ...";
// - an attempt's duration off by 1 ms → "every call ..." (attempt duration histogram);
// - `sturdy.hedge_index` always 0 → "each copy is an attempt span ...";
// - the `host` limit admitting one host too many (`>=` made `>`) → "the limit-th host keeps its series ...";
// - `upstream` values not bounded → "the limit-th breaker keeps its series ...".
//
// Left out: logs (Telemetry.test.ts), redaction (prop-Redaction.test.ts), the retry budget, bulkhead and rate limiter
// rejections, server pauses, `Telemetry.client` on decoded bodies (Telemetry.test.ts, test/telemetry-policy.test.ts).
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Policy, Telemetry } from "@sturdy/http"
import { CircuitBreaker, Hedge, Retry } from "@sturdy/policy"
import { FaultScript, ScriptedClient, TestTracer } from "@sturdy/testing"
import {
  Chunk,
  Clock,
  Duration,
  Effect,
  Exit,
  FastCheck as fc,
  Fiber,
  FiberRef,
  Logger,
  LogLevel,
  Metric,
  MetricState,
  Option,
  Schedule,
  TestClock,
  TestContext
} from "effect"

// -----------------------------------------------------------------------------
// scripts
// -----------------------------------------------------------------------------

type Kind = "ok" | "503" | "500" | "400" | "reset" | "hang" | "die"

interface Step {
  readonly kind: Kind
  readonly latency: number
}

interface CallScript {
  readonly method: string
  readonly steps: ReadonlyArray<Step>
  readonly gap: number
  /** the caller interrupts the call this long after it started (odd: never on a scripted instant) */
  readonly interruptAt: number | undefined
}

interface Scenario {
  readonly calls: ReadonlyArray<CallScript>
  readonly maxAttempts: number
  /** `undefined`: no breaker */
  readonly consecutiveFailures: number | undefined
}

const attemptTimeout = 500
const backoff = 100
// never a multiple of 10: a breaker's pause never ends on the instant something else happens
const breakDuration = 1_005

const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom<Kind>("ok", "ok", "503", "503", "500", "400", "reset", "hang", "die"),
  latency: fc.constantFrom(0, 30, 70)
})

const callArb: fc.Arbitrary<CallScript> = fc.record({
  method: fc.constantFrom("GET", "GET", "get", "PUT", "DELETE", "POST", "PURGE"),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 3 }),
  gap: fc.constantFrom(0, 400, 1_000, 2_500),
  interruptAt: fc.option(fc.integer({ min: 0, max: 150 }).map((n) => n * 10 + 5), { nil: undefined, freq: 4 })
})

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  calls: fc.array(callArb, { minLength: 1, maxLength: 6 }),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
  consecutiveFailures: fc.constantFrom(undefined, 1, 2, 3)
})

// -----------------------------------------------------------------------------
// the model
// -----------------------------------------------------------------------------

type Outcome = Telemetry.Outcome
type State = "Closed" | "Open" | "HalfOpen"

interface AttemptModel {
  readonly number: number
  readonly start: number
  readonly end: number
  readonly outcome: Outcome
  readonly failureTag: string
  readonly status: number | undefined
  readonly errorType: string | undefined
  readonly delay: number | undefined
  readonly breakerState: string | undefined
}

interface CallModel {
  readonly method: string
  readonly start: number
  readonly end: number
  readonly outcome: Outcome
  readonly failureTag: string
  readonly status: number | undefined
  readonly errorType: string | undefined
  readonly attempts: ReadonlyArray<AttemptModel>
  readonly events: ReadonlyArray<{ readonly name: string; readonly attempt: number; readonly reason: string }>
  readonly rejected: boolean
}

interface RunModel {
  readonly calls: ReadonlyArray<CallModel>
  readonly transitions: ReadonlyArray<readonly [State, State]>
  readonly finalState: State | undefined
}

const idempotentMethods = ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "QUERY"]
const knownMethods = [...idempotentMethods, "POST", "PATCH", "CONNECT"]
const methodLabel = (method: string) => knownMethods.includes(method.toUpperCase()) ? method.toUpperCase() : "_OTHER"
const spanMethod = (method: string) => methodLabel(method) === "_OTHER" ? "HTTP" : methodLabel(method)

const failureOf = (kind: Kind): { tag: string; status: number | undefined } => {
  switch (kind) {
    case "503":
      return { tag: "ServerError", status: 503 }
    case "500":
      return { tag: "ServerError", status: 500 }
    case "400":
      return { tag: "ClientError", status: 400 }
    case "reset":
      return { tag: "ConnectionError", status: undefined }
    case "hang":
      return { tag: "Timeout", status: undefined }
    case "ok":
    case "die":
      throw new Error("not a failure")
  }
}

/** Retried by default: 5xx (but 501/505/511), resets, attempt timeouts; never a 400. */
const retryable = (kind: Kind) => kind === "503" || kind === "500" || kind === "reset" || kind === "hang"
/** Counted against the upstream by the breaker: the same, and defects; a 400 or a 200 is an answer. */
const counted = (kind: Kind) => retryable(kind) || kind === "die"

const model = (s: Scenario): RunModel => {
  const breakerOn = s.consecutiveFailures !== undefined
  // a box: the closures below move it, which TypeScript's narrowing does not follow
  const breaker: { state: State } = { state: "Closed" }
  let run = 0
  let openedAt = 0
  let reported: State | undefined
  const transitions: Array<readonly [State, State]> = []
  const move = (to: State) => {
    transitions.push([breaker.state, to])
    breaker.state = to
    reported = to
  }
  let now = 0
  const calls: Array<CallModel> = []
  for (const script of s.calls) {
    now += script.gap
    const start = now
    const interruptAt = script.interruptAt === undefined ? Infinity : start + script.interruptAt
    const idempotent = idempotentMethods.includes(script.method.toUpperCase())
    const attempts: Array<AttemptModel> = []
    const events: Array<{ name: string; attempt: number; reason: string }> = []
    let sends = 0
    let delay: number | undefined
    const end = (
      outcome: Outcome,
      failureTag: string,
      status: number | undefined,
      errorType: string | undefined,
      rejected = false
    ) => {
      calls.push({
        method: script.method,
        start,
        end: now,
        outcome,
        failureTag,
        status,
        errorType,
        attempts,
        events,
        rejected
      })
    }
    for (let k = 1;; k++) {
      // the breaker admits the attempt, or fails it fast
      if (breakerOn && breaker.state === "Open") {
        if (now >= openedAt + breakDuration) move("HalfOpen")
        else {
          // Retry numbers its runs: the one the breaker refused was run k, the decision is about run k + 1
          events.push({ name: "retry.stop", attempt: k + 1, reason: "not-retryable" })
          end("rejected", "CircuitOpen", undefined, "CircuitOpen", true)
          break
        }
      }
      const probe = breakerOn && breaker.state === "HalfOpen"
      const step = script.steps[Math.min(sends++, script.steps.length - 1)]!
      const duration = step.kind === "hang" ? attemptTimeout : step.kind === "die" ? 0 : step.latency
      const breakerState = reported === undefined ? undefined : reported === "Closed" ? "closed" : "half_open"
      const attemptStart = now
      if (interruptAt < now + duration) {
        now = interruptAt
        attempts.push({
          number: k,
          start: attemptStart,
          end: now,
          outcome: "interrupted",
          failureTag: "none",
          status: undefined,
          errorType: undefined,
          delay,
          breakerState
        })
        end("interrupted", "none", undefined, undefined)
        break
      }
      now += duration
      // the breaker records what the upstream said
      if (breakerOn) {
        if (counted(step.kind)) {
          if (probe) {
            move("Open")
            openedAt = now
          } else if (++run >= s.consecutiveFailures!) {
            move("Open")
            openedAt = now
            run = 0
          }
        } else {
          run = 0
          if (probe) move("Closed")
        }
      }
      if (step.kind === "ok") {
        attempts.push({
          number: k,
          start: attemptStart,
          end: now,
          outcome: "success",
          failureTag: "none",
          status: 200,
          errorType: undefined,
          delay,
          breakerState
        })
        end("success", "none", 200, undefined)
        break
      }
      if (step.kind === "die") {
        attempts.push({
          number: k,
          start: attemptStart,
          end: now,
          outcome: "defect",
          failureTag: "none",
          status: undefined,
          errorType: "_OTHER",
          delay,
          breakerState
        })
        end("defect", "none", undefined, "_OTHER")
        break
      }
      const failure = failureOf(step.kind)
      const errorType = failure.status !== undefined && failure.status >= 400 ? String(failure.status) : failure.tag
      attempts.push({
        number: k,
        start: attemptStart,
        end: now,
        outcome: "failure",
        failureTag: failure.tag,
        status: failure.status,
        errorType,
        delay,
        breakerState
      })
      const stop = (reason: string) => {
        events.push({ name: "retry.stop", attempt: k + 1, reason })
        end("failure", failure.tag, failure.status, errorType)
      }
      if (!(idempotent && retryable(step.kind))) {
        stop("not-retryable")
        break
      }
      if (k >= s.maxAttempts) {
        stop("exhausted")
        break
      }
      events.push({ name: "retry", attempt: k + 1, reason: "backoff" })
      delay = backoff
      if (interruptAt < now + backoff) {
        now = interruptAt
        end("interrupted", "none", undefined, undefined)
        break
      }
      now += backoff
    }
  }
  return { calls, transitions, finalState: reported }
}

// -----------------------------------------------------------------------------
// the run
// -----------------------------------------------------------------------------

let runNumber = 0

/** Moves the TestClock from sleep to sleep until `fiber` is done, or until `until` (absolute ms) is reached. */
const advanceUntil = (fiber: Fiber.RuntimeFiber<unknown, unknown>, until = Infinity) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1_000; i++) {
      for (let turn = 0; turn < 20; turn++) {
        if (Option.isSome(yield* Fiber.poll(fiber))) return
        yield* Effect.yieldNow()
      }
      const now = yield* Clock.currentTimeMillis
      if (now >= until) return
      const sleeps = Chunk.toReadonlyArray(yield* TestClock.sleeps())
      const next = Math.min(until, ...sleeps)
      if (next === Infinity) return
      yield* TestClock.adjust(Duration.millis(Math.max(0, next - now)))
    }
  })

/** Lets the breaker's `changes` subscriber (another fiber) take the transitions published so far. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

const play = (s: Scenario) =>
  Effect.gen(function*() {
    const host = `telemetry-run-${++runNumber}.test`
    const base = `http://${host}:8080`
    const routes: Record<string, FaultScript.Fault> = {}
    for (const latency of [0, 30, 70]) {
      routes[`* /ok-${latency}`] = FaultScript.json({ ok: true }, { latency: Duration.millis(latency) })
      for (const status of [503, 500, 400]) {
        routes[`* /${status}-${latency}`] = FaultScript.status(status, { latency: Duration.millis(latency) })
      }
      routes[`* /reset-${latency}`] = FaultScript.reset("beforeHeaders", { latency: Duration.millis(latency) })
    }
    routes["* /hang-0"] = FaultScript.hang
    routes["* /hang-30"] = FaultScript.hang
    routes["* /hang-70"] = FaultScript.hang
    const scripted = yield* ScriptedClient.make(FaultScript.routes(routes))
    const tracer = TestTracer.make()
    const policy = yield* Policy.make({
      telemetry: true,
      totalTimeout: "60 seconds",
      attemptTimeout: Duration.millis(attemptTimeout),
      retry: {
        maxAttempts: s.maxAttempts,
        baseDelay: Duration.millis(backoff),
        maxDelay: Duration.millis(backoff),
        jitter: "none",
        budget: false
      },
      circuitBreaker: s.consecutiveFailures === undefined
        ? false
        : { consecutiveFailures: s.consecutiveFailures, breakDuration: Duration.millis(breakDuration) }
    }).pipe(Effect.orDie)
    const exits: Array<Exit.Exit<unknown, unknown>> = []
    for (const script of s.calls) {
      yield* TestClock.adjust(Duration.millis(script.gap))
      yield* settle
      let sends = 0
      const send = (ready: HttpClientRequest.HttpClientRequest) => {
        const step = script.steps[Math.min(sends++, script.steps.length - 1)]!
        if (step.kind === "die") return Effect.die(new Error("boom"))
        return Attempt.send(
          scripted.client,
          HttpClientRequest.setUrl(ready, `${base}/${step.kind}-${step.latency}`)
        )
      }
      const request = HttpClientRequest.make(script.method as "GET")(`${base}/items?page=1`)
      const fiber = yield* Effect.fork(policy.run(request, send).pipe(Effect.withTracer(tracer.tracer)))
      if (script.interruptAt !== undefined) {
        const start = yield* Clock.currentTimeMillis
        yield* advanceUntil(fiber, start + script.interruptAt)
        yield* Fiber.interrupt(fiber)
      }
      yield* advanceUntil(fiber)
      exits.push(yield* Fiber.await(fiber))
      yield* settle
    }
    return { host, base, exits, tracer, snapshot: yield* Metric.snapshot }
  }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.None), Effect.provide(TestContext.TestContext))

// -----------------------------------------------------------------------------
// reading the metrics
// -----------------------------------------------------------------------------

type Pair = (typeof Metric.snapshot) extends Effect.Effect<ReadonlyArray<infer P>> ? P : never

const tagsOf = (pair: Pair) => Object.fromEntries(pair.metricKey.tags.map((tag) => [tag.key, tag.value]))

/** The series of `name` whose `label` is `value`, each as its other labels (joined by `|`) and its state. */
const seriesOf = (
  snapshot: ReadonlyArray<Pair>,
  name: string,
  label: string,
  value: string,
  keys: ReadonlyArray<string>
) => {
  const out = new Map<string, MetricState.MetricState.Untyped>()
  for (const pair of snapshot) {
    if (pair.metricKey.name !== name) continue
    const tags = tagsOf(pair)
    if (tags[label] !== value) continue
    out.set(keys.map((key) => tags[key]).join("|"), pair.metricState)
  }
  return out
}

const counts = (series: Map<string, MetricState.MetricState.Untyped>) => {
  const out: Record<string, number> = {}
  for (const [key, state] of series) {
    if (MetricState.isCounterState(state)) out[key] = Number(state.count)
    else if (MetricState.isGaugeState(state)) out[key] = Number(state.value)
  }
  return out
}

interface HistogramView {
  count: number
  sum: number
  /** per boundary, how many values are at most it */
  buckets: Array<number>
}

const histograms = (series: Map<string, MetricState.MetricState.Untyped>) => {
  const out: Record<string, HistogramView> = {}
  for (const [key, state] of series) {
    if (!MetricState.isHistogramState(state)) continue
    out[key] = { count: state.count, sum: state.sum, buckets: state.buckets.map(([, n]) => n) }
  }
  return out
}

const bump = (record: Record<string, number>, key: string, by = 1) => {
  record[key] = (record[key] ?? 0) + by
}

const boundaries = [...Telemetry.latencyBoundaries, Number.POSITIVE_INFINITY]

const addValue = (record: Record<string, HistogramView>, key: string, value: number) => {
  const view = record[key] ??= { count: 0, sum: 0, buckets: boundaries.map(() => 0) }
  view.count++
  view.sum += value
  boundaries.forEach((bound, i) => {
    if (value <= bound) view.buckets[i]!++
  })
}

const retryAttempts = (event: { readonly name: string; readonly attempt: number }) =>
  event.name === "retry" ? event.attempt : event.attempt - 1

/** `toEqual`, with both sides in the message (fast-check reports the message, not vitest's diff). */
const same = (actual: unknown, expected: unknown, label = "") =>
  expect(actual, `${label}\n  actual   ${show(actual)}\n  expected ${show(expected)}`).toEqual(expected)
const show = (u: unknown) => JSON.stringify(u, (_, v) => typeof v === "bigint" ? String(v) : v)

const nanos = (millis: number) => BigInt(millis) * 1_000_000n

// -----------------------------------------------------------------------------
// the checks
// -----------------------------------------------------------------------------

const check = (s: Scenario, observed: Effect.Effect.Success<ReturnType<typeof play>>) => {
  const expected = model(s)
  const { base, exits, host, snapshot, tracer } = observed
  const hostLabel = `${host}:8080`
  const upstream = `http://${host}:8080`
  expect(Telemetry.target({ method: "GET", url: `${base}/x` }).upstream).toBe(upstream)

  // the outcome per logical call, as the caller sees it
  expect(exits.length).toBe(expected.calls.length)
  expected.calls.forEach((call, i) => {
    const exit = exits[i]!
    const label = `call ${i}`
    switch (call.outcome) {
      case "success":
        expect(Exit.isSuccess(exit), label).toBe(true)
        break
      case "interrupted":
        expect(Exit.isInterrupted(exit), label).toBe(true)
        break
      case "defect":
        expect(Exit.isFailure(exit) && Option.isSome(Exit.causeOption(exit)) && !Exit.isInterrupted(exit), label)
          .toBe(true)
        break
      default:
        expect(Exit.isFailure(exit), label).toBe(true)
        if (Exit.isFailure(exit)) {
          const failure = Exit.causeOption(exit).pipe(Option.flatMap((cause) => Option.some(cause)))
          expect(Option.isSome(failure)).toBe(true)
          const error = exit.cause._tag === "Fail" ? (exit.cause.error as { _tag: string }) : undefined
          expect(error?._tag, label).toBe(call.failureTag)
        }
    }
  })

  // metrics
  const requests: Record<string, number> = {}
  const attempts: Record<string, number> = {}
  const retries: Record<string, number> = {}
  const requestDuration: Record<string, HistogramView> = {}
  const attemptDuration: Record<string, HistogramView> = {}
  let rejections = 0
  for (const call of expected.calls) {
    const method = methodLabel(call.method)
    bump(requests, `${method}|${call.outcome}|${call.failureTag}`)
    addValue(requestDuration, `${method}|${call.outcome}`, call.end - call.start)
    if (call.rejected) rejections++
    for (const attempt of call.attempts) {
      bump(attempts, `${method}|${attempt.outcome}|${attempt.failureTag}`)
      addValue(attemptDuration, `${method}|${attempt.outcome}`, attempt.end - attempt.start)
    }
    for (const event of call.events) if (event.name === "retry") bump(retries, `${method}|${event.reason}`)
  }
  const callKeys = ["method", "outcome", "failure_tag"]
  same(
    counts(seriesOf(snapshot, "sturdy_http_client_requests_total", "host", hostLabel, callKeys)),
    requests,
    "requests"
  )
  same(
    counts(seriesOf(snapshot, "sturdy_http_client_attempts_total", "host", hostLabel, callKeys)),
    attempts,
    "attempts"
  )
  same(
    histograms(seriesOf(snapshot, "sturdy_http_client_request_duration_ms", "host", hostLabel, ["method", "outcome"])),
    requestDuration,
    "request duration"
  )
  same(
    histograms(seriesOf(snapshot, "sturdy_http_client_attempt_duration_ms", "host", hostLabel, ["method", "outcome"])),
    attemptDuration,
    "attempt duration"
  )
  same(
    counts(seriesOf(snapshot, "sturdy_http_client_retries_total", "host", hostLabel, ["method", "reason"])),
    retries,
    "retries"
  )
  same(
    counts(seriesOf(snapshot, "sturdy_policy_rejections_total", "host", hostLabel, ["policy"])),
    rejections === 0 ? {} : { circuit_breaker: rejections },
    "rejections"
  )
  const transitions: Record<string, number> = {}
  const stateName = { Closed: "closed", Open: "open", HalfOpen: "half_open" } as const
  for (const [from, to] of expected.transitions) bump(transitions, `${stateName[from]}|${stateName[to]}`)
  same(
    counts(seriesOf(snapshot, "sturdy_circuit_breaker_transitions_total", "upstream", upstream, ["from", "to"])),
    transitions,
    "transitions"
  )
  same(
    counts(seriesOf(snapshot, "sturdy_circuit_breaker_state", "upstream", upstream, [])),
    expected.finalState === undefined ? {} : { "": { Closed: 0, HalfOpen: 1, Open: 2 }[expected.finalState] },
    "breaker state"
  )

  // spans
  const trees = tracer.tree()
  expect(trees.length).toBe(expected.calls.length)
  expected.calls.forEach((call, i) => {
    const { children, span } = trees[i]!
    const label = `call ${i}`
    const method = methodLabel(call.method)
    const request: Record<string, unknown> = {
      "http.request.method": method,
      "url.full": `${base}/items?page=1`,
      "server.address": host,
      "server.port": 8080,
      ...(method === call.method ? {} : { "http.request.method_original": call.method })
    }
    const ending = (
      outcome: Outcome,
      failureTag: string,
      status: number | undefined,
      errorType: string | undefined
    ) => ({
      "sturdy.outcome": outcome,
      ...(failureTag === "none" ? {} : { "sturdy.failure_tag": failureTag }),
      ...(status === undefined ? {} : { "http.response.status_code": status }),
      ...(errorType === undefined ? {} : { "error.type": errorType })
    })
    expect(span.name, label).toBe(`http.client.request ${spanMethod(call.method)}`)
    expect(span.kind, label).toBe("internal")
    same(Object.fromEntries(span.attributes), {
      ...request,
      ...ending(call.outcome, call.failureTag, call.status, call.errorType),
      "sturdy.attempts": call.attempts.length,
      ...(call.rejected ? { "sturdy.breaker_state": "open" } : {}),
      // Retry's own annotation, from its last decision: the attempts made (or about to be)
      ...(call.events.length === 0 ? {} : { "retry.attempts": retryAttempts(call.events[call.events.length - 1]!) })
    }, label)
    same(
      span.events.filter((event) => event.name.startsWith("retry")).map((event) => ({
        name: event.name,
        attempt: event.attributes["retry.attempt"],
        reason: event.attributes["retry.reason"],
        ...(event.name === "retry" ? { delay: event.attributes["retry.delay_ms"] } : {})
      })),
      call.events.map((event) => ({ ...event, ...(event.name === "retry" ? { delay: backoff } : {}) })),
      label
    )
    expect(span.status._tag, label).toBe("Ended")
    if (span.status._tag === "Ended") {
      same([span.status.startTime, span.status.endTime], [nanos(call.start), nanos(call.end)], label)
      expect(span.status.exit._tag, label).toBe(call.outcome === "success" ? "Success" : "Failure")
    }
    expect(children.length, label).toBe(call.attempts.length)
    call.attempts.forEach((attempt, j) => {
      const child = children[j]!
      const at = `${label} attempt ${attempt.number}`
      expect(child.children, at).toEqual([])
      expect(child.span.name, at).toBe(`http.client.attempt ${spanMethod(call.method)}`)
      expect(child.span.kind, at).toBe("client")
      same(Object.fromEntries(child.span.attributes), {
        ...request,
        ...ending(attempt.outcome, attempt.failureTag, attempt.status, attempt.errorType),
        "sturdy.attempt": attempt.number,
        "sturdy.hedge_index": 0,
        // the body sizes: no request here has a body; a response read whole is `{"ok":true}` or an empty error body
        "http.request.body.size": 0,
        ...(attempt.status === undefined ? {} : { "http.response.body.size": attempt.status === 200 ? 11 : 0 }),
        ...(attempt.number > 1 ? { "http.request.resend_count": attempt.number - 1 } : {}),
        ...(attempt.delay === undefined ? {} : { "sturdy.delay_ms": attempt.delay, "sturdy.delay_reason": "backoff" }),
        ...(attempt.breakerState === undefined ? {} : { "sturdy.breaker_state": attempt.breakerState })
      }, at)
      expect(child.span.status._tag, at).toBe("Ended")
      if (child.span.status._tag === "Ended") {
        same([child.span.status.startTime, child.span.status.endTime], [nanos(attempt.start), nanos(attempt.end)], at)
        expect(child.span.status.exit._tag, at).toBe(attempt.outcome === "success" ? "Success" : "Failure")
      }
    })
  })
}

describe("Telemetry through Policy: metrics, spans and outcomes against the documented model", () => {
  it(
    "every call of a generated script: outcomes, metrics, span tree and TestClock timings as the model says",
    () =>
      fc.assert(
        fc.asyncProperty(scenarioArb, async (s) => {
          const observed = await Effect.runPromise(play(s))
          check(s, observed)
        }),
        { seed: 8301, numRuns: 60 }
      ),
    60_000
  )
})

// -----------------------------------------------------------------------------
// hedged calls
// -----------------------------------------------------------------------------

interface HedgeScenario {
  readonly maxHedges: number
  /** per copy (primary first), its latency */
  readonly latencies: ReadonlyArray<number>
}

const hedgeDelay = 55

const hedgeArb: fc.Arbitrary<HedgeScenario> = fc.integer({ min: 1, max: 3 }).chain((maxHedges) =>
  fc.record({
    maxHedges: fc.constant(maxHedges),
    latencies: fc.array(fc.integer({ min: 0, max: 30 }).map((n) => n * 10), {
      minLength: maxHedges + 1,
      maxLength: maxHedges + 1
    })
  })
)

interface HedgeModel {
  /** the copies started, in start order: start, end, won */
  readonly copies: ReadonlyArray<{ readonly start: number; readonly end: number; readonly won: boolean }>
  readonly end: number
}

/** Copy i starts `i × delay` in, unless an answer came first; the first answer wins, the others are interrupted. */
const hedgeModel = (s: HedgeScenario): HedgeModel | undefined => {
  const ends = s.latencies.map((latency, i) => i * hedgeDelay + latency)
  let winner = 0
  for (let i = 0; i < ends.length; i++) {
    if (i * hedgeDelay >= ends[winner]!) break
    if (ends[i]! < ends[winner]!) winner = i
  }
  const end = ends[winner]!
  const started = s.latencies.map((_, i) => i).filter((i) => i * hedgeDelay < end || i === 0)
  // an answer on the instant another copy starts or answers: the docs do not order them
  if (started.some((i) => i !== winner && ends[i] === end)) return undefined
  if (s.latencies.some((_, i) => i * hedgeDelay === end)) return undefined
  return { copies: started.map((i) => ({ start: i * hedgeDelay, end, won: i === winner })), end }
}

const playHedged = (s: HedgeScenario) =>
  Effect.gen(function*() {
    const host = `telemetry-hedge-${++runNumber}.test`
    const base = `http://${host}`
    const routes: Record<string, FaultScript.Fault> = {}
    for (const latency of new Set(s.latencies)) {
      routes[`GET /ok-${latency}`] = FaultScript.json({ ok: true }, { latency: Duration.millis(latency) })
    }
    const scripted = yield* ScriptedClient.make(FaultScript.routes(routes))
    const tracer = TestTracer.make()
    const policy = yield* Policy.make({
      telemetry: true,
      retry: false,
      circuitBreaker: false,
      hedging: { delay: Duration.millis(hedgeDelay), maxHedges: s.maxHedges }
    }).pipe(Effect.orDie)
    const send = (ready: HttpClientRequest.HttpClientRequest) =>
      Effect.flatMap(FiberRef.get(Hedge.currentIndex), (index) =>
        Attempt.send(scripted.client, HttpClientRequest.setUrl(ready, `${base}/ok-${s.latencies[index]}`)))
    const fiber = yield* Effect.fork(
      policy.run(HttpClientRequest.get(`${base}/items`), send).pipe(Effect.withTracer(tracer.tracer))
    )
    yield* advanceUntil(fiber)
    const exit = yield* Fiber.await(fiber)
    yield* settle
    return { host: `${host}:80`, exit, tracer, snapshot: yield* Metric.snapshot }
  }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.None), Effect.provide(TestContext.TestContext))

describe("Telemetry through Policy: hedged copies", () => {
  it(
    "each copy is an attempt span numbered in start order with its hedge index; the losers end interrupted",
    () =>
      fc.assert(
        fc.asyncProperty(hedgeArb, async (s) => {
          const expected = hedgeModel(s)
          fc.pre(expected !== undefined)
          const { exit, host, snapshot, tracer } = await Effect.runPromise(playHedged(s))
          expect(Exit.isSuccess(exit)).toBe(true)
          const [call, ...others] = tracer.tree()
          expect(others).toEqual([])
          expect(call!.span.attributes.get("sturdy.attempts")).toBe(expected!.copies.length)
          expect(call!.span.attributes.get("sturdy.outcome")).toBe("success")
          // Hedge's own spans: each hedge (index >= 1) runs in a `sturdy.hedge` span, its attempt span under it, and the
          // call's span says how many copies went and which won
          const winner = expected!.copies.findIndex((copy) => copy.won)
          if (expected!.copies.length > 1) {
            expect(call!.span.attributes.get("hedge.attempts")).toBe(expected!.copies.length)
            expect(call!.span.attributes.get("hedge.winner")).toBe(winner)
          }
          const attemptSpans = call!.children.map((child, i) => {
            if (i === 0) return child
            expect(child.span.name).toBe("sturdy.hedge")
            expect(child.span.attributes.get("hedge.index")).toBe(i)
            expect(child.children).toHaveLength(1)
            return child.children[0]!
          })
          for (const { span } of attemptSpans) expect(span.name).toBe("http.client.attempt GET")
          const views = attemptSpans.map(({ span }) => ({
            attempt: span.attributes.get("sturdy.attempt"),
            hedge: span.attributes.get("sturdy.hedge_index"),
            resend: span.attributes.get("http.request.resend_count"),
            outcome: span.attributes.get("sturdy.outcome"),
            status: span.attributes.get("http.response.status_code"),
            times: span.status._tag === "Ended" ? [span.status.startTime, span.status.endTime] : undefined
          }))
          same(
            views,
            expected!.copies.map((copy, i) => ({
              attempt: i + 1,
              hedge: i,
              resend: i === 0 ? undefined : i,
              outcome: copy.won ? "success" : "interrupted",
              status: copy.won ? 200 : undefined,
              times: [nanos(copy.start), nanos(copy.end)]
            })),
            JSON.stringify(s)
          )
          const won = expected!.copies.find((copy) => copy.won)!
          const attempts: Record<string, number> = { "GET|success|none": 1 }
          const lost = expected!.copies.length - 1
          if (lost > 0) attempts["GET|interrupted|none"] = lost
          same(
            counts(
              seriesOf(snapshot, "sturdy_http_client_attempts_total", "host", host, [
                "method",
                "outcome",
                "failure_tag"
              ])
            ),
            attempts
          )
          const durations: Record<string, HistogramView> = {}
          for (const copy of expected!.copies) {
            addValue(durations, copy.won ? "GET|success" : "GET|interrupted", copy.end - copy.start)
          }
          same(
            histograms(
              seriesOf(snapshot, "sturdy_http_client_attempt_duration_ms", "host", host, ["method", "outcome"])
            ),
            durations
          )
          const calls: Record<string, HistogramView> = {}
          addValue(calls, "GET|success", won.end)
          same(
            histograms(
              seriesOf(snapshot, "sturdy_http_client_request_duration_ms", "host", host, ["method", "outcome"])
            ),
            calls
          )
        }),
        { seed: 8302, numRuns: 60 }
      ),
    60_000
  )
})

// -----------------------------------------------------------------------------
// cardinality (last: the hosts admitted are the process's)
// -----------------------------------------------------------------------------

describe("Telemetry cardinality: the limit holds exactly", () => {
  const hostMetrics = [
    "sturdy_http_client_requests_total",
    "sturdy_http_client_request_duration_ms",
    "sturdy_http_client_attempts_total",
    "sturdy_http_client_attempt_duration_ms",
    "sturdy_http_client_retries_total"
  ]

  /** The `host` values with series of their own, over every instrument labelled by host. */
  const admitted = Effect.map(Metric.snapshot, (pairs) => {
    const hosts = new Set<string>()
    for (const pair of pairs) {
      const host = pair.metricKey.tags.find((tag) => tag.key === "host")?.value
      if (pair.metricKey.name.startsWith("sturdy_") && host !== undefined && host !== "_OTHER") hosts.add(host)
    }
    return hosts
  })

  /** The count (a histogram's count) of each series of `name` whose `host` is `host`, by its other labels. */
  const byLabels = (name: string, host: string) =>
    Effect.map(Metric.snapshot, (pairs) => {
      const out: Record<string, number> = {}
      for (const pair of pairs) {
        if (pair.metricKey.name !== name) continue
        const tags = tagsOf(pair)
        if (tags["host"] !== host) continue
        const key = pair.metricKey.tags.filter((tag) => tag.key !== "host").map((tag) => `${tag.key}=${tag.value}`)
          .sort().join(",")
        const state = pair.metricState
        out[key] = MetricState.isCounterState(state)
          ? Number(state.count)
          : MetricState.isHistogramState(state)
          ? state.count
          : 0
      }
      return out
    })

  /** One call to `host` through Retry: a 503-like failure, then a success; a retry in between. */
  const call = (host: string, method: "GET" | "PUT" = "GET") => {
    const request = HttpClientRequest.make(method)(`https://${host}/items?page=2`)
    let sent = 0
    return Telemetry.attempt(request, () => sent++ === 0 ? Effect.fail({ _tag: "Flaky" }) : Effect.succeed("ok")).pipe(
      Retry.retry({ schedule: Schedule.spaced("100 millis"), onAttempt: Telemetry.onRetry }),
      Telemetry.logicalCall(request)
    )
  }

  it.effect(
    "the limit-th host keeps its series; the next one is counted under _OTHER in every instrument",
    () =>
      Effect.gen(function*() {
        const limit = Telemetry.cardinalityLimit
        const before = yield* admitted
        expect(before.size).toBeLessThan(limit - 1)
        // a host admitted before: one of the property runs', or the first filler
        const earlier = before.size > 0 ? [...before][0]! : "fill-0.test:443"
        // fill the process's host set to one short of the limit
        for (let i = before.size; i < limit - 1; i++) {
          yield* Telemetry.logicalCall(Effect.void, { method: "GET", url: `https://fill-${i}.test/` })
        }
        expect((yield* admitted).size).toBe(limit - 1)

        // the limit-th host is admitted: a series of its own in every instrument
        const last = "last-admitted.test:443"
        yield* advanceCall(call("last-admitted.test"))
        expect((yield* admitted).size).toBe(limit)
        const own = {
          requests: { "failure_tag=none,method=GET,outcome=success": 1 },
          attempts: {
            "failure_tag=Flaky,method=GET,outcome=failure": 1,
            "failure_tag=none,method=GET,outcome=success": 1
          }
        }
        same(yield* byLabels(hostMetrics[0]!, last), own.requests)
        same(yield* byLabels(hostMetrics[2]!, last), own.attempts)
        same(yield* byLabels(hostMetrics[4]!, last), { "method=GET,reason=backoff": 1 })

        // the next host is not: every instrument counts it under _OTHER, its other labels kept
        const overflowBefore = yield* Effect.forEach(hostMetrics, (name) => byLabels(name, "_OTHER"))
        for (const counts of overflowBefore) expect(counts).toEqual({})
        yield* advanceCall(call("one-too-many.test", "PUT"))
        expect(yield* admitted).not.toContain("one-too-many.test:443")
        expect((yield* admitted).size).toBe(limit)
        same(yield* byLabels(hostMetrics[0]!, "_OTHER"), { "failure_tag=none,method=PUT,outcome=success": 1 })
        same(yield* byLabels(hostMetrics[1]!, "_OTHER"), { "method=PUT,outcome=success": 1 })
        same(yield* byLabels(hostMetrics[2]!, "_OTHER"), {
          "failure_tag=Flaky,method=PUT,outcome=failure": 1,
          "failure_tag=none,method=PUT,outcome=success": 1
        })
        same(yield* byLabels(hostMetrics[3]!, "_OTHER"), {
          "method=PUT,outcome=failure": 1,
          "method=PUT,outcome=success": 1
        })
        same(yield* byLabels(hostMetrics[4]!, "_OTHER"), { "method=PUT,reason=backoff": 1 })

        // hosts admitted before keep theirs: the limit-th and one of the first
        yield* advanceCall(call("last-admitted.test"))
        same(yield* byLabels(hostMetrics[0]!, last), { "failure_tag=none,method=GET,outcome=success": 2 })
        const earlierBefore = yield* byLabels(hostMetrics[0]!, earlier)
        yield* Telemetry.logicalCall(Effect.void, { method: "GET", url: `https://${earlier}/` })
        const earlierAfter = yield* byLabels(hostMetrics[0]!, earlier)
        expect(Object.values(earlierAfter).reduce((a, b) => a + b, 0)).toBe(
          Object.values(earlierBefore).reduce((a, b) => a + b, 0) + 1
        )
        // a second host over the limit shares the _OTHER series
        yield* advanceCall(call("two-too-many.test", "PUT"))
        same(yield* byLabels(hostMetrics[0]!, "_OTHER"), { "failure_tag=none,method=PUT,outcome=success": 2 })
        expect((yield* admitted).size).toBe(limit)
      }),
    60_000
  )
})

describe("Telemetry cardinality: the upstream limit holds exactly", () => {
  const breakerMetrics = ["sturdy_circuit_breaker_transitions_total", "sturdy_circuit_breaker_state"]

  /** The `upstream` values with series of their own. */
  const admittedUpstreams = Effect.map(Metric.snapshot, (pairs) => {
    const upstreams = new Set<string>()
    for (const pair of pairs) {
      const upstream = pair.metricKey.tags.find((tag) => tag.key === "upstream")?.value
      if (breakerMetrics.includes(pair.metricKey.name) && upstream !== undefined && upstream !== "_OTHER") {
        upstreams.add(upstream)
      }
    }
    return upstreams
  })

  /** Each series of `name` whose `upstream` is `upstream`: its other labels, and its count or gauge value. */
  const byUpstream = (name: string, upstream: string) =>
    Effect.map(Metric.snapshot, (pairs) => {
      const out: Record<string, number> = {}
      for (const pair of pairs) {
        if (pair.metricKey.name !== name || tagsOf(pair)["upstream"] !== upstream) continue
        const key = pair.metricKey.tags.filter((tag) => tag.key !== "upstream").map((tag) => `${tag.key}=${tag.value}`)
          .sort().join(",")
        const state = pair.metricState
        out[key] = MetricState.isCounterState(state)
          ? Number(state.count)
          : MetricState.isGaugeState(state)
          ? Number(state.value)
          : 0
      }
      return out
    })

  it.scoped(
    "the limit-th breaker keeps its series; the next one's transitions and state go to _OTHER",
    () =>
      Effect.gen(function*() {
        const limit = Telemetry.cardinalityLimit
        const registry = yield* CircuitBreaker.makeRegistry({
          breaker: { consecutiveFailures: 1, isFailure: () => true }
        })
        yield* Telemetry.trackBreaker(registry)
        /** Opens the breaker of `key` and waits for the subscriber to take the transition. */
        const open = (key: string) =>
          Effect.gen(function*() {
            const before = (yield* admittedUpstreams).size
            const overflow = (yield* byUpstream(breakerMetrics[0]!, "_OTHER"))["from=closed,to=open"] ?? 0
            yield* Effect.exit(registry.withBreaker(Effect.fail("down"), key))
            for (let step = 0; step < 200; step++) {
              const now = (yield* admittedUpstreams).size
              const overflowNow = (yield* byUpstream(breakerMetrics[0]!, "_OTHER"))["from=closed,to=open"] ?? 0
              if (now > before || overflowNow > overflow) return
              yield* settle
            }
          })
        const before = yield* admittedUpstreams
        expect(before.size).toBeLessThan(limit - 1)
        for (let i = before.size; i < limit - 1; i++) {
          yield* Effect.exit(registry.withBreaker(Effect.fail("down"), `https://fill-${i}.test:443`))
        }
        for (let step = 0; step < 1_000 && (yield* admittedUpstreams).size < limit - 1; step++) yield* settle
        expect((yield* admittedUpstreams).size).toBe(limit - 1)

        const last = "https://last-breaker.test:443"
        yield* open(last)
        expect((yield* admittedUpstreams).size).toBe(limit)
        same(yield* byUpstream(breakerMetrics[0]!, last), { "from=closed,to=open": 1 })
        same(yield* byUpstream(breakerMetrics[1]!, last), { "": 2 })
        same(yield* byUpstream(breakerMetrics[0]!, "_OTHER"), {})

        yield* open("https://one-too-many.test:443")
        expect((yield* admittedUpstreams).size).toBe(limit)
        expect(yield* admittedUpstreams).not.toContain("https://one-too-many.test:443")
        same(yield* byUpstream(breakerMetrics[0]!, "_OTHER"), { "from=closed,to=open": 1 })
        // the _OTHER gauge holds the state last reported by a breaker beyond the limit
        same(yield* byUpstream(breakerMetrics[1]!, "_OTHER"), { "": 2 })
        yield* open("https://two-too-many.test:443")
        same(yield* byUpstream(breakerMetrics[0]!, "_OTHER"), { "from=closed,to=open": 2 })
        expect((yield* admittedUpstreams).size).toBe(limit)
      }),
    60_000
  )
})

/** Runs a call through its retry's wait on the TestClock. */
const advanceCall = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* advanceUntil(fiber)
    return yield* Fiber.join(fiber)
  })
