// A property of `Policy`'s server pause, run in virtual time over `@sturdy/testing`'s ScriptedClient with generated
// fault scripts: calls of one key in sequence, at generated gaps, one attempt each, on one policy.
//
// The model is written from the `Policy` module docs (the pipeline's server pause, and "Rules": "A 429 or 503 with
// a wait also pauses the upstream key ..."; `RetryOptions.maxRetryAfter`) and `RateLimit`'s `pauseUntil` ("a later
// hint extends the pause, an earlier one never shortens it"). It keeps the pause's end and, for a server's wait
// longer than `maxRetryAfter`, that wait and the end of the pause kept for it. A call that meets a pause waits it
// out when the server's wait fits its patience (`maxRetryAfter`, and ends before its deadline), and its deadline
// (`totalTimeout`) starts when it starts waiting; otherwise it fails at once, unsent, with `RateLimitExceeded`
// (reason `"Paused"`, `retryAfter` what is left of the pause). A 429 or 503 with `Retry-After: n` (n > 0) pauses the
// key for n seconds, but at most `maxRetryAfter`; until the end of that shorter pause, later calls are held to the
// server's own wait (and so fail at once), after it a call probes. `Retry-After: 0` pauses nothing.
//
// Rules taken from the code: the long wait's record is extended like the pause while it lasts
// (internal/policyStages.ts `rememberLongWait`); a pause that would use up the whole `totalTimeout` is refused
// (`left < totalTimeout`).
//
// Left out: retries inside a call (the main property covers a call's own waits), concurrent calls, other keys, the
// pause table's bound, `RateLimit` headers, HTTP-date values (the main property reads those).
import { describe, expect, it } from "@effect/vitest"
import { Policy, SturdyClient } from "@sturdy/http"
import { FaultScript, ScriptedClient } from "@sturdy/testing"
import { Cause, Clock, Duration, Effect, Exit, FastCheck as fc, Option, Schema, TestClock, TestContext } from "effect"

import { advanceToDone } from "../../policy/test/utils/advance.js"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const ada = { id: 1, name: "Ada" }
const base = "http://api.test"

type Answer =
  | { readonly _tag: "Ok" }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "Status"; readonly status: 429 | 503 | 500; readonly seconds: number | undefined }

interface Scenario {
  readonly calls: ReadonlyArray<{ readonly gap: number; readonly answer: Answer; readonly latency: number }>
  readonly maxRetryAfter: number
  readonly totalTimeout: number
  readonly attemptTimeout: number
}

const answerArb: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Answer>({ _tag: "Ok" }) },
  { weight: 2, arbitrary: fc.constant<Answer>({ _tag: "Hang" }) },
  {
    weight: 5,
    arbitrary: fc.record({
      _tag: fc.constant("Status" as const),
      status: fc.constantFrom<429 | 503 | 500>(429, 503, 500),
      seconds: fc.constantFrom(undefined, 0, 1, 2, 4, 8, 40)
    })
  }
)

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    calls: fc.array(
      fc.record({ gap: fc.constantFrom(0, 500, 1_000, 3_000), answer: answerArb, latency: fc.constantFrom(0, 200) }),
      { minLength: 2, maxLength: 8 }
    ),
    maxRetryAfter: fc.constantFrom(1_000, 3_000, 5_000, 30_000),
    totalTimeout: fc.constantFrom(2_000, 5_000, 10_000),
    attemptTimeout: fc.constantFrom(1_000, 2_000)
  })

const faultOf = (call: Scenario["calls"][number]): FaultScript.Fault => {
  const answer = call.answer
  switch (answer._tag) {
    case "Ok":
      return FaultScript.json(ada, { latency: call.latency })
    case "Hang":
      return FaultScript.hang
    case "Status":
      return FaultScript.status(answer.status, {
        latency: call.latency,
        ...(answer.seconds === undefined ? {} : { retryAfter: String(answer.seconds) })
      })
  }
}

interface CallSeen {
  readonly startedAt: number
  readonly exit: Exit.Exit<unknown, Policy.Failure>
  readonly endedAt: number
}

