import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import type * as CBS from "../CircuitBreakerStore.js"
import type { SharedRecord } from "./breakerSync.js"
import { CircuitBreakerStore, CircuitBreakerStoreError, makeAnonymous } from "./circuitBreakerStore.js"
import { checkOptions } from "./options.js"
import { connect, keyOf, type Options } from "./redisConnection.js"

interface RedisWithBreaker extends Redis {
  sturdyBreakerPublish(
    state: string,
    probes: string,
    record: string,
    at: string,
    writer: string,
    ttl: number,
    age: string,
    seq: string
  ): Promise<number>
  sturdyBreakerRead(count: number, ...keys: Array<string>): Promise<Array<string | null>>
  sturdyBreakerAcquire(probes: string, limit: number, lease: number, token: string): Promise<number>
  sturdyBreakerRelease(probes: string, token: string): Promise<number>
}

// Redis's own clock, in milliseconds with microseconds: every time the scripts compare is Redis's, never a
// process's, so processes whose clocks disagree still share one pause and one lease per probe slot.
const serverNow = `
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
`

// A key's state is one string "<O|C>|<at>|<until>|<writer>|<written>|<seq>": the writer's record (its Clock), the
// writer's id, when it was made on Redis's clock (its arrival less its `age`: a record sent late keeps its age) and
// its `seq` (none from a version before it, nor for a record sent without one; a previous version reads the first
// five fields as before). The publish is a compare-and-set, in one step: a record of the same writer replaces the
// current one when its `seq` is higher (by `at` when either has none: the writer's own clock), and a record of
// another writer when it was made later on Redis's clock (equal: the greater writer id), as the processes' clocks
// cannot be compared. A new state frees the probe slots.
const publishScript = serverNow + `
local made = now - math.max(0, tonumber(ARGV[5]) or 0)
local seq = tonumber(ARGV[6])
local current = redis.call("GET", KEYS[1])
if current then
  local currentAt, writer, written = string.match(current, "^%a|([^|]*)|[^|]*|([^|]*)|([^|]*)")
  local currentSeq = tonumber(string.match(current, "^%a|[^|]*|[^|]*|[^|]*|[^|]*|([^|]+)$") or "")
  if writer == ARGV[3] then
    if seq and currentSeq then
      if currentSeq >= seq then return 0 end
    elseif tonumber(currentAt) > tonumber(ARGV[2]) then
      return 0
    end
  elseif writer and tonumber(written) then
    local w = tonumber(written)
    if w > made or (w == made and writer > ARGV[3]) then return 0 end
  end
end
local value = ARGV[1] .. "|" .. string.format("%.3f", made)
if seq then value = value .. "|" .. ARGV[6] end
redis.call("SET", KEYS[1], value, "PX", ARGV[4])
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

// Probe slots: one string, the slots held, each "<expiry>:<token>" (the expiry on Redis's clock, the token its
// holder's name for it), one lease per slot, so a slot held by a process that died expires `lease` ms after it was
// granted however often the other processes probe. The key lives as long as its latest slot. Read back from a
// previous version: a plain count ("1", INCR + PEXPIRE) is that many slots expiring with the key (its PTTL), and a
// bare expiry is a slot no token can free (it ends with its lease).
const slotsScript = serverNow + `
local slots = {}
local latest = 0
local value = redis.call("GET", KEYS[1]) or ""
if string.match(value, "^%d+$") and tonumber(value) < 100000000000 then
  local ttl = redis.call("PTTL", KEYS[1])
  if ttl > 0 then
    for i = 1, math.min(tonumber(value), 10000) do table.insert(slots, { now + ttl, false }) end
    latest = now + ttl
  end
else
  for slot in string.gmatch(value, "[^,]+") do
    local e, token = string.match(slot, "^([^:]*):(.*)$")
    local expiry = tonumber(e or slot)
    if expiry and expiry > now then
      table.insert(slots, { expiry, token or false })
      if expiry > latest then latest = expiry end
    end
  end
end
`

const writeSlots = `
local encoded = {}
for i, slot in ipairs(slots) do
  encoded[i] = string.format("%.0f", slot[1]) .. (slot[2] and (":" .. slot[2]) or "")
end
`

const acquireScript = slotsScript + `
for _, slot in ipairs(slots) do
  if slot[2] == ARGV[3] then return 1 end
