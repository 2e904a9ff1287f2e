import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Intervals from "effect/ScheduleIntervals"

/**
 * Steps a schedule as a retry driver would (the input is the failure), returning the delay of each retry (what
 * would be slept), from `start` ms; randomness from `seed`, or from a given `Random` (`Random.fixed([...])` to choose
 * the random units).
 */
export const stepDelays = <In>(
  schedule: Schedule.Schedule<unknown, In>,
  inputs: ReadonlyArray<In>,
  start = 0,
  seed: number | Random.Random = 0
): Array<number> =>
  Effect.runSync(
    Effect.gen(function*() {
      let state = schedule.initial
      let now = start
      const delays: Array<number> = []
      for (const input of inputs) {
        const [next, , decision] = yield* schedule.step(now, input, state)
        if (ScheduleDecision.isDone(decision)) break
        const delay = Intervals.start(decision.intervals) - now
        delays.push(delay)
        now += delay
        state = next
      }
      return delays
    }).pipe(Effect.withRandom(typeof seed === "number" ? Random.make(seed) : seed))
  )
