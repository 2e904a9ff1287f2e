// Ported from tower's tower/src/retry/backoff.rs `mod tests` (tower-rs/tower, commit
// 8358ee712c4050650737e361fba242aa8c798ce2), one `it` per case, named after it.
// Mapping: `ExponentialBackoffMaker::new(min, max, 0.0, rng)` is `Backoff.exponential({ baseDelay: min, maxDelay: max,
// jitter: "none" })`; its `base()` after `iterations` backoffs is the schedule's delay before retry `iterations`
// (stepped with `utils/stepDelays.ts`), or `Backoff.envelope(options, iterations)` for an iteration count too large
// to step. tower's `jitter` (the ratio of the base "that may be randomly added to a backoff") has no counterpart in
// `Backoff`, whose jitter only shortens a delay (a known deliberate difference); Sturdy adds jitter to a wait only
// on a server's hint: `Retry.retry`'s `retryAfterJitter` (the largest fraction of the hint added at random) with
// `maxRetryAfter` as tower's `max` (no jitter takes the wait past it). So `backoff_jitter` is a retry whose failure
// carries the hint `base`, and `jitter(base)` is the wait before the second attempt less `base` (TestClock time);
// `jitter_must_be_finite` is `retryAfterJitter`. quickcheck's random inputs are fast-check's, with a fixed seed;
// tower discards the inputs its constructor refuses (min > max, max == 0, a jitter that is negative, NaN or above
// 100), and so do these properties.
// Deliberate differences (each test says which): durations are whole milliseconds (tower's are nanoseconds) and no
// longer than a timer holds (2^31 − 1 ms); `retryAfterJitter` is at most 1 (tower's jitter at most 100: a larger one is
// a `RangeError` in Sturdy); a wait is rounded down to whole milliseconds, so a jitter draw below 1 ms adds none,
// where tower's nanosecond jitter is always positive.
// Not ported: none of the module's cases is left out.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import { advanceToDone } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

const maxTimerMillis = 2 ** 31 - 1
const millisArb = FastCheck.oneof(
  FastCheck.integer({ min: 0, max: 100 }),
  FastCheck.integer({ min: 0, max: maxTimerMillis })
)
const fastCheck = { seed: 20260105, numRuns: 300 }

// ExponentialBackoffMaker::new(min, max, 0.0, rng), or undefined where tower refuses it
const maker = (minMs: number, maxMs: number): Backoff.Options | undefined =>
  minMs > maxMs || maxMs === 0
    ? undefined
    : { baseDelay: Duration.millis(minMs), maxDelay: Duration.millis(maxMs), jitter: "none", maxAttempts: Infinity }

describe("peer tower retry/backoff.rs", () => {
  it.prop("backoff_base_first", [millisArb, millisArb], ([minMs, maxMs]) => {
    const options = maker(minMs, maxMs)
    if (options === undefined) return // TestResult::discard()
    const [delay] = stepDelays(Backoff.exponential(options), [undefined])
    expect(delay).toBe(minMs)
  }, { fastCheck })

  it.prop(
    "backoff_base",
    [millisArb, millisArb, FastCheck.integer({ min: 0, max: 2 ** 32 - 1 }), FastCheck.integer({ min: 0, max: 64 })],
    ([minMs, maxMs, iterations, stepped]) => {
      const options = maker(minMs, maxMs)
      if (options === undefined) return // TestResult::discard()
      // `backoff.iterations = iterations`: the delay before retry `iterations`, for any u32 (the envelope of "none" is
      // the delay itself)
      const { lower, upper } = Backoff.envelope(options, iterations)
      expect(lower).toEqual(upper)
      expect(Duration.toMillis(upper)).toBeGreaterThanOrEqual(minMs)
      expect(Duration.toMillis(upper)).toBeLessThanOrEqual(maxMs)
      // and the schedule itself, stepped `stepped + 1` times
      const delays = stepDelays(Backoff.exponential(options), new Array(stepped + 1).fill(undefined))
      expect(delays).toHaveLength(stepped + 1)
      for (const delay of delays) {
        expect(delay).toBeGreaterThanOrEqual(minMs)
        expect(delay).toBeLessThanOrEqual(maxMs)
      }
    },
    { fastCheck }
  )

  it.effect("backoff_jitter", () =>
    Effect.gen(function*() {
      const runs = FastCheck.sample(
        // only inputs tower accepts (base ≤ max, max > 0), drawn as base and the room above it, so few are discarded
        FastCheck.record({
          baseMs: millisArb,
          roomMs: FastCheck.oneof(FastCheck.constant(0), millisArb),
          // tower's jitter is a ratio in [0, 100]; Sturdy's retryAfterJitter one in [0, 1]
          jitter: FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 0, max: 1000 }).map((n) => n / 1000)),
          seed: FastCheck.integer()
        }),
        { seed: fastCheck.seed, numRuns: 120 }
      )
      let positive = 0
      let tried = 0
      for (const { baseMs, jitter, roomMs, seed } of runs) {
        const maxMs = Math.min(maxTimerMillis, baseMs + roomMs)
        if (baseMs > maxMs || maxMs === 0) continue // TestResult::discard()
        const starts: Array<number> = []
        const call = Effect.flatMap(Clock.currentTimeMillis, (now) => {
          starts.push(now)
          return starts.length === 1 ? Effect.fail("busy") : Effect.succeed("ok")
        }).pipe(
          Retry.retry({
            schedule: Schedule.forever,
            delayHint: () => Option.some(Duration.millis(baseMs)),
            maxRetryAfter: Duration.millis(maxMs),
            retryAfterJitter: jitter,
            maxRetryAfterJitter: Duration.millis(maxTimerMillis)
          }),
          Effect.withRandom(Random.make(seed))
        )
        expect(yield* advanceToDone(call)).toEqual(Exit.succeed("ok"))
        const j = starts[1]! - starts[0]! - baseMs
        if (jitter === 0 || baseMs === 0 || maxMs === baseMs) {
          expect(j).toBe(0)
        } else {
          // tower: j > 0. Sturdy's wait is whole milliseconds, rounded down: a draw below 1 ms adds none
          expect(j).toBeGreaterThanOrEqual(0)
          expect(j).toBeLessThanOrEqual(Math.min(baseMs * jitter, maxMs - baseMs))
          tried++
          if (j > 0) positive++
        }
      }
      expect(tried).toBeGreaterThan(20)
      expect(positive).toBeGreaterThan(tried / 2)
    }))

  it("jitter_must_be_finite", () => {
    for (const n of [Infinity, -Infinity, Number.NaN]) {
      // a RangeError naming the option, when `retry` is applied
      expect(() => Retry.retry(Effect.fail("busy"), { retryAfterJitter: n }), `${n} should be an invalid jitter`)
        .toThrow(RangeError)
      expect(() => Retry.retry(Effect.fail("busy"), { retryAfterJitter: n })).toThrow(/retryAfterJitter/)
    }
  })
})
