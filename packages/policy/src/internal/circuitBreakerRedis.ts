import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import type * as CBS from "../CircuitBreakerStore.js"
import type { SharedRecord } from "./breakerSync.js"
import { CircuitBreakerStore, CircuitBreakerStoreError } from "./circuitBreakerStore.js"
import { connect, keyOf, type Options } from "./redisConnection.js"

interface RedisWithBreaker extends Redis {
  sturdyBreakerPublish(
    state: string,
    probes: string,
    record: string,
    at: string,
    writer: string,
    ttl: number
  ): Promise<number>
  sturdyBreakerRead(count: number, ...keys: Array<string>): Promise<Array<string | null>>
  sturdyBreakerAcquire(probes: string, limit: number, lease: number): Promise<number>
  sturdyBreakerRelease(probes: string): Promise<number>
}

// Redis's own clock, in milliseconds with microseconds: every time the scripts compare is Redis's, never a
// process's, so processes whose clocks disagree still share one pause and one lease per probe slot.
const serverNow = `
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
`

// A key's state is one string "<O|C>|<at>|<until>|<writer>|<written>": the writer's record (its Clock), the
// writer's id and Redis's time when it was written. Records of one writer are ordered by their `at`; a record of
// another writer replaces the current one when it arrives (their clocks cannot be compared). A new state frees the
// probe slots.
const publishScript = serverNow + `
local current = redis.call("GET", KEYS[1])
if current then
  local currentAt, writer = string.match(current, "^%a|([^|]*)|[^|]*|([^|]*)|")
  if writer == ARGV[3] and tonumber(currentAt) > tonumber(ARGV[2]) then return 0 end
end
redis.call("SET", KEYS[1], ARGV[1] .. "|" .. string.format("%.3f", now), "PX", ARGV[4])
redis.call("DEL", KEYS[2])
return 1
`

// The states of the keys and Redis's time, in one step, so a record's age is measured on one clock.
const readScript = serverNow + `
local out = { string.format("%.3f", now) }
for i, key in ipairs(KEYS) do
  out[i + 1] = redis.call("GET", key)
end
return out
`

// Probe slots: a list of the slots' expiry times (Redis's clock), one lease per slot, so a slot held by a process
// that died expires `lease` ms after it was granted however often the other processes probe.
const slotsScript = serverNow + `
local slots = {}
local latest = 0
for slot in string.gmatch(redis.call("GET", KEYS[1]) or "", "[^,]+") do
  local expiry = tonumber(slot)
  if expiry and expiry > now then
    table.insert(slots, expiry)
    if expiry > latest then latest = expiry end
  end
end
`

const writeSlots = `
local encoded = {}
for i, expiry in ipairs(slots) do encoded[i] = string.format("%.0f", expiry) end
`

const acquireScript = slotsScript + `
if #slots >= tonumber(ARGV[1]) then return 0 end
local expiry = now + tonumber(ARGV[2])
table.insert(slots, expiry)
if expiry > latest then latest = expiry end
` + writeSlots + `
redis.call("SET", KEYS[1], table.concat(encoded, ","), "PX", math.max(1, math.ceil(latest - now)))
return 1
`

// A release cannot tell which slot is its own: it gives back the one granted last. The oldest slots, a dead
// process's among them, keep their own expiry (giving back the oldest would renew a dead slot at every probe).
const releaseScript = slotsScript + `
local last = 0
for i, expiry in ipairs(slots) do
  if last == 0 or expiry > slots[last] then last = i end
end
if last == 0 then return 0 end
table.remove(slots, last)
latest = 0
for _, expiry in ipairs(slots) do
  if expiry > latest then latest = expiry end
end
` + writeSlots + `
if latest > 0 then
  redis.call("SET", KEYS[1], table.concat(encoded, ","), "PX", math.max(1, math.ceil(latest - now)))
else
  local ttl = redis.call("PTTL", KEYS[1])
  if ttl > 0 then redis.call("SET", KEYS[1], "", "PX", ttl) end
end
return 1
`

// a state is kept this long after its pause ends, so a process that starts then still learns the fleet's state;
// a pause until reset is kept this long only (a reset stays local: a lasting record would open every process that
// starts later until it, too, is reset)
const retentionMillis = 60_000

// the longest TTL written: a finite pause beyond it is kept as a pause until reset is
const maxTtlMillis = Number.MAX_SAFE_INTEGER - retentionMillis

const untilReset = "-"

