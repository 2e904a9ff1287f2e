import * as ExperimentalRateLimiter from "@effect/experimental/RateLimiter"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as RL from "../RateLimit.js"
import * as deadline from "./deadline.js"
import { type Linked, LinkedQueue } from "./linkedQueue.js"
import { checkOptions } from "./options.js"
import { checkNonNegative, maxTimerMillis, shieldedFromCaller, sleepMillis } from "./timer.js"

/** @internal */
export class RateLimitExceeded
  extends Schema.TaggedError<RateLimitExceeded>("@sturdy/policy/RateLimit/RateLimitExceeded")("RateLimitExceeded", {
    key: Schema.String,
    reason: Schema.Literal("Limit", "Paused"),
    retryAfter: Schema.DurationFromMillis
  })
{
  override get message(): string {
    return this.reason === "Paused"
      ? `rate limit ${this.key} is paused by the server; retry after ${Duration.format(this.retryAfter)}`
      : `rate limit ${this.key} exceeded; retry after ${Duration.format(this.retryAfter)}`
  }
}

/** @internal */
export class RateLimitStoreError
  extends Schema.TaggedError<RateLimitStoreError>("@sturdy/policy/RateLimit/RateLimitStoreError")(
    "RateLimitStoreError",
    {
      key: Schema.String,
      cause: Schema.optional(Schema.Defect)
    }
  )
{
  // the cause (e.g. a Redis connection error) may name hosts or credentials: keep it out of the message
  override get message(): string {
    return `rate limit store failed for ${this.key}`
  }
}

// A limit below 1 could grant no call at all, and a fractional one cannot split the window into refill intervals of
// whole nanoseconds (Effect's Duration would throw, naming nothing); a window of no length (or no end) gives no rate.
const check = (options: RL.Options): void => {
  checkOptions("RateLimit", options)
  if (!(Number.isInteger(options.limit) && options.limit >= 1)) {
    throw new RangeError(`RateLimit: limit (${String(options.limit)}) must be an integer of at least 1`)
  }
  const window = Duration.decodeUnknown(options.window)
  if (Option.isNone(window) || !Duration.isFinite(window.value) || Duration.toMillis(window.value) <= 0) {
    throw new RangeError("RateLimit: window must be a finite, positive duration")
  }
  // the refill interval is the window divided by the limit in whole nanoseconds: more calls than the window has
  // nanoseconds would make it zero, and a refill interval of zero refills at once, so that nothing is limited
  if (Duration.toMillis(window.value) * 1_000_000 < options.limit) {
    throw new RangeError(
      `RateLimit: limit (${options.limit}) must not exceed the window's nanoseconds (${Duration.format(window.value)})`
    )
  }
  if (options.maxWait !== undefined && Option.isNone(Duration.decodeUnknown(options.maxWait))) {
    throw new RangeError("RateLimit: maxWait is not a duration")
  }
  checkNonNegative("RateLimit", "maxWait", options.maxWait)
  // a typo ("Token-Bucket") would be read as a fixed window here and as a token bucket by the store: two algorithms
  // at once, neither the one asked for
  const algorithm: unknown = options.algorithm
  if (algorithm !== undefined && algorithm !== "token-bucket" && algorithm !== "fixed-window") {
    throw new RangeError(
      `RateLimit: algorithm (${
        typeof algorithm === "string" ? JSON.stringify(algorithm) : typeof algorithm
      }) must be "token-bucket" or "fixed-window"`
    )
  }
  // 0 or NaN would forget every server pause at once, or never forget one
  const maxPausedKeys = options.maxPausedKeys
  if (maxPausedKeys !== undefined && !(Number.isInteger(maxPausedKeys) && maxPausedKeys >= 1)) {
    throw new RangeError(`RateLimit: maxPausedKeys (${String(maxPausedKeys)}) must be an integer of at least 1`)
  }
}

// A server pause's end, in the heap of `make`'s `ends`.
interface PauseEnd {
  readonly key: string
  readonly until: number
}

const pushEnd = (heap: Array<PauseEnd>, end: PauseEnd): void => {
  let i = heap.push(end) - 1
  while (i > 0) {
    const parent = (i - 1) >> 1
    if (heap[parent]!.until <= end.until) break
    heap[i] = heap[parent]!
    i = parent
  }
  heap[i] = end
}

