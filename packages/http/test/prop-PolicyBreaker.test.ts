// A property of `Policy`'s circuit breaker stage, run in virtual time over `@sturdy/testing`'s ScriptedClient with
// generated fault scripts: calls in sequence, at generated gaps, each retried up to `maxAttempts`.
//
// The model is the breaker's state as the `BreakerTransition` events report it, replayed against the log of sends
// (both recorded in the order they happen), with the documented rules (`Policy` "Rules", `countsAgainstUpstream`,
// `@sturdy/policy`'s `CircuitBreaker`): no request is sent while the breaker is Open; from Closed it opens right after
// `consecutiveFailures` counted failures in a row (5xx but 501/505/511, a reset, an attempt timeout; a 404 or a
// 200 is an answer that resets the run); a HalfOpen probe closes it when answered (`successThreshold` 1) and reopens
// it at once when it fails; and no other Open or Closed transition happens. Every failure is typed.
//
// Left out: the failure-rate rule (`minimumThroughput` 100 is never reached here), count windows, `waitForProbe`,
// `halfOpenMaxProbes` above 1, concurrent calls, a shared `CircuitBreakerStore`.
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy, SturdyClient } from "@sturdy/http"
import { FaultScript, ScriptedClient } from "@sturdy/testing"
import { Cause, Duration, Effect, Exit, FastCheck as fc, Fiber, Schema, TestClock, TestContext } from "effect"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const ada = { id: 1, name: "Ada" }
const base = "http://api.test"
const path = "/r"

/** What one send meets, for the breaker: counted failures (503, 500, a reset, a hang) and answers (404, 200). */
type BreakerOutcome = "503" | "500" | "reset" | "hang" | "404" | "ok"

const breakerFault = (outcome: BreakerOutcome): FaultScript.Fault => {
  switch (outcome) {
    case "503":
      return FaultScript.status(503)
    case "500":
      return FaultScript.status(500)
    case "reset":
      return FaultScript.reset("beforeHeaders")
    case "hang":
      return FaultScript.hang
    case "404":
      return FaultScript.status(404)
    case "ok":
      return FaultScript.json(ada)
  }
}

/** `countsAgainstUpstream`, as documented: 5xx but 501/505/511, resets, attempt timeouts; a 404 is an answer. */
const counts = (outcome: BreakerOutcome) => outcome !== "404" && outcome !== "ok"

interface BreakerScenario {
  readonly outcomes: ReadonlyArray<BreakerOutcome>
  readonly gaps: ReadonlyArray<number>
  readonly consecutiveFailures: number
  readonly breakDuration: number
  readonly maxAttempts: number
}

const breakerArb: fc.Arbitrary<BreakerScenario> = fc.record({
  outcomes: fc.array(fc.constantFrom<BreakerOutcome>("503", "503", "500", "reset", "hang", "404", "ok", "ok"), {
    minLength: 1,
    maxLength: 20
  }),
  gaps: fc.array(fc.constantFrom(0, 300, 1_000, 3_000), { minLength: 2, maxLength: 10 }),
  consecutiveFailures: fc.integer({ min: 1, max: 3 }),
  breakDuration: fc.constantFrom(500, 2_000, 5_000),
  maxAttempts: fc.integer({ min: 1, max: 3 })
})

type LogEntry =
  | { readonly _tag: "Send"; readonly outcome: BreakerOutcome }
  | { readonly _tag: "Transition"; readonly from: string; readonly to: string }

const playBreaker = (s: BreakerScenario) =>
  Effect.gen(function*() {
    const log: Array<LogEntry> = []
    const scripted = yield* ScriptedClient.make(
      FaultScript.routes({ "GET /r": FaultScript.sequence(...s.outcomes.map(breakerFault) as [FaultScript.Fault]) })
    )
    const client = HttpClient.make((request) =>
      Effect.suspend(() => {
        log.push({
          _tag: "Send",
          outcome: s.outcomes[Math.min(log.filter((e) => e._tag === "Send").length, s.outcomes.length - 1)]!
        })
        return scripted.client.execute(request)
      })
    )
    const policy = yield* Policy.make({
      totalTimeout: "10 seconds",
      attemptTimeout: "1 second",
      retry: {
        maxAttempts: s.maxAttempts,
        baseDelay: "100 millis",
        maxDelay: "1 second",
        jitter: "none",
        budget: false
      },
      circuitBreaker: { consecutiveFailures: s.consecutiveFailures, breakDuration: Duration.millis(s.breakDuration) },
      onEvent: (event) =>
        Effect.sync(() => {
          if (event._tag === "BreakerTransition") log.push({ _tag: "Transition", from: event.from, to: event.to })
        })
    }).pipe(Effect.orDie)
    const api = SturdyClient.makeWith(client, { baseUrl: base, policy })
    const exits: Array<Exit.Exit<unknown, Policy.Failure>> = []
    for (const gap of s.gaps) {
      yield* TestClock.adjust(gap)
      const fiber = yield* Effect.fork(api.get(path, { schema: User }))
      yield* TestClock.adjust("11 seconds")
      exits.push(yield* Fiber.await(fiber))
    }
    return { log, exits }
  }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))

describe("the breaker stage", () => {
  it(
    "never sends while open; opens after consecutiveFailures counted failures, and after a failed probe",
    () =>
      fc.assert(
        fc.asyncProperty(breakerArb, async (s) => {
          const { exits, log } = await Effect.runPromise(playBreaker(s))
          let state = "Closed"
          let run = 0
          // the transition the documented rules call for after the last send, if any
          let due: string | undefined
          for (const entry of log) {
            if (entry._tag === "Transition") {
              expect(entry.from).toBe(state)
              if (entry.to === "Open" || entry.to === "Closed") {
                expect(entry.to, "a transition the rules call for").toBe(due)
                due = undefined
              }
              state = entry.to
              if (state !== "Closed") run = 0
              continue
            }
            expect(due, "the breaker moved on before the next send").toBeUndefined()
            expect(state, "a request sent while the breaker is open").not.toBe("Open")
            if (state === "HalfOpen") {
              // one probe: a counted failure reopens at once, an answer closes (successThreshold 1)
              due = counts(entry.outcome) ? "Open" : "Closed"
            } else {
              run = counts(entry.outcome) ? run + 1 : 0
              if (run >= s.consecutiveFailures) due = "Open"
            }
          }
          expect(due).toBeUndefined()
          // every failure is typed, and a call the open breaker turned away says so
          for (const exit of exits) {
            if (Exit.isFailure(exit)) expect(Cause.isFailType(exit.cause), Cause.pretty(exit.cause)).toBe(true)
          }
        }),
        { seed: 7_206, numRuns: 100 }
      ),
    60_000
  )
})
