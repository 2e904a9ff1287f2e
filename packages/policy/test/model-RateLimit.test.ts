/**
 * Model-based properties of `RateLimit` (packages/policy/src/RateLimit.ts), its two algorithms ("token-bucket" and
 * "fixed-window") in both modes ("fail" and "delay"), checked against a reference model written from the module docs,
 * and the parity of the memory store and `RateLimitRedis`'s store.
 *
 * The model counts in whole nanoseconds of virtual time (the TestClock, in milliseconds): the refill interval `r` is
 * the window in nanoseconds divided by `limit`, rounded down. Documented rules it encodes:
 * - token bucket: a key starts full (`limit` tokens); a token comes back every `r` after the refill under way; a
 *   bucket full again restarts its refill from its next call. A refused call's `retryAfter` (mode "fail"), or the
 *   wait (mode "delay"), is the time until the caller's last token is due, from the refill already under way, in
 *   whole milliseconds rounded up; a refused call's `retryAfter` is at least 1 ms;
 * - fixed window: a key's window starts at its first call; each granted call moves its end `r` further from that
 *   start; a call that would take the count past `limit` is refused until the end (`retryAfter`, rounded up, at least
 *   1 ms); at the end the next call starts a fresh window. In mode "delay" a caller's window is the one its last token
 *   falls in (`limit` tokens a window, counted from the first), and it starts when that window does: a full window of
 *   calls is granted again on the millisecond the window ends;
 * - mode "delay": callers of a key are served in the order they asked (a slot is reserved when a caller asks); a
 *   wait longer than `maxWait`, or that would end at or after the deadline (`Deadline.establish` around the call),
 *   fails at once with `RateLimitExceeded` "Limit" (`retryAfter` the wait) and gives the slot back; a caller interrupted while it waits gives its slot back, and the callers behind it move up into the
 *   time it frees (a newcomer takes the slot freed at the end of the line);
 * - a server pause (`pauseFor`): mode "fail" answers "Paused" with what is left of it; a later pause extends it, an
 *   earlier one never shortens it; `pausedFor` reads what is left. Mode "delay": a caller waits out a pause that ends
 *   within `maxWait` of when it asked (else "Paused" at once, `retryAfter` what is left), then reserves its slot;
 *   callers held by a pause reserve in the order they asked; a pause that holds a caller whose slot has come holds
 *   it too, and one that does not end in time turns it away with "Paused" and gives its slot back.
 * Rules taken from the code (the docs are silent): a token or a window end due within a microsecond (less than half
 * an interval for tiny intervals) counts as reached (`slackMillis`); a token bucket's refill counts from its last
 * whole token (`lastRefill`), and a full bucket's refill mark is the call that found it full; in mode "delay" a
 * fixed window keeps counting past `limit` (its end moving `r` a call) and a caller's window is
 * `floor((count - 1) / limit)` of that count; a wait is rounded up after the microsecond of slack is taken off; a
 * caller's `maxWait` counts from when it asked, for a pause and its slot together.
 *
 * Each property drives the real limiter (memory store) with generated scripts (fast-check, fixed seeds): consume `n`
 * tokens on one of two keys, move the TestClock (a few ms, a share of the window, or to one millisecond before, at or
 * after the model's next token, window end or waiter start, where off-by-one errors live), pause a key; fork one or a
 * burst of callers, interrupt a waiting one (mode "delay"). The TestClock starts at 0 or at today's epoch (where a
 * millisecond mark carries floating-point noise). After each command, every call's answer (granted, or the reason
 * and `retryAfter` it was refused with; in mode "delay", whether it has started and at which TestClock millisecond)
 * and `pausedFor` must equal the model's. Found so far: callers held by a pause reserved in the order their timers
 * fired, not the order they asked (fixed; regression tests in RateLimit.test.ts).
 *
 * Store parity (a real redis-server; skipped with one line when redis-server is not on the PATH, a failure under
 * CI=true, as every Redis suite: `utils/redis.ts`): the same scripts, in mode "fail" and in mode "delay", on a limiter
 * over the memory store and one over `RateLimitRedis`'s store, must be granted, refused, started and interrupted
 * alike. Redis measures time by its own clock, so moving the TestClock moves the Redis counters as far
 * (`advanceRedisRateLimit` in `utils/limits.ts`); refill intervals and steps are whole seconds there, so that the
 * real milliseconds a run takes cannot move a decision, and a Redis `retryAfter` or start may be that much earlier.
 *
 * Left out: armed deadlines (`withDeadline` bounds the wait as `establish` does; its timer is not modelled), clocks
 * set back, `maxKeys` eviction, pauses in the Redis parity (they live in the limiter, not the store), and the
 * store's own `remaining`/`resetAfter` (the limiter exposes neither).
 */
import { describe, expect, it } from "@effect/vitest"
import { Deadline, RateLimit } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import type { Redis } from "ioredis"
import { advanceRedisRateLimit, redisRateLimitStore, redisReadBack } from "./utils/limits.js"
import { describeWithRedis, startRedisServer } from "./utils/redis.js"

const NANOS = 1_000_000

