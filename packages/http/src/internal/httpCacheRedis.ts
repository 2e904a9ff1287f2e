import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import type * as HttpCache from "../HttpCache.js"
import type * as HttpCacheRedis from "../HttpCacheRedis.js"
import {
  checkDuration,
  checkObject,
  currentAge,
  deltaSeconds,
  freshnessLifetime,
  InvalidOptions,
  parseCacheControl,
  type Problems,
  Store
} from "./httpCache.js"
import { decode, encode, hashOf } from "./httpCacheRecord.js"

// A `HttpCache.Store` in Redis: a URL's responses are one record (the format of `httpCacheRecord.ts`) under
// `prefix + sha256(url)`, written with `SET ... PX ttl` so Redis forgets what the cache can no longer use. Bounds
// are Redis's (`maxmemory` with an eviction policy); `size` is a SCAN of the prefix.

/** @internal */
export const redisDefaults = {
  prefix: "sturdy:http-cache:",
  timeout: Duration.millis(100),
  maxTtl: Duration.days(1),
  staleTtl: Duration.zero
} as const

// the live clock, for the waits on real I/O that must end in real time whatever clock the caller runs on
const liveClock = Clock.make()

/** How long `size` may take (a SCAN over the database's keys, several round trips). */
const sizeTimeout = Duration.seconds(5)

/**
 * What the connection pins over the caller's options: ioredis 6's `replyMapping` stays `"legacy"` (ioredis 5's reply
 * shapes, which the store reads; with `protocol: 2`, `"resp3"` makes ioredis 6 throw in its constructor). ioredis 5
 * ignores the option; it is spread rather than written out so that ioredis 5's types, which do not know it, accept it.
 */
const pinnedOptions = { replyMapping: "legacy" } as const

/**
 * A connection (ioredis 5 or 6) that fails commands at once while it is down (no offline queue, one attempt), so a
 * request never waits behind a reconnect; ioredis keeps reconnecting in the background. The store waits up to
 * `connectTimeout` (default 1 s, real time) for the first connection and starts without it otherwise.
 * (`@sturdy/policy`'s Redis stores open theirs the same way; that helper is internal to `@sturdy/policy`, so this is
 * a copy of its few lines.)
 */
const connect = (options: Omit<HttpCacheRedis.Options, keyof OwnOptions>): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.gen(function*() {
    const redis = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const client = new Redis({ enableOfflineQueue: false, maxRetriesPerRequest: 1, ...options, ...pinnedOptions })
        // failures are handled (and logged once per outage) by the store, not by every "error" event
        client.on("error", () => {})
        return client
      }),
      (client) => Effect.sync(() => client.disconnect())
    )
    if (redis.status !== "ready") {
      yield* Effect.async<void>((resume) => {
        const ready = () => resume(Effect.void)
        redis.once("ready", ready)
        return Effect.sync(() => redis.off("ready", ready))
      }).pipe(
        Effect.timeout(Duration.millis(options.connectTimeout ?? 1000)),
        Effect.ignore,
        Effect.withClock(liveClock)
      )
    }
    return redis
  })

interface OwnOptions {
  readonly prefix?: unknown
  readonly timeout?: unknown
  readonly maxTtl?: unknown
  readonly staleTtl?: unknown
}

/**
 * How long Redis keeps a record (milliseconds; 0: nothing in it can be used again). An entry with a validator
 * (`ETag`, `Last-Modified`: a 304 can renew it however stale) or without explicit freshness (`max-age`, `Expires`:
 * the heuristic applies) is kept `maxTtl`; any other for its freshness left plus the longest stale window it may be
 * served in (`stale-while-revalidate`, `stale-if-error`, or `staleTtl` if longer); the longest of a record's entries,
 * at most `maxTtl`.
 * @internal
 */
export const ttlOf = (
  entries: ReadonlyArray<HttpCache.Entry>,
  now: number,
  maxTtlMillis: number,
  staleTtlMillis: number
): number => {
  let ttl = 0
  for (const entry of entries) {
    const directives = parseCacheControl(entry.headers["cache-control"])
    const explicit = directives.has("max-age") || entry.headers["expires"] !== undefined
    const validator = entry.headers["etag"] !== undefined || entry.headers["last-modified"] !== undefined
    if (!explicit || validator) return maxTtlMillis
    const left = Math.max(0, freshnessLifetime(entry, 0) - currentAge(entry, now))
    const stale = Math.max(
      (deltaSeconds(directives, "stale-while-revalidate") ?? 0) * 1000,
      (deltaSeconds(directives, "stale-if-error") ?? 0) * 1000,
      staleTtlMillis
    )
    ttl = Math.max(ttl, left + stale)
  }
  return Math.min(Math.ceil(ttl), maxTtlMillis)
}

const checkPrefix = (value: unknown, problems: Problems): string => {
  if (value === undefined) return redisDefaults.prefix
  if (typeof value === "string") return value
  problems.push({
    field: "prefix",
    detail: `must be a string (got a value of type ${value === null ? "null" : typeof value})`
  })
  return redisDefaults.prefix
}

/** A SCAN pattern matching `prefix` literally, then the 64 hex digits of a hash. */
const patternOf = (prefix: string) => prefix.replace(/[*?[\]\\]/g, "\\$&") + "?".repeat(64)