const popEnd = (heap: Array<PauseEnd>): PauseEnd => {
  const top = heap[0]!
  const last = heap.pop()!
  if (heap.length === 0) return top
  let i = 0
  for (;;) {
    const left = 2 * i + 1
    if (left >= heap.length) break
    const right = left + 1
    const child = right < heap.length && heap[right]!.until < heap[left]!.until ? right : left
    if (heap[child]!.until >= last.until) break
    heap[i] = heap[child]!
    i = child
  }
  heap[i] = last
  return top
}

/**
 * What a limiter of {@link make} has done with its server pauses, for the tests: `visits`, how many pauses it has
 * looked at to keep at most `maxPausedKeys` of them; `ends`, how many pause ends it holds; `turns`, how many times a
 * caller held in a pause line has looked for its turn (once when its wait ends, again each time it is woken).
 * @internal
 */
export interface PauseStats {
  readonly visits: number
  readonly ends: number
  readonly turns: number
}

// (no public API: `pauseStatsOf`)
const pauseStats = new WeakMap<RL.RateLimiter, () => PauseStats>()

/**
 * The {@link PauseStats} of a limiter of {@link make} (`undefined` for any other limiter): for the tests.
 * @internal
 */
export const pauseStatsOf = (limiter: RL.RateLimiter): PauseStats | undefined => pauseStats.get(limiter)?.()

// (a window too long to count in nanoseconds, as `Number.MAX_VALUE` ms, keeps its milliseconds: no rounding matters)
const toNanos = (window: Duration.Duration): Duration.Duration =>
  Number.isFinite(Duration.toMillis(window) * 1_000_000) ? Duration.nanos(Duration.unsafeToNanos(window)) : window