interface Config {
  readonly algorithm: "token-bucket" | "fixed-window"
  readonly limit: number
  readonly windowMillis: number
  /** mode "delay" only; undefined: no bound */
  readonly maxWait?: number | undefined
  /** the TestClock's start (epoch milliseconds): the model counts from it */
  readonly epoch?: number | undefined
}

/** A call's answer: granted, or refused with its reason and `retryAfter` (milliseconds). */
type Answer =
  | { readonly _tag: "Granted" }
  | { readonly _tag: "Refused"; readonly reason: "Limit" | "Paused"; readonly retryAfter: number }

// ---------------------------------------------------------------------------------------------------------------
// the reference model, per key, in nanoseconds

/** How far to move the clock: a few ms, a share of the window, or around `k` refill intervals. */
type Step =
  | { readonly kind: "ms"; readonly millis: number }
  | { readonly kind: "window"; readonly perMille: number }
  | { readonly kind: "refills"; readonly k: number; readonly off: -1 | 0 | 1 }
  | { readonly kind: "event"; readonly key: number; readonly k: number; readonly off: -1 | 0 | 1 }

/** A step as milliseconds: an "event" step goes to around the model's `k`-th next event on a key (see `eventAt`). */
const stepMillis = (config: Config, step: Step, model: Model): number => {
  switch (step.kind) {
    case "event":
      return Math.max(0, model.eventAt(KEYS[step.key]!, step.k) - model.now + step.off)
    case "ms":
      return step.millis
    case "window":
      return Math.floor(step.perMille * config.windowMillis / 1000)
    case "refills":
      return Math.max(0, Math.round(step.k * refillNanos(config) / NANOS) + step.off)
  }
}

const refillNanos = (config: Config): number => Math.floor(config.windowMillis * NANOS / config.limit)

/** The store's line for one key: a token bucket (tokens may go below zero in mode "delay") or a fixed window. */
class KeyModel {
  // token bucket
  tokens: number
  last = 0
  // fixed window
  count = 0
  start = 0
  end = Number.NEGATIVE_INFINITY
  constructor(readonly config: Config, now: number) {
    this.tokens = config.limit
    this.last = now
  }
  get r(): number {
    return refillNanos(this.config)
  }
  get slack(): number {
    return Math.min(1000, this.r / 2)
  }

  /** The bucket at `now`: the whole tokens refilled since the last; full again, its refill restarts now. */
  refill(now: number): void {
    const add = Math.floor((now - this.last + this.slack) / this.r)
    const limit = this.config.limit
    if (this.tokens <= limit && this.tokens + add >= limit) {
      this.tokens = limit
      this.last = now
    } else if (add > 0) {
      this.tokens = Math.min(limit, this.tokens + add)
      this.last += add * this.r
    }
  }

  /** The time from now until the `deficit`-th missing token is due, from the refill under way. */
  untilDue(now: number, deficit: number): number {
    return deficit * this.r - Math.min(Math.max(0, now - this.last), this.r)
  }

  /** The window at `now`: a fresh one once the last has ended. */
  roll(now: number): void {
    if (this.end <= now + this.slack) {
      this.count = 0
      this.start = now
      this.end = now
    }
  }
}

/** Whole milliseconds, rounded up, once the slack is taken off. */
const wholeMillisUp = (nanos: number, slack: number): number => Math.max(0, Math.ceil((nanos - slack) / NANOS))

class Model {
  now = 0
  readonly keys = new Map<string, KeyModel>()
  readonly pauses = new Map<string, number>()
  constructor(readonly config: Config) {}

  key(key: string): KeyModel {
    const nowNanos = this.now * NANOS
    let entry = this.keys.get(key)
    if (entry === undefined) this.keys.set(key, entry = new KeyModel(this.config, nowNanos))
    return entry
  }

  /**
   * The TestClock millisecond of the `k`-th next thing due on `key`: a token of the bucket, the window's end, a
   * waiter's start (mode "delay"); now when nothing is due.
   */
  eventAt(key: string, k: number): number {
    const entry = this.keys.get(key)
    const now = this.now * NANOS
    const times: Array<number> = []
    if (entry !== undefined) {
      if (this.config.algorithm === "token-bucket") {
        for (let i = 1; i <= Math.min(k, this.config.limit - entry.tokens); i++) {
          times.push(wholeMillisUp(entry.last + i * entry.r, entry.slack))
        }
      } else if (entry.end > now) {
        times.push(wholeMillisUp(entry.end, entry.slack))
      }
    }
    times.push(...this.waiting(key))
    const ahead = times.filter((t) => t > this.now).sort((a, b) => a - b)
    return ahead.length === 0 ? this.now : ahead[Math.min(k, ahead.length) - 1]!
  }

  /** The TestClock milliseconds at which the callers waiting on `key` start (mode "delay"). */
  waiting(_key: string): ReadonlyArray<number> {
    return []
  }

  pausedFor(key: string): number {
    const until = this.pauses.get(key) ?? 0
    return until > this.now ? until - this.now : 0
  }

  pauseFor(key: string, millis: number): void {
    if (millis <= 0) return
    this.pauses.set(key, Math.max(this.now + millis, this.pauses.get(key) ?? 0))
  }

