import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { stepDelays } from "./utils/stepDelays.js"

const sampleDelays = (options: Backoff.Options, seed: number, maxSteps = 40): Array<number> =>
  stepDelays(Backoff.exponential(options), new Array<undefined>(maxSteps).fill(undefined), 1_000_000, seed)

const jitterArb = FastCheck.constantFrom<Backoff.Jitter>("none", "full", "equal", "decorrelated")
const optionsArb = FastCheck.record({
  baseDelay: FastCheck.integer({ min: 0, max: 2_000 }).map(Duration.millis),
  factor: FastCheck.double({ min: 1, max: 4, noNaN: true }),
  maxDelay: FastCheck.integer({ min: 0, max: 20_000 }).map(Duration.millis),
  jitter: jitterArb,
  maxAttempts: FastCheck.integer({ min: 1, max: 12 })
})
const seedArb = FastCheck.integer()
const epsilon = 1e-6

describe("Backoff", () => {
  it.prop("every delay is at most the cap, in every jitter mode", [optionsArb, seedArb], ([options, seed]) => {
    const cap = Duration.toMillis(options.maxDelay)
    for (const delay of sampleDelays(options, seed)) {
      expect(delay).toBeGreaterThanOrEqual(0)
      expect(delay).toBeLessThanOrEqual(cap + epsilon)
    }
  }, { fastCheck: { seed: 42, numRuns: 300 } })

  it.prop("each delay falls within its envelope", [optionsArb, seedArb], ([options, seed]) => {
    sampleDelays(options, seed).forEach((delay, n) => {
      const { lower, upper } = Backoff.envelope(options, n)
      expect(delay).toBeGreaterThanOrEqual(Duration.toMillis(lower) - epsilon)
      expect(delay).toBeLessThanOrEqual(Duration.toMillis(upper) + epsilon)
    })
  }, { fastCheck: { seed: 42, numRuns: 300 } })

  // Polly's RetryHelperTests / InfiniteRetry_Delay_Does_Not_Overflow_2163: a jittered delay is always positive.
  // Rounded down to whole milliseconds, 1 in t(n) full-jitter draws would otherwise be no wait at all.
  it("a jittered delay is never rounded down to no wait while its envelope reaches 1 ms", () => {
    for (const jitter of ["full", "equal"] as const) {
      for (const baseDelay of [1, 2, 5]) {
        const options = { baseDelay: Duration.millis(baseDelay), maxDelay: Duration.millis(baseDelay), jitter }
        for (let seed = 0; seed < 20; seed++) {
          const delays = sampleDelays({ ...options, maxAttempts: 41 }, seed)
          expect(delays).toHaveLength(40)
          expect(Math.min(...delays)).toBeGreaterThanOrEqual(1)
          expect(Math.max(...delays)).toBeLessThanOrEqual(baseDelay)
        }
      }
    }
    // a zero envelope stays zero
    expect(sampleDelays({ baseDelay: 0, jitter: "full", maxAttempts: 5 }, 1)).toEqual([0, 0, 0, 0])
  })

  // cenkalti/backoff port (TestGetRandomizedInterval): `Random.next` may be exactly 0, which full jitter would make no
  // wait at all although the envelope reaches 1 ms
  it("a full-jitter draw of exactly 0 still waits 1 ms while the envelope reaches 1 ms", () => {
    const zero = Random.fixed([0])
    expect(stepDelays(Backoff.exponential({ baseDelay: 2000, jitter: "full", maxAttempts: 4 }), [1, 2, 3], 0, zero))
      .toEqual([1, 1, 1])
    expect(stepDelays(Backoff.exponential({ baseDelay: 1, jitter: "full", maxAttempts: 2 }), [1], 0, zero)).toEqual([1])
    // a zero envelope stays zero, drawn 0 or not
    expect(stepDelays(Backoff.exponential({ baseDelay: 0, jitter: "full", maxAttempts: 2 }), [1], 0, zero)).toEqual([0])
  })

  it.prop(
    "full jitter stays within [0, min(cap, base × factorⁿ)]",
    [optionsArb, seedArb],
    ([options, seed]) => {
      const base = Duration.toMillis(options.baseDelay)
      const cap = Duration.toMillis(options.maxDelay)
      sampleDelays({ ...options, jitter: "full" }, seed).forEach((delay, n) => {
        expect(delay).toBeGreaterThanOrEqual(0)
        expect(delay).toBeLessThanOrEqual(Math.min(cap, base * Math.pow(options.factor, n)) + epsilon)
      })
    },
    { fastCheck: { seed: 42, numRuns: 300 } }
  )

  it.prop("allows maxAttempts - 1 retries and no more", [optionsArb, seedArb], ([options, seed]) => {
    expect(sampleDelays(options, seed).length).toBe(options.maxAttempts - 1)
  }, { fastCheck: { seed: 42, numRuns: 200 } })

  it.prop("the same seed gives the same sequence", [optionsArb, seedArb], ([options, seed]) => {
    expect(sampleDelays(options, seed)).toEqual(sampleDelays(options, seed))
  }, { fastCheck: { seed: 42, numRuns: 200 } })

  it("different seeds give different full-jitter sequences", () => {
    const options: Backoff.Options = { maxAttempts: 6 }
    expect(sampleDelays(options, 1)).not.toEqual(sampleDelays(options, 2))
  })

  it("without jitter the delays are the exponential envelope, capped", () => {
    expect(sampleDelays({ jitter: "none", baseDelay: "100 millis", maxDelay: "1 second", maxAttempts: 7 }, 0)).toEqual([
      100,
      200,
      400,
      800,
      1000,
      1000
    ])
  })

  // gax-nodejs's retry_params (1000 ms × 1.2): 1000 × 1.2³ is 1727.9999999999998 in floating point, and was rounded
  // down to 1727 ms
  it("a non-integer factor's whole-millisecond envelope is not lost to floating-point error", () => {
    expect(
      sampleDelays({ jitter: "none", baseDelay: "1 second", factor: 1.2, maxDelay: "10 seconds", maxAttempts: 5 }, 0)
    ).toEqual([1000, 1200, 1440, 1728])
    expect(sampleDelays({ jitter: "none", baseDelay: 100, factor: 1.15, maxAttempts: 3 }, 0)).toEqual([100, 115])
    expect(sampleDelays({ jitter: "none", baseDelay: 100, factor: 1.7, maxAttempts: 4 }, 0)).toEqual([100, 170, 289])
    expect(Duration.toMillis(Backoff.envelope({ baseDelay: 100, factor: 1.7 }, 2).upper)).toBe(289)
    expect(Duration.toMillis(Backoff.envelope({ baseDelay: 100, factor: 1.15, jitter: "equal" }, 1).lower)).toBe(57)
    // a true fraction is still rounded down
    expect(sampleDelays({ jitter: "none", baseDelay: 100, factor: 1.3, maxAttempts: 5 }, 0)).toEqual([
      100,
      130,
      169,
      219
    ])
  })

  it("decorrelated jitter stays within [base, 3 × previous] and the cap", () => {
    const delays = sampleDelays({
      jitter: "decorrelated",
      baseDelay: "50 millis",
      maxDelay: "2 seconds",
      maxAttempts: 30
    }, 7)
    let previous = 50
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(50)
      expect(delay).toBeLessThanOrEqual(Math.min(2000, previous * 3) + epsilon)
      previous = delay
    }
  })

  it("maxElapsed is a hard limit, unlike Schedule.upTo", () => {
    // base 100, no jitter: 100 (ends at 100), 200 (ends at 300 > 250: not scheduled)
    expect(sampleDelays({ jitter: "none", maxAttempts: Infinity, maxElapsed: "250 millis" }, 0)).toEqual([100])
    // Schedule.upTo only checks the elapsed time before sleeping, so its last sleep crosses the limit.
    const soft = Effect.runSync(
      Schedule.run(Schedule.exponential("100 millis").pipe(Schedule.upTo("250 millis")), 0, [1, 2, 3, 4, 5])
    )
    expect(Array.from(soft).map(Duration.toMillis)).toEqual([100, 200, 400])
  })

  it("a retry may start exactly at maxElapsed: only one that would start later is not scheduled", () => {
    // no jitter: 100 (starts at 100), 200 (starts at 300, the limit itself), 400 (would start at 700)
    expect(sampleDelays({ jitter: "none", maxAttempts: Infinity, maxElapsed: "300 millis" }, 0)).toEqual([100, 200])
    expect(sampleDelays({ jitter: "none", maxAttempts: Infinity, maxElapsed: "299 millis" }, 0)).toEqual([100])
  })

  it.effect("drives Effect.retry: 3 attempts by default, sleeping on the TestClock", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make<Array<number>>([])
      const failing = Effect.flatMap(
        TestClock.currentTimeMillis,
        (now) => Ref.update(attempts, (times) => [...times, now]).pipe(Effect.zipRight(Effect.fail("boom")))
      )
      const fiber = yield* Effect.fork(Effect.retry(failing, Backoff.exponential({ jitter: "none" })))
      yield* TestClock.adjust("1 minute")
      const exit = yield* Fiber.await(fiber)
      expect(exit._tag).toBe("Failure")
      expect(yield* Ref.get(attempts)).toEqual([0, 100, 300])
    }))

  it.effect("Effect.withRandom with the same seed reproduces the sleeps", () =>
    Effect.gen(function*() {
      const run = (seed: number) =>
        Effect.gen(function*() {
          const start = yield* TestClock.currentTimeMillis
          const times = yield* Ref.make<Array<number>>([])
          const failing = Effect.flatMap(
            TestClock.currentTimeMillis,
            (now) => Ref.update(times, (ts) => [...ts, now - start]).pipe(Effect.zipRight(Effect.fail("boom")))
          )
          const fiber = yield* Effect.fork(
            Effect.retry(failing, Backoff.exponential({ maxAttempts: 5 })).pipe(
              Effect.withRandom(Random.make(seed))
            )
          )
          yield* TestClock.adjust("1 minute")
          yield* Fiber.await(fiber)
          return yield* Ref.get(times)
        })
      const first = yield* run(123)
      const second = yield* run(123)
      expect(first.length).toBe(5)
      expect(second).toEqual(first)
    }))

  it("rejects invalid options at construction", () => {
    expect(() => Backoff.exponential({ factor: 0.5 })).toThrow(RangeError)
    expect(() => Backoff.exponential({ maxAttempts: 0 })).toThrow(RangeError)
    expect(() => Backoff.exponential({ baseDelay: Duration.infinity })).toThrow(RangeError)
    expect(() => Backoff.exponential({ factor: Infinity })).toThrow(/factor must be a finite number/)
    expect(() => Backoff.exponential({ factor: NaN })).toThrow(RangeError)
  })

  it("rejects an unknown jitter mode, as read from configuration, instead of sleeping NaN (zero) between retries", () => {
    for (const jitter of ["Full", "", "random"]) {
      expect(() => Backoff.exponential({ jitter: jitter as Backoff.Jitter })).toThrow(
        /Backoff: jitter must be one of none, full, equal, decorrelated/
      )
      expect(() => Backoff.envelope({ jitter: jitter as Backoff.Jitter }, 0)).toThrow(RangeError)
    }
  })

  it.prop(
    "a zero base stays zero for any number of retries, in every jitter mode (no 0 × ∞)",
    [jitterArb, FastCheck.integer({ min: 1000, max: 100_000 })],
    ([jitter, retry]) => {
      const delays = sampleDelays({ baseDelay: 0, jitter, maxAttempts: Infinity }, 7, 1100)
      expect(delays.every((delay) => delay === 0)).toBe(true)
      const { lower, upper } = Backoff.envelope({ baseDelay: 0, jitter }, retry)
      expect([Duration.toMillis(lower), Duration.toMillis(upper)]).toEqual([0, 0])
    },
    { fastCheck: { seed: 42, numRuns: 20 } }
  )

  it("envelope refuses a retry number that names no retry (negative, fractional, NaN) instead of a bogus range", () => {
    // temporal's nextBackoffInterval: an attempt of -1 or 0 was read as the first; envelope(-1) answered base / 2
    for (const n of [-1, 0.5, NaN, Infinity]) {
      expect(() => Backoff.envelope({ baseDelay: "5 seconds", jitter: "none" }, n)).toThrow(
        /Backoff.envelope: n must be an integer >= 0/
      )
    }
    expect(Duration.toMillis(Backoff.envelope({ baseDelay: "5 seconds", jitter: "none" }, 0).upper)).toBe(5000)
  })

  it("a duration option Effect cannot read, or one too long to format, is a RangeError naming it (tenacity port)", () => {
    // "1e3 millis" type-checks as a DurationInput but Effect's parser refuses it with a bare Error
    const unreadable = "1e3 millis" as Duration.DurationInput
    expect(() => Backoff.exponential({ baseDelay: unreadable })).toThrow(/Backoff: baseDelay \(1e3 millis\) is not a/)
    expect(() => Backoff.exponential({ maxDelay: unreadable })).toThrow(/Backoff: maxDelay/)
    expect(() => Backoff.exponential({ maxElapsed: unreadable })).toThrow(/Backoff: maxElapsed \(1e3 millis\) is not/)
    expect(() => Backoff.envelope({ maxElapsed: unreadable }, 0)).toThrow(RangeError)
    expect(() => Backoff.bounded(Schedule.forever, { maxElapsed: unreadable })).toThrow(
      /Backoff.bounded: maxElapsed \(1e3 millis\) is not a duration/
    )
    // tenacity's wait_exponential(multiplier=1e300): formatting it in nanoseconds overflowed to a BigInt error
    expect(() => Backoff.exponential({ baseDelay: Duration.seconds(1e300), maxDelay: "1 millis" })).toThrow(
      /Backoff: baseDelay \(1e\+303 ms\) exceeds what a timer can hold/
    )
    expect(() => Backoff.bounded(Schedule.forever, { maxDelay: Duration.seconds(1e300) })).toThrow(
      /Backoff.bounded: maxDelay \(1e\+303 ms\) exceeds/
    )
  })

  it("rejects a base or finite cap a timer cannot hold (2^31 − 1 ms), naming it; an infinite cap stays below it", () => {
    expect(() => Backoff.exponential({ baseDelay: "25 days" })).toThrow(
      /Backoff: baseDelay .* exceeds what a timer can hold/
    )
    expect(() => Backoff.exponential({ maxDelay: Duration.millis(2 ** 31) })).toThrow(/Backoff: maxDelay/)
    expect(() => Backoff.exponential({ maxDelay: Duration.millis(2 ** 31 - 1) })).not.toThrow()
    const delays = sampleDelays({ baseDelay: "1 day", maxDelay: Duration.infinity, jitter: "none", maxAttempts: 8 }, 1)
    expect(delays.length).toBe(7)
    expect(Math.max(...delays)).toBe(2 ** 31 - 1)
  })

  it("defaults: full jitter, 3 attempts, 100ms base, 10s cap", () => {
    expect(Backoff.defaults.jitter).toBe("full")
    expect(Backoff.defaults.maxAttempts).toBe(3)
    expect(Duration.toMillis(Backoff.defaults.baseDelay)).toBe(100)
    expect(Duration.toMillis(Backoff.defaults.maxDelay)).toBe(10_000)
    expect(sampleDelays({}, 1).length).toBe(2)
  })
})