const encode = (record: SharedRecord, writer: string): string =>
  `${record.state === "Open" ? "O" : "C"}|${record.at}|${
    Number.isFinite(record.until) ? record.until : untilReset
  }|${writer}`

const ttlOf = (record: SharedRecord): number => {
  const pause = Math.max(1, Math.ceil(record.until - record.at))
  return pause <= maxTtlMillis ? pause + retentionMillis : retentionMillis
}

interface Stored {
  readonly record: SharedRecord
  readonly writer: string | undefined
  readonly written: number
}

const decode = (value: string): Stored | undefined => {
  const [state, at, until, writer, written] = value.split("|")
  if (state !== "O" && state !== "C") return undefined
  const record = {
    state: state === "O" ? "Open" as const : "Closed" as const,
    at: Number(at),
    until: until === untilReset ? Number.POSITIVE_INFINITY : Number(until)
  }
  if (!Number.isFinite(record.at) || Number.isNaN(record.until) || record.until < record.at) return undefined
  // a record of a version before writers were named: its own clock is all there is
  if (writer === undefined) return { record, writer, written: Number.NaN }
  const writtenAt = Number(written)
  return Number.isFinite(writtenAt) ? { record, writer, written: writtenAt } : undefined
}

/** @internal */
export const makeStore = (options: Options & { readonly sync?: CBS.SyncOptions | undefined } = {}) =>
  Effect.gen(function*() {
    const { sync, ...connection } = options
    const prefix = options.prefix ?? "sturdy:breaker:"
    const redis = (yield* connect(connection)) as RedisWithBreaker
    redis.defineCommand("sturdyBreakerPublish", { lua: publishScript, numberOfKeys: 2, readOnly: false })
    redis.defineCommand("sturdyBreakerRead", { lua: readScript, readOnly: true })
    redis.defineCommand("sturdyBreakerAcquire", { lua: acquireScript, numberOfKeys: 1, readOnly: false })
    redis.defineCommand("sturdyBreakerRelease", { lua: releaseScript, numberOfKeys: 1, readOnly: false })
    // this store's records are in this process's Clock and read back as written; another writer's are re-based
    const writer = randomUUID()
    // another writer's record as last re-based here, per key: re-basing it again would move its `at` by the
    // jitter of each read's round trip, and a breaker takes a record with a later `at` as a new transition
    const rebased = new Map<string, { readonly value: string; readonly record: SharedRecord }>()
    const attempt = <A>(key: string, run: () => Promise<A>) =>
      Effect.tryPromise({ try: run, catch: (cause) => new CircuitBreakerStoreError({ key, cause }) })

    // Another process's record in this process's Clock: it was written `age` ago by Redis's clock, and its pause
    // (`until - at`, a duration on the writer's clock) runs from then. `now` is read when the answer has arrived,
    // so the pause here ends no earlier than Redis measured, and later by at most the read's round trip.
    const rebase = (key: string, value: string, redisNow: number, now: number): SharedRecord | undefined => {
      const known = rebased.get(key)
      if (known !== undefined && known.value === value) return known.record
      const stored = decode(value)
      if (stored === undefined) return undefined
      if (stored.writer === writer || stored.writer === undefined) return stored.record
      const at = now - Math.max(0, redisNow - stored.written)
      const { record } = stored
      const until = record.state === "Closed" ? at : at + (record.until - record.at)
      const result = { state: record.state, at, until }
      // a bound on the keys remembered, should a process read many more keys than its breakers use
      if (rebased.size >= 10_000) rebased.clear()
      rebased.set(key, { value, record: result })
      return result
    }

    return CircuitBreakerStore.of({
      publish: (key, record) =>
        Effect.asVoid(attempt(key, () =>
          redis.sturdyBreakerPublish(
            keyOf(prefix, key, "state"),
            keyOf(prefix, key, "probes"),
            encode(record, writer),
            String(record.at),
            writer,
            ttlOf(record)
          ))),
      read: (keys) =>
        keys.length === 0
          ? Effect.succeed([])
          : Effect.flatMap(
            attempt(keys[0]!, () =>
              redis.sturdyBreakerRead(keys.length, ...keys.map((key) => keyOf(prefix, key, "state")))),
            ([redisNow, ...values]) =>
              Effect.clockWith((clock) =>
                Effect.sync(() => {
                  const now = clock.unsafeCurrentTimeMillis()
                  return keys.map((key, i) => {
                    const value = values[i]
                    if (value === null || value === undefined) {
                      rebased.delete(key)
                      return undefined
                    }
                    return rebase(key, value, Number(redisNow), now)
                  })
                })
              )
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
