/**
 * Peer suite: go-redis/redis_rate (GCRA on Redis) against `RateLimitRedis`'s token bucket on a real redis-server.
 *
 * Source: github.com/go-redis/redis_rate, `rate_test.go`, commit 8eadf45ee4d9d7a53189c2a968ead40521a76322.
 *
 * Mapping. `redis_rate.PerSecond(10)` (rate 10, burst 10) is `RateLimit.make({ limit: 10, window: "1 second",
 * onExceeded: "fail" })` (the default algorithm, the token bucket) over `RateLimitRedis.layerStore`: a full bucket
 * holds `limit` tokens and gains one every `window / limit`, as GCRA's burst and emission interval.
 * `Allow` / `AllowN(n)` is `limiter.consume(key, n)`: `Allowed > 0` is success, `Allowed == 0` is
 * `RateLimitExceeded`, and `RetryAfter` is its `retryAfter`. The limiter returns no `Remaining`, so it is read from
 * the `RateLimiterStore` the limiter counts in, by asking for 0 tokens (the peer's "peek", `AllowN(0)`), with the
 * refill interval the limiter uses. `ResetAfter` (time until the limiter is back to full) is the expiry of the
 * bucket's keys, which the store documents as "when the bucket would be full again" (no key: 0). `Reset(key)`
 * deletes the bucket's two documented keys, `<prefix>{<key>}:tokens` and `<prefix>{<key>}:refill`.
 *
 * Deliberate differences: `AllowN(1000)` on a limit of 10 is answered by the peer with a `RetryAfter` of 99 s;
 * Sturdy documents a request for more than `limit` tokens as a `RangeError` defect (it could never be granted); the
 * case asserts that, and the peer's `RetryAfter` arithmetic (n × emission interval from an empty bucket) on the
 * largest request Sturdy takes, the whole limit. The peer answers `RetryAfter` -1 when allowed; Sturdy has no
 * rejection then. `RetryAfter` is rounded up to whole milliseconds by Sturdy (documented), which still meets the
 * peer's "at most 1 ms" bound.
 *
 * Not ported: `TestAllowAtMost` and `TestAllowAtMost_IncrementZero` (Sturdy has no "take up to n" operation), the
 * `Limit.String`/`IsZero` asserts (no limit value type), the benchmarks.
 */
import { expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as RateLimitRedis from "@sturdy/policy/RateLimitRedis"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"
import { describeWithRedis, type RedisServer, startRedisServer } from "./utils/redis.js"

const prefix = "rate:"

// redis_rate.PerSecond(10) against one key, with the peer's Result fields read back from Redis
const perSecond = (server: RedisServer, rate: number, window: Duration.DurationInput = "1 second") =>
  Effect.gen(function*() {
    const context = yield* Layer.build(RateLimitRedis.layerStore({ host: server.host, port: server.port, prefix }))
    const store = Context.get(context, RateLimit.RateLimiterStore)
    const limiter = yield* Effect.provide(RateLimit.make({ limit: rate, window, onExceeded: "fail" }), context)
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => new Redis({ host: server.host, port: server.port })),
      (redis) => Effect.sync(() => redis.disconnect())
    )
    const refillRate = Duration.unsafeDivide(Duration.decode(window), rate)
    return {
      allowN: (key: string, n: number) => limiter.consume(key, n),
      // AllowN(0): what is left without taking anything
      remaining: (key: string) => store.tokenBucket({ key, tokens: 0, limit: rate, refillRate, allowOverflow: false }),
      // the bucket's keys expire when it is full again; no key is a full bucket
      resetAfter: (key: string) =>
        Effect.promise(() => client.pttl(`${prefix}{${key}}:tokens`)).pipe(Effect.map((ms) => Math.max(0, ms))),
      reset: (key: string) => Effect.promise(() => client.del(`${prefix}{${key}}:tokens`, `${prefix}{${key}}:refill`))
    }
  })

// The peer's InDelta(ResetAfter, expected, 10 ms), with the delta taken from the time measured since the bucket
// started refilling (its first call), so that a slow machine does not fail it: Redis counts that time down too.
const expectResetAfter = (actual: number, expected: number, since: number) => {
  expect(actual).toBeLessThanOrEqual(expected + 1)
  expect(actual).toBeGreaterThanOrEqual(expected - Math.max(10, Date.now() - since) - 1)
}

