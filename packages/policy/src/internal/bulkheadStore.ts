import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import type * as B from "../Bulkhead.js"
import type * as BS from "../BulkheadStore.js"
import * as bulkhead from "./bulkhead.js"
import * as deadline from "./deadline.js"
import { type Linked, LinkedQueue } from "./linkedQueue.js"
import { checkOptions } from "./options.js"
import { makeHealth } from "./sharedState.js"
import { forkDaemonInterruptible, maxTimerMillis, optionDuration } from "./timer.js"

/** @internal */
export class BulkheadStore extends Context.Tag("@sturdy/policy/BulkheadStore")<
  BulkheadStore,
  BS.BulkheadStore.Service
>() {}

/** @internal */
export class BulkheadStoreError
  extends Schema.TaggedError<BulkheadStoreError>("@sturdy/policy/BulkheadStore/BulkheadStoreError")(
    "BulkheadStoreError",
    {
      key: Schema.String,
      cause: Schema.optional(Schema.Defect)
    }
  )
{
  // the cause (e.g. a Redis connection error) may name hosts or credentials: keep it out of the message
  override get message(): string {
    return `bulkhead store failed for ${this.key}`
  }
}

/** @internal */
export const defaults = {
  lease: Duration.seconds(10),
  timeout: Duration.millis(100),
  pollInterval: Duration.millis(50)
} as const

/**
 * While the store is known to be down, calls decide locally without asking it; one call in this many milliseconds
 * asks it again (bounded by `timeout`), and its success resumes sharing.
 * @internal
 */
export const recheckMillis = 250

// the most names of permits given back a fleet bulkhead keeps for its next calls on the memory store
const maxSpare = 64

// the number of keys a memory store holds, and of the permits it has looked at to find ended leases, for the tests
// (no public API: `keysOfMemory`, `permitVisitsOfMemory`)
const memoryKeys = new WeakMap<BS.BulkheadStore.Service, () => number>()
const memoryVisits = new WeakMap<BS.BulkheadStore.Service, () => number>()
// the queued callers a fleet bulkhead has looked at to take one out of its queue, for the tests (no public API:
// `waiterVisitsOf`)
const queueVisits = new WeakMap<B.Bulkhead, () => number>()
// the names of permits a fleet bulkhead has made, for the tests (no public API: `permitNamesOf`)
const permitNames = new WeakMap<B.Bulkhead, () => number>()

/**
 * How many queued callers a bulkhead of {@link make} has looked at to take the ones leaving out of its queue
 * (`undefined` for any other bulkhead): for the tests.
 * @internal
 */
export const waiterVisitsOf = (bulkhead: B.Bulkhead): number | undefined => queueVisits.get(bulkhead)?.()

/**
 * How many names of permits a bulkhead of {@link make} has made (`undefined` for any other bulkhead): for the tests.
 * @internal
 */
export const permitNamesOf = (bulkhead: B.Bulkhead): number | undefined => permitNames.get(bulkhead)?.()

/**
 * The bulkheads of one process that hold permits of the fleet on one store: one fiber renews them all. A bulkhead
 * joins `busy` when its first permit is granted and leaves it when its last one is given back; the fiber renews each
 * member every `lease / 3` (all of its permits in one operation, as `renew` takes them) and, when `busy` is empty,
 * parks on `wake` with no timer (a script with no call in flight can exit).
 */
interface Keeper {
  /** The keeper's fiber stopped (its scope closed): a bulkhead that needs it again makes a new one. */
  closed: boolean
  readonly busy: Set<Lessee>
  /** The shortest renewal period of the bulkheads on the store: the longest the fiber sleeps while any is busy. */
  tickMillis: number
  /** Set while the fiber is parked; the first bulkhead to join `busy` opens it. */
  wake: Deferred.Deferred<void> | undefined
}

/** A bulkhead's share of a {@link Keeper}. */
interface Lessee {
  readonly periodMillis: number
  /** When its permits are renewed next. */
  dueAt: number
  readonly renew: Effect.Effect<void>
}