end
if #slots >= tonumber(ARGV[1]) then return 0 end
local expiry = now + tonumber(ARGV[2])
table.insert(slots, { expiry, ARGV[3] })
if expiry > latest then latest = expiry end
` + writeSlots + `
redis.call("SET", KEYS[1], table.concat(encoded, ","), "PX", math.max(1, math.ceil(latest - now)))
return 1
`

// A release frees the slot its token names, and nothing when that slot is gone (its lease ran out, or a
// transition freed it): a probe that outlived its lease never frees the slot of a probe granted after it.
const releaseScript = slotsScript + `
local own = 0
for i, slot in ipairs(slots) do
  if slot[2] == ARGV[1] then own = i end
end
if own == 0 then return 0 end
table.remove(slots, own)
latest = 0
for _, slot in ipairs(slots) do
  if slot[1] > latest then latest = slot[1] end
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

// a token as stored: no "," (between slots) nor ":" (after the expiry)
const tokenOf = (token: string): string => encodeURIComponent(token)

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

// a `seq` as sent to the script: none is the empty string
const seqArg = (record: SharedRecord): string =>
  record.seq !== undefined && Number.isFinite(record.seq) ? String(record.seq) : ""

const decode = (value: string): Stored | undefined => {
  const [state, at, until, writer, written, seqField] = value.split("|")
  if (state !== "O" && state !== "C") return undefined
  // a value of a version before `seq` has none
  const seq = seqField === undefined || seqField === "" ? Number.NaN : Number(seqField)
  const record: SharedRecord = {
    state: state === "O" ? "Open" as const : "Closed" as const,
    at: Number(at),
    until: until === untilReset ? Number.POSITIVE_INFINITY : Number(until),
    ...(Number.isFinite(seq) ? { seq } : {})
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
    checkOptions("CircuitBreakerRedis", options)
    const { sync, ...connection } = options
    const prefix = options.prefix ?? "sturdy:breaker:"
    const redis = (yield* connect(connection)) as RedisWithBreaker
    redis.defineCommand("sturdyBreakerPublish", { lua: publishScript, numberOfKeys: 2, readOnly: false })
    redis.defineCommand("sturdyBreakerRead", { lua: readScript, readOnly: true })
    redis.defineCommand("sturdyBreakerAcquire", { lua: acquireScript, numberOfKeys: 1, readOnly: false })
    redis.defineCommand("sturdyBreakerRelease", { lua: releaseScript, numberOfKeys: 1, readOnly: false })
    // this store's records are in this process's Clock and read back as written; another writer's are re-based
    const writer = randomUUID()
    // the slots this store granted callers that named none, oldest first (see `CircuitBreakerStore.Service`)
    const anonymous = makeAnonymous()
    // another writer's record as last re-based here, per key: re-basing it again would move its `at` by the
    // jitter of each read's round trip, and a breaker takes a record that says something else as a new transition
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
      const result: SharedRecord = {
        state: record.state,
        at,
        until,
        ...(record.seq === undefined ? {} : { seq: record.seq })
      }
      // a bound on the keys remembered, should a process read many more keys than its breakers use
      if (rebased.size >= 10_000) rebased.clear()
      rebased.set(key, { value, record: result })
      return result
    }

    return CircuitBreakerStore.of({
      publish: (key, record, sent) =>
        Effect.asVoid(attempt(key, () =>
          redis.sturdyBreakerPublish(
            keyOf(prefix, key, "state"),
            keyOf(prefix, key, "probes"),
            encode(record, writer),
            String(record.at),
            writer,
            ttlOf(record),
            String(Math.max(0, sent?.age ?? 0)),
            seqArg(record)
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
        Effect.suspend(() => {
          const token = request.token ?? anonymous.next()
          return Effect.map(
            attempt(request.key, () =>
              redis.sturdyBreakerAcquire(
                keyOf(prefix, request.key, "probes"),
                request.limit,
                Math.max(1, Math.ceil(request.leaseMillis)),
                tokenOf(token)
              )),
            (granted) => {
              if (granted === 1 && request.token === undefined) anonymous.granted(request.key, token)
              return granted === 1
            }
          )
        }),
      releaseProbe: (key, token) =>
        Effect.suspend(() => {
          const own = token ?? anonymous.oldest(key)
          return own === undefined
            ? Effect.void
            : Effect.asVoid(attempt(key, () => redis.sturdyBreakerRelease(keyOf(prefix, key, "probes"), tokenOf(own))))
        }),
      sync
    })
  })

/** @internal */
export const layerStore = (
  options?: Options & { readonly sync?: CBS.SyncOptions | undefined }
): Layer.Layer<CircuitBreakerStore> => Layer.scoped(CircuitBreakerStore, makeStore(options))