const retryAfterOf = (error: { readonly _tag: string }): number =>
  error._tag === "RateLimitExceeded" ? Duration.toMillis((error as RateLimit.RateLimitExceeded).retryAfter) : NaN

describeWithRedis("peer redis_rate", () => {
  it.live("TestAllow", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const l = yield* perSecond(server, 10)

      let since = Date.now()
      yield* l.allowN("test_id", 1)
      expect(yield* l.remaining("test_id")).toBe(9)
      expectResetAfter(yield* l.resetAfter("test_id"), 100, since)

      yield* l.reset("test_id")
      since = Date.now()
      yield* l.allowN("test_id", 1)
      expect(yield* l.remaining("test_id")).toBe(9)
      expectResetAfter(yield* l.resetAfter("test_id"), 100, since)

      yield* l.allowN("test_id", 2)
      expect(yield* l.remaining("test_id")).toBe(7)
      expectResetAfter(yield* l.resetAfter("test_id"), 300, since)

      yield* l.allowN("test_id", 7)
      expect(yield* l.remaining("test_id")).toBe(0)
      expectResetAfter(yield* l.resetAfter("test_id"), 999, since)

      // AllowN(1000): the peer answers RetryAfter 99 s; Sturdy refuses a request above the limit as a defect
      const tooMany = yield* Effect.exit(l.allowN("test_id", 1000))
      expect(Exit.isFailure(tooMany) && Cause.isDie(tooMany.cause)).toBe(true)
      expect(Exit.isFailure(tooMany) && Cause.squash(tooMany.cause)).toBeInstanceOf(RangeError)
      // the peer's arithmetic on an empty bucket, n × 100 ms, for the largest request Sturdy takes (n = 10)
      const rejected = yield* Effect.flip(l.allowN("test_id", 10))
      expect(rejected).toMatchObject({ _tag: "RateLimitExceeded", reason: "Limit" })
      expectResetAfter(retryAfterOf(rejected), 1_000, since)
      // a rejected call takes nothing
      expect(yield* l.remaining("test_id")).toBe(0)
      expectResetAfter(yield* l.resetAfter("test_id"), 999, since)
    }).pipe(Effect.scoped))

  it.live("TestAllowN_IncrementZero", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const l = yield* perSecond(server, 10)

      // check for a row that's not there: a full bucket, nothing to reset, and the peek writes nothing
      expect(yield* l.remaining("test_id")).toBe(10)
      expect(yield* l.resetAfter("test_id")).toBe(0)

      const since = Date.now()
      yield* l.allowN("test_id", 1)
      expect(yield* l.remaining("test_id")).toBe(9)
      expectResetAfter(yield* l.resetAfter("test_id"), 100, since)

      // peek again: nothing taken
      expect(yield* l.remaining("test_id")).toBe(9)
      expectResetAfter(yield* l.resetAfter("test_id"), 100, since)
    }).pipe(Effect.scoped))

  // Runs on Redis's clock: 1 token per millisecond, so some calls of the 1000 find the bucket empty.
  it.live("TestRetryAfter", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const l = yield* perSecond(server, 1, "1 millis")
      const retryAfters: Array<number> = []
      // the peer's 1000 calls, sent 10 at a time so that some surely land while the bucket is empty
      for (let batch = 0; batch < 100; batch++) {
        const exits = yield* Effect.all(
          Array.from({ length: 10 }, () => Effect.exit(l.allowN("test_id", 1))),
          { concurrency: "unbounded" }
        )
        for (const exit of exits) {
          if (Exit.isSuccess(exit)) continue
          const error = yield* Effect.flip(exit)
          expect(error._tag).toBe("RateLimitExceeded")
          retryAfters.push(retryAfterOf(error))
        }
      }
      expect(retryAfters.length).toBeGreaterThan(0)
      for (const retryAfter of retryAfters) {
        expect(retryAfter).toBeGreaterThan(0)
        expect(retryAfter).toBeLessThanOrEqual(1)
      }
    }).pipe(Effect.scoped), 20_000)
})
