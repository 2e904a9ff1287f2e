/**
 * Peer suite: animir/node-rate-limiter-flexible, `RateLimiterRedis` against a real redis-server.
 *
 * Source: github.com/animir/node-rate-limiter-flexible, `test/RateLimiterRedis.ioredis.test.js` (the brief's
 * `test/RateLimiterRedis.test.js` is split by client at this commit; the ioredis one is the client Sturdy uses) and
 * `test/RateLimiterStoreAbstract.test.js`, commit 3c9c826248cd470960740c89e25a1277dc98fbf4.
 *
 * Mapping. `new RateLimiterRedis({ storeClient, points, duration, keyPrefix })` is
 * `RateLimit.make({ limit: points, window: duration, algorithm: "fixed-window", onExceeded: "fail" })` over
 * `RateLimitRedis.layerStore({ host, port, prefix })`; the peer's fixed window is one counter key with a TTL, as
 * Sturdy's fixed window is (`<prefix><key>`). `consume(key, points)` is `limiter.consume(key, tokens)`; the peer's
 * rejection `{ msBeforeNext }` is `RateLimitExceeded.retryAfter`; its Redis error is `RateLimitStoreError`.
 * `block(key, secDuration)` is `pauseFor(key, duration)` (kept in this process's memory, not in Redis).
 * `getKey(key)` has no public equivalent: the key is read back from Redis with a second client.
 *
 * Deliberate differences (asserted as Sturdy documents them):
 * - asking for more points than the limit, a decimal number of points, `points: 0` or `duration: 0` (never expire)
 *   is a `RangeError` defect in Sturdy (a request that could never be granted, or a limit that makes no sense),
 *   where the peer rejects the call with `msBeforeNext` or keeps the key forever;
 * - `insuranceLimiter`: Sturdy has no built-in fallback limiter; while Redis is unreachable `consume` fails at once
 *   with `RateLimitStoreError` and the module docs say to catch it to fail open. The insurance case catches it and
 *   consumes from a memory-store limiter, which is the documented way to get the peer's behaviour;
 * - `execEvenly`: Sturdy has no even spreading of a fixed window; the token bucket (the default algorithm) in mode
 *   `"delay"` spaces calls past the burst one refill interval (`window / limit`) apart, which is what the case checks.
 *
 * Not ported: the string-points cases (the TypeScript signature takes a number), `customIncrTtlLuaScript` and
 * `customDuration` (no per-call window), `execEvenlyMinDelayMs`, `penalty`/`reward`/`get`/`delete`/`set` (the
 * limiter has no such operations; the store's contract offers only consume), the `inMemoryBlockOnConsumed` cases and
 * `RateLimiterStoreAbstract`'s two in-memory-block cases (no local block cache in front of the store), `blockDuration`
 * (Sturdy never blocks a key on its own: a caller may `pauseFor` on `RateLimitExceeded`), the `_block` stub case
 * (internal), `rejectIfRedisNotReady` and the node-redis client cases (Sturdy owns its ioredis connection, which has
 * no offline queue: covered by the store-error case).
 */
import { expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as RateLimitRedis from "@sturdy/policy/RateLimitRedis"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { Redis } from "ioredis"
import { describeWithRedis, type RedisServer, startRedisServer } from "./utils/redis.js"

// A second connection that reads back what the store wrote, as the peer's tests read `getKey(key)`.
const readBack = (server: RedisServer) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis({ host: server.host, port: server.port })),
    (client) => Effect.sync(() => client.disconnect())
  ).pipe(Effect.map((client) => ({
    get: (key: string) => Effect.promise(() => client.get(key)),
    keys: Effect.promise(() => client.keys("*")).pipe(Effect.map((keys) => keys.sort()))
  })))

const limiterOn = (server: RedisServer, options: RateLimit.Options, prefix?: string) =>
  Layer.build(RateLimitRedis.layerStore({ host: server.host, port: server.port, prefix })).pipe(
    Effect.flatMap((store) => Effect.provide(RateLimit.make(options), store))
  )

const fixedWindow = (limit: number, window: Duration.DurationInput): RateLimit.Options => ({
  limit,
  window,
  algorithm: "fixed-window",
  onExceeded: "fail"
})

