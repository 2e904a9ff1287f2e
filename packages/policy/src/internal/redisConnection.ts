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
 * What the stores' connections pin over the caller's options. `replyMapping` (ioredis 6): the stores read the
 * replies of their scripts and commands in the shapes of ioredis 5, which are ioredis 6's `"legacy"`; `"resp3"` would
 * change them, and with `protocol: 2` makes ioredis 6 throw in its constructor. ioredis 5 has no such option and
 * ignores it. (Spread rather than written out, so that ioredis 5's types, which do not know it, accept it.)
 * @internal
 */
export const pinnedOptions = { replyMapping: "legacy" } as const

/**
 * A connection for a shared-state store (ioredis 5 or 6). Commands fail at once while the connection is down (no
 * offline queue, one attempt), so a store operation never queues behind a reconnect; ioredis keeps reconnecting in
 * the background (on its `retryStrategy`: ioredis 6's default waits longer between attempts than 5's, up to about
 * 5 s). Replies are read in ioredis 5's shapes whatever `replyMapping` says (see `pinnedOptions`). Errors are
 * handled by the stores' fallback, so the client's "error" events are not logged twice. The layer waits up to
 * `connectTimeout` (default 1 s) for the first connection; a store that is not reachable by then starts degraded
 * (local state) and resumes when Redis answers.
 * @internal
 */
export const connect = (options: Options): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { prefix: _, ...redisOptions } = options
    const redis = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const client = new Redis({
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          ...redisOptions,
          ...pinnedOptions
        })
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