  /** Mode "fail". */
  consume(key: string, tokens: number): Answer {
    const paused = this.pausedFor(key)
    if (paused > 0) return { _tag: "Refused", reason: "Paused", retryAfter: paused }
    const k = this.key(key)
    const now = this.now * NANOS
    if (this.config.algorithm === "token-bucket") {
      k.refill(now)
      const next = k.tokens - tokens
      if (next >= 0) {
        k.tokens = next
        return { _tag: "Granted" }
      }
      return {
        _tag: "Refused",
        reason: "Limit",
        retryAfter: Math.max(1, wholeMillisUp(k.untilDue(now, -next), k.slack))
      }
    }
    k.roll(now)
    if (k.count + tokens > this.config.limit) {
      return { _tag: "Refused", reason: "Limit", retryAfter: Math.max(1, wholeMillisUp(k.end - now, k.slack)) }
    }
    k.count += tokens
    k.end = k.start + k.count * k.r
    return { _tag: "Granted" }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// mode "fail"

type FailCommand =
  | { readonly _tag: "Consume"; readonly key: number; readonly tokens: number }
  | { readonly _tag: "Advance"; readonly step: Step }
  | { readonly _tag: "Pause"; readonly key: number; readonly millis: number }

const KEYS = ["a", "b"] as const

const answerOf = (
  either: Either.Either<void, RateLimit.RateLimitExceeded | RateLimit.RateLimitStoreError>
): Answer | string =>
  Either.isRight(either)
    ? { _tag: "Granted" }
    : RateLimit.isRateLimitExceeded(either.left)
    ? { _tag: "Refused", reason: either.left.reason, retryAfter: Duration.toMillis(either.left.retryAfter) }
    : `store error: ${either.left.message}`

const tokensOf = (config: Config, tokens: number): number => 1 + (tokens % config.limit)

/** Runs a mode "fail" script against `limiter` and the model; `expectAnswer` compares one answer. */
const runFailScript = (
  limiter: RateLimit.RateLimiter,
  config: Config,
  commands: ReadonlyArray<FailCommand>,
  advance: (millis: number) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const model = new Model(config)
    for (const [step, command] of commands.entries()) {
      switch (command._tag) {
        case "Consume": {
          const key = KEYS[command.key]!
          const tokens = tokensOf(config, command.tokens)
          const expected = model.consume(key, tokens)
          const actual = answerOf(yield* Effect.either(limiter.consume(key, tokens)))
          expect(actual, `command ${step}: consume ${tokens} on ${key} at ${model.now} ms`).toEqual(expected)
          break
        }
        case "Advance": {
          const millis = stepMillis(config, command.step, model)
          model.now += millis
          yield* advance(millis)
          break
        }
        case "Pause": {
          const key = KEYS[command.key]!
          model.pauseFor(key, command.millis)
          yield* limiter.pauseFor(key, Duration.millis(command.millis))
          break
        }
      }
      for (const key of KEYS) {
        expect(Duration.toMillis(yield* limiter.pausedFor(key)), `pausedFor ${key} after command ${step}`).toBe(
          model.pausedFor(key)
        )
      }
    }
  })

const configOf = (algorithm: FastCheck.Arbitrary<Config["algorithm"]>) =>
  FastCheck.record({
    algorithm,
    // small limits, and large ones whose refill interval is below a millisecond
    limit: FastCheck.oneof(FastCheck.integer({ min: 1, max: 7 }), FastCheck.integer({ min: 8, max: 5000 })),
    // at today's epoch a millisecond mark carries floating-point noise (one ulp is 2.4e-4 ms)
    epoch: FastCheck.constantFrom(0, 1_733_456_789_123),
    windowMillis: FastCheck.oneof(
      FastCheck.constantFrom(1000, 1001, 3000, 60_000),
      FastCheck.integer({ min: 1, max: 2500 })
    )
  })

const step: FastCheck.Arbitrary<Step> = FastCheck.oneof(
  FastCheck.record({ kind: FastCheck.constant("ms" as const), millis: FastCheck.integer({ min: 0, max: 3 }) }),
  FastCheck.record({ kind: FastCheck.constant("window" as const), perMille: FastCheck.integer({ min: 0, max: 1500 }) }),
  FastCheck.record({
    kind: FastCheck.constant("refills" as const),
    k: FastCheck.integer({ min: 1, max: 8 }),
    off: FastCheck.constantFrom(-1 as const, 0 as const, 1 as const)
  }),
  FastCheck.record({
    kind: FastCheck.constant("event" as const),
    key: FastCheck.nat(1),
    k: FastCheck.integer({ min: 1, max: 3 }),
    off: FastCheck.constantFrom(-1 as const, 0 as const, 0 as const, 1 as const)
  })
)

const failCommand = (withPauses: boolean): FastCheck.Arbitrary<FailCommand> =>
  FastCheck.oneof(
    {
      arbitrary: FastCheck.record({
        _tag: FastCheck.constant("Consume" as const),
        key: FastCheck.nat(1),
        tokens: FastCheck.oneof(FastCheck.constant(0), FastCheck.nat(6), FastCheck.nat(5000))
      }),
      weight: 5
    },
    { arbitrary: FastCheck.record({ _tag: FastCheck.constant("Advance" as const), step }), weight: 3 },
    {
      arbitrary: FastCheck.record({
        _tag: FastCheck.constant("Pause" as const),
        key: FastCheck.nat(1),
        millis: FastCheck.integer({ min: 0, max: 3000 })
      }),
      weight: withPauses ? 1 : 0
    }
  )

const memoryLimiter = (config: Config, onExceeded: "fail" | "delay") =>
  RateLimit.make({
    limit: config.limit,
    window: Duration.millis(config.windowMillis),
    algorithm: config.algorithm,
    onExceeded,
    maxWait: config.maxWait === undefined ? undefined : Duration.millis(config.maxWait)
  }).pipe(Effect.provide(RateLimit.layerStoreMemory))

describe("model RateLimit, mode \"fail\": admission and retryAfter over virtual time", () => {
  for (const algorithm of ["token-bucket", "fixed-window"] as const) {
    it.effect.prop(
      `${algorithm}: every call is granted or refused (reason, retryAfter) as the model says, and pausedFor agrees`,
      [configOf(FastCheck.constant(algorithm)), FastCheck.array(failCommand(true), { maxLength: 40, size: "max" })],
      ([config, commands]) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(config.epoch ?? 0)
          const limiter = yield* memoryLimiter(config, "fail")
          yield* runFailScript(limiter, config, commands, (millis) => TestClock.adjust(Duration.millis(millis)))
        }),
      { fastCheck: { seed: algorithm === "token-bucket" ? 4101 : 4102, numRuns: 100 } }
    )
  }
})

