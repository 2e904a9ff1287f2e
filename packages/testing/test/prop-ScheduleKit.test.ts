// Properties of `@sturdy/testing`'s `ScheduleKit` for users who property-test retry schedules, checked against its
// doc comments (src/ScheduleKit.ts) and `Backoff`'s (packages/policy/src/Backoff.ts).
//
// Models:
// - `delays`/`delaysSync`: the delays `Effect.retry` really waits, measured on the TestClock (the attempt times of an
//   always-failing effect retried on the same schedule with the same seeded `Random`).
//   Also on any schedule from a small grammar of Effect's own (spaced, fixed, exponential, fibonacci, linear,
//   fromDelays; jittered, capped, upTo, recurs, union, intersect).
// - the laws, as decisions: `capHolds(c)` passes iff every delay ≤ c, `attemptsBounded(r)` iff the schedule asks for
//   at most r delays, `totalBounded(t)` iff every running total ≤ t, `deterministic` iff two runs agree,
//   `envelopeMonotone` iff the envelope never dips (by more than `slack`) before reaching `maxDelay × (1 − slack)` and
//   never falls below that afterwards; each violation is a `LawViolation` naming the law, the seed (none for the
//   envelope, a law over many seeds), the first offending delay, and the delays. Bounds are generated next to the
//   schedule's own values, so both answers occur; schedules that break exactly one law (a delay above the cap, one
//   retry too many, an unseeded delay, an envelope that dips) are built from the real Backoff's delays.
// - `envelope`: the element-wise maximum over the seeds (a count n meaning seeds 0..n−1), inside `Backoff.envelope`'s
//   [lower, upper] for every draw, and tight: 300 seeds reach the upper bound to within 5 % of the range (plus the
//   1 ms of rounding down) for none/full/equal jitter and for decorrelated's first retry.
// - the arbitraries: the documented ranges (base 1 ms–2 s, factor 1–4, cap 1–200 × base, the jitters given, 1–20
//   attempts, maxElapsed absent or up to 10 minutes, absent with `maxElapsed: false`; seeds integers usable by
//   `Random.make` and `Simulator`), every option reached, and shrinking to the simplest configuration.
//
// Rules taken from the code: the tolerance of 1e-6 ms in every comparison; at most 24 delays in a message, then
// "... (n in all)"; `attemptsBounded` steps one delay past the bound; the envelope's cap is "reached" when an
// earlier delay is ≥ `maxDelay × (1 − slack)`.
//
// - `backoffLaws` over every configuration Backoff accepts (wider than the arbitrary, whose completeness
//   ScheduleKit.test.ts checks): true, never another error.
//
// Left out: schedules with
// inputs, `EnvelopeOptions.input`.
//
// Mutation checks (each made on a copy, seen to fail with a shrunk counterexample, then restored):
//   1. scheduleKit.ts `exceeds`: the 1e-6 ms tolerance dropped: the law-decision property fails (a bound 1e-7 below).
//   2. scheduleKit.ts `attemptsBounded`: steps `maxRetries` instead of `maxRetries + 1`: decisions and the
//      exactly-one-law property fail.
//   3. scheduleKit.ts `totalBounded`: reports the index after the offending one: the decision property fails.
//   4. scheduleKit.ts `envelope`: `Math.max` → `Math.min`: the envelope model fails.
//   5. scheduleKit.ts `delays`: `now` not advanced by each delay: the TestClock agreement fails (maxElapsed).
//   6. scheduleKit.ts `envelopeMonotone`: the after-the-cap check dropped: the envelope law decision fails.
//   7. scheduleKit.ts `backoffConfigArbitrary`: `capOverBase` from 0, or maxAttempts up to 21: the range property
//      fails.
//   8. the model: the law's first offending index taken as the last: the decision property fails (model check).
//   9. scheduleKit.ts `envelope`: the check of a `seeds` count removed (the defect fixed here): the refusal property
//      fails (NaN answered []).
//  10. scheduleKit.ts `backoffLaws`: the total bound back to `maxDelay × retries` (NaN for an infinite cap and no
//      retry): the any-configuration property fails with a RangeError.
//  11. scheduleKit.ts `delays`: `now` advanced by the rounded delay: the agreement with Effect.retry on any Effect
//      schedule fails (fractional jittered delays).
// Found and fixed (regression tests in ScheduleKit.test.ts): `envelope` answered [] for `seeds: NaN` and took fewer
// seeds for a fraction; `backoffLaws` threw a RangeError for an infinite `maxDelay` with `maxAttempts: 1`.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import { ScheduleKit, Simulator } from "@sturdy/testing"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Interval from "effect/ScheduleInterval"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"