/** @internal */
export const makeRedis = (
  input?: HttpCacheRedis.Options
): Effect.Effect<HttpCache.Store.Service, InvalidOptions, Scope.Scope> =>
  Effect.gen(function*() {
    const notObject = checkObject(input)
    if (notObject !== undefined) return yield* Effect.fail(notObject)
    const {
      maxTtl: maxTtlInput,
      prefix: prefixInput,
      staleTtl: staleTtlInput,
      timeout: timeoutInput,
      ...redisOptions
    } = input ?? {}
    const problems: Problems = []
    const prefix = checkPrefix(prefixInput, problems)
    const timeout = checkDuration("timeout", timeoutInput, redisDefaults.timeout, problems)
    const maxTtl = checkDuration("maxTtl", maxTtlInput, redisDefaults.maxTtl, problems)
    const staleTtl = checkDuration("staleTtl", staleTtlInput, redisDefaults.staleTtl, problems)
    if (Duration.toMillis(timeout) <= 0) problems.push({ field: "timeout", detail: "must be a duration > 0" })
    if (Duration.toMillis(maxTtl) < 1) problems.push({ field: "maxTtl", detail: "must be a duration ≥ 1 millisecond" })
    if (problems.length > 0) return yield* Effect.fail(new InvalidOptions({ problems }))
    const maxTtlMillis = Math.floor(Duration.toMillis(maxTtl))
    const staleTtlMillis = Duration.toMillis(staleTtl)
    const redis = yield* connect(redisOptions)
    // ioredis puts its own `keyPrefix` before every key of a command, but not into a SCAN's pattern nor into the keys
    // a SCAN returns: `size` adds it to the one and takes it off the others
    const keyPrefix = typeof redisOptions.keyPrefix === "string" ? redisOptions.keyPrefix : ""

    // An outage is reported once at warning level when it starts and once at info level when Redis answers again
    // (in between, each failure at debug level): a Redis that is down would otherwise log on every request.
    let down = false
    let reportedCorrupt = false
    const annotate = <A>(self: Effect.Effect<A>, operation: string) =>
      self.pipe(Effect.annotateLogs({ "sturdy.component": "HttpCacheRedis", operation }))
    const failed = (operation: string, cause: unknown) => {
      const first = !down
      down = true
      return annotate(
        first
          ? Effect.logWarning("HttpCache: Redis failed or timed out; requests go uncached until it answers", cause)
          : Effect.logDebug("HttpCache: Redis failed or timed out", cause),
        operation
      )
    }
    const answered = (operation: string) => {
      if (!down) return Effect.void
      down = false
      return annotate(Effect.logInfo("HttpCache: Redis answers again; caching resumed"), operation)
    }
    /** `command` within `timeout` (real time); `None` when it failed, died or took longer. Never fails. */
    const run = <A>(operation: string, command: () => Promise<A>, limit: Duration.Duration = timeout) =>
      Effect.tryPromise(command).pipe(
        Effect.interruptible,
        Effect.timeout(limit),
        Effect.withClock(liveClock),
        Effect.matchCauseEffect({
          onFailure: (cause) => Effect.as(failed(operation, cause), Option.none<A>()),
          onSuccess: (a) => Effect.as(answered(operation), Option.some(a))
        })
      )
    const keyOf = (url: string) =>
      Effect.match(hashOf(url), {
        onFailure: () => undefined,
        onSuccess: (hash) => prefix + hash
      })

    const remove = (url: string): Effect.Effect<void> =>
      Effect.flatMap(keyOf(url), (key) =>
        key === undefined ? Effect.void : Effect.asVoid(run("del", () => redis.del(key))))

    const get = (url: string): Effect.Effect<ReadonlyArray<HttpCache.Entry>> =>
      Effect.gen(function*() {
        const key = yield* keyOf(url)
        if (key === undefined) {
          return []
        }
        const value = yield* run("get", () =>
          redis.get(key))
        if (Option.isNone(value) || value.value === null) return []
        const record = decode(value.value)
        if (record === undefined) {
          const first = !reportedCorrupt
          reportedCorrupt = true
          const message = "HttpCache: a Redis value could not be read as a cache record; removed (reported once)"
          yield* annotate(first ? Effect.logWarning(message) : Effect.logDebug(message), "get")
          yield* run("del", () => redis.del(key))
          return []
        }
        // another URL with the same hash: a miss (its record stays; a set for this URL replaces it)
        return record.url === url ? record.entries : []
      })

    const set = (url: string, stored: ReadonlyArray<HttpCache.Entry>): Effect.Effect<void> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const ttl = stored.length === 0 ? 0 : ttlOf(stored, now, maxTtlMillis, staleTtlMillis)
        const text = ttl > 0 ? encode(url, stored) : undefined
        // nothing usable left (or nothing to encode): what was stored goes, as a set replaces it
        if (text === undefined || text._tag === "Left") return yield* remove(url)
        const key = yield* keyOf(url)
        if (key === undefined) return
        yield* run("set", () => redis.set(key, text.right, "PX", ttl))
      })

    const size = Effect.map(
      run("scan", async () => {
        let cursor = "0"
        let entries = 0
        let bytes = 0
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", patternOf(keyPrefix + prefix), "COUNT", 1000)
          cursor = next
          if (keys.length > 0) {
            const pipeline = redis.pipeline()
            for (const key of keys) pipeline.strlen(key.slice(keyPrefix.length))
            for (const [error, length] of (await pipeline.exec()) ?? []) {
              if (error !== null || typeof length !== "number" || length === 0) continue
              entries += 1
              bytes += length
            }
          }
        } while (cursor !== "0")
        return { entries, bytes }
      }, sizeTimeout),
      Option.getOrElse(() => ({ entries: 0, bytes: 0 }))
    )

    const service: HttpCache.Store.Service = { get, set, remove, size }
    return service
  })

/** @internal */
export const layerRedis = (options?: HttpCacheRedis.Options): Layer.Layer<Store, InvalidOptions> =>
  Layer.scoped(Store, makeRedis(options))
