import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Redis, type RedisOptions } from "ioredis"

/**
 * ioredis options plus a key prefix, as the Redis stores take them.
 * @internal
 */
export type Options = RedisOptions & { readonly prefix?: string | undefined }

// the live clock, for the waits on real I/O that must end in real time whatever clock the caller runs on
const liveClock = Clock.make()

/**
 * A connection for a shared-state store. Commands fail at once while the connection is down (no offline queue,
 * one attempt), so a store operation never queues behind a reconnect; ioredis keeps reconnecting in the
 * background. Errors are handled by the stores' fallback, so the client's "error" events are not logged twice.
 * The layer waits up to `connectTimeout` (default 1 s) for the first connection; a store that is not reachable by
 * then starts degraded (local state) and resumes when Redis answers.
 * @internal
 */
export const connect = (options: Options): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { prefix: _, ...redisOptions } = options
    const redis = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const client = new Redis({ enableOfflineQueue: false, maxRetriesPerRequest: 1, ...redisOptions })
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
        // the wait is for a socket, which virtual time does not move: under a `TestClock` that nobody advances, a
        // server that is not there would hold the layer's construction forever
        Effect.withClock(liveClock)
      )
    }
    return redis
  })

/**
 * A key's Redis name: the user's key in a hash tag, so every Redis key of one upstream lands in one cluster slot.
 * @internal
 */
export const keyOf = (prefix: string, key: string, suffix: string): string => `${prefix}{${key}}:${suffix}`