const tolerance = 1e-6

// A schedule asking for the given delays, then stopping; `pick` may replace delay n (a function of the run).
const fromList = (list: ReadonlyArray<number>, pick?: (n: number) => number) =>
  Schedule.makeWithState<number, unknown, number>(0, (now, _input, n) => {
    if (n >= list.length) return Effect.succeed([n, 0, ScheduleDecision.done] as const)
    const millis = pick === undefined ? list[n] : pick(n)
    return Effect.succeed([n + 1, millis, ScheduleDecision.continueWith(Interval.after(now + millis))] as const)
  })

// Asserts `run` throws a LawViolation with the documented fields.
const violation = (run: () => unknown, law: string, seed: number | undefined, delays: ReadonlyArray<number>) => {
  let thrown: unknown
  try {
    run()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(ScheduleKit.LawViolation)
  expect(thrown).toBeInstanceOf(Error)
  const error = thrown as ScheduleKit.LawViolation
  expect(error.name).toBe("LawViolation")
  expect(error.law).toBe(law)
  expect(error.seed).toBe(seed)
  expect(error.delays).toEqual(delays)
  const seedText = seed === undefined ? "" : ` (seed ${seed})`
  expect(error.message.startsWith(`schedule law "${law}" violated${seedText}: `)).toBe(true)
  const shown = delays.slice(0, 24).map((delay) => String(Math.round(delay * 1000) / 1000)).join(", ")
  expect(error.message.endsWith(
    `; delays (ms): [${delays.length > 24 ? `${shown}, ... (${delays.length} in all)` : shown}]`
  )).toBe(true)
  return error
}

const configArb = ScheduleKit.backoffConfigArbitrary()
const unboundedArb = ScheduleKit.backoffConfigArbitrary({ maxElapsed: false })

// -----------------------------------------------------------------------------

describe("ScheduleKit.delays: what Effect.retry really waits", () => {
  it("delays and delaysSync are the gaps between attempts of Effect.retry on the TestClock, same seed", async () => {
    await fc.assert(
      fc.asyncProperty(configArb, ScheduleKit.seedArbitrary, fc.integer({ min: 0, max: 25 }), async (
        config,
        seed,
        attempts
      ) => {
        const schedule = ScheduleKit.backoffSchedule(config)
        const times: Array<number> = []
        const failing = Effect.flatMap(Clock.currentTimeMillis, (now) => {
          times.push(now)
          return Effect.fail("boom")
        })
        // `attempts` delays at most: the schedule's own limit, or ours (recurs), whichever stops first
        const limited = Schedule.intersect(schedule, Schedule.recurs(attempts))
        const measured = await Effect.runPromise(
          Effect.gen(function*() {
            const fiber = yield* Effect.fork(
              Effect.retry(failing, limited).pipe(Effect.withRandom(Random.make(seed)), Effect.either)
            )
            yield* TestClock.adjust(Duration.days(2))
            yield* Fiber.join(fiber)
            return times.slice(1).map((time, index) => time - times[index])
          }).pipe(Effect.provide(TestContext.TestContext))
        )
        expect(ScheduleKit.delaysSync(schedule, { attempts, seed })).toEqual(measured)
        expect(await Effect.runPromise(ScheduleKit.delays(schedule, { attempts, seed }))).toEqual(measured)
        // a config's schedule: at most maxAttempts − 1 delays, exactly that many without maxElapsed
        const all = ScheduleKit.delaysSync(schedule, { attempts: 64, seed })
        if (config.maxElapsed === undefined) expect(all.length).toBe(config.maxAttempts - 1)
        else expect(all.length).toBeLessThanOrEqual(config.maxAttempts - 1)
        expect(measured).toEqual(all.slice(0, attempts))
      }),
      { seed: 1206, numRuns: 80 }
    )
  })
})

describe("ScheduleKit.backoffLaws: every configuration Backoff accepts keeps the laws", () => {
  // wider than backoffConfigArbitrary: zero and fractional delays, large factors, an infinite cap, maxElapsed 0
  const anyConfigArb: fc.Arbitrary<ScheduleKit.BackoffConfig> = fc.record({
    baseDelay: fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.double({ min: 0, max: 5_000, noNaN: true })),
    factor: fc.double({ min: 1, max: 10, noNaN: true }),
    maxDelay: fc.oneof(
      fc.constant(Number.POSITIVE_INFINITY),
      fc.double({ min: 0, max: 2 ** 31 - 1, noNaN: true }),
      fc.integer({ min: 0, max: 5_000 })
    ),
    jitter: ScheduleKit.jitterArbitrary,
    maxAttempts: fc.integer({ min: 1, max: 30 }),
    maxElapsed: fc.option(
      fc.oneof(fc.integer({ min: 0, max: 10_000_000 }), fc.constant(Number.POSITIVE_INFINITY)),
      { nil: undefined }
    )
  })

  it("backoffLaws holds (and never throws anything else) for any such configuration and seed", () => {
    fc.assert(
      fc.property(anyConfigArb, ScheduleKit.seedArbitrary, (config, seed) => ScheduleKit.backoffLaws(config, { seed })),
      { seed: 1, numRuns: 1_500 }
    )
  })
})

