import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as CB from "../CircuitBreaker.js"
import type * as CBS from "../CircuitBreakerStore.js"
import type { BreakerSync, SharedRecord } from "./breakerSync.js"
import * as breakerInternal from "./circuitBreaker.js"
import { checkOptions } from "./options.js"
import { makeHealth } from "./sharedState.js"

/** @internal */
export class CircuitBreakerStore extends Context.Tag("@sturdy/policy/CircuitBreakerStore")<
  CircuitBreakerStore,
  CBS.CircuitBreakerStore.Service
>() {}

/** @internal */
export class CircuitBreakerStoreError
  extends Schema.TaggedError<CircuitBreakerStoreError>("@sturdy/policy/CircuitBreakerStore/CircuitBreakerStoreError")(
    "CircuitBreakerStoreError",
    {
      key: Schema.String,
      cause: Schema.optional(Schema.Defect)
    }
  )
{
  // the cause (e.g. a Redis connection error) may name hosts or credentials: keep it out of the message
  override get message(): string {
    return `circuit breaker store failed for ${this.key}`
  }
}

/** @internal */
export const defaults = {
  syncInterval: Duration.millis(250),
  timeout: Duration.millis(100),
  probeLease: Duration.seconds(10)
} as const

// a store's own names for the slots it grants a caller that names none: unique per grant (never a caller's token)
const anonymousToken = (id: string, n: number): string => `\u0000${id}:${n}`

// the slots granted without a token, per key, oldest first: a release without a token frees the oldest of them, so
// the slots left are the latest granted and every holder still probing keeps a slot that lasts at least as long as
// its own (freeing the newest would leave a probe on an older slot that expires first). Bounded per key and in keys.
/** @internal */
export const makeAnonymous = () => {
  const id = globalThis.crypto.randomUUID()
  const granted = new Map<string, Array<string>>()
  let n = 0
  return {
    next: (): string => anonymousToken(id, ++n),
    granted: (key: string, token: string): void => {
      let tokens = granted.get(key)
      if (tokens === undefined) {
        if (granted.size >= 10_000) granted.clear()
        tokens = []
        granted.set(key, tokens)
      }
      tokens.push(token)
      if (tokens.length > 1_000) tokens.shift()
    },
    oldest: (key: string): string | undefined => {
      const tokens = granted.get(key)
      const token = tokens?.shift()
      if (tokens !== undefined && tokens.length === 0) granted.delete(key)
      return token
    }
  }
}

interface Slot {
  readonly expiry: number
  readonly token: string
}

/**
 * Whether a store keeps `record` over `current` (see `CircuitBreakerStore.Record`): the higher `seq` when both have
 * one, the later `at` on equal `seq`; by `at` alone when either has none (a record of a writer that predates `seq`).
 * A full tie goes to `record` (the one that arrives), as equal `at` always did.
 * @internal
 */
export const supersedes = (record: SharedRecord, current: SharedRecord | undefined): boolean =>
  current === undefined ||
  (record.seq !== undefined && current.seq !== undefined && record.seq !== current.seq
    ? record.seq > current.seq
    : record.at >= current.at)

/** Whether two records say the same (a store may hand back an equal record as a new object). @internal */
export const sameRecord = (a: SharedRecord, b: SharedRecord): boolean =>
  a.state === b.state && a.at === b.at && a.until === b.until && a.seq === b.seq

/** @internal */
export const makeMemory = (): CBS.CircuitBreakerStore.Service => {
  const records = new Map<string, SharedRecord>()
  // per key, the probe slots held, each with its own lease and its holder's token: a slot held by a process that
  // died expires `leaseMillis` after it was granted however often the others probe, and a release frees its own
  // slot only
  const probes = new Map<string, Array<Slot>>()
  const anonymous = makeAnonymous()
  return {
    publish: (key, record) =>
      Effect.sync(() => {
        // compare-and-set: an older record, whoever sends it and however late, never replaces a newer one
        if (!supersedes(record, records.get(key))) return
        records.set(key, record)
        probes.delete(key)
      }),
    read: (keys) => Effect.sync(() => keys.map((key) => records.get(key))),
    acquireProbe: (request) =>
      Effect.sync(() => {
        const slots = (probes.get(request.key) ?? []).filter((slot) => slot.expiry > request.now)
        probes.set(request.key, slots)
        // the same token again (an acquire retried): its slot is already held
        if (request.token !== undefined && slots.some((slot) => slot.token === request.token)) return true
        if (slots.length >= request.limit) return false
        const token = request.token ?? anonymous.next()
        slots.push({ expiry: request.now + request.leaseMillis, token })
        if (request.token === undefined) anonymous.granted(request.key, token)
        return true
      }),
    releaseProbe: (key, token) =>
      Effect.sync(() => {
        const own = token ?? anonymous.oldest(key)
        const slots = probes.get(key)
        if (own === undefined || slots === undefined) return
        // exactly the caller's slot; nothing when its lease ran out (it was dropped, or is another holder's now)
        const i = slots.findIndex((slot) => slot.token === own)
        if (i >= 0) slots.splice(i, 1)
        if (slots.length === 0) probes.delete(key)
      })
  }
}