/** @internal */
export const make = (
  options: RL.Options
): Effect.Effect<RL.RateLimiter, never, ExperimentalRateLimiter.RateLimiterStore> =>
  Effect.gen(function*() {
    check(options)
    const store = yield* ExperimentalRateLimiter.RateLimiterStore
    const limiter = yield* ExperimentalRateLimiter.make
    const algorithm = options.algorithm ?? "token-bucket"
    const onExceeded = options.onExceeded ?? "delay"
    // The window in nanoseconds: the limiter divides it by the limit into its refill interval, and a count of
    // nanoseconds divides rounding down (1 s / 7 is 142,857,142 ns), so that `limit` intervals never outlast the
    // window. A window in milliseconds is divided to the nearest nanosecond, sometimes up (142,857,143 ns), and a full
    // window of calls then came back 1 ms after the window had ended.
    const window = toNanos(Duration.decode(options.window))
    const refillRate = Duration.unsafeDivide(window, options.limit)
    const maxWaitMillis = options.maxWait === undefined
      ? Number.POSITIVE_INFINITY
      : Duration.toMillis(Duration.decode(options.maxWait))
    const maxPauses = options.maxPausedKeys ?? 10_000
    // key -> epoch millis until which every caller of the key waits (server hints such as Retry-After)
    const pauses = new Map<string, number>()
    // The ends of the pauses, earliest first (a binary heap), so that going over `maxPauses` drops the ended pauses
    // without a pass over every pause held: with the bound full of pauses still running (a thousand tenants told to
    // wait an hour), each new one cost a look at all of them. An end whose pause has been extended or dropped since is
    // skipped when it comes up; there are never more of those than twice the pauses held (then the heap is rebuilt).
    const ends: Array<PauseEnd> = []
    let visits = 0
    let turns = 0
    const dropEnded = (now: number): void => {
      while (ends.length > 0 && ends[0]!.until <= now) {
        visits++
        const end = popEnd(ends)
        if (pauses.get(end.key) === end.until) pauses.delete(end.key)
      }
    }
    const rebuildEnds = (): void => {
      ends.length = 0
      for (const [key, until] of pauses) {
        visits++
        if (!Number.isNaN(until)) pushEnd(ends, { key, until })
      }
    }

    const pausedFor = (key: string, now: number): number => {
      const until = pauses.get(key)
      if (until === undefined) return 0
      if (until <= now) {
        pauses.delete(key)
        return 0
      }
      return until - now
    }

    const pauseUntil = (key: string, epochMillis: number): Effect.Effect<void> =>
      Effect.clockWith((clock) =>
        Effect.sync(() => {
          const now = clock.unsafeCurrentTimeMillis()
          if (epochMillis <= now) return
          // a later hint extends the pause, an earlier one never shortens it
          const known = pauses.get(key)
          const until = Math.max(epochMillis, known ?? 0)
          pauses.set(key, until)
          // (a pause with no end, NaN, never ends: only the bound drops it)
          if (until !== known && !Number.isNaN(until)) pushEnd(ends, { key, until })
          if (pauses.size > maxPauses) {
            dropEnded(now)
            // still too many live pauses: drop the oldest entries (insertion order)
            for (const k of pauses.keys()) {
              visits++
              if (pauses.size <= maxPauses) break
              pauses.delete(k)
            }
          }
          if (ends.length > 2 * pauses.size + 16) rebuildEnds()
        })
      )

    const windowMillis = Duration.toMillis(window)
    const refillMillis = Duration.toMillis(refillRate)
    const slack = slackMillis(refillMillis)

    const toError = (key: string) => (error: ExperimentalRateLimiter.RateLimiterError) =>
      error.reason === "Exceeded"
        ? new RateLimitExceeded({ key, reason: "Limit", retryAfter: refusedFor(error.retryAfter, slack) }, true)
        : new RateLimitStoreError({ key, cause: error.cause }, true)

    // The callers of this limiter waiting for their reserved slot, by key. A slot is a place in the key's line of
    // reservations (its tokens' turn in a bucket, its count in a window), and its time follows from the places taken
    // before it. A caller that leaves the line before its time hands its tokens back to the store (`refund`), which
    // frees the slots at the END of the line: so every caller behind it here moves up by those tokens, as if the
    // tokens had never been taken. Otherwise the next caller would take the freed slot at the end of the line, at the
    // same time as the caller already waiting there, and the key would get more calls at once than its limit (two at
    // 2 s for a limit of 1 a second, with the slot at 1 s left unused). Callers of another process (a shared store)
    // are not moved: the line is kept exact in this process.
    const waiting = new Map<string, Set<Waiter>>()

    // The callers of this limiter held by a server pause on a key, in the order they asked: when the pause ends they
    // reserve their slots in that order, each once every caller ahead of it has reserved or left (their timers, all
    // due at the pause's end, fire in no set order: a caller whose wait a later hint extended re-arms its timer after
    // one that asked meanwhile). A newcomer joins the end while any is left, so none reserves ahead of them.
    // A caller whose wait for the pause is over but not its turn sleeps (`waiting`) until the caller at the head leaves
    // with it next in line: a departure wakes one caller, and one leaving from the middle none (each used to wait for
    // the head and all woke whenever it left, so n callers cost n²/2 wake-ups; an array cost a search to leave).
    // While a pause holds the key, the head that leaves wakes every sleeper instead, so that each checks the pause
    // again then, as it did when all waited for the head: one whose deadline or `maxWait` the pause outlasts fails
    // then, not once the callers ahead of it have gone (rare: a pause set or extended while the line drains).
    const pauseLines = new Map<string, PauseLine>()

    const leaveLine = (key: string, node: InLine, now: number): void => {
      const line = pauseLines.get(key)
      if (!node.inLine || line === undefined) return
      node.inLine = false
      const wasHead = line.queue.first === node
      line.waiting.delete(node)
      line.queue.unlink(node)
      const head = line.queue.first
      if (head === undefined) {
        pauseLines.delete(key)
      } else if (wasHead) {
        if (pausedFor(key, now) > 0) {
          for (const sleeper of line.waiting) Deferred.unsafeDone(sleeper.wake!, Exit.void)
          line.waiting.clear()
        } else if (line.waiting.delete(head)) {
          Deferred.unsafeDone(head.wake!, Exit.void)
        }
      }
    }

    // Moves the callers behind `left` (which gave back `tokens`) up by those tokens. (A pass over the line and a wake-up
    // for each caller behind: each one's start changes and its timer must be set again. A shared offset would not do:
    // in a fixed window the move of each depends on the window boundaries its own place crosses.)
    const moveUp = (key: string, left: Waiter, tokens: number, now: number): void => {
      const line = waiting.get(key)
      if (line === undefined || !line.delete(left)) return
      if (line.size === 0) waiting.delete(key)
      for (const w of line) {
        if (w.place <= left.place) continue
        if (algorithm === "token-bucket") {
          w.place -= tokens * refillMillis
          w.due = Math.max(now, Math.ceil(w.place - slack))
        } else {
          // a window's callers start when it does: the window of the caller's last token, counted from the first
          const windows = Math.floor((w.place - 1) / options.limit) - Math.floor((w.place - tokens - 1) / options.limit)
          w.place -= tokens
          w.due = Math.max(now, w.due - windows * windowMillis)
        }
        if (w.moved !== undefined) Deferred.unsafeDone(w.moved, Exit.void)
      }
    }

    // Sleeps until the caller's slot is due, however often it moves up meanwhile; it then leaves the line.
    const untilDue = (key: string, w: Waiter, clock: Clock.Clock): Effect.Effect<void> =>
      Effect.suspend(() => {
        const left = w.due - clock.unsafeCurrentTimeMillis()
        if (left <= 0) {
          const line = waiting.get(key)
          if (line !== undefined && line.delete(w) && line.size === 0) waiting.delete(key)
          return Effect.void
        }
        const moved = Deferred.unsafeMake<void>(FiberId.none)
        w.moved = moved
        return Effect.zipRight(
          // (a wait in a long window can be longer than one timer holds: the loop sleeps the rest). Both sides
          // interruptible: under a caller's mask the loser would ignore the race's interruption, and the race waits
          // for it (a `moved` that never comes: for ever). Under a mask the race runs in a fiber of its own
          // (`shieldedFromCaller`): an interruption from outside, which the caller holds off, would reach the race's
          // fibers and end the wait early
          shieldedFromCaller(Effect.raceFirst(
            Effect.interruptible(Effect.sleep(Duration.millis(Math.min(left, maxTimerMillis)))),
            Effect.interruptible(Deferred.await(moved))
          )),
          untilDue(key, w, clock)
        )
      })

    // a caller interrupted while waiting for its reserved slot hands the slot back, so no token is lost
    const refund = (key: string, tokens: number): Effect.Effect<void> =>
      Effect.ignore(
        algorithm === "token-bucket"
          ? Effect.asVoid(
            store.tokenBucket({ key, tokens: -tokens, limit: options.limit, refillRate, allowOverflow: true })
          )
          : Effect.asVoid(store.fixedWindow({ key, tokens: -tokens, refillRate, limit: undefined }))
      )

    // The store would take a request for more tokens than `limit` as no request at all (it waits one window and goes
    // through, or promises a `retryAfter` that never comes): such a request can never be granted, so it is a defect.
    const checkTokens = (tokens: number): RangeError | undefined =>
      Number.isInteger(tokens) && tokens >= 1 && tokens <= options.limit
        ? undefined
        : new RangeError(`RateLimit: tokens (${tokens}) must be an integer from 1 to the limit (${options.limit})`)

    const consumeOrFail = (key: string, tokens: number): Effect.Effect<void, RateLimitExceeded | RateLimitStoreError> =>
      Effect.clockWith((clock) => {
        const remaining = pausedFor(key, clock.unsafeCurrentTimeMillis())
        return remaining > 0
          ? Effect.fail(new RateLimitExceeded({ key, reason: "Paused", retryAfter: Duration.millis(remaining) }, true))
          : Effect.asVoid(Effect.mapError(
            limiter.consume({ algorithm, onExceeded: "fail", window, limit: options.limit, key, tokens }),
            toError(key)
          ))
      })

    // Mode "delay". A caller waits for a server pause and for its slot, but only as long as it may: no longer than
    // `maxWait`, and never until the deadline in force (armed or only established) or past it. A wait that does not
    // fit fails at once with `RateLimitExceeded`, its `retryAfter` the wait, and a reserved slot is given back (as
    // resilience4j's `timeoutDuration`): the caller learns now what waiting would only tell it later.
    const consumeOrWait = (key: string, tokens: number): Effect.Effect<void, RateLimitExceeded | RateLimitStoreError> =>
      Effect.withFiberRuntime((fiber) => {
        const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
        const deadlineAt = fiber.getFiberRef(deadline.currentRef).at
        const latest = clock.unsafeCurrentTimeMillis() + maxWaitMillis
        const fits = (startAt: number): boolean => startAt <= latest && startAt < deadlineAt

        // Waits out a server pause on `key` that ends in time; the rejection for one that does not.
        const waitPause: Effect.Effect<RateLimitExceeded | undefined> = Effect.suspend(() => {
          const now = clock.unsafeCurrentTimeMillis()
          const remaining = pausedFor(key, now)
          if (remaining === 0) return Effect.succeed(undefined)
          if (!fits(now + remaining)) {
            return Effect.succeed(
              new RateLimitExceeded({ key, reason: "Paused", retryAfter: Duration.millis(remaining) }, true)
            )
          }
          return Effect.zipRight(sleepMillis(remaining), waitPause)
        })

        // Reserves the caller's slot; `reserved` runs as soon as the store has answered, before any wait for the slot.
        const reserveThen = (reserved: Effect.Effect<void>) =>
          Effect.uninterruptibleMask((restore) =>
            Effect.flatMap(
              Effect.mapError(
                limiter.consume({ algorithm, onExceeded: "delay", window, limit: options.limit, key, tokens }),
                toError(key)
              ),
              (consumed): Effect.Effect<void, RateLimitExceeded> =>
                Effect.zipRight(reserved, afterReserve(restore, consumed))
            )
          )

        const afterReserve = (
          restore: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
          consumed: ExperimentalRateLimiter.ConsumeResult
        ): Effect.Effect<void, RateLimitExceeded> => {
          const result = Duration.isZero(consumed.delay)
            ? consumed
            : { delay: wholeMillisUp(consumed.delay, slack) }
          const wait = Duration.toMillis(result.delay)
          if (wait > 0 && !fits(clock.unsafeCurrentTimeMillis() + wait)) {
            const rejected = new RateLimitExceeded({ key, reason: "Limit", retryAfter: result.delay }, true)
            return Effect.zipRight(refund(key, tokens), Effect.fail(rejected))
          }
          if (wait === 0) {
            return Effect.flatMap(
              Effect.onInterrupt(restore(waitPause), () => refund(key, tokens)),
              (rejected) =>
                rejected === undefined ? Effect.void : Effect.zipRight(refund(key, tokens), Effect.fail(rejected))
            )
          }
          // the caller joins the key's line; one ahead of it that leaves moves it up (see `moveUp`)
          const now = clock.unsafeCurrentTimeMillis()
          const waiter: Waiter = {
            place: algorithm === "token-bucket"
              ? now + Duration.toMillis(consumed.delay)
              : options.limit - consumed.remaining,
            due: now + wait,
            moved: undefined
          }
          let line = waiting.get(key)
          if (line === undefined) waiting.set(key, line = new Set())
          line.add(waiter)
          // a pause that arrived while this caller waited for its slot holds it too
          const waited = Effect.zipRight(untilDue(key, waiter, clock), waitPause)
          return Effect.flatMap(
            Effect.onInterrupt(
              restore(waited),
              () =>
                Effect.zipRight(
                  Effect.sync(() => moveUp(key, waiter, tokens, clock.unsafeCurrentTimeMillis())),
                  refund(key, tokens)
                )
            ),
            (rejected) =>
              rejected === undefined ? Effect.void : Effect.zipRight(refund(key, tokens), Effect.fail(rejected))
          )
        }

        if (!pauseLines.has(key) && pausedFor(key, clock.unsafeCurrentTimeMillis()) === 0) {
          return reserveThen(Effect.void)
        }
        // a pause holds the key, or callers it held are still to reserve: wait in line (see `pauseLines`)
        const me: InLine = { prev: undefined, next: undefined, inLine: true, wake: undefined }
        const leave = Effect.sync(() => leaveLine(key, me, clock.unsafeCurrentTimeMillis()))
        // the pause waited out (again, if it was extended meanwhile) and every caller ahead gone: its turn
        const turn: Effect.Effect<RateLimitExceeded | undefined> = Effect.flatMap(waitPause, (rejected) => {
          turns++
          if (rejected !== undefined) return Effect.succeed(rejected)
          const line = pauseLines.get(key)
          if (line === undefined || line.queue.first === me) return Effect.succeed(undefined)
          const wake = Deferred.unsafeMake<void>(FiberId.none)
          me.wake = wake
          line.waiting.add(me)
          return Effect.zipRight(Deferred.await(wake), turn)
        })
        // (joined and left in one uninterruptible region: an interruption cannot leave it in the line)
        return Effect.uninterruptibleMask((restore) => {
          let line = pauseLines.get(key)
          if (line === undefined) pauseLines.set(key, line = { queue: new LinkedQueue(), waiting: new Set() })
          line.queue.push(me)
          return Effect.ensuring(
            restore(
              Effect.flatMap(turn, (rejected) => rejected === undefined ? reserveThen(leave) : Effect.fail(rejected))
            ),
            leave
          )
        })
      })

    const consume = (key: string, tokens = 1): Effect.Effect<void, RateLimitExceeded | RateLimitStoreError> => {
      const invalid = checkTokens(tokens)
      if (invalid !== undefined) return Effect.die(invalid)
      return onExceeded === "fail" ? consumeOrFail(key, tokens) : consumeOrWait(key, tokens)
    }

    const rateLimiter: RL.RateLimiter = {
      consume,
      run: (key, tokens) => (self) => Effect.zipRight(consume(key, tokens), self),
      pauseUntil,
      pauseFor: (key, duration) =>
        Effect.clockWith((clock) =>
          pauseUntil(key, clock.unsafeCurrentTimeMillis() + Duration.toMillis(Duration.decode(duration)))
        ),
      pausedFor: (key) =>
        Effect.clockWith((clock) => Effect.sync(() => Duration.millis(pausedFor(key, clock.unsafeCurrentTimeMillis()))))
    }
    pauseStats.set(rateLimiter, () => ({ visits, ends: ends.length, turns }))
    return rateLimiter
  })

