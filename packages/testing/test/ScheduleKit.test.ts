import { describe, expect, it } from "@effect/vitest"
import { ScheduleKit } from "@sturdy/testing"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Interval from "effect/ScheduleInterval"

// A backoff whose cap is applied BEFORE the jitter is added: equal/decorrelated jitter then overshoot the cap.
const capBeforeJitter = (base: number, cap: number, jitter: "equal" | "decorrelated") =>
  Schedule.makeWithState<{ readonly attempt: number; readonly previous: number }, unknown, number>(
    { attempt: 0, previous: base },
    (now, _input, state) =>
      Effect.map(Random.next, (random) => {
        const capped = Math.min(cap, base * 2 ** state.attempt)
        const delay = jitter === "equal" ?
          capped + random * capped / 2 :
          Math.min(cap, state.previous * 3) + random * base
        return [
          { attempt: state.attempt + 1, previous: delay },
          delay,
          ScheduleDecision.continueWith(Interval.after(now + delay))
        ] as const
      })
  )

describe("ScheduleKit", () => {
  it("steps a schedule as Effect.retry would, ending when it stops", () => {
    const schedule = Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(3)))
    expect(ScheduleKit.delaysSync(schedule, { attempts: 10, seed: 1 })).toEqual([100, 200, 400])
    expect(ScheduleKit.delaysSync(schedule, { attempts: 2, seed: 1 })).toEqual([100, 200])
  })

  // found by the cats-retry port: a NaN count answered [], a fraction one delay more, Infinity never ended
  it("a count of attempts that is no integer ≥ 0, or a seed that is not finite, is a RangeError naming it", () => {
    const schedule = Schedule.spaced("1 second")
    for (const attempts of [NaN, 1.5, -1, Infinity]) {
      expect(() => ScheduleKit.delaysSync(schedule, { attempts, seed: 1 })).toThrow(
        new RangeError(`ScheduleKit.delays: attempts must be an integer ≥ 0, got ${attempts}`)
      )
      expect(() => ScheduleKit.delays(schedule, { attempts, seed: 1 })).toThrow(RangeError)
    }
    expect(() => ScheduleKit.delaysSync(schedule, { attempts: 2, seed: NaN })).toThrow(/seed must be a finite number/)
    expect(ScheduleKit.delaysSync(schedule, { attempts: 0, seed: 1 })).toEqual([])
  })

  it.effect("sees elapsed time, so upTo stops at the bound", () =>
    Effect.gen(function*() {
      const schedule = Schedule.spaced("1 second").pipe(Schedule.upTo("3500 millis"))
      const delays = yield* ScheduleKit.delays(schedule, { attempts: 10, seed: 1 })
      expect(delays).toEqual([1000, 1000, 1000, 1000])
    }))

  it("passes the input to each step", () => {
    const schedule = Schedule.identity<number>().pipe(Schedule.addDelay((n) => n))
    expect(ScheduleKit.delaysSync(schedule, { attempts: 3, seed: 1, input: 250 })).toEqual([250, 250, 250])
  })

  it("is reproducible for a seed and differs across seeds", () => {
    const schedule = Schedule.jittered(Schedule.exponential("100 millis"))
    const first = ScheduleKit.delaysSync(schedule, { attempts: 8, seed: 42 })
    expect(ScheduleKit.delaysSync(schedule, { attempts: 8, seed: 42 })).toEqual(first)
    expect(ScheduleKit.delaysSync(schedule, { attempts: 8, seed: 43 })).not.toEqual(first)
  })

  it.prop(
    "the laws hold for a correctly capped jittered schedule",
    [ScheduleKit.backoffConfigArbitrary({ maxElapsed: false }), ScheduleKit.seedArbitrary],
    ([config, seed]) => {
      const schedule = Schedule.exponential(config.baseDelay, config.factor).pipe(
        Schedule.jittered,
        Schedule.modifyDelay((delay) => Math.min(config.maxDelay, Duration.toMillis(delay))),
        Schedule.intersect(Schedule.recurs(config.maxAttempts - 1))
      )
      ScheduleKit.laws.capHolds(schedule, config.maxDelay, { seed })
      ScheduleKit.laws.attemptsBounded(schedule, config.maxAttempts - 1, { seed })
      ScheduleKit.laws.totalBounded(schedule, config.maxDelay * (config.maxAttempts - 1), { seed })
      return ScheduleKit.laws.deterministic(schedule, { seed })
    },
    { fastCheck: { numRuns: 1000, seed: 42 } }
  )

  it.prop(
    "Backoff keeps every law, for any configuration and seed",
    [ScheduleKit.backoffConfigArbitrary(), ScheduleKit.seedArbitrary],
    ([config, seed]) => ScheduleKit.backoffLaws(config, { seed }),
    { fastCheck: { numRuns: 1000, seed: 42 } }
  )

  for (const jitter of ["none", "full", "equal", "decorrelated"] as const) {
    it.prop(
      `Backoff's ${jitter}-jitter envelope grows until the cap`,
      [
        ScheduleKit.backoffConfigArbitrary({ jitter: [jitter], maxElapsed: false })
      ],
      ([config]) =>
        ScheduleKit.laws.envelopeMonotone(ScheduleKit.backoffSchedule(config), {
          seeds: 40,
          attempts: config.maxAttempts,
          maxDelay: config.maxDelay
        }),
      { fastCheck: { numRuns: 1000, seed: 42 } }
    )
  }

  it("a cap applied before equal jitter fails capHolds with a readable counterexample", () => {
    const result = FastCheck.check(
      FastCheck.property(
        ScheduleKit.seedArbitrary,
        (seed) => ScheduleKit.laws.capHolds(capBeforeJitter(100, 1_000, "equal"), 1_000, { seed, attempts: 10 })
      ),
      { seed: 42, numRuns: 100 }
    )
    expect(result.failed).toBe(true)
    const message = String(result.errorInstance instanceof Error ? result.errorInstance.message : "")
    expect(message).toMatch(/schedule law "capHolds" violated \(seed \d+\): delay #\d+ is [\d.]+ms, above the cap/)
    expect(message).toContain("delays (ms): [")
  })

  it("a cap applied before decorrelated jitter fails capHolds", () => {
    expect(() => ScheduleKit.laws.capHolds(capBeforeJitter(100, 1_000, "decorrelated"), 1_000, { seed: 3 }))
      .toThrow(ScheduleKit.LawViolation)
  })

  it("an unbounded schedule fails attemptsBounded and totalBounded", () => {
    const forever = Schedule.spaced("1 second")
    expect(() => ScheduleKit.laws.attemptsBounded(forever, 5, { seed: 1 })).toThrow(
      /asked for retry #6 but at most 5 retries are allowed/
    )
    expect(() => ScheduleKit.laws.totalBounded(forever, 4_500, { seed: 1 })).toThrow(
      /sum to 5000ms after retry #5, above the bound of 4500ms/
    )
  })

  it("a schedule that reads an unseeded source fails deterministic", () => {
    let calls = 0
    const drifting = Schedule.spaced("1 second").pipe(Schedule.addDelay(() => ++calls))
    expect(() => ScheduleKit.laws.deterministic(drifting, { seed: 1, attempts: 3 })).toThrow(/differ at delay #1/)
  })

  it("a shrinking envelope fails envelopeMonotone; exponential jitter passes it", () => {
    const shrinking = Schedule.fromDelays("1 second", "500 millis", "2 seconds")
    expect(() => ScheduleKit.laws.envelopeMonotone(shrinking, { seeds: 50 })).toThrow(
      /largest delay #2 over 50 seeds is 500ms, below the largest delay #1 \(1000ms\)/
    )
    const jittered = Schedule.exponential("100 millis").pipe(
      Schedule.jittered,
      Schedule.modifyDelay((delay) => Math.min(5_000, Duration.toMillis(delay)))
    )
    expect(ScheduleKit.laws.envelopeMonotone(jittered, { seeds: 200, attempts: 12, maxDelay: 5_000 })).toBe(true)
  })

  it("the arbitraries respect their ranges", () => {
    FastCheck.assert(
      FastCheck.property(
        ScheduleKit.backoffConfigArbitrary(),
        (config) =>
          config.baseDelay >= 1 && config.maxDelay >= config.baseDelay && config.factor >= 1 && config.maxAttempts >= 1
      ),
      { seed: 42, numRuns: 500 }
    )
  })

  // found by prop-ScheduleKit: a NaN count of seeds answered [], and a fraction silently took fewer seeds
  it("envelope refuses a count of seeds that is not an integer ≥ 0 with a RangeError naming it", () => {
    const schedule = Schedule.jittered(Schedule.spaced("1 second"))
    for (const seeds of [Number.NaN, 2.5, -1, Number.POSITIVE_INFINITY]) {
      expect(() => ScheduleKit.envelope(schedule, { seeds, attempts: 3 })).toThrow(
        new RangeError(`ScheduleKit.envelope: seeds must be an integer ≥ 0 or a list, got ${seeds}`)
      )
    }
    expect(ScheduleKit.envelope(schedule, { seeds: 0, attempts: 3 })).toEqual([])
    expect(ScheduleKit.envelope(schedule, { seeds: 2, attempts: 3 })).toHaveLength(3)
  })

  // found by prop-ScheduleKit: with an infinite cap and one attempt, the total bound was Infinity × 0 = NaN, and
  // backoffLaws threw a RangeError about a maxTotal the caller never gave
  it("backoffLaws accepts an infinite maxDelay, with one attempt or more", () => {
    const config = { baseDelay: 100, factor: 2, jitter: "full", maxElapsed: undefined } as const
    for (const maxAttempts of [1, 2, 5]) {
      expect(ScheduleKit.backoffLaws({ ...config, maxDelay: Number.POSITIVE_INFINITY, maxAttempts }, { seed: 1 }))
        .toBe(true)
    }
  })

  describe("laws cannot be fooled (review #1-#3)", () => {
    // A schedule from a plain function of the 0-based retry number and one uniform draw.
    const fromFn = (delay: (n: number, unit: number) => number) =>
      Schedule.makeWithState<number, unknown, number>(0, (now, _input, n) =>
        Effect.map(Random.next, (unit) => {
          const millis = delay(n, unit)
          return [n + 1, millis, ScheduleDecision.continueWith(Interval.after(now + millis))] as const
        }))

    it("envelopeMonotone catches an envelope that reaches the cap and then collapses (2ⁿ overflow)", () => {
      // 100, 200, 400, 800, 1000, 1000, then 1 ms: may stay at the cap, may not fall off it
      const overflow = fromFn((n) => n < 6 ? Math.min(1_000, 100 * 2 ** n) : 1)
      expect(() => ScheduleKit.laws.envelopeMonotone(overflow, { seeds: 20, attempts: 10, maxDelay: 1_000 }))
        .toThrow(/below the cap of 1000ms/)
      // staying at the cap, or dipping within the slack just below it, is fine
      const atCap = fromFn((n, unit) => n < 4 ? 100 * 2 ** n : 1_000 * (1 - unit / 100))
      expect(ScheduleKit.laws.envelopeMonotone(atCap, { seeds: 20, attempts: 10, maxDelay: 1_000, slack: 0.05 }))
        .toBe(true)
    })

    it("NaN delays fail capHolds, totalBounded and envelopeMonotone", () => {
      const nan = fromFn(() => Number.NaN)
      expect(() => ScheduleKit.laws.capHolds(nan, 1_000, { seed: 1 })).toThrow(/delay #1 is NaNms/)
      expect(() => ScheduleKit.laws.totalBounded(nan, 1_000, { seed: 1 })).toThrow(ScheduleKit.LawViolation)
      expect(() => ScheduleKit.laws.envelopeMonotone(nan, { seeds: 3 })).toThrow(/delay #1 is NaN/)
      // a NaN later in the sequence too, and an infinite delay against a finite cap
      expect(() => ScheduleKit.laws.capHolds(fromFn((n) => n === 3 ? Number.NaN : 10), 100, { seed: 1 }))
        .toThrow(/delay #4/)
      expect(() => ScheduleKit.laws.envelopeMonotone(fromFn((n) => n === 3 ? Number.NaN : 10), { seeds: 3 }))
        .toThrow(/delay #4 is NaN/)
      // the same NaNs twice are not a nondeterminism
      expect(ScheduleKit.laws.deterministic(nan, { seed: 1, attempts: 3 })).toBe(true)
    })

    it("invalid bounds and counts throw a RangeError instead of passing vacuously", () => {
      const unbounded = Schedule.spaced("1 second")
      const cases: ReadonlyArray<readonly [string, () => unknown]> = [
        ["cap", () => ScheduleKit.laws.capHolds(unbounded, Number.NaN, { seed: 1 })],
        ["cap", () => ScheduleKit.laws.capHolds(unbounded, -1, { seed: 1 })],
        ["attempts", () => ScheduleKit.laws.capHolds(unbounded, 10, { seed: 1, attempts: Number.NaN })],
        ["attempts", () => ScheduleKit.laws.capHolds(unbounded, 10, { seed: 1, attempts: 0 })],
        ["seed", () => ScheduleKit.laws.capHolds(unbounded, 10, { seed: Number.NaN })],
        ["maxRetries", () => ScheduleKit.laws.attemptsBounded(unbounded, Number.NaN, { seed: 1 })],
        ["maxRetries", () => ScheduleKit.laws.attemptsBounded(unbounded, 1.5, { seed: 1 })],
        ["maxTotal", () => ScheduleKit.laws.totalBounded(unbounded, Number.NaN, { seed: 1 })],
        ["attempts", () => ScheduleKit.laws.totalBounded(unbounded, 10, { seed: 1, attempts: Number.NaN })],
        ["attempts", () => ScheduleKit.laws.deterministic(unbounded, { seed: 1, attempts: -2 })],
        ["seeds", () => ScheduleKit.laws.envelopeMonotone(unbounded, { seeds: 0 })],
        ["seeds", () => ScheduleKit.laws.envelopeMonotone(unbounded, { seeds: Number.NaN })],
        ["seeds", () => ScheduleKit.laws.envelopeMonotone(unbounded, { seeds: [] })],
        ["attempts", () => ScheduleKit.laws.envelopeMonotone(unbounded, { seeds: 5, attempts: Number.NaN })],
        ["maxDelay", () => ScheduleKit.laws.envelopeMonotone(unbounded, { seeds: 5, maxDelay: Number.NaN })],
        ["slack", () => ScheduleKit.laws.envelopeMonotone(unbounded, { seeds: 5, slack: Number.NaN })]
      ]
      for (const [name, run] of cases) {
        expect(run).toThrow(RangeError)
        expect(run).toThrow(name)
      }
      // Infinity means "no bound", and still rejects NaN delays
      expect(ScheduleKit.laws.capHolds(unbounded, Number.POSITIVE_INFINITY, { seed: 1 })).toBe(true)
    })
  })
})