const retryAfterMillis = (error: { readonly _tag: string }): number =>
  error._tag === "RateLimitExceeded" ? Duration.toMillis((error as RateLimit.RateLimitExceeded).retryAfter) : NaN

const defectOf = <A, E>(exit: Exit.Exit<A, E>): unknown => Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined

describeWithRedis("peer rate-limiter-flexible: RateLimiterRedis", () => {
  it.live("consume 1 point", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const redis = yield* readBack(server)
      const limiter = yield* limiterOn(server, fixedWindow(2, "5 seconds"))
      yield* limiter.consume("consume1")
      // the default prefix, as the peer's default keyPrefix "rlflx"
      expect(yield* redis.get("ratelimiter:consume1")).toBe("1")
    }).pipe(Effect.scoped))

  it.live("rejected when consume more than maximum points", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const redis = yield* readBack(server)
      const limiter = yield* limiterOn(server, fixedWindow(1, "5 seconds"))
      // the peer rejects with msBeforeNext >= 0; Sturdy: more tokens than `limit` could never be granted, a RangeError
      const exit = yield* Effect.exit(limiter.consume("consume2", 2))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(defectOf(exit)).toBeInstanceOf(RangeError)
      // nothing was counted
      expect(yield* redis.keys).toEqual([])
      // the rejection the peer means by msBeforeNext: a call over the limit, told when the window ends
      yield* limiter.consume("consume2")
      const error = yield* Effect.flip(limiter.consume("consume2"))
      expect(error).toMatchObject({ _tag: "RateLimitExceeded", key: "consume2", reason: "Limit" })
      expect(retryAfterMillis(error)).toBeGreaterThan(0)
      expect(retryAfterMillis(error)).toBeLessThanOrEqual(5_000)
    }).pipe(Effect.scoped))

  it.live("does not allow to consume if points is zero", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      // the peer builds the limiter and rejects every call; Sturdy refuses the limiter itself
      const exit = yield* Effect.exit(limiterOn(server, fixedWindow(0, "5 seconds")))
      expect(defectOf(exit)).toBeInstanceOf(RangeError)
    }).pipe(Effect.scoped))

  it.live("when points are passed as decimal numbers: thows error", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const redis = yield* readBack(server)
      const limiter = yield* limiterOn(server, fixedWindow(1, "5 seconds"))
      const exit = yield* Effect.exit(limiter.consume("consume2", 1.1))
      expect(defectOf(exit)).toBeInstanceOf(RangeError)
      expect(String(defectOf(exit))).toContain("must be an integer")
      expect(yield* redis.keys).toEqual([])
    }).pipe(Effect.scoped))

  it.live("when passing points as float without decimal values: does not throw an error", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const redis = yield* readBack(server)
      const limiter = yield* limiterOn(server, fixedWindow(3, "5 seconds"))
      yield* limiter.consume("consume1", 2.0)
      expect(yield* redis.get("ratelimiter:consume1")).toBe("2")
    }).pipe(Effect.scoped))

  // Real waits: the bucket refills by Redis's TIME, so the spacing is measured on the server's clock.
  it.live("execute evenly over duration", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      // 2 per 400 ms: one token every 200 ms once the burst of 2 is spent
      const limiter = yield* limiterOn(server, { limit: 2, window: "400 millis", onExceeded: "delay" })
      yield* limiter.consume("consumeEvenly")
      yield* limiter.consume("consumeEvenly")
      const start = Date.now()
      yield* limiter.consume("consumeEvenly")
      const third = Date.now() - start
      yield* limiter.consume("consumeEvenly")
      const fourth = Date.now() - start
      // the peer: the delayed call waits about duration / points; here one refill interval each, never the window
      expect(third).toBeGreaterThanOrEqual(150)
      expect(third).toBeLessThan(400)
      expect(fourth - third).toBeGreaterThanOrEqual(150)
      expect(fourth - third).toBeLessThan(400)
    }).pipe(Effect.scoped))

  it.live("throws error on RedisClient error", () =>
    Effect.gen(function*() {
      const serverScope = yield* Scope.make()
      const server = yield* Scope.extend(startRedisServer, serverScope)
      const limiter = yield* limiterOn(server, fixedWindow(4, "1 second"))
      yield* limiter.consume("rediserror")
      // Redis goes away under a built store: the next call fails with the typed store error, at once
      yield* Scope.close(serverScope, Exit.void)
      const start = Date.now()
      const error = yield* Effect.flip(limiter.consume("rediserror"))
      expect(error).toMatchObject({ _tag: "RateLimitStoreError", key: "rediserror" })
      expect(Date.now() - start).toBeLessThan(500)
      // the message never carries the cause
      expect(error.message).not.toContain("ECONNREFUSED")
    }).pipe(Effect.scoped), 20_000)

  it.live("consume using insuranceLimiter when RedisClient error", () =>
    Effect.gen(function*() {
      const serverScope = yield* Scope.make()
      const server = yield* Scope.extend(startRedisServer, serverScope)
      const limiter = yield* limiterOn(server, fixedWindow(1, "1 second"))
      // the insurance limiter has other options (2 per 2 s), as in the peer's case
      const insurance = yield* Effect.provide(RateLimit.make(fixedWindow(2, "2 seconds")), RateLimit.layerStoreMemory)
      yield* Scope.close(serverScope, Exit.void)
      // the documented fallback: catch RateLimitStoreError and count in the insurance limiter instead
      const insured = limiter.consume("rediserror2").pipe(
        Effect.catchTag("RateLimitStoreError", () => insurance.consume("rediserror2"))
      )
      yield* insured
      yield* insured
      const error = yield* Effect.flip(insured)
      expect(error).toMatchObject({ _tag: "RateLimitExceeded", key: "rediserror2" })
      // the insurance limiter's window: more than a second left, as the peer's msBeforeNext > 1000
      expect(retryAfterMillis(error)).toBeGreaterThan(1_000)
    }).pipe(Effect.scoped), 20_000)

  it.live("use keyPrefix from options", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const redis = yield* readBack(server)
      const test = yield* limiterOn(server, fixedWindow(1, "10 seconds"), "test:")
      const other = yield* limiterOn(server, fixedWindow(1, "10 seconds"), "other:")
      yield* test.consume("key")
      expect(yield* redis.keys).toEqual(["test:key"])
      // another prefix is another limiter: its count of "key" is its own
      yield* other.consume("key")
      expect(yield* redis.keys).toEqual(["other:key", "test:key"])
      expect((yield* Effect.flip(test.consume("key")))._tag).toBe("RateLimitExceeded")
      expect((yield* Effect.flip(other.consume("key")))._tag).toBe("RateLimitExceeded")
    }).pipe(Effect.scoped))

  // The pause is kept on the fiber's Clock (not Redis's), so the TestClock moves it.
  it.scoped("block custom key", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const limiter = yield* limiterOn(server, fixedWindow(1, "1 second"))
      yield* limiter.pauseFor("blockcustom", "2 seconds")
      const error = yield* Effect.flip(limiter.consume("blockcustom"))
      expect(error).toMatchObject({ _tag: "RateLimitExceeded", reason: "Paused" })
      expect(retryAfterMillis(error)).toBeGreaterThan(1_000)
      // the block expires after its duration (the peer's "block expires in blockDuration seconds")
      yield* TestClock.adjust("2 seconds")
      yield* limiter.consume("blockcustom")
    }))

  it.live("does not expire key if duration set to 0", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      // the peer keeps the key forever; Sturdy's window must be a finite, positive duration
      const zero = yield* Effect.exit(limiterOn(server, fixedWindow(2, 0)))
      expect(defectOf(zero)).toBeInstanceOf(RangeError)
      const infinite = yield* Effect.exit(limiterOn(server, fixedWindow(2, Duration.infinity)))
      expect(defectOf(infinite)).toBeInstanceOf(RangeError)
    }).pipe(Effect.scoped))

  // Real wait: the window is the key's PTTL, measured by Redis.
  it.live("(not a peer case; asked by the brief) points reset after duration", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const redis = yield* readBack(server)
      const limiter = yield* limiterOn(server, fixedWindow(2, "300 millis"))
      yield* limiter.consume("reset")
      yield* limiter.consume("reset")
      expect((yield* Effect.flip(limiter.consume("reset")))._tag).toBe("RateLimitExceeded")
      yield* Effect.sleep("350 millis")
      expect(yield* redis.get("ratelimiter:reset")).toBe(null)
      yield* limiter.consume("reset")
      expect(yield* redis.get("ratelimiter:reset")).toBe("1")
    }).pipe(Effect.scoped))
})