// A caller of mode "delay" in a key's line of callers held by a server pause (see `pauseLines` in `make`): `inLine`
// until it leaves, `wake` the signal of its latest sleep until its turn.
interface InLine extends Linked<InLine> {
  inLine: boolean
  wake: Deferred.Deferred<void> | undefined
}

// A key's line of callers held by a server pause, and those of them asleep until the caller ahead of them leaves.
interface PauseLine {
  readonly queue: LinkedQueue<InLine>
  readonly waiting: Set<InLine>
}

// A caller of mode "delay" waiting for its slot: `place` is its place in the key's line (in a token bucket, the exact
// Clock time its last token is due; in a fixed window, its count once its tokens were taken), `due` the Clock time it
// starts (whole milliseconds), `moved` the signal that wakes it when `due` moved up.
interface Waiter {
  place: number
  due: number
  moved: Deferred.Deferred<void> | undefined
}

/** @internal */
export const withRateLimit = dual<
  (
    limiter: RL.RateLimiter,
    key: string
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RateLimitExceeded | RateLimitStoreError, R>,
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    limiter: RL.RateLimiter,
    key: string
  ) => Effect.Effect<A, E | RateLimitExceeded | RateLimitStoreError, R>
>(3, (self, limiter, key) => limiter.run(key)(self))