// ---------------------------------------------------------------------------------------------------------------
// mode "delay"

type DelayCommand =
  | {
    readonly _tag: "Acquire"
    readonly key: number
    readonly tokens: ReadonlyArray<number>
    /** a deadline established around each call (ms), as a share of the window (per mille) */
    readonly deadline?: number | undefined
  }
  | { readonly _tag: "Advance"; readonly step: Step }
  | { readonly _tag: "Interrupt"; readonly pick: number }
  | { readonly _tag: "Pause"; readonly key: number; readonly millis: number }

/** A caller's state: waiting, started at a TestClock millisecond, refused, or interrupted while it waited. */
type CallState =
  | { readonly _tag: "Waiting" }
  | { readonly _tag: "Started"; readonly at: number }
  | { readonly _tag: "Refused"; readonly reason: "Limit" | "Paused"; readonly retryAfter: number }
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "Unexpected"; readonly detail: string }

/**
 * A caller that waits: for a server pause to end before it reserves its slot ("pause"), for its reserved slot, in
 * the key's line ("slot"), or, its slot come, for a pause that arrived meanwhile ("held").
 */
interface Waiter {
  readonly id: number
  readonly key: string
  readonly tokens: number
  /** the latest TestClock millisecond it may start at: when it asked, plus `maxWait` */
  readonly latest: number
  /** the deadline it asked under (`Deadline.establish`): it must start before */
  readonly deadlineAt: number
  phase: "pause" | "slot" | "held"
  /** token bucket: when its last token is due (ns); fixed window: its count once its tokens were taken */
  place: number
  /** the TestClock millisecond it wakes at */
  due: number
}

/** How long a caller may wait: until `latest` (its `maxWait`), and to before its deadline. */
interface Bound {
  readonly latest: number
  readonly deadlineAt: number
}

/** "Mode delay never waits past what the caller can use": a start within `maxWait` and before the deadline. */
const fits = (startAt: number, bound: Bound): boolean => startAt <= bound.latest && startAt < bound.deadlineAt

class DelayModel extends Model {
  readonly states: Array<CallState> = []
  readonly waiters: Array<Waiter> = []

  acquire(key: string, tokens: number, deadline?: number): void {
    const id = this.states.length
    this.states.push({ _tag: "Waiting" })
    const bound: Bound = {
      latest: this.now + (this.config.maxWait ?? Number.POSITIVE_INFINITY),
      deadlineAt: this.now + (deadline ?? Number.POSITIVE_INFINITY)
    }
    const paused = this.pausedFor(key)
    if (paused === 0) return this.reserve(id, key, tokens, bound)
    // a pause that ends in time is waited out before the slot is reserved; one that does not is answered at once
    if (fits(this.now + paused, bound)) {
      this.waiters.push({ id, key, tokens, ...bound, phase: "pause", place: 0, due: this.now + paused })
    } else {
      this.states[id] = { _tag: "Refused", reason: "Paused", retryAfter: paused }
    }
  }

  private reserve(id: number, key: string, tokens: number, bound: Bound): void {
    const k = this.key(key)
    const now = this.now * NANOS
    let place: number
    let wait: number
    if (this.config.algorithm === "token-bucket") {
      k.refill(now)
      k.tokens -= tokens
      const until = k.tokens >= 0 ? 0 : k.untilDue(now, -k.tokens)
      place = now + until
      wait = k.tokens >= 0 ? 0 : wholeMillisUp(until, k.slack)
    } else {
      k.roll(now)
      k.count += tokens
      k.end = k.start + k.count * k.r
      const window = Math.floor((k.count - 1) / this.config.limit)
      const until = k.start + window * this.config.windowMillis * NANOS - now
      place = k.count
      wait = until <= 0 ? 0 : wholeMillisUp(until, k.slack)
    }
    if (wait > 0 && !fits(this.now + wait, bound)) {
      this.refund(k, tokens)
      this.states[id] = { _tag: "Refused", reason: "Limit", retryAfter: wait }
    } else if (wait === 0) {
      this.states[id] = { _tag: "Started", at: this.now }
    } else {
      this.waiters.push({ id, key, tokens, ...bound, phase: "slot", place, due: this.now + wait })
    }
  }

