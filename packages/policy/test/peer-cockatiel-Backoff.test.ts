// Ported from cockatiel's backoff tests (src/backoff/*.test.ts: ConstantBackoff, ExponentialBackoff,
// ExponentialBackoffGenerators, IterableBackoff, DelegateBackoff), one `it` per cockatiel case, named after it.
// Mapping: a cockatiel backoff is a Sturdy/Effect `Schedule` whose output is the delay it chose (`Backoff.exponential`,
// `Backoff.fromDelay`, `Backoff.bounded`); cockatiel's `initialDelay`/`exponent`/`maxDelay` are `baseDelay`/`factor`/
// `maxDelay`; its generators `noJitterGenerator`, `fullJitterGenerator`, `halfJitterGenerator` and
// `decorrelatedJitterGenerator` are the jitter modes "none", "full", "equal" and "decorrelated".
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"

// cockatiel's `expectDurations`: the first `count` delays a schedule chooses (undefined once it stops).
const durations = <In>(schedule: Schedule.Schedule<Duration.Duration, In>, count: number, input?: In) =>
  Effect.map(
    Schedule.run(schedule, 0, Array.from({ length: count }, () => input as In)),
    (out) =>
      Array.from({ length: count }, (_, i) =>
        Chunk.get(out, i).pipe((o) => o._tag === "Some" ? Duration.toMillis(o.value) : undefined))
  )

describe("peer cockatiel backoff", () => {
  describe("ConstantBackoff", () => {
    it.effect("returns its duration", () =>
      Effect.gen(function*() {
        expect(yield* durations(Backoff.fromDelay(() => 42), 3)).toEqual([42, 42, 42])
        expect(yield* durations(Schedule.map(Schedule.spaced(42), () => Duration.millis(42)), 3)).toEqual([42, 42, 42])
      }))
  })

  describe("ExponentialBackoff", () => {
    it.effect("works", () =>
      Effect.gen(function*() {
        const b = Backoff.exponential({
          baseDelay: 128,
          factor: 2,
          maxDelay: 30_000,
          jitter: "none",
          maxAttempts: Infinity
        })
        expect(yield* durations(b, 11)).toEqual([128, 256, 512, 1024, 2048, 4096, 8192, 16384, 30000, 30000, 30000])
      }))
  })

  describe("ExponentialBackoff Generators", () => {
    for (
      const [name, jitter] of [
        ["noJitterGenerator", "none"],
        ["fullJitterGenerator", "full"],
        ["halfJitterGenerator", "equal"],
        ["decorrelatedJitterGenerator", "decorrelated"]
      ] as const
    ) {
      it.effect(`${name} is sane`, () =>
        Effect.gen(function*() {
          const options: Backoff.Options = {
            jitter,
            maxDelay: 30_000,
            factor: 2,
            baseDelay: 128,
            maxAttempts: Infinity
          }
          for (let seed = 0; seed < 10; seed++) {
            const delays = yield* durations(Backoff.exponential(options), 99).pipe(
              Effect.withRandom(Random.make(seed))
            )
            delays.forEach((delay, i) => {
              const k = i + 1
              expect(delay).toBeGreaterThanOrEqual(0)
              // Deliberate difference for "decorrelated": cockatiel's generator is Polly's V2 decorrelated jitter,
              // bounded by initialDelay × 2^k; Sturdy's is AWS's "Decorrelated Jitter" (documented in Backoff:
              // min(maxDelay, random(baseDelay, previous × 3))), bounded by baseDelay × 3^k. Both are capped.
              const bound = jitter === "decorrelated" ? 128 * 3 ** k : 128 * 2 ** k
              expect(delay).toBeLessThanOrEqual(Math.min(30_000, bound))
              expect(delay).toBeLessThanOrEqual(Duration.toMillis(Backoff.envelope(options, i).upper))
            })
          }
        }))
    }

    it.effect("fixes issue #86", () =>
      Effect.gen(function*() {
        const delays = yield* durations(
          Backoff.exponential({
            jitter: "decorrelated",
            maxDelay: Duration.minutes(15),
            factor: 2,
            baseDelay: 45_000,
            maxAttempts: Infinity
          }),
          2999
        ).pipe(Effect.withRandom(Random.make(86)))
        for (const delay of delays) {
          expect(delay).not.toBeNaN()
          expect(delay).toBeGreaterThanOrEqual(0)
          expect(delay).toBeLessThanOrEqual(15 * 60_000)
        }
      }))
  })

  describe("IterableBackoff", () => {
    it.effect("works", () =>
      Effect.gen(function*() {
        const list = [3, 6, 9]
        const b = Backoff.fromDelay((retry) => list[Math.min(retry, list.length) - 1])
        expect(yield* durations(b, 4)).toEqual([3, 6, 9, 9])
      }))
  })

  describe("DelegateBackoff", () => {
    it.effect("passes through the context and sets next delay", () =>
      Effect.gen(function*() {
        const b = Backoff.fromDelay((_retry, v: number) => v * 2)
        expect(yield* durations(b, 1, 4)).toEqual([8])
      }))

    // cockatiel's delegate threads its own state; a Schedule carries state between steps (here `unfold`).
    it.effect("captures and sets delegate state", () =>
      Effect.gen(function*() {
        const b = Schedule.unfold(9, (n) => n * n).pipe(
          Schedule.addDelay((n) => Duration.millis(n)),
          Schedule.map((n) => Duration.millis(n))
        )
        expect(yield* durations(b, 4)).toEqual([9, 81, 6561, 43046721])
        // and the same sequence from the retry number, as `Backoff.fromDelay` sees it
        expect(yield* durations(Backoff.fromDelay((retry) => 3 ** (2 ** retry)), 4)).toEqual([9, 81, 6561, 43046721])
      }))
  })
})