// the keeper of each store, made by the store's layer (ended with its scope) or by the first bulkhead made on it
const keepers = new WeakMap<BS.BulkheadStore.Service, Keeper>()

const keeperLoop = (keeper: Keeper): Effect.Effect<never> => {
  // Woken by a grant: the fiber sleeps (a period at most) before it may park again, even if that permit was given
  // back before the fiber ran. Parking at once would cost a wake-up per call when calls do not overlap.
  let woken = false
  const setWoken = () => {
    woken = true
  }
  return Effect.clockWith((clock) =>
    Effect.forever(Effect.suspend((): Effect.Effect<void> => {
      if (keeper.busy.size === 0 && !woken) {
        // no permit held: no timer, until a bulkhead of the store is granted one
        const wake = Deferred.unsafeMake<void>(FiberId.none)
        keeper.wake = wake
        return Effect.map(Deferred.await(wake), setWoken)
      }
      woken = false
      const now = clock.unsafeCurrentTimeMillis()
      const due: Array<Lessee> = []
      let next = now + keeper.tickMillis
      for (const lessee of keeper.busy) {
        if (lessee.dueAt <= now) {
          lessee.dueAt = now + lessee.periodMillis
          due.push(lessee)
        }
        next = Math.min(next, lessee.dueAt)
      }
      // each bulkhead's renewal is bounded by its `timeout`; run together, a store that hangs delays none of them
      const renewals = due.length === 0
        ? Effect.void
        : due.length === 1
        ? due[0]!.renew
        : Effect.forEach(due, (lessee) => lessee.renew, { concurrency: "unbounded", discard: true })
      // the sleep never outlasts the shortest period: a bulkhead that joins meanwhile is renewed on time (whole
      // milliseconds, and at least one: a clock read in fractions never makes it spin)
      return Effect.zipRight(renewals, Effect.sleep(Duration.millis(Math.max(1, Math.ceil(next - now)))))
    }))
  )
}

const newKeeper = (): Keeper => ({ closed: false, busy: new Set(), tickMillis: maxTimerMillis, wake: undefined })

/**
 * Gives `store` its renewal fiber, scoped: it stops when the scope closes, even when the store is built inside a
 * caller's mask. The layers of the stores call it; a store without it gets a daemon fiber from its first bulkhead.
 * @internal
 */
export const keepLeases = (store: BS.BulkheadStore.Service): Effect.Effect<void, never, Scope.Scope> =>
  Effect.suspend(() => {
    const keeper = newKeeper()
    keepers.set(store, keeper)
    return Effect.zipRight(
      Effect.forkScoped(Effect.interruptible(keeperLoop(keeper))),
      Effect.addFinalizer(() =>
        Effect.sync(() => {
          keeper.closed = true
          if (keepers.get(store) === keeper) keepers.delete(store)
        })
      )
    )
  })

// The store's keeper; one whose scope closed (a layer provided to `make` alone) is replaced by a daemon, which parks
// with no timer while no permit is held and lives as long as the store.
const keeperOf = (store: BS.BulkheadStore.Service): Effect.Effect<Keeper> =>
  Effect.suspend(() => {
    const known = keepers.get(store)
    if (known !== undefined && !known.closed) return Effect.succeed(known)
    const keeper = newKeeper()
    keepers.set(store, keeper)
    return Effect.as(forkDaemonInterruptible(keeperLoop(keeper)), keeper)
  })

/**
 * The renewal fiber of a store, for the tests: whether it is parked (`undefined` when it has none).
 * @internal
 */
export const keeperParked = (store: BS.BulkheadStore.Service): boolean | undefined => {
  const keeper = keepers.get(store)
  return keeper === undefined ? undefined : keeper.wake !== undefined
}