/** @internal */
export const defaultMaxKeys = 10_000

/**
 * Entries of one kind of counter, least recently used first. `freeAt` is when the entry holds nothing an absent one
 * would not (a bucket full again, a window passed): from then on it can go. When a key is added, the entries free at
 * the front go (amortized: each was paid for when it was added), and beyond `maxKeys` the least recently used.
 */
class Entries<A extends { freeAt: number }> {
  readonly byKey = new Map<string, A>()
  constructor(readonly maxKeys: number) {}
  get(key: string): A | undefined {
    const entry = this.byKey.get(key)
    if (entry !== undefined) {
      this.byKey.delete(key)
      this.byKey.set(key, entry)
    }
    return entry
  }
  add(key: string, entry: A, now: number): void {
    const byKey = this.byKey
    byKey.set(key, entry)
    for (const [oldest, old] of byKey) {
      if (oldest === key || (old.freeAt > now && byKey.size <= this.maxKeys)) return
      byKey.delete(oldest)
    }
  }
}

/**
 * A token bucket's answer when it is short of tokens (`newTokenCount` < 0): the deficit less the part of the next token
 * already refilled (`elapsed` of `refillMillis` since the last whole token), so that `@effect/experimental`'s limiter,
 * which waits `refillRate × −answer`, waits until the token is due rather than a whole refill interval from now (up to
 * one interval too long: a limit of 1 per minute asked again 59 s after its call would wait another minute instead of
 * 1 s). The whole part is the store's usual answer, and the answer stays negative.
 * @internal
 */