describe("Backoff.fromDelay and Backoff.bounded", () => {
  it("fromDelay is told the 1-based retry number and the failure", () => {
    const seen: Array<[number, string]> = []
    const schedule = Backoff.fromDelay((retry: number, failure: string) => {
      seen.push([retry, failure])
      return Duration.millis(retry * 100)
    })
    expect(stepDelays(schedule, ["a", "b", "c"])).toEqual([100, 200, 300])
    expect(seen).toEqual([[1, "a"], [2, "b"], [3, "c"]])
  })

  it("fromDelay treats a negative or invalid delay as no wait", () => {
    expect(stepDelays(Backoff.fromDelay(() => -5), [1, 2])).toEqual([0, 0])
    expect(stepDelays(Backoff.fromDelay(() => "soon" as Duration.DurationInput), [1])).toEqual([0])
  })

  it("fromDelay refuses an async delay function as a defect that says why, not as no wait", () => {
    const asyncDelay = Backoff.fromDelay(() => Promise.resolve(1000) as unknown as Duration.DurationInput)
    expect(() => stepDelays(asyncDelay, [1])).toThrow(/fromDelay: the delay function returned a Promise/)
    // under Retry the call dies with it after one attempt: no retries back to back
    let attempts = 0
    const exit = Effect.runSyncExit(
      Retry.retry(Effect.suspend(() => Effect.fail(++attempts)), {
        schedule: Backoff.bounded(asyncDelay, { maxAttempts: 5 })
      })
    )
    expect(attempts).toBe(1)
    expect(exit._tag === "Failure" && Cause.isDie(exit.cause) && String(Cause.squash(exit.cause))).toMatch(
      /TypeError: Backoff.fromDelay: the delay function returned a Promise/
    )
  })

  it("bounded caps every delay, limits attempts, and stops before maxElapsed", () => {
    const linear = Backoff.fromDelay((retry) => retry * 1000)
    const inputs = Array.from({ length: 20 }, (_, i) => i)
    expect(stepDelays(Backoff.bounded(linear, { maxDelay: "2500 millis" }), inputs.slice(0, 5))).toEqual([
      1000,
      2000,
      2500,
      2500,
      2500
    ])
    expect(stepDelays(Backoff.bounded(linear, { maxAttempts: 4 }), inputs)).toEqual([1000, 2000, 3000])
    // 1 + 2 + 3 = 6 s fit in 7 s; the fourth (4 s) would start at 10 s
    expect(stepDelays(Backoff.bounded(linear, { maxElapsed: "7 seconds" }), inputs)).toEqual([1000, 2000, 3000])
    expect(stepDelays(Backoff.bounded(Schedule.recurs(2), {}), inputs)).toEqual([0, 0])
    expect(stepDelays(Backoff.bounded(Schedule.exponential("1 second"), { maxDelay: "3 seconds" }), inputs.slice(0, 4)))
      .toEqual([1000, 2000, 3000, 3000])
  })

  it("bounded rounds delays down to whole milliseconds, but a positive delay under one waits one", () => {
    const inputs = [0, 1, 2, 3]
    // an inner schedule's fractional waits (Effect's own keep them): 0.4 ms was no wait at all
    expect(stepDelays(Backoff.bounded(Schedule.spaced("0.4 millis"), {}), inputs)).toEqual([1, 1, 1, 1])
    expect(stepDelays(Backoff.bounded(Schedule.spaced("1.7 millis"), {}), inputs)).toEqual([1, 1, 1, 1])
    expect(stepDelays(Backoff.bounded(Schedule.exponential("0.5 millis"), {}), inputs)).toEqual([1, 1, 2, 4])
    // a cap under a millisecond is honoured: no wait (and a cap of zero too), never more than asked
    expect(stepDelays(Backoff.bounded(Schedule.spaced("0.4 millis"), { maxDelay: "0.5 millis" }), inputs)).toEqual([
      0,
      0,
      0,
      0
    ])
    expect(stepDelays(Backoff.bounded(Schedule.spaced("5 millis"), { maxDelay: 0 }), inputs)).toEqual([0, 0, 0, 0])
    // no inner wait stays none
    expect(stepDelays(Backoff.bounded(Schedule.forever, {}), inputs)).toEqual([0, 0, 0, 0])
  })

  it("bounded rejects a finite cap a timer cannot hold and maxAttempts below 1", () => {
    expect(() => Backoff.bounded(Schedule.forever, { maxDelay: "30 days" })).toThrow(/maxDelay/)
    expect(() => Backoff.bounded(Schedule.forever, { maxAttempts: 0 })).toThrow(RangeError)
  })

  // resilience4j's IntervalFunctionTest.shouldRejectNonPositiveDuration: Effect reads a negative duration as zero,
  // which would turn a typo into retries with no wait at all
  it("rejects negative durations rather than reading them as zero", () => {
    expect(() => Backoff.exponential({ baseDelay: -1 })).toThrow(/baseDelay \(-1\) must not be negative/)
    expect(() => Backoff.exponential({ maxDelay: "-5 seconds" })).toThrow(/maxDelay/)
    expect(() => Backoff.exponential({ maxElapsed: BigInt(-1) })).toThrow(/maxElapsed/)
    expect(() => Backoff.bounded(Schedule.forever, { maxDelay: -100 })).toThrow(/maxDelay/)
    expect(() => Backoff.bounded(Schedule.forever, { maxElapsed: [-1, 0] })).toThrow(/maxElapsed/)
    // zero and positive durations are fine
    expect(() => Backoff.exponential({ baseDelay: 0, maxDelay: "0 seconds" })).not.toThrow()
    expect(() => Backoff.bounded(Schedule.forever, { maxDelay: "5 seconds", maxElapsed: 0 })).not.toThrow()
  })

  // p-retry's "invalid numeric options throw" (NaN): Effect reads `NaN` as zero, so a number parsed from an unset
  // setting (`Number(process.env.X)`) made every delay zero (maxDelay), every wait none (baseDelay) or no retry at all
  // (maxElapsed)
  it("rejects NaN durations rather than reading them as zero", () => {
    expect(() => Backoff.exponential({ baseDelay: NaN })).toThrow(/baseDelay \(NaN\) is not a duration/)
    expect(() => Backoff.exponential({ maxDelay: NaN })).toThrow(/maxDelay/)
    expect(() => Backoff.exponential({ maxElapsed: NaN })).toThrow(/maxElapsed/)
    expect(() => Backoff.bounded(Schedule.forever, { maxDelay: NaN })).toThrow(/maxDelay/)
    expect(() => Backoff.bounded(Schedule.forever, { maxElapsed: [NaN, 0] })).toThrow(/maxElapsed/)
  })
})

describe("Backoff: options of the wrong type", () => {
  it("a symbol factor or maxAttempts is a RangeError naming it", () => {
    expect(() => Backoff.exponential({ factor: Symbol("f") as unknown as number })).toThrow(/Backoff: factor/)
    expect(() => Backoff.exponential({ maxAttempts: Symbol("n") as unknown as number })).toThrow(/Backoff: maxAttempts/)
    expect(() => Backoff.bounded(Schedule.spaced("1 second"), { maxAttempts: Symbol("n") as unknown as number }))
      .toThrow(/Backoff\.bounded: maxAttempts/)
  })
})