/**
 * The operations of a memory store as plain functions: a bulkhead on it takes and gives back a permit inside its
 * call's mask with no Effect step of the store's (the store's Effects are these, wrapped in `Effect.sync`). They
 * never fail and never wait, so they need no timeout either.
 */
interface SyncStore {
  readonly acquire: (request: BS.BulkheadStore.AcquireRequest) => boolean
  readonly release: (key: string, permit: string) => void
}

// the memory stores, by their service (a store of your own, even one that wraps a memory store, is not one)
const synchronous = new WeakMap<BS.BulkheadStore.Service, SyncStore>()

/**
 * How many keys a store of {@link makeMemory} holds entries for (`undefined` for any other store): for the tests.
 * @internal
 */
export const keysOfMemory = (store: BS.BulkheadStore.Service): number | undefined => memoryKeys.get(store)?.()

/**
 * How many permits a store of {@link makeMemory} has looked at to find ended leases (`undefined` for any other
 * store): for the tests.
 * @internal
 */
export const permitVisitsOfMemory = (store: BS.BulkheadStore.Service): number | undefined => memoryVisits.get(store)?.()

// A key of the memory store: its permits, and a time no later than the end of the earliest lease among them (a renewal
// or a release leaves it early, which only costs one look too many).
interface MemoryKey {
  readonly permits: Map<string, number>
  earliest: number
}

/** @internal */
export const makeMemory = (): BS.BulkheadStore.Service => {
  // per key, the permits held and when each lease ends (the callers' Clock)
  const keys = new Map<string, MemoryKey>()
  // A key whose permits all ended without a release (their holders died) would stay until the key is used again:
  // with many short-lived keys (one per tenant) that grows without bound. So an acquisition or a renewal sweeps
  // every key once a lease has passed since the last sweep. A key still there at a sweep had an acquisition or a
  // renewal within the last two leases, so each operation pays for at most two visits (amortised O(1)).
  let sweepAt = Number.NEGATIVE_INFINITY
  const sweep = (now: number, leaseMillis: number): void => {
    if (now < sweepAt) return
    sweepAt = now + leaseMillis
    for (const key of keys.keys()) live(key, now)
  }
  let visits = 0
  // The key's permits with the ended leases dropped. They are looked at only once the earliest lease may have ended:
  // going over every permit at each acquisition cost a bulkhead of a thousand permits a thousand steps per call.
  const live = (key: string, now: number): MemoryKey | undefined => {
    const entry = keys.get(key)
    if (entry === undefined || now < entry.earliest) return entry
    let earliest = Number.POSITIVE_INFINITY
    visits += entry.permits.size
    for (const [permit, expiry] of entry.permits) {
      if (expiry <= now) entry.permits.delete(permit)
      else if (expiry < earliest) earliest = expiry
    }
    if (entry.permits.size === 0) {
      keys.delete(key)
      return undefined
    }
    entry.earliest = earliest
    return entry
  }
  const acquire = (request: BS.BulkheadStore.AcquireRequest): boolean => {
    sweep(request.now, request.leaseMillis)
    const entry = live(request.key, request.now)
    // the same permit again (an acquisition retried): it is already held
    if (entry?.permits.has(request.permit) === true) return true
    if ((entry?.permits.size ?? 0) >= request.limit) return false
    const expiry = request.now + request.leaseMillis
    if (entry === undefined) {
      // (filled by `set`: a Map built from an iterable costs more, and an uncontended call builds one each time)
      const permits = new Map<string, number>()
      permits.set(request.permit, expiry)
      keys.set(request.key, { permits, earliest: expiry })
    } else {
      entry.permits.set(request.permit, expiry)
      if (expiry < entry.earliest) entry.earliest = expiry
    }
    return true
  }
  const release = (key: string, permit: string): void => {
    const entry = keys.get(key)
    if (entry === undefined) return
    entry.permits.delete(permit)
    if (entry.permits.size === 0) keys.delete(key)
  }
  const service: BS.BulkheadStore.Service = {
    acquire: (request) => Effect.sync(() => acquire(request)),
    release: (key, permit) => Effect.sync(() => release(key, permit)),
    renew: (request) =>
      Effect.sync(() => {
        sweep(request.now, request.leaseMillis)
        const entry = live(request.key, request.now)
        if (entry === undefined) return
        // a permit whose lease ran out is gone: renewing never brings it back
        const expiry = request.now + request.leaseMillis
        for (const permit of request.permits) {
          if (entry.permits.has(permit)) {
            entry.permits.set(permit, expiry)
            // (a renewal only moves a lease later, but leases may differ between the bulkheads of a key)
            if (expiry < entry.earliest) entry.earliest = expiry
          }
        }
      })
  }
  memoryKeys.set(service, () => keys.size)
  memoryVisits.set(service, () => visits)
  synchronous.set(service, { acquire, release })
  return service
}

