import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Redis } from "ioredis"
import type * as CBS from "../CircuitBreakerStore.js"
import type { SharedRecord } from "./breakerSync.js"
import { CircuitBreakerStore, CircuitBreakerStoreError } from "./circuitBreakerStore.js"
import { connect, keyOf, type Options } from "./redisConnection.js"

interface RedisWithBreaker extends Redis {
  sturdyBreakerPublish(state: string, probes: string, record: string, at: number, ttl: number): Promise<number>
  sturdyBreakerAcquire(probes: string, limit: number, lease: number): Promise<number>
  sturdyBreakerRelease(probes: string): Promise<number>
}

// A key's state is one string "<O|C>|<at>|<until>"; the later `at` wins, and a new state frees the probe slots.
const publishScript = `
local at = tonumber(ARGV[2])
local current = redis.call("GET", KEYS[1])
if current then
  local currentAt = tonumber(string.match(current, "^%a|([^|]+)|"))
  if currentAt and currentAt > at then return 0 end
end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[3])
redis.call("DEL", KEYS[2])
return 1
`

// Probe slots: a counter that lives `lease` ms after its last grant, so a process that died holding one cannot
// keep the fleet from probing.
const acquireScript = `
local n = tonumber(redis.call("GET", KEYS[1]) or "0")
if n >= tonumber(ARGV[1]) then return 0 end
redis.call("INCR", KEYS[1])
redis.call("PEXPIRE", KEYS[1], ARGV[2])
return 1
`

const releaseScript = `
local n = tonumber(redis.call("GET", KEYS[1]) or "0")
if n > 0 then redis.call("DECR", KEYS[1]) end
return 0
`

// a state is kept this long after its pause ends, so a process that starts then still learns the fleet's state
const retentionMillis = 60_000

const encode = (record: SharedRecord): string => `${record.state === "Open" ? "O" : "C"}|${record.at}|${record.until}`

const decode = (value: string | null): SharedRecord | undefined => {
  if (value === null) return undefined
  const [state, at, until] = value.split("|")
  const record = { state: state === "O" ? "Open" as const : "Closed" as const, at: Number(at), until: Number(until) }
  return Number.isFinite(record.at) && Number.isFinite(record.until) ? record : undefined
}

/** @internal */
export const makeStore = (options: Options & { readonly sync?: CBS.SyncOptions | undefined } = {}) =>
  Effect.gen(function*() {
    const { sync, ...connection } = options
    const prefix = options.prefix ?? "sturdy:breaker:"
    const redis = (yield* connect(connection)) as RedisWithBreaker
    redis.defineCommand("sturdyBreakerPublish", { lua: publishScript, numberOfKeys: 2, readOnly: false })
    redis.defineCommand("sturdyBreakerAcquire", { lua: acquireScript, numberOfKeys: 1, readOnly: false })
    redis.defineCommand("sturdyBreakerRelease", { lua: releaseScript, numberOfKeys: 1, readOnly: false })
    const attempt = <A>(key: string, run: () => Promise<A>) =>
      Effect.tryPromise({ try: run, catch: (cause) => new CircuitBreakerStoreError({ key, cause }) })
    return CircuitBreakerStore.of({
      publish: (key, record) =>
        Effect.asVoid(attempt(key, () =>
          redis.sturdyBreakerPublish(
            keyOf(prefix, key, "state"),
            keyOf(prefix, key, "probes"),
            encode(record),
            record.at,
            Math.max(1, Math.ceil(record.until - record.at)) + retentionMillis
          ))),
      read: (keys) =>
        keys.length === 0
          ? Effect.succeed([])
          : Effect.map(
            attempt(keys[0]!, () => redis.mget(keys.map((key) => keyOf(prefix, key, "state")))),
            (values) => values.map(decode)
          ),
      acquireProbe: (request) =>
        Effect.map(
          attempt(request.key, () =>
            redis.sturdyBreakerAcquire(
              keyOf(prefix, request.key, "probes"),
              request.limit,
              Math.max(1, Math.ceil(request.leaseMillis))
            )),
          (granted) => granted === 1
        ),
      releaseProbe: (key) =>
        Effect.asVoid(attempt(key, () => redis.sturdyBreakerRelease(keyOf(prefix, key, "probes")))),
      sync
    })
  })

/** @internal */
export const layerStore = (
  options?: Options & { readonly sync?: CBS.SyncOptions | undefined }
): Layer.Layer<CircuitBreakerStore> => Layer.scoped(CircuitBreakerStore, makeStore(options))