const play = (s: Scenario) =>
  Effect.gen(function*() {
    // each call has its own path, so that its answer is its own whichever calls were sent
    const routes = Object.fromEntries(s.calls.map((call, i) => [`GET /c${i}`, faultOf(call)]))
    const scripted = yield* ScriptedClient.make(FaultScript.routes(routes))
    const policy = yield* Policy.make({
      totalTimeout: Duration.millis(s.totalTimeout),
      attemptTimeout: Duration.millis(Math.min(s.attemptTimeout, s.totalTimeout)),
      retry: { maxAttempts: 1, maxRetryAfter: Duration.millis(s.maxRetryAfter), budget: false },
      circuitBreaker: false
    }).pipe(Effect.orDie)
    const api = SturdyClient.makeWith(scripted.client, { baseUrl: base, policy })
    const seen: Array<CallSeen> = []
    for (let i = 0; i < s.calls.length; i++) {
      yield* TestClock.adjust(s.calls[i]!.gap)
      const startedAt = yield* Clock.currentTimeMillis
      let endedAt = -1
      // the clock moves from sleep to sleep and stops when the call ends: the next call's gap counts from there
      const exit = yield* advanceToDone(
        api.get(`/c${i}`, { schema: User }).pipe(
          Effect.ensuring(Effect.map(Clock.currentTimeMillis, (now) => {
            endedAt = now
          }))
        ),
        10_000,
        undefined,
        // a call over the ScriptedClient takes more scheduler turns to end than `advanceToDone`'s default waits
        64
      )
      // each call starts its gap after the one before ended: a clock moved on after a call had ended (a wake-up it
      // set off, taken before the call was seen done) would let pauses run out between calls and weaken the property
      if (i > 0) expect(startedAt - seen[i - 1]!.endedAt).toBe(s.calls[i]!.gap)
      seen.push({ startedAt, exit, endedAt })
    }
    const sent = (yield* scripted.requests).map((r) => ({ path: r.path, at: r.arrivedAt }))
    return { seen, sent }
  }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))

interface ExpectedCall {
  readonly sentAt: number | undefined
  readonly result: string
  readonly endedAt: number
}

const expectedCalls = (s: Scenario, starts: ReadonlyArray<number>): Array<ExpectedCall> => {
  const attemptTimeout = Math.min(s.attemptTimeout, s.totalTimeout)
  let pauseEnd = 0
  let long: { until: number; probeAt: number } | undefined
  return s.calls.map((call, i) => {
    const c = starts[i]!
    const left = Math.max(0, pauseEnd - c)
    let sendAt = c
    if (left > 0) {
      const asked = long !== undefined && long.probeAt > c ? Math.max(left, long.until - c) : left
      if (!(asked <= s.maxRetryAfter && left < s.totalTimeout)) {
        return { sentAt: undefined, result: `RateLimitExceeded Paused ${left}`, endedAt: c }
      }
      sendAt = pauseEnd
    }
    // the deadline counts from the call's start, its wait for the pause included
    const deadline = c + s.totalTimeout
    const limitAt = Math.min(sendAt + attemptTimeout, deadline)
    const phase = sendAt + attemptTimeout >= deadline ? "Deadline" : "Attempt"
    const answer = call.answer
    if (answer._tag === "Hang" || sendAt + call.latency >= limitAt) {
      return { sentAt: sendAt, result: `Timeout ${phase}`, endedAt: limitAt }
    }
    const t = sendAt + call.latency
    if (answer._tag === "Ok") return { sentAt: sendAt, result: "Success", endedAt: t }
    const tag = answer.status === 429 ? "RateLimited" : "ServerError"
    if (answer.status !== 500 && answer.seconds !== undefined && answer.seconds > 0) {
      const wait = answer.seconds * 1000
      if (wait <= s.maxRetryAfter) {
        pauseEnd = Math.max(pauseEnd, t + wait)
      } else {
        long = long !== undefined && long.probeAt > t
          ? { until: Math.max(t + wait, long.until), probeAt: Math.max(t + s.maxRetryAfter, long.probeAt) }
          : { until: t + wait, probeAt: t + s.maxRetryAfter }
        pauseEnd = Math.max(pauseEnd, t + s.maxRetryAfter)
      }
    }
    return { sentAt: sendAt, result: `${tag} ${answer.status}`, endedAt: t }
  })
}

const resultOf = (exit: Exit.Exit<unknown, Policy.Failure>): string => {
  if (Exit.isSuccess(exit)) return "Success"
  expect(Cause.isFailType(exit.cause), Cause.pretty(exit.cause)).toBe(true)
  const failure = Option.getOrThrow(Cause.failureOption(exit.cause))
  switch (failure._tag) {
    case "RateLimitExceeded":
      return `RateLimitExceeded ${failure.reason} ${Duration.toMillis(failure.retryAfter)}`
    case "Timeout":
      return `Timeout ${failure.phase}`
    case "RateLimited":
    case "ServerError":
      return `${failure._tag} ${failure.status}`
    default:
      return failure._tag
  }
}

describe("the server pause", () => {
  it(
    "later calls wait out a pause that fits, fail at once unsent otherwise, and probe after the pause kept",
    () =>
      fc.assert(
        fc.asyncProperty(scenarioArb, async (s) => {
          const { seen, sent } = await Effect.runPromise(play(s))
          const model = expectedCalls(s, seen.map((x) => x.startedAt))
          expect(seen.map((x) => resultOf(x.exit))).toStrictEqual(model.map((m) => m.result))
          expect(sent).toStrictEqual(
            model.flatMap((m, i) => m.sentAt === undefined ? [] : [{ path: `/c${i}`, at: m.sentAt }])
          )
          expect(seen.map((x) => x.endedAt)).toStrictEqual(model.map((m) => m.endedAt))
          // no call lasts longer than its totalTimeout, its wait for a pause included
          for (const x of seen) expect(x.endedAt - x.startedAt).toBeLessThanOrEqual(s.totalTimeout)
        }),
        { seed: 8_206, numRuns: 150 }
      ),
    60_000
  )
})