/** @internal */
export const layerMemory: Layer.Layer<CircuitBreakerStore> = Layer.sync(CircuitBreakerStore, makeMemory)

const positive = (name: string, input: Duration.DurationInput): Duration.Duration => {
  const duration = Duration.decode(input)
  if (!Duration.greaterThan(duration, Duration.zero) || !Duration.isFinite(duration)) {
    throw new RangeError(`CircuitBreakerStore: ${name} must be a finite positive duration`)
  }
  return duration
}

/** A record the store did not take, and when it was made (the monotonic clock's nanoseconds). */
interface Unsent {
  readonly record: SharedRecord
  readonly madeAt: bigint
}

/** A probe slot given back: `sent` once its release is on its way to the store, `done` once it got there (or not). */
interface PendingRelease {
  sent: boolean
  readonly done: Deferred.Deferred<void>
}

/** @internal */
export const makeSync = (
  options?: CBS.SyncOptions
): Effect.Effect<BreakerSync, never, CircuitBreakerStore | Scope.Scope> =>
  Effect.gen(function*() {
    checkOptions("CircuitBreakerStore", options)
    const store = yield* CircuitBreakerStore
    const base = store.sync
    const syncInterval = positive(
      "syncInterval",
      options?.syncInterval ?? base?.syncInterval ?? defaults.syncInterval
    )
    const timeout = positive("timeout", options?.timeout ?? base?.timeout ?? defaults.timeout)
    const leaseMillis = Duration.toMillis(
      positive("probeLease", options?.probeLease ?? base?.probeLease ?? defaults.probeLease)
    )
    // writes the store failed to take (an outage drops them): this process's latest record per key whose publish
    // did not get there, and the probe slots it gave back that the store never freed. When the store answers again
    // they are sent again (see `resend`), so an opening made during the outage still stops the fleet. Empty while the
    // store answers: the happy path pays nothing for them.
    const unsent = new Map<string, Unsent>()
    const unreleased: Array<readonly [key: string, token: string]> = []
    const health = makeHealth("circuit_breaker", timeout, () => writes.unsafeOffer(resend))
    // the fleet's records of the keys in use here, refreshed every syncInterval; a key is read for a minute after
    // its last call here (a poll round numbers each read)
    const cache = new Map<string, SharedRecord>()
    const lastUsed = new Map<string, number>()
    const idleRounds = Math.max(1, Math.ceil(60_000 / Duration.toMillis(syncInterval)))
    let round = 0
    // The order of this process's records (`seq`, see `CircuitBreakerStore.Record`): per key, the highest `seq` it
    // sent or read from the store. A record gets `max(at, highest + 1)`: after every record this process knew of,
    // even when its wall clock has stepped back, and by its time otherwise. Kept past a key's idleness (bounded).
    const highest = new Map<string, number>()
    const saw = (key: string, seq: number | undefined): void => {
      if (seq === undefined) return
      const known = highest.get(key)
      if (known !== undefined && known >= seq) return
      if (known === undefined && highest.size >= 10_000) highest.clear()
      highest.set(key, seq)
    }
    // this process's writes of a record per key that the store has not answered yet, and when (a count of the writes
    // answered) it last answered one: a read sent before the store took a write says nothing of that write's key (the
    // breaker would apply the record it replaced); the poll leaves those keys as they are
    const writing = new Map<string, number>()
    const answered = new Map<string, number>()
    let answers = 0
    // a record's age on the monotonic clock (a wall clock's step does not change it): the store dates a record sent
    // late (after an outage) by when it was made, not by its arrival
    const clock = yield* Effect.clock
    const nowNanos = () => clock.unsafeCurrentTimeNanos()
    // this process's names for the probe slots it takes: unique in the fleet, one per acquisition
    const tokenPrefix = globalThis.crypto.randomUUID()
    let tokens = 0
    // writes go through one fiber, in order, so a probe's release never overtakes the transition after it; it and
    // the poll below are interruptible whatever the caller's mask (a fiber inherits it): the scope's close stops them
    const writes = yield* Effect.acquireRelease(Queue.unbounded<Effect.Effect<unknown, unknown>>(), Queue.shutdown)
    yield* Effect.forkScoped(Effect.interruptible(Effect.forever(Effect.flatMap(Queue.take(writes), health.run))))
    // probe slots given back and not yet freed in the store, per key: queued behind other writes, or being sent. The
    // next acquisition of the key sends the queued ones itself and waits for those being sent, so a probe that
    // follows another in this process never finds the slot that one held still taken (and is never turned away by
    // its own previous probe)
    const releasing = new Map<string, Map<string, PendingRelease>>()
    // a publish that failed leaves its record to be sent again, unless a later one of this process took its place
    const sendRecord = (key: string, record: SharedRecord, madeAt: bigint) =>
      Effect.onExit(
        Effect.suspend(() => store.publish(key, record, { age: Math.max(0, Number(nowNanos() - madeAt) / 1_000_000) })),
        (exit) =>
          Effect.sync(() => {
            const left = (writing.get(key) ?? 1) - 1
            if (left > 0) writing.set(key, left)
            else writing.delete(key)
            if (answered.size >= 10_000 && !answered.has(key)) answered.clear()
            answered.set(key, ++answers)
            const kept = unsent.get(key)
            if (Exit.isSuccess(exit)) {
              if (kept !== undefined && supersedes(record, kept.record)) unsent.delete(key)
            } else if (supersedes(record, kept?.record)) {
              // a bound on the keys remembered: one whose record is dropped waits for its next transition
              if (kept === undefined && unsent.size >= 10_000) return
              unsent.set(key, { record, madeAt })
            }
          })
      )
    const writeOf = (key: string, record: SharedRecord, madeAt: bigint) => {
      writing.set(key, (writing.get(key) ?? 0) + 1)
      return sendRecord(key, record, madeAt)
    }
    // a release that failed is sent again: it frees exactly its token's slot, and nothing once that slot is gone
    const sendReleaseOf = (key: string, token: string) =>
      Effect.onError(
        store.releaseProbe(key, token),
        () =>
          Effect.sync(() => {
            if (unreleased.length >= 1_000) unreleased.shift()
            unreleased.push([key, token])
          })
      )
    // The store answers again: the records it missed go again, each only if it still says something (an Open whose
    // pause is not over; a Closed, which ends the others' pause), dated by its age; then the releases it missed. The
    // store's compare-and-set keeps a newer record of another process (no read first, which another write could
    // follow before this one). Run by the writer, after the writes queued before it.
    const resend: Effect.Effect<void> = Effect.suspend(() => {
      const keys = [...unsent.keys()]
      const releases = unreleased.splice(0)
      return Effect.zipRight(
        // one at a time, each taken out of `unsent` as it goes (a key still there is sent at the next recovery)
        Effect.forEach(keys, (key) =>
          Effect.suspend(() => {
            const kept = unsent.get(key)
            // gone: a later record of this process took its place (it is queued)
            if (kept === undefined) return Effect.void
            unsent.delete(key)
            const { madeAt, record } = kept
            if (record.state === "Open" && record.until <= clock.unsafeCurrentTimeMillis()) return Effect.void
            return health.run(writeOf(key, record, madeAt))
          }), { discard: true }),
        Effect.forEach(releases, ([key, token]) => health.run(sendReleaseOf(key, token)), { discard: true })
      )
    })
    const sendRelease = (key: string, token: string, pending: PendingRelease) =>
      Effect.suspend(() => {
        if (pending.sent) return Effect.void
        pending.sent = true
        return Effect.ensuring(
          sendReleaseOf(key, token),
          Effect.sync(() => {
            const ofKey = releasing.get(key)
            ofKey?.delete(token)
            if (ofKey?.size === 0) releasing.delete(key)
            Deferred.unsafeDone(pending.done, Exit.void)
          })
        )
      })
    const releasesBefore = (key: string) =>
      Effect.suspend(() => {
        const ofKey = releasing.get(key)
        if (ofKey === undefined) return Effect.void
        return Effect.forEach(
          [...ofKey],
          ([token, pending]) =>
            pending.sent ? Deferred.await(pending.done) : health.run(sendRelease(key, token, pending)),
          { discard: true }
        )
      })

    const poll = Effect.suspend(() => {
      round++
      const keys: Array<string> = []
      for (const [key, used] of lastUsed) {
        if (round - used <= idleRounds) {
          keys.push(key)
        } else {
          lastUsed.delete(key)
          cache.delete(key)
          answered.delete(key)
        }
      }
      if (keys.length === 0) return Effect.void
      const since = answers
      return Effect.map(health.run(store.read(keys)), (result) => {
        if (Option.isNone(result)) return
        keys.forEach((key, i) => {
          const record = result.value[i]
          const cached = cache.get(key)
          // a write of this key on its way (or to be sent again), or answered since the read went: the answer may
          // predate it, and is taken only if newer than this process's record by the store's rule
          const late = writing.has(key) || unsent.has(key) || (answered.get(key) ?? 0) > since
          if (record === undefined) {
            if (!late) cache.delete(key)
            return
          }
          saw(key, record.seq)
          if (late && cached !== undefined && !supersedes(record, cached)) return
          // otherwise the store's record is the newer (it compares them): cached as it is, the same object while it
          // says the same, so the breaker applies it once
          if (cached === undefined || !sameRecord(cached, record)) cache.set(key, record)
        })
      })
    })
    yield* Effect.forkScoped(Effect.interruptible(Effect.repeat(poll, Schedule.spaced(syncInterval))))

    return {
      latest: (key) => {
        if (lastUsed.get(key) !== round) lastUsed.set(key, round)
        return cache.get(key)
      },
      publish: (key, record) => {
        const known = highest.get(key)
        const shared: SharedRecord = {
          state: record.state,
          at: record.at,
          until: record.until,
          seq: known === undefined || known < record.at ? record.at : known + 1
        }
        saw(key, shared.seq)
        cache.set(key, shared)
        lastUsed.set(key, round)
        // a record not sent in an outage is out of date now: this one takes its place
        if (unsent.size > 0) unsent.delete(key)
        writes.unsafeOffer(writeOf(key, shared, nowNanos()))
        return shared
      },
      acquireProbe: (key, limit, letGo) => {
        if (health.degraded()) {
          for (const token of letGo) writes.unsafeOffer(sendReleaseOf(key, token))
          return Effect.succeed(undefined)
        }
        const acquire = Effect.clockWith((clock) => {
          const token = `${tokenPrefix}:${++tokens}`
          return Effect.map(
            health.run(store.acquireProbe({ key, limit, leaseMillis, now: clock.unsafeCurrentTimeMillis(), token })),
            // the store could not answer: the local breaker's own probe limit decides alone (no slot to give back)
            (result) => Option.isNone(result) ? undefined : result.value ? token : false
          )
        })
        // the slots of the probes let go, and those of the probes that ended here, are given back before this one
        // is asked for, or it would find them taken
        return Effect.zipRight(
          letGo.length === 0
            ? releasesBefore(key)
            : Effect.zipRight(
              Effect.forEach(letGo, (token) => health.run(sendReleaseOf(key, token)), { discard: true }),
              releasesBefore(key)
            ),
          acquire
        )
      },
      releaseProbe: (key, token) => {
        const pending: PendingRelease = { sent: false, done: Deferred.unsafeMake<void>(FiberId.none) }
        const ofKey = releasing.get(key) ?? new Map<string, PendingRelease>()
        releasing.set(key, ofKey)
        ofKey.set(token, pending)
        writes.unsafeOffer(sendRelease(key, token, pending))
      }
    } satisfies BreakerSync
  })

/** @internal */
export const make = (
  key: string,
  options?: CB.Options & CBS.SyncOptions
): Effect.Effect<CB.CircuitBreaker, never, CircuitBreakerStore | Scope.Scope> =>
  Effect.flatMap(makeSync(options), (sync) => breakerInternal.make(key, options, sync))

/** @internal */
export const makeRegistry = (
  options?: CB.RegistryOptions & CBS.SyncOptions
): Effect.Effect<CB.RegistryService, never, CircuitBreakerStore | Scope.Scope> =>
  Effect.flatMap(makeSync(options), (sync) => breakerInternal.makeRegistry(options, sync))

/** @internal */
export const layerRegistry = (
  options?: CB.RegistryOptions & CBS.SyncOptions
): Layer.Layer<CB.Registry, never, CircuitBreakerStore> => Layer.scoped(CB.Registry, makeRegistry(options))