  /** The store takes the tokens back: a bucket gains them, a window's count and end go back. */
  private refund(k: KeyModel, tokens: number): void {
    const now = this.now * NANOS
    if (this.config.algorithm === "token-bucket") {
      k.refill(now)
      k.tokens += tokens
    } else {
      k.roll(now)
      k.count -= tokens
      k.end = k.start + k.count * k.r
    }
  }

  private remove(w: Waiter): void {
    this.waiters.splice(this.waiters.indexOf(w), 1)
  }

  interrupt(id: number): void {
    const left = this.waiters.find((w) => w.id === id)
    if (left === undefined) return
    this.remove(left)
    this.states[id] = { _tag: "Interrupted" }
    // waiting out a pause, it holds no slot
    if (left.phase === "pause") return
    const k = this.key(left.key)
    const limit = this.config.limit
    // the callers behind it in the line move up into the time it frees
    if (left.phase === "slot") {
      for (const w of this.waiters) {
        if (w.key !== left.key || w.phase !== "slot" || w.place <= left.place) continue
        if (this.config.algorithm === "token-bucket") {
          w.place -= left.tokens * k.r
          w.due = Math.max(this.now, wholeMillisUp(w.place, k.slack))
        } else {
          const windows = Math.floor((w.place - 1) / limit) - Math.floor((w.place - left.tokens - 1) / limit)
          w.place -= left.tokens
          w.due = Math.max(this.now, w.due - windows * this.config.windowMillis)
        }
      }
    }
    this.refund(k, left.tokens)
    this.advanceTo(this.now)
  }

  override waiting(key: string): ReadonlyArray<number> {
    return this.waiters.filter((w) => w.key === key).map((w) => w.due)
  }

  /** A waiter's time has come: a pause may still hold it (again), or it reserves its slot, or it starts. */
  private wake(w: Waiter): void {
    const paused = this.pausedFor(w.key)
    if (paused > 0) {
      if (fits(this.now + paused, w)) {
        if (w.phase === "slot") w.phase = "held"
        w.due = this.now + paused
        return
      }
      this.remove(w)
      // a caller whose slot came gives it back
      if (w.phase !== "pause") this.refund(this.key(w.key), w.tokens)
      this.states[w.id] = { _tag: "Refused", reason: "Paused", retryAfter: paused }
      return
    }
    this.remove(w)
    if (w.phase === "pause") this.reserve(w.id, w.key, w.tokens, w)
    else this.states[w.id] = { _tag: "Started", at: this.now }
  }

  /** Moves the clock to `target`, waking every waiter at its time, the earliest first (in the order they asked). */
  advanceTo(target: number): void {
    for (;;) {
      const next = Math.min(...this.waiters.map((w) => w.due))
      if (!(next <= target)) break
      this.now = Math.max(this.now, next)
      const due = this.waiters.filter((w) => w.due <= this.now).sort((a, b) => a.id - b.id)
      for (const w of due) if (this.waiters.includes(w) && w.due <= this.now) this.wake(w)
    }
    this.now = target
  }
}

const settle = Effect.gen(function*() {
  for (let i = 0; i < 12; i++) yield* Effect.yieldNow()
})

/** A forked caller's state; it answers the TestClock millisecond it started at. */
const stateOfCall = (
  fiber: Fiber.RuntimeFiber<number, RateLimit.RateLimitExceeded | RateLimit.RateLimitStoreError>
): Effect.Effect<CallState> =>
  Effect.map(Fiber.poll(fiber), (done): CallState => {
    if (Option.isNone(done)) return { _tag: "Waiting" }
    const exit = done.value
    if (Exit.isSuccess(exit)) return { _tag: "Started", at: exit.value }
    if (Exit.isInterrupted(exit)) return { _tag: "Interrupted" }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure)) return { _tag: "Unexpected", detail: String(exit.cause) }
    const answer = answerOf(Either.left(failure.value))
    return typeof answer === "string" || answer._tag === "Granted"
      ? { _tag: "Unexpected", detail: String(answer) }
      : { _tag: "Refused", reason: answer.reason, retryAfter: answer.retryAfter }
  })