describe("ScheduleKit.delays agrees with Effect.retry on any Effect schedule", () => {
  // a small grammar of Effect's own schedules: bases, then jitter, caps, elapsed bounds, unions and intersections;
  // each carries its description, so that a counterexample reads
  type Built = {
    readonly schedule: Schedule.Schedule<unknown>
    readonly text: string
    readonly toString: () => string
  }
  const built = (schedule: Schedule.Schedule<unknown>, text: string): Built => ({
    schedule,
    text,
    toString: () => text
  })
  const baseArb: fc.Arbitrary<Built> = fc.oneof(
    fc.integer({ min: 0, max: 500 }).map((ms) => built(Schedule.spaced(ms), `spaced(${ms})`)),
    fc.integer({ min: 1, max: 500 }).map((ms) => built(Schedule.fixed(ms), `fixed(${ms})`)),
    fc.tuple(fc.integer({ min: 1, max: 200 }), fc.double({ min: 1, max: 3, noNaN: true }))
      .map(([ms, factor]) => built(Schedule.exponential(ms, factor), `exponential(${ms}, ${factor})`)),
    fc.integer({ min: 1, max: 100 }).map((ms) => built(Schedule.fibonacci(ms), `fibonacci(${ms})`)),
    fc.integer({ min: 1, max: 100 }).map((ms) => built(Schedule.linear(ms), `linear(${ms})`)),
    fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 6 })
      .map(([first, ...rest]) => built(Schedule.fromDelays(first, ...rest), `fromDelays(${[first, ...rest]})`))
  )
  const wrapArb: fc.Arbitrary<(inner: Built) => Built> = fc.oneof(
    fc.constant((inner: Built) => built(Schedule.jittered(inner.schedule), `jittered(${inner.text})`)),
    fc.integer({ min: 1, max: 1_000 }).map((cap) => (inner: Built) =>
      built(
        Schedule.modifyDelay(inner.schedule, (_, delay) => Math.min(cap, Duration.toMillis(delay))),
        `capped(${inner.text}, ${cap})`
      )
    ),
    fc.integer({ min: 0, max: 3_000 }).map((ms) => (inner: Built) =>
      built(Schedule.upTo(inner.schedule, ms), `upTo(${inner.text}, ${ms})`)
    ),
    fc.integer({ min: 0, max: 8 }).map((n) => (inner: Built) =>
      built(Schedule.intersect(inner.schedule, Schedule.recurs(n)), `intersect(${inner.text}, recurs(${n}))`)
    ),
    baseArb.map((other) => (inner: Built) =>
      built(Schedule.union(inner.schedule, other.schedule), `union(${inner.text}, ${other.text})`)
    ),
    baseArb.map((other) => (inner: Built) =>
      built(Schedule.intersect(inner.schedule, other.schedule), `intersect(${inner.text}, ${other.text})`)
    )
  )
  const scheduleArb = fc.tuple(baseArb, fc.array(wrapArb, { maxLength: 3 }))
    .map(([base, wraps]) => wraps.reduce((schedule, wrap) => wrap(schedule), base))

  it("the delays are the gaps between Effect.retry's attempts on the TestClock", async () => {
    await fc.assert(
      fc.asyncProperty(scheduleArb, ScheduleKit.seedArbitrary, fc.integer({ min: 0, max: 12 }), async (
        { schedule },
        seed,
        attempts
      ) => {
        const times: Array<number> = []
        const failing = Effect.flatMap(Clock.currentTimeMillis, (now) => {
          times.push(now)
          return Effect.fail("boom")
        })
        await Effect.runPromise(
          Effect.gen(function*() {
            const fiber = yield* Effect.fork(
              Effect.retry(failing, Schedule.intersect(schedule, Schedule.recurs(attempts))).pipe(
                Effect.withRandom(Random.make(seed)),
                Effect.either
              )
            )
            yield* TestClock.adjust(Duration.days(1))
            yield* Fiber.join(fiber)
          }).pipe(Effect.provide(TestContext.TestContext))
        )
        const measured = times.slice(1).map((time, index) => time - times[index])
        expect(ScheduleKit.delaysSync(schedule, { attempts, seed })).toEqual(measured)
      }),
      { seed: 4711, numRuns: 100 }
    )
  })
})