/** @internal */
export const layerMemory: Layer.Layer<BulkheadStore> = Layer.scoped(
  BulkheadStore,
  Effect.suspend(() => {
    const store = makeMemory()
    return Effect.as(keepLeases(store), store)
  })
)

// a duration option of the store: finite, positive, and one a timer can hold
const syncDuration = (field: string, input: Duration.DurationInput): number => {
  const millis = Duration.toMillis(optionDuration("BulkheadStore", field, input))
  if (!(millis > 0 && millis <= maxTimerMillis)) {
    throw new RangeError(
      `BulkheadStore: ${field} (${String(millis)} ms) must be a positive duration a timer can hold (2^31 − 1 ms)`
    )
  }
  return millis
}

/**
 * A queued call of this process. Only the first of them asks the store (every `pollInterval`, jittered, or at once
 * when a permit of this process is released): the others wait their turn, so a process polls once per key. A node
 * of a doubly linked list, as `Bulkhead`'s queue: a caller that leaves (interrupted, timed out) is unlinked at once,
 * wherever it stands.
 */
interface Waiter extends Linked<Waiter> {
  wake: Deferred.Deferred<void> | undefined
  /** Woken while it was not waiting (asking the store, or on its way to wait): its next wait ends at once. */
  woken: boolean
  /** In the queue (it has not left yet). */
  queued: boolean
}

/** @internal */
export const make = (options: B.Options & BS.SyncOptions): Effect.Effect<B.Bulkhead, never, BulkheadStore> =>
  Effect.flatMap(BulkheadStore, (store) =>
    Effect.flatMap(
      // the local bulkhead validates the options, and decides alone while the store cannot answer
      bulkhead.make(options),
      (local) =>
        Effect.flatMap(keeperOf(store), (keeper) => Effect.sync(() => unsafeMakeShared(store, local, options, keeper)))
    ))