const runDelayScript = (config: Config, commands: ReadonlyArray<DelayCommand>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(config.epoch ?? 0)
    const limiter = yield* memoryLimiter(config, "delay")
    const model = new DelayModel(config)
    const fibers: Array<Fiber.RuntimeFiber<number, RateLimit.RateLimitExceeded | RateLimit.RateLimitStoreError>> = []

    for (const [step, command] of commands.entries()) {
      switch (command._tag) {
        case "Acquire": {
          const key = KEYS[command.key]!
          // a burst: every caller asks before any runs further
          for (const raw of command.tokens) {
            const tokens = tokensOf(config, raw)
            const deadline = command.deadline === undefined
              ? undefined
              : Math.max(1, Math.floor(command.deadline * config.windowMillis / 1000))
            model.acquire(key, tokens, deadline)
            const startedAt = Effect.map(Clock.currentTimeMillis, (now) => now - (config.epoch ?? 0))
            const consume = deadline === undefined
              ? limiter.consume(key, tokens)
              : Deadline.establish(limiter.consume(key, tokens), Duration.millis(deadline))
            fibers.push(yield* Effect.fork(Effect.zipRight(consume, startedAt)))
          }
          break
        }
        case "Advance": {
          const millis = stepMillis(config, command.step, model)
          model.advanceTo(model.now + millis)
          yield* TestClock.adjust(Duration.millis(millis))
          break
        }
        case "Interrupt": {
          const waiting = model.waiters.map((w) => w.id).sort((a, b) => a - b)
          if (waiting.length === 0) continue
          const id = waiting[command.pick % waiting.length]!
          model.interrupt(id)
          yield* Fiber.interrupt(fibers[id]!)
          break
        }
        case "Pause": {
          const key = KEYS[command.key]!
          model.pauseFor(key, command.millis)
          yield* limiter.pauseFor(key, Duration.millis(command.millis))
          break
        }
      }
      yield* settle
      const states = yield* Effect.forEach(fibers, stateOfCall)
      expect(states, `after command ${step} (${JSON.stringify(command)}) at ${model.now} ms`).toEqual(model.states)
    }
    yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
  })

const delayCommand: FastCheck.Arbitrary<DelayCommand> = FastCheck.oneof(
  {
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("Acquire" as const),
      key: FastCheck.nat(1),
      tokens: FastCheck.array(FastCheck.oneof(FastCheck.constant(0), FastCheck.nat(6), FastCheck.nat(5000)), {
        minLength: 1,
        maxLength: 3
      }),
      deadline: FastCheck.option(FastCheck.integer({ min: 0, max: 3000 }), { nil: undefined })
    }),
    weight: 5
  },
  { arbitrary: FastCheck.record({ _tag: FastCheck.constant("Advance" as const), step }), weight: 3 },
  {
    arbitrary: FastCheck.record({ _tag: FastCheck.constant("Interrupt" as const), pick: FastCheck.nat(7) }),
    weight: 2
  },
  {
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("Pause" as const),
      key: FastCheck.nat(1),
      millis: FastCheck.integer({ min: 0, max: 3000 })
    }),
    weight: 1
  }
)

describe("model RateLimit, mode \"delay\": FIFO reservations, waits, maxWait and interrupted waiters", () => {
  for (const algorithm of ["token-bucket", "fixed-window"] as const) {
    it.effect.prop(
      `${algorithm}: every caller starts at the model's millisecond, or is refused as the model says`,
      [
        configOf(FastCheck.constant(algorithm)).chain((config) =>
          FastCheck.record({
            algorithm: FastCheck.constant(config.algorithm),
            limit: FastCheck.constant(config.limit),
            windowMillis: FastCheck.constant(config.windowMillis),
            epoch: FastCheck.constant(config.epoch),
            maxWait: FastCheck.option(FastCheck.integer({ min: 0, max: 3 * config.windowMillis }), { nil: undefined })
          })
        ),
        FastCheck.array(delayCommand, { maxLength: 30, size: "max" })
      ],
      ([config, commands]) => runDelayScript(config, commands),
      { fastCheck: { seed: algorithm === "token-bucket" ? 5201 : 5202, numRuns: 100 } }
    )
  }
})

// ---------------------------------------------------------------------------------------------------------------
// memory store vs Redis store

/**
 * Parity: the same mode "fail" script on a limiter over the memory store (on the TestClock) and one over
 * `RateLimitRedis`'s store (a real redis-server) gives the same decisions. The Redis store measures time by the
 * server's clock, so moving the TestClock `d` moves the Redis counters `d` into the future (`advanceRedisRateLimit`),
 * and real time passes meanwhile: refill intervals and steps are whole seconds, so that the real milliseconds a run
 * takes (checked below a second) cannot move a token or a window's end across a step, and a refused call's
 * `retryAfter` on Redis is the memory store's less at most those milliseconds.
 */
interface ParityConfig {
  readonly algorithm: "token-bucket" | "fixed-window"
  readonly limit: number
  /** the refill interval, in whole seconds */
  readonly refillSeconds: number
}

type ParityCommand =
  | { readonly _tag: "Consume"; readonly key: number; readonly tokens: number }
  | { readonly _tag: "Advance"; readonly seconds: number }

const parityConfig: FastCheck.Arbitrary<ParityConfig> = FastCheck.record({
  algorithm: FastCheck.constantFrom("token-bucket" as const, "fixed-window" as const),
  limit: FastCheck.integer({ min: 1, max: 5 }),
  refillSeconds: FastCheck.integer({ min: 1, max: 3 })
})

const parityCommand: FastCheck.Arbitrary<ParityCommand> = FastCheck.oneof(
  {
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("Consume" as const),
      key: FastCheck.nat(1),
      tokens: FastCheck.oneof(FastCheck.constant(0), FastCheck.nat(4))
    }),
    weight: 3
  },
  {
    arbitrary: FastCheck.record({ _tag: FastCheck.constant("Advance" as const), seconds: FastCheck.nat(8) }),
    weight: 2
  }
)