describe("ScheduleKit.laws decide as documented, and report the first offence", () => {
  // a bound near the schedule's own value: below, at, or above it
  const nearArb = fc.constantFrom(-1.5, -1, -0.5, 0, 0.5, 1, 1e-7, -1e-7, -1e-5)

  it("capHolds, attemptsBounded and totalBounded pass exactly when their bound holds", () => {
    fc.assert(
      fc.property(configArb, ScheduleKit.seedArbitrary, nearArb, nearArb, fc.integer({ min: -2, max: 2 }), (
        config,
        seed,
        capNudge,
        totalNudge,
        retryNudge
      ) => {
        const schedule = ScheduleKit.backoffSchedule(config)
        const sequence = ScheduleKit.delaysSync(schedule, { attempts: 32, seed })
        // cap: near the largest delay (or the configured cap)
        const largest = sequence.length === 0 ? config.maxDelay : Math.max(...sequence)
        const cap = Math.max(0, largest + capNudge)
        const capIndex = sequence.findIndex((delay) => delay > cap + tolerance)
        if (capIndex < 0) expect(ScheduleKit.laws.capHolds(schedule, cap, { seed })).toBe(true)
        else {
          const error = violation(() => ScheduleKit.laws.capHolds(schedule, cap, { seed }), "capHolds", seed, sequence)
          expect(error.message).toContain(
            `delay #${capIndex + 1} is ${sequence[capIndex]}ms, above the cap of ${cap}ms`
          )
        }
        // total: near one of the running totals
        const totals = sequence.map((_, index) => sequence.slice(0, index + 1).reduce((a, b) => a + b, 0))
        const pickTotal = totals.length === 0 ? 0 : totals[seed % totals.length]
        const maxTotal = Math.max(0, pickTotal + totalNudge)
        const totalIndex = totals.findIndex((total) => total > maxTotal + tolerance)
        if (totalIndex < 0) expect(ScheduleKit.laws.totalBounded(schedule, maxTotal, { seed })).toBe(true)
        else {
          const error = violation(
            () => ScheduleKit.laws.totalBounded(schedule, maxTotal, { seed }),
            "totalBounded",
            seed,
            sequence
          )
          expect(error.message).toContain(
            `the delays sum to ${totals[totalIndex]}ms after retry #${totalIndex + 1}, above the bound of ${maxTotal}ms`
          )
        }
        // retries: near the number the schedule asks for
        const maxRetries = Math.max(0, sequence.length + retryNudge)
        if (sequence.length <= maxRetries) {
          expect(ScheduleKit.laws.attemptsBounded(schedule, maxRetries, { seed })).toBe(true)
        } else {
          const error = violation(
            () => ScheduleKit.laws.attemptsBounded(schedule, maxRetries, { seed }),
            "attemptsBounded",
            seed,
            sequence.slice(0, maxRetries + 1)
          )
          expect(error.message).toContain(
            `asked for retry #${maxRetries + 1} but at most ${maxRetries} retries are allowed`
          )
        }
        expect(ScheduleKit.laws.deterministic(schedule, { seed })).toBe(true)
      }),
      { seed: 77, numRuns: 400 }
    )
  })

  it("a schedule that breaks exactly one law fails that law alone, at the offending delay", () => {
    const brokenArb = fc.record({
      config: unboundedArb.filter((config) => config.maxAttempts >= 2),
      seed: ScheduleKit.seedArbitrary,
      which: fc.constantFrom("cap", "attempts", "deterministic"),
      at: fc.nat(),
      excess: fc.integer({ min: 1, max: 10_000 })
    })
    fc.assert(
      fc.property(brokenArb, ({ at, config, excess, seed, which }) => {
        const retries = config.maxAttempts - 1
        const real = ScheduleKit.delaysSync(ScheduleKit.backoffSchedule(config), { attempts: retries, seed })
        const k = at % real.length
        const check = {
          cap: () => ScheduleKit.laws.capHolds(schedule, config.maxDelay, { seed }),
          attempts: () => ScheduleKit.laws.attemptsBounded(schedule, retries, { seed }),
          deterministic: () => ScheduleKit.laws.deterministic(schedule, { seed })
        }
        let list = real
        let pick: ((n: number) => number) | undefined
        if (which === "cap") list = real.map((delay, n) => n === k ? config.maxDelay + excess : delay)
        if (which === "attempts") list = [...real, ...real.slice(0, k + 1)]
        let runs = 0
        if (which === "deterministic") {
          // delay k reads a source the seed does not govern (it differs from one run to the next); within the cap
          pick = (n) => n === k ? (runs++ % 2 === 0 ? 0 : Math.min(config.maxDelay, 1)) : real[n]
        }
        const schedule = fromList(list, pick)
        for (const law of ["cap", "attempts", "deterministic"] as const) {
          if (law !== which) {
            expect(check[law]()).toBe(true)
            continue
          }
          if (law === "cap") {
            const error = violation(check.cap, "capHolds", seed, list)
            expect(error.message).toContain(`delay #${k + 1} is ${config.maxDelay + excess}ms`)
          } else if (law === "attempts") {
            const error = violation(check.attempts, "attemptsBounded", seed, list.slice(0, retries + 1))
            expect(error.message).toContain(`asked for retry #${retries + 1}`)
          } else {
            runs = 0
            const error = violation(check.deterministic, "deterministic", seed, real.map((d, n) => n === k ? 0 : d))
            expect(error.message).toContain(`differ at delay #${k + 1}: 0ms then ${Math.min(config.maxDelay, 1)}ms`)
          }
        }
      }),
      { seed: 2026, numRuns: 300 }
    )
  })

  it("envelopeMonotone fails exactly where the envelope dips before the cap or falls off it after", () => {
    // a fixed list (the same for every seed, so it is its own envelope)
    const listArb = fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: 1, maxLength: 12 })
    fc.assert(
      fc.property(
        listArb,
        fc.option(fc.integer({ min: 1, max: 1_200 }), { nil: undefined }),
        fc.option(fc.constantFrom(0, 0.05, 0.2, 0.5), { nil: undefined }),
        fc.integer({ min: 1, max: 30 }),
        (list, maxDelay, slackOption, seeds) => {
          const slack = slackOption ?? Math.min(0.5, 12 / seeds)
          const cap = maxDelay ?? Number.POSITIVE_INFINITY
          const floorAtCap = cap * (1 - slack) - tolerance
          // the documented rule, written afresh
          let expected: { index: number; atCap: boolean } | undefined
          let reached = false
          for (let index = 1; index < list.length && expected === undefined; index++) {
            reached = reached || list[index - 1] >= floorAtCap
            if (reached ? list[index] < floorAtCap : list[index] < list[index - 1] * (1 - slack) - tolerance) {
              expected = { index, atCap: reached }
            }
          }
          const run = () =>
            ScheduleKit.laws.envelopeMonotone(fromList(list), {
              seeds,
              attempts: 12,
              maxDelay,
              ...(slackOption === undefined ? {} : { slack: slackOption })
            })
          if (expected === undefined) expect(run()).toBe(true)
          else {
            const error = violation(run, "envelopeMonotone", undefined, list)
            expect(error.message).toContain(`the largest delay #${expected.index + 1} over ${seeds} seeds`)
            expect(error.message).toContain(expected.atCap ? `below the cap of ${cap}ms` : `below the largest delay`)
          }
        }
      ),
      { seed: 5150, numRuns: 600 }
    )
  })
})