export const deficitAnswer = (newTokenCount: number, elapsed: number, refillMillis: number): number =>
  newTokenCount + Math.min(Math.max(0, elapsed), refillMillis) / refillMillis * (1 - Number.EPSILON)

// The limiter's waits are `refillRate × deficit`, or a window's end less now: floating-point noise (999 ms of a 1 s
// interval leaves 1.0000000000000009 ms; at today's epoch a window's end carries up to 2.4e-4 ms) is dropped, and a
// wait is never shorter than the token needs (whole milliseconds, rounded up).
const wholeMillisUp = (wait: Duration.Duration, slack: number): Duration.Duration => {
  const millis = Duration.toMillis(wait)
  return Number.isFinite(millis) ? Duration.millis(Math.max(0, Math.ceil(millis - slack))) : wait
}

// A refused call's `retryAfter`: whole milliseconds, rounded up, and never zero. The store refused the call now, so
// the token is not there yet: floating-point noise in a refill mark (11 per second: the token due at 1000 ms read as
// due 1e-13 ms later) must not tell the caller to retry at once, where it would be refused again, told zero again.
const refusedFor = (wait: Duration.Duration, slack: number): Duration.Duration => {
  const millis = wholeMillisUp(wait, slack)
  return Duration.lessThan(millis, Duration.millis(1)) ? Duration.millis(1) : millis
}