const PARITY_PREFIX = "parity:"

const runParity = (
  redisStore: RateLimit.RateLimiterStore["Type"],
  client: Redis,
  run: number,
  config: ParityConfig,
  commands: ReadonlyArray<ParityCommand>
) =>
  Effect.gen(function*() {
    const options: RateLimit.Options = {
      limit: config.limit,
      window: Duration.seconds(config.refillSeconds * config.limit),
      algorithm: config.algorithm,
      onExceeded: "fail"
    }
    const memory = yield* RateLimit.make(options).pipe(Effect.provide(RateLimit.layerStoreMemory))
    const redis = yield* RateLimit.make(options).pipe(Effect.provideService(RateLimit.RateLimiterStore, redisStore))
    // keys of this run only: the server is shared by every run
    const keys = KEYS.map((key) => `run${run}.${key}`)
    const started = Date.now()
    for (const [step, command] of commands.entries()) {
      if (command._tag === "Advance") {
        yield* TestClock.adjust(Duration.seconds(command.seconds))
        yield* advanceRedisRateLimit(client, PARITY_PREFIX, keys, command.seconds * 1000)
        continue
      }
      const key = keys[command.key]!
      const tokens = 1 + (command.tokens % config.limit)
      const expected = answerOf(yield* Effect.either(memory.consume(key, tokens)))
      const actual = answerOf(yield* Effect.either(redis.consume(key, tokens)))
      const drift = Date.now() - started
      expect(drift, "a run takes less than a second of real time").toBeLessThan(1000)
      const where = `command ${step}: consume ${tokens} on ${key}`
      if (typeof expected === "string" || expected._tag === "Granted" || typeof actual === "string") {
        expect(actual, where).toEqual(expected)
      } else {
        expect(actual, where).toMatchObject({ _tag: "Refused", reason: expected.reason })
        const retryAfter = (actual as Extract<Answer, { _tag: "Refused" }>).retryAfter
        expect(retryAfter, `${where}: retryAfter`).toBeLessThanOrEqual(expected.retryAfter)
        expect(retryAfter, `${where}: retryAfter`).toBeGreaterThanOrEqual(expected.retryAfter - drift - 1)
      }
    }
  })

type DelayParityCommand =
  | { readonly _tag: "Acquire"; readonly key: number; readonly tokens: ReadonlyArray<number> }
  | { readonly _tag: "Advance"; readonly seconds: number }
  | { readonly _tag: "Interrupt"; readonly pick: number }

const delayParityCommand: FastCheck.Arbitrary<DelayParityCommand> = FastCheck.oneof(
  {
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("Acquire" as const),
      key: FastCheck.nat(1),
      tokens: FastCheck.array(FastCheck.oneof(FastCheck.constant(0), FastCheck.nat(4)), { minLength: 1, maxLength: 3 })
    }),
    weight: 4
  },
  {
    arbitrary: FastCheck.record({ _tag: FastCheck.constant("Advance" as const), seconds: FastCheck.nat(6) }),
    weight: 3
  },
  { arbitrary: FastCheck.record({ _tag: FastCheck.constant("Interrupt" as const), pick: FastCheck.nat(7) }), weight: 2 }
)

/**
 * Parity in mode "delay": callers forked on both limiters (their waits slept on the TestClock, their slots reserved
 * in each store), the clock and the Redis counters moved alike, waiting callers interrupted on both (their slots
 * refunded in each store). Each caller must be waiting, started, refused or interrupted alike on both; a start time
 * or a `retryAfter` on Redis is the memory store's less at most the real milliseconds the run took.
 */
