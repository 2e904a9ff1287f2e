// Ported from Polly's token-bucket rate-limit specs, test/Polly.Specs/RateLimit/RateLimitPolicySpecsBase.cs
// (App-vNext/Polly; Polly v8 delegates to System.Threading.RateLimiting, whose RateLimiterResilienceStrategyTests in
// test/Polly.RateLimiting.Tests mock the limiter: "Execute_HappyPath" and "Execute_LeaseRejected" are ported at the end),
// one `it` per Polly case (a [Theory] as one `it` over its rows), named after it.
// Mapping: Polly's `RateLimit(1, onePer, maxBurst)` (a token every `onePer`, a bucket of `maxBurst`) is Sturdy's
// token bucket `{ limit: maxBurst, window: maxBurst × onePer }` (a bucket of `limit`, refilled at `limit` per
// `window`), with `onExceeded: "fail"` (Polly rejects at once); Polly's `RateLimitRejectedException.RetryAfter` is
// `RateLimitExceeded.retryAfter`. Clock ticks are milliseconds here ("not quite the interval" is 1 ms short).
// Not ported: the argument-validation cases "Syntax_should_throw_for_*" (Sturdy's are in RateLimit.test.ts: a
// `limit` below 1 or a window that is not a finite positive duration throws; Sturdy has no separate `maxBurst`),
// and "Dispose_*" (.NET disposal).
import { describe, expect, it } from "@effect/vitest"
import * as RateLimit from "@sturdy/policy/RateLimit"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

// Polly's GetPolicyViaSyntax(1, onePer, bucketCapacity)
const makeLimiter = (onePer: Duration.DurationInput, bucketCapacity = 1) =>
  RateLimit.make({
    limit: bucketCapacity,
    window: Duration.times(Duration.decode(onePer), bucketCapacity),
    onExceeded: "fail"
  }).pipe(Effect.provide(RateLimit.layerStoreMemory))

type Limiter = RateLimit.RateLimiter

let executed = 0
const tryExecute = (limiter: Limiter) =>
  Effect.either(
    Effect.sync(() => executed++).pipe(RateLimit.withRateLimit(limiter, "polly"))
  )

const shouldPermitAnExecution = (limiter: Limiter) =>
  Effect.map(tryExecute(limiter), (result) => expect(Either.isRight(result)).toBe(true))

const shouldPermitNExecutions = (limiter: Limiter, n: number) => Effect.repeatN(shouldPermitAnExecution(limiter), n - 1)

const shouldNotPermitAnExecution = (limiter: Limiter, retryAfter?: Duration.DurationInput) =>
  Effect.map(tryExecute(limiter), (result) => {
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(RateLimit.isRateLimitExceeded(result.left)).toBe(true)
      if (retryAfter !== undefined && RateLimit.isRateLimitExceeded(result.left)) {
        expect(Duration.toMillis(result.left.retryAfter)).toBe(Duration.toMillis(retryAfter))
      }
    }
  })