// A refill interval is a whole number of nanoseconds in milliseconds, so the marks it makes carry floating-point
// error (at an epoch of 1.7e12 ms one ulp is 2.4e-4 ms): a mark within a microsecond of now counts as reached, so
// that a token or a window due at a millisecond is there at that millisecond, not at the next one (less than a
// microsecond for a refill interval of 2 µs or less: see `slackMillis`).
const dueSlackMillis = 1e-3

// The slack for a refill interval of `refillMillis`: a microsecond, but less than half the interval. A slack as long
// as the interval would count a token that is a whole interval away as due now: a limit of a million a second (one
// token a microsecond) then granted every call made at one instant, with no limit at all.
const slackMillis = (refillMillis: number): number => Math.min(dueSlackMillis, refillMillis / 2)

/**
 * `@effect/experimental`'s memory store, answer for answer, except that it forgets what no longer matters: a token
 * bucket once it is full again, a fixed window once it has passed (an absent key starts full, or with an empty
 * window, which is the same thing), and beyond `maxKeys` the key used least recently. Two differences: a bucket
 * full again restarts its refill from its next call, whether it was forgotten yet or not, as `RateLimitRedis`'s does
 * (theirs keeps the part of a next token refilled while it was full, so a burst after an idle spell came early: 2.5 s
 * instead of 3 s for 5 tokens of 1 per second, 0.5 s into an interval); and a bucket short of tokens
 * answers its deficit less the part of the next token already refilled (see `deficitAnswer`), as `RateLimitRedis`'s
 * does, so that a caller waits until its token is due.
 * @internal
 */