const runDelayParity = (
  redisStore: RateLimit.RateLimiterStore["Type"],
  client: Redis,
  run: number,
  config: ParityConfig & { readonly maxWaitSeconds: number | undefined },
  commands: ReadonlyArray<DelayParityCommand>
) =>
  Effect.gen(function*() {
    const options: RateLimit.Options = {
      limit: config.limit,
      window: Duration.seconds(config.refillSeconds * config.limit),
      algorithm: config.algorithm,
      onExceeded: "delay",
      maxWait: config.maxWaitSeconds === undefined ? undefined : Duration.seconds(config.maxWaitSeconds)
    }
    // the Redis store, counting its calls under way
    let inFlight = 0
    const counted = <A, E>(call: Effect.Effect<A, E>) =>
      Effect.suspend(() => {
        inFlight++
        return Effect.ensuring(call, Effect.sync(() => inFlight--))
      })
    const store = RateLimit.RateLimiterStore.of({
      fixedWindow: (request) => counted(redisStore.fixedWindow(request)),
      tokenBucket: (request) => counted(redisStore.tokenBucket(request))
    })
    const limiters = [
      yield* RateLimit.make(options).pipe(Effect.provide(RateLimit.layerStoreMemory)),
      yield* RateLimit.make(options).pipe(Effect.provideService(RateLimit.RateLimiterStore, store))
    ] as const
    const keys = KEYS.map((key) => `delay${run}.${key}`)
    const fibers: [
      Array<Fiber.RuntimeFiber<number, RateLimit.RateLimitExceeded | RateLimit.RateLimitStoreError>>,
      Array<Fiber.RuntimeFiber<number, RateLimit.RateLimitExceeded | RateLimit.RateLimitStoreError>>
    ] = [[], []]
    // Redis answers over the network: wait (in real time) until no call to the store is under way
    const settleOnRedis = Effect.gen(function*() {
      for (let i = 0; i < 10_000; i++) {
        yield* settle
        if (inFlight === 0) return
        yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      }
    })
    const started = Date.now()
    for (const [step, command] of commands.entries()) {
      switch (command._tag) {
        case "Acquire": {
          const key = keys[command.key]!
          for (const raw of command.tokens) {
            const tokens = 1 + (raw % config.limit)
            for (const side of [0, 1] as const) {
              fibers[side].push(
                yield* Effect.fork(Effect.zipRight(limiters[side].consume(key, tokens), Clock.currentTimeMillis))
              )
              yield* settleOnRedis
            }
          }
          break
        }
        case "Advance": {
          yield* advanceRedisRateLimit(client, PARITY_PREFIX, keys, command.seconds * 1000)
          yield* TestClock.adjust(Duration.seconds(command.seconds))
          break
        }
        case "Interrupt": {
          const states = yield* Effect.forEach(fibers[0], stateOfCall)
          const waiting = states.flatMap((state, id) => (state._tag === "Waiting" ? [id] : []))
          if (waiting.length === 0) continue
          const id = waiting[command.pick % waiting.length]!
          yield* Fiber.interrupt(fibers[0][id]!)
          yield* Fiber.interrupt(fibers[1][id]!)
          break
        }
      }
      yield* settleOnRedis
      const drift = Date.now() - started
      expect(drift, "a run takes less than a second of real time").toBeLessThan(1000)
      const memory = yield* Effect.forEach(fibers[0], stateOfCall)
      const redis = yield* Effect.forEach(fibers[1], stateOfCall)
      for (const [id, expected] of memory.entries()) {
        const actual = redis[id]!
        const where = `after command ${step} (${JSON.stringify(command)}), caller ${id}`
        if (expected._tag === "Started" && actual._tag === "Started") {
          expect(actual.at, where).toBeLessThanOrEqual(expected.at)
          expect(actual.at, where).toBeGreaterThanOrEqual(expected.at - drift - 1)
        } else if (expected._tag === "Refused" && actual._tag === "Refused") {
          expect(actual.reason, where).toBe(expected.reason)
          expect(actual.retryAfter, where).toBeLessThanOrEqual(expected.retryAfter)
          expect(actual.retryAfter, where).toBeGreaterThanOrEqual(expected.retryAfter - drift - 1)
        } else {
          expect(actual, where).toEqual(expected)
        }
      }
    }
    yield* Effect.forEach([...fibers[0], ...fibers[1]], Fiber.interrupt, { discard: true })
  })

/** Checks `property` against one redis-server (started for the test) shared by every run: each run has its own keys. */
const onRedis = (
  property: (
    store: RateLimit.RateLimiterStore["Type"],
    client: Redis,
    runOf: () => number
  ) => FastCheck.IAsyncProperty<any>,
  parameters: FastCheck.Parameters<any>
) =>
  Effect.gen(function*() {
    const server = yield* startRedisServer
    const store = yield* redisRateLimitStore(server, PARITY_PREFIX)
    const client = yield* redisReadBack(server)
    let run = 0
    yield* Effect.promise(() => FastCheck.assert(property(store, client, () => run++), parameters))
  }).pipe(Effect.scoped)

describeWithRedis("model RateLimit: the memory store and RateLimitRedis's store decide alike", () => {
  it.live(
    "the same scripts (mode \"fail\", both algorithms) are granted and refused alike on both stores",
    () =>
      onRedis((store, client, runOf) =>
        FastCheck.asyncProperty(
          parityConfig,
          FastCheck.array(parityCommand, { maxLength: 25, size: "max" }),
          (config, commands) =>
            Effect.runPromise(
              runParity(store, client, runOf(), config, commands).pipe(Effect.provide(TestContext.TestContext))
            )
        ), { seed: 6301, numRuns: 150 }),
    60_000
  )

  it.live(
    "the same scripts in mode \"delay\" (waits, maxWait, interrupted waiters) start callers alike on both stores",
    () =>
      onRedis((store, client, runOf) =>
        FastCheck.asyncProperty(
          parityConfig.chain((config) =>
            FastCheck.record({
              algorithm: FastCheck.constant(config.algorithm),
              limit: FastCheck.constant(config.limit),
              refillSeconds: FastCheck.constant(config.refillSeconds),
              maxWaitSeconds: FastCheck.option(FastCheck.nat(3 * config.refillSeconds * config.limit), {
                nil: undefined
              })
            })
          ),
          FastCheck.array(delayParityCommand, { maxLength: 20, size: "max" }),
          (config, commands) =>
            Effect.runPromise(
              runDelayParity(store, client, runOf(), config, commands).pipe(Effect.provide(TestContext.TestContext))
            )
        ), { seed: 6302, numRuns: 100 }),
    60_000
  )
})