const unsafeMakeShared = (
  store: BS.BulkheadStore.Service,
  local: B.Bulkhead,
  options: B.Options & BS.SyncOptions,
  madeWith: Keeper
): B.Bulkhead => {
  checkOptions("BulkheadStore", options)
  const sync = { ...store.sync, ...definedOf(options) }
  const leaseMillis = syncDuration("lease", sync.lease ?? defaults.lease)
  const timeout = Duration.millis(syncDuration("timeout", sync.timeout ?? defaults.timeout))
  const pollMillis = syncDuration("pollInterval", sync.pollInterval ?? defaults.pollInterval)
  const maxConcurrent = options.maxConcurrent
  // no limit: nothing to share
  if (maxConcurrent === Number.POSITIVE_INFINITY) return local
  const key = local.key
  const maxQueued = options.maxQueued ?? 0
  const maxWaitMillis = options.maxWait === undefined
    ? Number.POSITIVE_INFINITY
    : Duration.toMillis(optionDuration("Bulkhead", "maxWait", options.maxWait))
  const health = makeHealth("bulkhead", timeout)
  // a synchronous store (the memory store) answers before any timer could fire: no race against one; while it
  // answers, an uncontended call runs its operations in place (see `shared`)
  const inPlace = synchronous.get(store)
  const run = inPlace !== undefined ? health.runSync : health.run
  const full = new bulkhead.BulkheadRejected({ key, reason: "Full" })
  const timedOut = new bulkhead.BulkheadRejected({ key, reason: "Timeout" })

  // this process's permits of the fleet, renewed together every `lease / 3` by the store's keeper while any is held
  const held = new Set<string>()
  const id = globalThis.crypto.randomUUID()
  let counter = 0
  // Names of permits given back in place, for the next calls in place: the store and `held` have both dropped them,
  // so a name is never held twice. A new name cost a call as much as the rest of its work in the store: a fresh
  // string is flattened and hashed in both tables. A few are kept (as many as calls that overlap, up to `maxSpare`).
  const spare: Array<string> = []
  let keeper = madeWith
  // whole milliseconds (the keeper sleeps in them), never more than a third of the lease
  const periodMillis = Math.max(1, Math.floor(leaseMillis / 3))
  keeper.tickMillis = Math.min(keeper.tickMillis, periodMillis)
  // queued callers of this process, first in first out: the first asks the store, the others wait their turn
  const waiting = new LinkedQueue<Waiter>()
  let queuedHere = 0
  const enqueue = (waiter: Waiter): void => {
    waiting.push(waiter)
    waiter.queued = true
    queuedHere++
  }
  // while the store is down: when a call may ask it again
  let recheckAt = Number.NEGATIVE_INFINITY

  // The fleet's answer for `permit`, or `None` when the store failed, timed out, or is known to be down (then the
  // call decides locally). A permit whose acquisition timed out may still be granted later: it is given back then,
  // after the acquisition on the same connection, so it never holds a fleet slot for a whole lease.
  const tryAcquire = (permit: string): Effect.Effect<Option.Option<boolean>> =>
    Effect.clockWith((clock) =>
      Effect.suspend(() => {
        const now = clock.unsafeCurrentTimeMillis()
        if (health.degraded() && now < recheckAt) return Effect.succeed(Option.none())
        return Effect.tap(run(store.acquire({ key, permit, limit: maxConcurrent, leaseMillis, now })), (result) =>
          Option.isSome(result) ? Effect.void : acquireFailed(clock, permit))
      })
    )

  // the store failed to answer an acquisition: calls decide locally for a while, and the permit is given back
  const acquireFailed = (clock: Clock.Clock, permit: string): Effect.Effect<void> => {
    recheckAt = clock.unsafeCurrentTimeMillis() + recheckMillis
    return forget(permit)
  }

  // gives back a permit that may or may not have been granted, without waiting (the call goes on locally); forked
  // in the call's mask, so interruptible on purpose: the timeout must be able to end a store that never answers
  const forget = (permit: string): Effect.Effect<void> =>
    Effect.asVoid(forkDaemonInterruptible(Effect.ignore(Effect.timeout(store.release(key, permit), timeout))))

  // run by the keeper's fiber, every `lease / 3` while a permit is held
  const lessee: Lessee = {
    periodMillis,
    dueAt: 0,
    renew: Effect.clockWith((clock) =>
      Effect.suspend(() =>
        held.size === 0 ? Effect.void : Effect.asVoid(run(store.renew({
          key,
          permits: Array.from(held),
          leaseMillis,
          now: clock.unsafeCurrentTimeMillis()
        })))
      )
    )
  }

  // the first permit held: the keeper renews this bulkhead's permits from `lease / 3` on (and wakes if parked)
  const enlist: Effect.Effect<void> = Effect.clockWith((clock) =>
    Effect.suspend(() => {
      if (keeper.closed) {
        return Effect.flatMap(keeperOf(store), (next) => {
          keeper = next
          keeper.tickMillis = Math.min(keeper.tickMillis, periodMillis)
          return enlist
        })
      }
      join(clock.unsafeCurrentTimeMillis())
      return Effect.void
    })
  )
  const join = (now: number): void => {
    lessee.dueAt = now + periodMillis
    keeper.busy.add(lessee)
    const wake = keeper.wake
    if (wake !== undefined) {
      keeper.wake = undefined
      Deferred.unsafeDone(wake, Exit.void)
    }
  }

  // the first queued caller asks the store at once: a permit of this process came free
  const wakeFirst = (): void => {
    const first = waiting.first
    if (first === undefined) return
    first.woken = true
    if (first.wake !== undefined) Deferred.unsafeDone(first.wake, Effect.void)
  }

  // While a call of this process waits, a store that can tell (Redis's pub/sub) wakes the first of them when a permit
  // of the key is given back anywhere in the fleet; the poll stays, for the notices that never come. A notice of
  // this bulkhead's own release is ignored: `releaseFleet` has woken it already.
  let watching: Scope.CloseableScope | undefined
  const own = `${id}:`
  const onFleetRelease = (permit: string): void => {
    if (!permit.startsWith(own)) wakeFirst()
  }
  const watch = store.watch
  const watchOn: Effect.Effect<void> = watch === undefined ?
    Effect.void :
    Effect.suspend(() =>
      watching !== undefined ? Effect.void : Effect.flatMap(Scope.make(), (scope) =>
        Effect.suspend(() => {
          // another call started watching meanwhile, or nobody waits any more
          if (watching !== undefined || queuedHere === 0) return Scope.close(scope, Exit.void)
          watching = scope
          return Scope.extend(watch(key, onFleetRelease), scope)
        }))
    )
  // nobody of this process waits on the key: no subscription stays behind
  const watchOff: Effect.Effect<void> = Effect.suspend(() => {
    const scope = watching
    if (scope === undefined || queuedHere > 0) return Effect.void
    watching = undefined
    return Scope.close(scope, Exit.void)
  })

  // Gives the permit back to the fleet on every way out of the call. Its slot here is freed whatever the store
  // answers: a release that fails leaves the permit to expire with its lease (no renewal keeps it).
  const releaseFleet = (permit: string): Effect.Effect<void> =>
    Effect.suspend(() => {
      held.delete(permit)
      // no permit left: the keeper parks at its next tick, unless another bulkhead of the store holds one
      if (held.size === 0) keeper.busy.delete(lessee)
      return Effect.zipRight(run(store.release(key, permit)), Effect.sync(wakeFirst))
    })

  const holding = <A, E, R>(permit: string, use: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      held.add(permit)
      return Effect.zipRight(held.size === 1 ? enlist : Effect.void, Effect.onExit(use, () => releaseFleet(permit)))
    })

  // `releaseFleet` on the memory store, in place: `undefined` once done, or what is left to run when the store must
  // be told through `health` (it was down: its answer now reports it back up; or the release threw: it is down)
  const releaseInPlace = (sync: SyncStore, permit: string): Effect.Effect<void> | undefined => {
    if (health.degraded()) return releaseFleet(permit)
    held.delete(permit)
    if (held.size === 0) keeper.busy.delete(lessee)
    try {
      sync.release(key, permit)
    } catch (error) {
      return Effect.zipRight(health.runSync(Effect.die(error)), Effect.sync(wakeFirst))
    }
    if (spare.length < maxSpare) spare.push(permit)
    wakeFirst()
    return undefined
  }

  // `holding` on the memory store, the permit already counted in `held`: inside the call's mask, so the permit goes
  // back on every way out (interruption included) without `onExit`'s own mask
  const holdingInPlace = <A, E, R>(
    sync: SyncStore,
    permit: string,
    use: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E, R> =>
    Effect.matchCauseEffect(use, {
      onFailure: (cause) => {
        const rest = releaseInPlace(sync, permit)
        return rest === undefined ? Effect.failCause(cause) : Effect.zipRight(rest, Effect.failCause(cause))
      },
      onSuccess: (value) => {
        const rest = releaseInPlace(sync, permit)
        return rest === undefined ? Effect.succeed(value) : Effect.as(rest, value)
      }
    })

  // waits `millis` (or until woken); the timer is a daemon ended on every way out, so an uninterruptible caller (the
  // `acquire` of `acquireRelease`) still wakes on time
  const pause = (waiter: Waiter, millis: number): Effect.Effect<void> =>
    Effect.fiberIdWith((fiberId) => {
      // woken before it began to wait: a wake-up is never lost
      if (waiter.woken) {
        waiter.woken = false
        return Effect.void
      }
      const wake = Deferred.unsafeMake<void>(fiberId)
      waiter.wake = wake
      const woken = Effect.sync(() => {
        waiter.woken = false
        waiter.wake = undefined
      })
      if (!Number.isFinite(millis)) return Effect.zipRight(Deferred.await(wake), woken)
      return Effect.zipRight(
        Effect.acquireUseRelease(
          forkDaemonInterruptible(
            Effect.zipRight(Effect.sleep(Duration.millis(millis)), Deferred.succeed(wake, undefined))
          ),
          () => Deferred.await(wake),
          (timer) => Effect.fiberIdWith((id) => Fiber.interruptAsFork(timer, id))
        ),
        woken
      )
    })

  // "Granted": the fleet granted `permit`; "Local": the store failed, the call goes to the local bulkhead
  const waitFor = (
    waiter: Waiter,
    permit: string,
    until: number
  ): Effect.Effect<"Granted" | "Local", B.BulkheadRejected> =>
    Effect.clockWith((clock) =>
      Effect.suspend(() => {
        const now = clock.unsafeCurrentTimeMillis()
        if (waiting.first !== waiter) {
          if (now >= until) return Effect.fail(timedOut)
          return Effect.zipRight(pause(waiter, until - now), waitFor(waiter, permit, until))
        }
        return Effect.flatMap(tryAcquire(permit), (result) => {
          if (Option.isNone(result)) return Effect.succeed("Local" as const)
          if (result.value) return Effect.succeed("Granted" as const)
          const after = clock.unsafeCurrentTimeMillis()
          if (after >= until) return Effect.fail(timedOut)
          return Effect.flatMap(Random.next, (draw) =>
            Effect.zipRight(
              // a jittered poll, so that the processes of a fleet do not ask in step
              // (whole milliseconds, so that the last pause ends at `until` exactly)
              pause(waiter, Math.min(Math.max(1, Math.round(pollMillis * (0.5 + draw))), until - after)),
              waitFor(waiter, permit, until)
            ))
        })
      })
    )

  let visits = 0
  const leave = (waiter: Waiter): void => {
    waiter.wake = undefined
    if (!waiter.queued) return
    visits++
    waiter.queued = false
    queuedHere--
    const wasFirst = waiting.first === waiter
    waiting.unlink(waiter)
    // the next in line asks at once: a permit may be free
    if (wasFirst) wakeFirst()
  }

  // queued: at most `maxWait`, and never past a deadline no timer enforces (as `Bulkhead`)
  const queue = (permit: string): Effect.Effect<"Granted" | "Local", B.BulkheadRejected> =>
    Effect.flatMap(FiberRef.get(deadline.currentRef), (current) =>
      Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        const left = current.armed ? Number.POSITIVE_INFINITY : current.at - now
        const until = now + Math.max(0, Math.ceil(Math.min(maxWaitMillis, left)))
        const waiter: Waiter = { wake: undefined, woken: false, queued: false, prev: undefined, next: undefined }
        enqueue(waiter)
        return Effect.zipRight(watchOn, waitFor(waiter, permit, until)).pipe(
          Effect.onExit((exit) =>
            Effect.suspend(() => {
              leave(waiter)
              // interrupted (or timed out) while an acquisition may have been under way: give the permit back
              return Effect.zipRight(watchOff, exit._tag === "Failure" ? forget(permit) : Effect.void)
            })
          )
        )
      }))

  const notGranted = Option.some(false)

  // the call, in the mask `run` opens: asks the store, then runs `self` holding a fleet permit, queues, is turned
  // away, or goes to the local bulkhead
  const shared = <A, E, R>(
    clock: Clock.Clock,
    restore: <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>,
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | B.BulkheadRejected, R> => {
    // The memory store, answering, and nobody of this process waiting: its acquisition, the keeper's bookkeeping and
    // its release run here, in the mask, with no Effect step of their own (an uncontended call costs about what
    // `Bulkhead`'s does). Nothing waits here, so no interruption can come between the grant and `holdingInPlace`.
    if (inPlace !== undefined && queuedHere === 0 && !health.degraded()) {
      const permit = spare.pop() ?? `${id}:${counter++}`
      const now = clock.unsafeCurrentTimeMillis()
      let granted: boolean
      try {
        granted = inPlace.acquire({ key, permit, limit: maxConcurrent, leaseMillis, now })
      } catch (error) {
        // as the store's Effect failing: reported, and the call goes to the local bulkhead
        return Effect.zipRight(
          Effect.zipRight(health.runSync(Effect.die(error)), acquireFailed(clock, permit)),
          restore(local.run(self))
        )
      }
      if (!granted) return decide(permit, notGranted, restore, self)
      held.add(permit)
      const use = holdingInPlace(inPlace, permit, restore(self))
      if (held.size > 1) return use
      // the first permit held: the keeper renews this bulkhead's permits (a keeper whose scope closed is replaced)
      if (keeper.closed) return Effect.zipRight(enlist, use)
      join(now)
      return use
    }
    const permit = `${id}:${counter++}`
    // queued callers of this process go first: a newcomer asks the store only when none waits
    const first: Effect.Effect<Option.Option<boolean>> = queuedHere === 0
      // an interruption while the store decides (its operation is interruptible): the permit may have been granted
      ? Effect.onInterrupt(tryAcquire(permit), () => forget(permit))
      : Effect.succeed(notGranted)
    return Effect.flatMap(first, (result) => decide(permit, result, restore, self))
  }

  const decide = <A, E, R>(
    permit: string,
    result: Option.Option<boolean>,
    restore: <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>,
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | B.BulkheadRejected, R> => {
    if (Option.isNone(result)) return restore(local.run(self))
    if (result.value) return holding(permit, restore(self))
    if (queuedHere >= maxQueued) return Effect.fail(full)
    return Effect.flatMap(
      restore(queue(permit)),
      (outcome) => outcome === "Granted" ? holding(permit, restore(self)) : restore(local.run(self))
    )
  }

  const bulkheadOfFleet: B.Bulkhead = {
    key,
    run: <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | B.BulkheadRejected, R> =>
      Effect.clockWith((clock) =>
        // known to be down: the local bulkhead decides, with no wait on the store
        health.degraded() && clock.unsafeCurrentTimeMillis() < recheckAt
          ? local.run(self)
          // the mask's body runs each time the effect runs: no `suspend` of its own
          : Effect.uninterruptibleMask((restore) => shared(clock, restore, self))
      ),
    snapshot: Effect.map(local.snapshot, (load) => ({
      active: load.active + held.size,
      queued: load.queued + queuedHere
    }))
  }
  queueVisits.set(bulkheadOfFleet, () => visits)
  permitNames.set(bulkheadOfFleet, () => counter)
  return bulkheadOfFleet
}

// the sync options the caller set (an unset one keeps the store's)
const definedOf = (options: BS.SyncOptions): BS.SyncOptions => {
  const out: { -readonly [K in keyof BS.SyncOptions]: BS.SyncOptions[K] } = {}
  if (options.lease !== undefined) out.lease = options.lease
  if (options.timeout !== undefined) out.timeout = options.timeout
  if (options.pollInterval !== undefined) out.pollInterval = options.pollInterval
  return out
}