describe("peer Polly RateLimitPolicySpecsBase", () => {
  it.effect("Given_bucket_capacity_one_and_time_not_advanced_ratelimiter_specifies_correct_wait_until_next_execution", () =>
    Effect.gen(function*() {
      for (const onePerSeconds of [1, 2, 5]) {
        const onePer = Duration.seconds(onePerSeconds)
        const limiter = yield* makeLimiter(onePer)
        yield* shouldPermitAnExecution(limiter)
        yield* shouldNotPermitAnExecution(limiter, onePer)
      }
    }))

  it.effect("Given_bucket_capacity_N_and_time_not_advanced_ratelimiter_permits_executions_up_to_bucket_capacity", () =>
    Effect.gen(function*() {
      for (const bucketCapacity of [1, 2, 50]) {
        const onePer = Duration.seconds(1)
        const limiter = yield* makeLimiter(onePer, bucketCapacity)
        yield* shouldPermitNExecutions(limiter, bucketCapacity)
        yield* shouldNotPermitAnExecution(limiter, onePer)
      }
    }))

  it.effect("Given_any_bucket_capacity_ratelimiter_permits_another_execution_per_interval", () =>
    Effect.gen(function*() {
      const rows = [[1, 1], [2, 1], [5, 1], [1, 10], [2, 10], [5, 10]] as const
      for (const [onePerSeconds, bucketCapacity] of rows) {
        const onePer = Duration.seconds(onePerSeconds)
        const limiter = yield* makeLimiter(onePer, bucketCapacity)
        yield* shouldPermitNExecutions(limiter, bucketCapacity)
        yield* shouldNotPermitAnExecution(limiter)
        const shortfall = Duration.millis(1)
        const notQuiteInterval = Duration.subtract(onePer, shortfall)
        for (let i = 0; i < bucketCapacity * 3; i++) {
          yield* TestClock.adjust(notQuiteInterval)
          yield* shouldNotPermitAnExecution(limiter, shortfall)
          yield* TestClock.adjust(shortfall)
          yield* shouldPermitAnExecution(limiter)
          yield* shouldNotPermitAnExecution(limiter)
        }
      }
    }))

  it.effect("Given_any_bucket_capacity_rate_limiter_permits_full_bucket_burst_after_exact_elapsed_time", () =>
    Effect.gen(function*() {
      for (const bucketCapacity of [10, 100]) {
        const onePer = Duration.seconds(1)
        const limiter = yield* makeLimiter(onePer, bucketCapacity)
        yield* shouldPermitNExecutions(limiter, bucketCapacity)
        yield* shouldNotPermitAnExecution(limiter)
        yield* TestClock.adjust(Duration.times(onePer, bucketCapacity))
        yield* shouldPermitNExecutions(limiter, bucketCapacity)
        yield* shouldNotPermitAnExecution(limiter)
      }
    }))

  it.effect(
    "Given_any_bucket_capacity_rate_limiter_permits_half_full_bucket_burst_after_half_required_refill_time_elapsed",
    () =>
      Effect.gen(function*() {
        for (const bucketCapacity of [10, 100]) {
          const onePer = Duration.seconds(1)
          const limiter = yield* makeLimiter(onePer, bucketCapacity)
          yield* shouldPermitNExecutions(limiter, bucketCapacity)
          yield* shouldNotPermitAnExecution(limiter)
          yield* TestClock.adjust(Duration.times(onePer, bucketCapacity / 2))
          yield* shouldPermitNExecutions(limiter, bucketCapacity / 2)
          yield* shouldNotPermitAnExecution(limiter)
        }
      })
  )

  it.effect(
    "Given_any_bucket_capacity_rate_limiter_permits_only_full_bucket_burst_even_if_multiple_required_refill_time_elapsed",
    () =>
      Effect.gen(function*() {
        for (const [bucketCapacity, multiple] of [[100, 2], [100, 5]] as const) {
          const onePer = Duration.seconds(1)
          const limiter = yield* makeLimiter(onePer, bucketCapacity)
          yield* shouldPermitNExecutions(limiter, bucketCapacity)
          yield* shouldNotPermitAnExecution(limiter)
          yield* TestClock.adjust(Duration.times(onePer, bucketCapacity * multiple))
          yield* shouldPermitNExecutions(limiter, bucketCapacity)
          yield* shouldNotPermitAnExecution(limiter)
        }
      })
  )

  it.effect("Given_immediate_parallel_contention_ratelimiter_still_only_permits_one", () =>
    Effect.gen(function*() {
      for (const parallelContention of [2, 5, 100]) {
        const limiter = yield* makeLimiter("1 second")
        const results = yield* Effect.all(
          Array.from({ length: parallelContention }, () => tryExecute(limiter)),
          { concurrency: "unbounded" }
        )
        expect(results.filter(Either.isRight)).toHaveLength(1)
        expect(results.filter(Either.isLeft)).toHaveLength(parallelContention - 1)
      }
    }))
})

describe("peer Polly RateLimiterResilienceStrategyTests", () => {
  it.effect("Execute_HappyPath", () =>
    Effect.gen(function*() {
      const limiter = yield* makeLimiter("1 second", 5)
      expect(yield* Effect.succeed("dummy").pipe(RateLimit.withRateLimit(limiter, "polly"))).toBe("dummy")
    }))

  // Polly: a rejected lease fails the call with RateLimiterRejectedException, its RetryAfter from the lease's metadata,
  // without running the callback. Sturdy: RateLimitExceeded (reason "Limit"), retryAfter the wait for the next token.
  it.effect("Execute_LeaseRejected", () =>
    Effect.gen(function*() {
      const limiter = yield* makeLimiter("123 seconds")
      yield* shouldPermitAnExecution(limiter)
      let ran = false
      const result = yield* Effect.flip(Effect.sync(() => (ran = true)).pipe(RateLimit.withRateLimit(limiter, "polly")))
      expect(ran).toBe(false)
      expect(RateLimit.isRateLimitExceeded(result) && result.reason).toBe("Limit")
      expect(RateLimit.isRateLimitExceeded(result) && Duration.toMillis(result.retryAfter)).toBe(123_000)
      expect(RateLimit.delayHint(result)).toEqual(
        RateLimit.isRateLimitExceeded(result) ? Option.some(result.retryAfter) : Option.none()
      )
    }))
})