export const makeStoreMemory = (options?: RL.StoreMemoryOptions): ExperimentalRateLimiter.RateLimiterStore["Type"] => {
  checkOptions("RateLimit", options)
  const maxKeys = options?.maxKeys ?? defaultMaxKeys
  if (!(Number.isInteger(maxKeys) && maxKeys >= 1)) {
    throw new RangeError(`RateLimit: maxKeys (${String(maxKeys)}) must be an integer of at least 1`)
  }
  const fixedCounters = new Entries<{ count: number; start: number; expiresAt: number; freeAt: number }>(maxKeys)
  const tokenBuckets = new Entries<{ tokens: number; lastRefill: number; freeAt: number }>(maxKeys)
  return ExperimentalRateLimiter.RateLimiterStore.of({
    fixedWindow: (options) =>
      Effect.clockWith((clock) =>
        Effect.sync(() => {
          const refillRateMillis = Duration.toMillis(options.refillRate)
          const slack = slackMillis(refillRateMillis)
          const now = clock.unsafeCurrentTimeMillis()
          let counter = fixedCounters.get(options.key)
          if (counter === undefined) {
            counter = { count: 0, start: now, expiresAt: now, freeAt: now }
            fixedCounters.add(options.key, counter, now)
          } else if (counter.expiresAt <= now + slack) {
            counter.count = 0
            counter.start = now
            counter.expiresAt = now
          } else if (counter.expiresAt - now > counter.count * refillRateMillis + slack) {
            // the clock went back (a wall-clock step): the window ends when its calls are paid for from now, not
            // when the clock catches up with where it was
            counter.start = now
            counter.expiresAt = now + counter.count * refillRateMillis
            counter.freeAt = counter.expiresAt
          }
          if (options.limit && counter.count + options.tokens > options.limit) {
            return [counter.count + options.tokens, counter.expiresAt - now] as const
          }
          counter.count += options.tokens
          // from the window's start rather than added call by call, which would add up rounding errors
          counter.expiresAt = counter.start + refillRateMillis * counter.count
          counter.freeAt = counter.expiresAt
          return [counter.count, counter.expiresAt - now] as const
        })
      ),
    tokenBucket: (options) =>
      Effect.clockWith((clock) =>
        Effect.sync(() => {
          const refillRateMillis = Duration.toMillis(options.refillRate)
          const slack = slackMillis(refillRateMillis)
          const now = clock.unsafeCurrentTimeMillis()
          let bucket = tokenBuckets.get(options.key)
          if (bucket === undefined) {
            bucket = { tokens: options.limit, lastRefill: now, freeAt: now }
            tokenBuckets.add(options.key, bucket, now)
          } else {
            // the clock went back (a wall-clock step): refill from now, as x/time/rate does, rather than not at all
            // until the clock catches up with the last refill. A refill mark ahead of now by no more than the slack is
            // a token counted as due within the slack, not a step back: moving the mark back to now would count that
            // part of the next token twice.
            if (now < bucket.lastRefill - slack) bucket.lastRefill = now
            const elapsed = now - bucket.lastRefill
            const tokensToAdd = Math.floor((elapsed + slack) / refillRateMillis)
            if (bucket.tokens <= options.limit && bucket.tokens + tokensToAdd >= options.limit) {
              // full again: a full bucket refills nothing, so no part of a next token is under way; the refill
              // restarts from this call, as it does for a bucket dropped once full (whether or not it was dropped)
              bucket.tokens = options.limit
              bucket.lastRefill = now
            } else if (tokensToAdd > 0) {
              bucket.tokens = Math.min(options.limit, bucket.tokens + tokensToAdd)
              bucket.lastRefill += tokensToAdd * refillRateMillis
            }
          }
          const newTokenCount = bucket.tokens - options.tokens
          if (newTokenCount > options.limit) {
            // a refund past full: a caller whose slot passed while a server pause held it gives back a token the
            // bucket has refilled since. The bucket is full and never fuller (else a limit of one lets two calls
            // through at once); its refill restarts from now, as the Redis store's drop of an over-full bucket does
            bucket.tokens = options.limit
            bucket.lastRefill = now
          } else if (options.allowOverflow || newTokenCount >= 0) {
            bucket.tokens = newTokenCount
          }
          // full again once the tokens taken have been refilled
          bucket.freeAt = bucket.lastRefill + Math.max(0, options.limit - bucket.tokens) * refillRateMillis
          return newTokenCount < 0
            ? deficitAnswer(newTokenCount, now - bucket.lastRefill, refillRateMillis)
            : newTokenCount
        })
      )
  })
}

/** @internal */
export const layerStoreMemory: Layer.Layer<ExperimentalRateLimiter.RateLimiterStore> = Layer.sync(
  ExperimentalRateLimiter.RateLimiterStore,
  () => makeStoreMemory()
)