describe("ScheduleKit.envelope bounds every draw and is tight", () => {
  it("is the element-wise maximum over the seeds (a count n meaning 0..n−1)", () => {
    fc.assert(
      fc.property(configArb, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 20 }), (
        config,
        seeds,
        attempts
      ) => {
        const schedule = ScheduleKit.backoffSchedule(config)
        const upper: Array<number> = []
        for (let seed = 0; seed < seeds; seed++) {
          ScheduleKit.delaysSync(schedule, { attempts, seed }).forEach((delay, index) => {
            upper[index] = Math.max(upper[index] ?? 0, delay)
          })
        }
        expect(ScheduleKit.envelope(schedule, { seeds, attempts })).toEqual(upper)
        const list = Array.from({ length: seeds }, (_, seed) => seed)
        expect(ScheduleKit.envelope(schedule, { seeds: list, attempts })).toEqual(upper)
      }),
      { seed: 9, numRuns: 150 }
    )
  })

  it("every draw lies in Backoff.envelope's range, and 300 seeds come close to its upper bound", () => {
    const seeds = 300
    fc.assert(
      fc.property(unboundedArb, (config) => {
        const schedule = ScheduleKit.backoffSchedule(config)
        const options = ScheduleKit.backoffOptions(config)
        const retries = config.maxAttempts - 1
        const ranges = Array.from({ length: retries }, (_, n) => {
          const { lower, upper } = Backoff.envelope(options, n)
          return { lower: Duration.toMillis(lower), upper: Duration.toMillis(upper) }
        })
        for (let seed = 0; seed < 40; seed++) {
          ScheduleKit.delaysSync(schedule, { attempts: retries, seed }).forEach((delay, n) => {
            expect(delay).toBeGreaterThanOrEqual(ranges[n].lower)
            expect(delay).toBeLessThanOrEqual(ranges[n].upper)
          })
        }
        const envelope = ScheduleKit.envelope(schedule, { seeds, attempts: retries })
        expect(envelope.length).toBe(retries)
        envelope.forEach((top, n) => {
          expect(top).toBeLessThanOrEqual(ranges[n].upper)
          // decorrelated jitter reaches its upper bound only through a run of high draws: its first retry only
          if (config.jitter === "decorrelated" && n > 0) return
          const { lower, upper } = ranges[n]
          expect(top, `retry ${n} of ${JSON.stringify(config)}`).toBeGreaterThanOrEqual(
            upper - 0.05 * (upper - lower) - 1
          )
        })
        if (config.jitter === "none") expect(envelope).toEqual(ranges.map((range) => range.upper))
      }),
      { seed: 31, numRuns: 80 }
    )
  })
})

describe("ScheduleKit refuses counts that would make a check vacuous", () => {
  const badCount = fc.oneof(
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53),
    fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((value) => !Number.isInteger(value) || value < 0)
  )

  it("delays and envelope: a count of attempts or seeds that is no integer ≥ 0 is a RangeError naming it", () => {
    fc.assert(
      fc.property(unboundedArb, badCount, fc.constantFrom("attempts", "seeds"), (config, bad, which) => {
        const schedule = ScheduleKit.backoffSchedule(config)
        const options = which === "attempts" ? { seeds: 3, attempts: bad } : { seeds: bad, attempts: 3 }
        expect(() => ScheduleKit.envelope(schedule, options)).toThrow(RangeError)
        expect(() => ScheduleKit.envelope(schedule, options)).toThrow(
          new RegExp(`^ScheduleKit\\.envelope: ${which} must be an integer ≥ 0`)
        )
        if (which === "attempts") {
          expect(() => ScheduleKit.delaysSync(schedule, { attempts: bad, seed: 1 })).toThrow(RangeError)
        }
      }),
      { seed: 64, numRuns: 200 }
    )
  })
})

describe("ScheduleKit's arbitraries", () => {
  const jittersArb = fc.subarray(["none", "full", "equal", "decorrelated"] as const, { minLength: 1 })

  it("stay within their documented ranges and honour the constraints", () => {
    fc.assert(
      fc.property(
        jittersArb,
        fc.option(fc.boolean(), { nil: undefined }),
        fc.integer(),
        (jitters, maxElapsed, seed) => {
          const configs = fc.sample(ScheduleKit.backoffConfigArbitrary({ jitter: jitters, maxElapsed }), {
            seed,
            numRuns: 40
          })
          for (const config of configs) {
            expect(Number.isInteger(config.baseDelay)).toBe(true)
            expect(config.baseDelay).toBeGreaterThanOrEqual(1)
            expect(config.baseDelay).toBeLessThanOrEqual(2_000)
            expect(config.factor).toBeGreaterThanOrEqual(1)
            expect(config.factor).toBeLessThanOrEqual(4)
            const capOverBase = config.maxDelay / config.baseDelay
            expect(Number.isInteger(capOverBase)).toBe(true)
            expect(capOverBase).toBeGreaterThanOrEqual(1)
            expect(capOverBase).toBeLessThanOrEqual(200)
            expect(jitters).toContain(config.jitter)
            expect(Number.isInteger(config.maxAttempts)).toBe(true)
            expect(config.maxAttempts).toBeGreaterThanOrEqual(1)
            expect(config.maxAttempts).toBeLessThanOrEqual(20)
            if (maxElapsed === false) expect(config.maxElapsed).toBeUndefined()
            if (config.maxElapsed !== undefined) {
              expect(config.maxElapsed).toBeGreaterThan(0)
              expect(config.maxElapsed).toBeLessThanOrEqual(600_000)
            }
            // Backoff accepts every configuration
            expect(() => ScheduleKit.backoffSchedule(config)).not.toThrow()
          }
        }
      ),
      { seed: 12, numRuns: 60 }
    )
  })

  it("reach every option: each jitter, with and without maxElapsed, the edges of each range", () => {
    const configs = fc.sample(ScheduleKit.backoffConfigArbitrary(), { seed: 3, numRuns: 2_000 })
    expect(new Set(configs.map((config) => config.jitter))).toEqual(new Set(["none", "full", "equal", "decorrelated"]))
    expect(configs.some((config) => config.maxElapsed === undefined)).toBe(true)
    expect(configs.some((config) => config.maxElapsed !== undefined)).toBe(true)
    expect(configs.some((config) => config.maxAttempts === 1)).toBe(true)
    expect(configs.some((config) => config.maxAttempts === 20)).toBe(true)
    expect(configs.some((config) => config.maxDelay === config.baseDelay)).toBe(true)
    expect(configs.some((config) => config.factor === 1)).toBe(true)
    const seeds = fc.sample(ScheduleKit.seedArbitrary, { seed: 3, numRuns: 2_000 })
    for (const seed of seeds) {
      expect(Number.isSafeInteger(seed)).toBe(true)
      expect(seed).toBeGreaterThanOrEqual(0)
    }
    // fast-check leans towards small values and edges, yet seeds are mostly distinct
    expect(new Set(seeds).size).toBeGreaterThan(1_000)
  })

  it("seeds from seedArbitrary run the Simulator and seed Random", () => {
    const tiny: Simulator.Scenario = {
      name: "tiny",
      description: "one call",
      upstream: { servers: 1, queueCapacity: 0, latency: { median: 1, sigma: 0.5 } },
      workload: { clients: 1, duration: 10, rate: 0, burst: 1, attemptTimeout: 100 }
    }
    fc.assert(
      fc.property(ScheduleKit.seedArbitrary, (seed) => {
        expect(Simulator.runSync(tiny, Simulator.policies.noRetry, { seed }).seed).toBe(seed)
        expect(Effect.runSync(Effect.withRandom(Random.next, Random.make(seed)))).toBeLessThan(1)
      }),
      { seed: 4, numRuns: 50 }
    )
  })

  it("shrink to the simplest configuration that still fails", () => {
    const counterexample = (
      arbitrary: fc.Arbitrary<ScheduleKit.BackoffConfig>,
      fails: (c: ScheduleKit.BackoffConfig) => boolean
    ) => {
      const result = fc.check(fc.property(arbitrary, (config) => !fails(config)), { seed: 42, numRuns: 500 })
      expect(result.failed).toBe(true)
      return result.counterexample![0]
    }
    const simplest = { baseDelay: 1, factor: 1, maxDelay: 1, jitter: "none", maxAttempts: 1, maxElapsed: undefined }
    expect(counterexample(ScheduleKit.backoffConfigArbitrary(), (config) => config.maxAttempts >= 3)).toEqual({
      ...simplest,
      maxAttempts: 3
    })
    // the cap is base × n: either may carry it, the rest is the simplest
    const { baseDelay: _base, maxDelay, ...rest } = counterexample(
      ScheduleKit.backoffConfigArbitrary(),
      (config) => config.maxDelay >= 50
    )
    expect(maxDelay).toBe(50)
    expect(rest).toEqual({ factor: 1, jitter: "none", maxAttempts: 1, maxElapsed: undefined })
    expect(
      counterexample(ScheduleKit.backoffConfigArbitrary({ jitter: ["decorrelated", "full"] }), () => true)
    ).toEqual({ ...simplest, jitter: "decorrelated" })
    const seed = fc.check(fc.property(ScheduleKit.seedArbitrary, (s) => s < 1_000), { seed: 42, numRuns: 200 })
    expect(seed.counterexample).toEqual([1_000])
  })
})
