import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Retry from "@sturdy/policy/Retry"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import { resolutionsMade } from "../src/internal/retry.js"
import { advanceToDone } from "./utils/advance.js"
import { defectOf } from "./utils/hostile.js"

class Unavailable extends Data.TaggedError("Unavailable")<{
  readonly attempt: number
  readonly retryAfter: Option.Option<Duration.Duration>
}> {}

class BadRequest extends Data.TaggedError("BadRequest")<{}> {}

// An upstream that fails its first `failures` attempts (all of them by default), recording when each arrived.
const makeUpstream = (options?: {
  readonly failures?: number
  readonly retryAfter?: Duration.DurationInput
}) => {
  const arrivals: Array<number> = []
  const call = Effect.flatMap(TestClock.currentTimeMillis, (now) => {
    arrivals.push(now)
    const attempt = arrivals.length
    return attempt <= (options?.failures ?? Infinity)
      ? Effect.fail(
        new Unavailable({
          attempt,
          retryAfter: Option.map(Option.fromNullable(options?.retryAfter), Duration.decode)
        })
      )
      : Effect.succeed(`ok after ${attempt}`)
  })
  return { call, arrivals }
}

const hintOf = (e: Unavailable) => e.retryAfter

// Runs `effect` to completion on the TestClock, advancing virtual time as far as needed.
const runVirtual = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust("1 hour")
    return yield* Fiber.await(fiber)
  })

const collector = <E>() => {
  const attempts: Array<Retry.Attempt<E>> = []
  const onAttempt = (attempt: Retry.Attempt<E>) => Effect.sync(() => attempts.push(attempt))
  return { attempts, onAttempt }
}

const summary = <E>(attempts: ReadonlyArray<Retry.Attempt<E>>) =>
  attempts.map((a) => [a.attempt, Duration.toMillis(a.delay), a.reason, a.retrying] as const)

const noJitter = Backoff.exponential({ jitter: "none" })

describe("Retry", () => {
  it.effect("does not touch the schedule when the first attempt succeeds", () =>
    Effect.gen(function*() {
      let steps = 0
      const counting = Schedule.makeWithState(0, (_now, _in: unknown, state: number) =>
        Effect.sync(() => {
          steps++
          return [state, state, ScheduleDecision.done] as const
        }))
      const { attempts, onAttempt } = collector<never>()
      const result = yield* Effect.succeed(1).pipe(Retry.retry({ schedule: counting, onAttempt }))
      expect(result).toBe(1)
      expect(steps).toBe(0)
      expect(attempts).toEqual([])
    }))

  it.effect("retries on the default backoff: 3 attempts, then the original failure", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream()
      const { attempts, onAttempt } = collector<Unavailable>()
      const exit = yield* runVirtual(upstream.call.pipe(Retry.retry({ schedule: noJitter, onAttempt })))
      expect(exit).toStrictEqual(Exit.fail(new Unavailable({ attempt: 3, retryAfter: Option.none() })))
      expect(upstream.arrivals).toEqual([0, 100, 300])
      expect(summary(attempts)).toEqual([
        [2, 100, "backoff", true],
        [3, 200, "backoff", true],
        [4, 0, "exhausted", false]
      ])
    }))

  it.effect("succeeds once the upstream recovers", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream({ failures: 1 })
      const exit = yield* runVirtual(upstream.call.pipe(Retry.retry()))
      expect(exit).toStrictEqual(Exit.succeed("ok after 2"))
      expect(upstream.arrivals.length).toBe(2)
    }))

  it.effect("accepts any Effect schedule, fed with the failures", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream()
      const schedule = Schedule.spaced("1 second").pipe(
        Schedule.intersect(Schedule.recurs(3)),
        Schedule.whileInput((e: Unavailable) => e.attempt < 3)
      )
      const exit = yield* runVirtual(upstream.call.pipe(Retry.retry({ schedule })))
      expect(exit).toStrictEqual(Exit.fail(new Unavailable({ attempt: 3, retryAfter: Option.none() })))
      expect(upstream.arrivals).toEqual([0, 1000, 2000])
    }))

  it.effect("the default schedule is jittered backoff, reproducible with a seeded Random", () =>
    Effect.gen(function*() {
      const run = Effect.gen(function*() {
        const start = yield* TestClock.currentTimeMillis
        const upstream = makeUpstream()
        yield* runVirtual(upstream.call.pipe(Retry.retry(), Effect.withRandom(Random.make(99))))
        return upstream.arrivals.map((t) => t - start)
      })
      const first = yield* run
      expect(first.length).toBe(3)
      expect(first[1]).toBeLessThanOrEqual(100)
      expect(first[2]! - first[1]!).toBeLessThanOrEqual(200)
      expect(yield* run).toEqual(first)
    }))

  it.effect("a failure the predicate rejects is returned after one attempt", () =>
    Effect.gen(function*() {
      let calls = 0
      const call = Effect.suspend(() => {
        calls++
        return Effect.fail(new BadRequest())
      })
      const { attempts, onAttempt } = collector<BadRequest | Unavailable>()
      const exit = yield* runVirtual(
        call.pipe(Retry.retry({ while: (e: BadRequest | Unavailable) => e._tag === "Unavailable", onAttempt }))
      )
      expect(exit).toStrictEqual(Exit.fail(new BadRequest()))
      expect(calls).toBe(1)
      expect(summary(attempts)).toEqual([[2, 0, "not-retryable", false]])
    }))

  it.effect("defects are not retried", () =>
    Effect.gen(function*() {
      let calls = 0
      const exit = yield* runVirtual(
        Effect.suspend(() => {
          calls++
          return Effect.die("bug")
        }).pipe(Retry.retry())
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(calls).toBe(1)
    }))

  it.effect("a failure that comes with a defect is not retried and the defect is kept; an interruption neither", () =>
    Effect.gen(function*() {
      let calls = 0
      const failedAndDied = Cause.parallel(
        Cause.fail(new Unavailable({ attempt: 1, retryAfter: Option.none() })),
        Cause.die("bug")
      )
      const exit = yield* runVirtual(
        Effect.suspend(() => {
          calls++
          return Effect.failCause(failedAndDied)
        }).pipe(Retry.retry())
      )
      expect(exit).toStrictEqual(Exit.failCause(Cause.stripFailures(failedAndDied)))
      expect(calls).toBe(1)
      const interrupted = yield* runVirtual(
        Effect.suspend(() => {
          calls++
          return Effect.interrupt
        }).pipe(Retry.retry())
      )
      expect(Exit.isInterrupted(interrupted)).toBe(true)
      expect(calls).toBe(2)
    }))

  it.effect("a Retry-After larger than the backoff delay is waited, plus a small jitter", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream({ failures: 1, retryAfter: "2 seconds" })
      const { attempts, onAttempt } = collector<Unavailable>()
      const exit = yield* runVirtual(
        upstream.call.pipe(Retry.retry({ schedule: noJitter, delayHint: hintOf, onAttempt }))
      )
      expect(exit).toStrictEqual(Exit.succeed("ok after 2"))
      const wait = upstream.arrivals[1]! - upstream.arrivals[0]!
      expect(wait).toBeGreaterThanOrEqual(2000)
      expect(wait).toBeLessThanOrEqual(2200)
      expect(attempts[0]!.reason).toBe("retry-after")
    }))

  it.effect("a Retry-After smaller than the backoff delay replaces it: the server's wait is the wait", () =>
    Effect.gen(function*() {
      // backoff without jitter would wait 100 ms; the server asks for 10 ms (jitter ≤ 10 %: at most 1 ms)
      const upstream = makeUpstream({ failures: 1, retryAfter: "10 millis" })
      const { attempts, onAttempt } = collector<Unavailable>()
      yield* runVirtual(upstream.call.pipe(
        Retry.retry({ schedule: noJitter, delayHint: hintOf, onAttempt }),
        Effect.withRandom(Random.make(7))
      ))
      expect(upstream.arrivals[1]).toBeGreaterThanOrEqual(10)
      expect(upstream.arrivals[1]).toBeLessThanOrEqual(11)
      expect(attempts[0]!.reason).toBe("retry-after")
    }))

  it.effect("Retry-After: 2 on the second retry waits 2 s (up to +10 %), not the larger backoff", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream({ failures: 2, retryAfter: "2 seconds" })
      const schedule = Backoff.exponential({ baseDelay: "3 seconds", jitter: "none", maxAttempts: 3 })
      const exit = yield* runVirtual(upstream.call.pipe(
        Retry.retry({ schedule, delayHint: hintOf, retryAfterJitter: 0 })
      ))
      expect(exit).toStrictEqual(Exit.succeed("ok after 3"))
      expect(upstream.arrivals).toEqual([0, 2000, 4000])
    }))

  it.effect("a zero hint retries at once, with no jitter; the attempt limit still ends a server that keeps saying 0", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream({ retryAfter: Duration.zero })
      const { attempts, onAttempt } = collector<Unavailable>()
      const exit = yield* runVirtual(upstream.call.pipe(
        Retry.retry({
          schedule: Backoff.exponential({ baseDelay: "1 second", maxAttempts: 4 }),
          delayHint: hintOf,
          onAttempt
        })
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(upstream.arrivals).toEqual([0, 0, 0, 0])
      expect(summary(attempts)).toEqual([
        [2, 0, "retry-after", true],
        [3, 0, "retry-after", true],
        [4, 0, "retry-after", true],
        [5, 0, "exhausted", false]
      ])
    }))

  it.effect("a hint longer than a timer holds, under an unlimited maxRetryAfter, is waited out: the retry comes", () =>
    Effect.gen(function*() {
      // Effect's live Clock sets no timer for a sleep over 2^31 − 1 ms (about 24.8 days): one such sleep never woke
      const month = Duration.toMillis(Duration.days(30))
      const upstream = makeUpstream({ failures: 1, retryAfter: Duration.days(30) })
      const ahead: Array<number> = []
      const exit = yield* advanceToDone(
        upstream.call.pipe(
          Retry.retry({ delayHint: hintOf, maxRetryAfter: Duration.infinity, retryAfterJitter: 0 })
        ),
        10_000,
        (sleeps) => ahead.push(...sleeps)
      )
      expect(exit).toEqual(Exit.succeed("ok after 2"))
      expect(upstream.arrivals).toEqual([0, month])
      expect(ahead.length).toBeGreaterThan(0)
      expect(Math.max(...ahead)).toBeLessThanOrEqual(Deadline.maxTimerMillis)
    }))

  it.effect("a hint with no end is too long even under an unlimited maxRetryAfter, and says so", () =>
    Effect.gen(function*() {
      // no deadline is set: "deadline" would name a bound the call does not have
      const upstream = makeUpstream({ failures: 1, retryAfter: Duration.infinity })
      const { attempts, onAttempt } = collector<Unavailable>()
      const exit = yield* runVirtual(upstream.call.pipe(
        Retry.retry({ schedule: noJitter, delayHint: hintOf, maxRetryAfter: Duration.infinity, onAttempt })
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(summary(attempts)).toEqual([[2, Infinity, "retry-after-too-long", false]])
      expect(upstream.arrivals).toEqual([0])
    }))

  it.effect("the jitter on a long hint is bounded by maxRetryAfterJitter (default 1 s), not only by 10 %", () =>
    Effect.gen(function*() {
      for (const seed of [1, 2, 3, 4, 5]) {
        const upstream = makeUpstream({ failures: 1, retryAfter: "25 seconds" })
        yield* runVirtual(upstream.call.pipe(
          Retry.retry({ schedule: noJitter, delayHint: hintOf }),
          Effect.withRandom(Random.make(seed))
        ))
        const wait = upstream.arrivals[1]! - upstream.arrivals[0]!
        expect(wait).toBeGreaterThanOrEqual(25_000)
        expect(wait).toBeLessThanOrEqual(26_000)
      }
      const upstream = makeUpstream({ failures: 1, retryAfter: "25 seconds" })
      yield* runVirtual(upstream.call.pipe(
        Retry.retry({ schedule: noJitter, delayHint: hintOf, maxRetryAfterJitter: "10 millis" })
      ))
      expect(upstream.arrivals[1]! - upstream.arrivals[0]!).toBeLessThanOrEqual(25_010)
    }))

  it.effect("calls with the same schedule but other settings each get their own, in any order", () =>
    Effect.gen(function*() {
      // one schedule value shared by every call, as a Policy stage shares its own: only the other settings differ.
      // A 3 s hint is waited under a 5 s maxRetryAfter (and the 30 s default) and gives up the call under 2 s.
      const outcomes: Array<string> = []
      for (const maxRetryAfter of ["5 seconds", "2 seconds", "5 seconds", undefined, "2 seconds"] as const) {
        const upstream = makeUpstream({ failures: 1, retryAfter: "3 seconds" })
        yield* Effect.either(runVirtual(upstream.call.pipe(
          Retry.retry({ schedule: noJitter, delayHint: hintOf, maxRetryAfter, retryAfterJitter: 0 })
        )))
        outcomes.push(
          upstream.arrivals.length === 1 ? "gave up" : `waited ${upstream.arrivals[1]! - upstream.arrivals[0]!}`
        )
      }
      expect(outcomes).toEqual(["waited 3000", "gave up", "waited 3000", "waited 3000", "gave up"])
    }))

  it.effect("while is told the number of the attempt that failed", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream()
      const seen: Array<number> = []
      yield* runVirtual(upstream.call.pipe(
        Retry.retry({
          schedule: Backoff.exponential({ jitter: "none", maxAttempts: 10 }),
          while: (_, attempt) => {
            seen.push(attempt)
            return attempt < 3
          }
        })
      ))
      expect(seen).toEqual([1, 2, 3])
      expect(upstream.arrivals.length).toBe(3)
    }))

  it.effect("an async while is a defect naming it, not a retry of every failure", () =>
    Effect.gen(function*() {
      // a Promise is truthy: read as an answer, `async () => false` would retry every failure
      const upstream = makeUpstream()
      const exit = yield* runVirtual(upstream.call.pipe(
        Retry.retry({
          schedule: Backoff.exponential({ jitter: "none", maxAttempts: 5 }),
          while: (async () => false) as never
        })
      ))
      const defect = Exit.isFailure(exit) ? Cause.dieOption(exit.cause) : Option.none()
      expect(String(Option.getOrUndefined(defect))).toContain("TypeError: Retry: while returned a Promise")
      expect(upstream.arrivals.length).toBe(1)
    }))

  it.effect("finalFailure rewrites the failure returned with the number of attempts made", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream()
      const tagged = (failure: Unavailable, attempts: number) =>
        new Unavailable({ ...failure, attempt: attempts * 100 })
      const exhausted = yield* runVirtual(upstream.call.pipe(
        Retry.retry({ schedule: Backoff.exponential({ jitter: "none", maxAttempts: 3 }), finalFailure: tagged })
      ))
      expect(Exit.isFailure(exhausted) && exhausted.cause._tag === "Fail" && exhausted.cause.error.attempt).toBe(300)
      const refused = yield* runVirtual(
        makeUpstream().call.pipe(
          Retry.retry({ while: () => false, finalFailure: tagged })
        )
      )
      expect(Exit.isFailure(refused) && refused.cause._tag === "Fail" && refused.cause.error.attempt).toBe(100)
    }))

  it.effect("a call that retries without a limit keeps no memory of its earlier retries", () =>
    Effect.gen(function*() {
      // avast/retry-go's `Attempts(0)`: a call retried until it succeeds. Each attempt measures the fiber's stack of
      // continuations (an Effect internal, checked to exist): had every retry kept the one before it alive, the
      // stack would grow with the retry count, and with it the memory held until the call ends.
      const depths: Array<number> = []
      const attempt = Effect.withFiberRuntime<void, string>((fiber) => {
        const stack = (fiber as unknown as { readonly _stack: unknown })._stack
        if (!Array.isArray(stack)) return Effect.dieMessage("the fiber has no continuation stack to measure")
        depths.push(stack.length)
        return depths.length < 100 ? Effect.fail("again") : Effect.void
      })
      for (const delay of [0, 10]) {
        depths.length = 0
        const exit = yield* runVirtual(attempt.pipe(
          Retry.retry({ schedule: Backoff.bounded(Backoff.fromDelay(() => delay), { maxAttempts: Infinity }) })
        ))
        expect(Exit.isSuccess(exit)).toBe(true)
        expect(depths).toHaveLength(100)
        expect(depths[99]).toBe(depths[1])
      }
    }))

  it("durations a timer cannot hold, and a jitter outside [0, 1], are rejected when applied", () => {
    const call = makeUpstream().call
    expect(() => Retry.retry(call, { maxRetryAfter: Duration.millis(2 ** 31) })).toThrow(
      /Retry: maxRetryAfter .* exceeds what a timer can hold/
    )
    expect(() => Retry.retry(call, { maxRetryAfterJitter: "30 days" })).toThrow(/maxRetryAfterJitter/)
    expect(() => Retry.retry(call, { retryAfterJitter: 1.5 })).toThrow(/retryAfterJitter/)
    // a negative duration (which Effect reads as zero) is refused, not taken for "never wait"
    expect(() => Retry.retry(call, { maxRetryAfter: -1 })).toThrow(/maxRetryAfter \(-1\) must not be negative/)
    expect(() => Retry.retry(call, { maxRetryAfterJitter: "-1 seconds" })).toThrow(/maxRetryAfterJitter/)
    // NaN (a number parsed from an unset setting), which Effect also reads as zero: every Retry-After too long
    expect(() => Retry.retry(call, { maxRetryAfter: NaN })).toThrow(/maxRetryAfter \(NaN\) is not a duration/)
    expect(() => Retry.retry(call, { maxRetryAfterJitter: NaN })).toThrow(/maxRetryAfterJitter/)
    expect(() => Retry.retry(call, { maxRetryAfter: Duration.infinity })).not.toThrow()
    expect(() => Retry.retry(call, { maxRetryAfter: Duration.millis(2 ** 31 - 1) })).not.toThrow()
  })

  it.effect("a Retry-After above maxRetryAfter fails at once after one attempt, with the original failure", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream({ retryAfter: "2 minutes" })
      const { attempts, onAttempt } = collector<Unavailable>()
      const exit = yield* upstream.call.pipe(
        Retry.retry({ delayHint: hintOf, maxRetryAfter: "1 minute", onAttempt }),
        Effect.exit
      )
      expect(exit).toStrictEqual(
        Exit.fail(new Unavailable({ attempt: 1, retryAfter: Option.some(Duration.minutes(2)) }))
      )
      expect(upstream.arrivals).toEqual([0])
      expect(yield* TestClock.currentTimeMillis).toBe(0)
      expect(summary(attempts)).toEqual([[2, 120_000, "retry-after-too-long", false]])
    }))

  it.effect("a Retry-After beyond the deadline fails at once with the original failure", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream({ retryAfter: "5 seconds" })
      const { attempts, onAttempt } = collector<Unavailable>()
      const exit = yield* upstream.call.pipe(
        Retry.retry({ delayHint: hintOf, onAttempt }),
        Deadline.withDeadline("3 seconds"),
        Effect.exit
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("Unavailable")
      expect(upstream.arrivals).toEqual([0])
      expect(yield* TestClock.currentTimeMillis).toBe(0)
      expect(attempts.map((a) => a.reason)).toEqual(["deadline"])
    }))

  it.effect("a Retry-After that fits the deadline is retried whatever the jitter: the jitter stops short of it", () =>
    Effect.gen(function*() {
      // 10 s asked, 10.5 s left: up to +1 s of jitter must neither give up nor sleep past the deadline
      for (let seed = 0; seed < 20; seed++) {
        const start = yield* TestClock.currentTimeMillis
        const upstream = makeUpstream({ failures: 1, retryAfter: "10 seconds" })
        const { attempts, onAttempt } = collector<Unavailable>()
        const exit = yield* runVirtual(upstream.call.pipe(
          Retry.retry({ schedule: noJitter, delayHint: hintOf, onAttempt }),
          Deadline.withDeadline("10500 millis"),
          Effect.withRandom(Random.make(seed))
        ))
        expect(exit).toStrictEqual(Exit.succeed("ok after 2"))
        expect(attempts.map((a) => a.reason)).toEqual(["retry-after"])
        expect(upstream.arrivals[1]! - start).toBeGreaterThanOrEqual(10_000)
        expect(upstream.arrivals[1]! - start).toBeLessThan(10_500)
      }
      // the hint itself reaching the deadline still gives up at once
      const upstream = makeUpstream({ failures: 1, retryAfter: "10 seconds" })
      const { attempts, onAttempt } = collector<Unavailable>()
      const exit = yield* upstream.call.pipe(
        Retry.retry({ schedule: noJitter, delayHint: hintOf, onAttempt }),
        Deadline.withDeadline("10 seconds"),
        Effect.exit
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(upstream.arrivals.length).toBe(1)
      expect(summary(attempts)).toEqual([[2, 10_000, "deadline", false]])
    }))

  it.effect("a Retry-After is held to a Backoff schedule's maxElapsed: a retry past it ends retrying, as the schedule would", () =>
    Effect.gen(function*() {
      const longer = makeUpstream({ retryAfter: "10 seconds" })
      const { attempts, onAttempt } = collector<Unavailable>()
      const exit = yield* longer.call.pipe(
        Retry.retry({
          schedule: Backoff.exponential({ maxAttempts: 5, maxElapsed: "5 seconds" }),
          delayHint: hintOf,
          onAttempt
        }),
        Effect.exit
      )
      expect(exit).toStrictEqual(
        Exit.fail(new Unavailable({ attempt: 1, retryAfter: Option.some(Duration.seconds(10)) }))
      )
      expect(yield* TestClock.currentTimeMillis).toBe(0)
      expect(summary(attempts)).toEqual([[2, 0, "exhausted", false]])

      // shorter waits are made until the next would start after 5 s from the first failure; `bounded` too
      for (
        const schedule of [
          Backoff.exponential({ maxAttempts: 10, maxElapsed: "5 seconds" }),
          Backoff.bounded(Backoff.fromDelay(() => "1 millis"), { maxElapsed: "5 seconds" })
        ]
      ) {
        const start = yield* TestClock.currentTimeMillis
        const upstream = makeUpstream({ retryAfter: "2 seconds" })
        const { attempts, onAttempt } = collector<Unavailable>()
        yield* runVirtual(
          upstream.call.pipe(Retry.retry({ schedule, delayHint: hintOf, retryAfterJitter: 0, onAttempt }))
        )
        expect(upstream.arrivals.map((t) => t - start)).toEqual([0, 2000, 4000])
        expect(attempts.at(-1)!.reason).toBe("exhausted")
      }
    }))

  it.effect("a Retry-After within maxElapsed is waited even when the backoff's delay it replaces would pass maxElapsed", () =>
    Effect.gen(function*() {
      // backoff 1 s, 2 s, 4 s, 8 s (the third already starts past 5 s); the server asks for 1 s each time
      for (
        const schedule of [
          Backoff.exponential({ baseDelay: "1 second", jitter: "none", maxAttempts: 10, maxElapsed: "5 seconds" }),
          Backoff.bounded(Backoff.fromDelay((retry) => retry * 3000), { maxAttempts: 10, maxElapsed: "5 seconds" })
        ]
      ) {
        const start = yield* TestClock.currentTimeMillis
        const upstream = makeUpstream({ failures: 4, retryAfter: "1 second" })
        const { attempts, onAttempt } = collector<Unavailable>()
        const exit = yield* runVirtual(
          upstream.call.pipe(Retry.retry({ schedule, delayHint: hintOf, retryAfterJitter: 0, onAttempt }))
        )
        expect(exit).toStrictEqual(Exit.succeed("ok after 5"))
        expect(upstream.arrivals.map((t) => t - start)).toEqual([0, 1000, 2000, 3000, 4000])
        expect(attempts.map((a) => a.reason)).toEqual(["retry-after", "retry-after", "retry-after", "retry-after"])
      }
      // without a server's wait the backoff's own delay is still held to maxElapsed: 1 s, 2 s, then 4 s would pass 5 s
      const start = yield* TestClock.currentTimeMillis
      const upstream = makeUpstream({ failures: 4 })
      const { attempts, onAttempt } = collector<Unavailable>()
      const exit = yield* runVirtual(upstream.call.pipe(Retry.retry({
        schedule: Backoff.exponential({
          baseDelay: "1 second",
          jitter: "none",
          maxAttempts: 10,
          maxElapsed: "5 seconds"
        }),
        delayHint: hintOf,
        onAttempt
      })))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(upstream.arrivals.map((t) => t - start)).toEqual([0, 1000, 3000])
      expect(summary(attempts).at(-1)).toEqual([4, 0, "exhausted", false])
    }))

  it.effect("the jitter on a Retry-After never takes a retry past maxElapsed", () =>
    Effect.gen(function*() {
      for (let seed = 0; seed < 10; seed++) {
        const start = yield* TestClock.currentTimeMillis
        const upstream = makeUpstream({ failures: 1, retryAfter: "4900 millis" })
        const exit = yield* runVirtual(upstream.call.pipe(
          Retry.retry({
            schedule: Backoff.exponential({ maxElapsed: "5 seconds" }),
            delayHint: hintOf,
            retryAfterJitter: 0.1
          }),
          Effect.withRandom(Random.make(seed))
        ))
        expect(exit).toStrictEqual(Exit.succeed("ok after 2"))
        expect(upstream.arrivals[1]! - start).toBeGreaterThanOrEqual(4900)
        expect(upstream.arrivals[1]! - start).toBeLessThanOrEqual(5000)
      }
    }))

  it.effect("a deadline shorter than the next backoff delay fails at once with the original failure", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream()
      const { attempts, onAttempt } = collector<Unavailable>()
      const exit = yield* upstream.call.pipe(
        Retry.retry({ schedule: Backoff.exponential({ jitter: "none", baseDelay: "1 second" }), onAttempt }),
        Deadline.withDeadline("500 millis"),
        Effect.exit
      )
      expect(exit).toStrictEqual(Exit.fail(new Unavailable({ attempt: 1, retryAfter: Option.none() })))
      expect(yield* TestClock.currentTimeMillis).toBe(0)
      expect(summary(attempts)).toEqual([[2, 1000, "deadline", false]])
    }))

  it.effect("stops retrying when the remaining deadline cannot hold the next delay", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream()
      const { attempts, onAttempt } = collector<Unavailable>()
      const exit = yield* runVirtual(upstream.call.pipe(
        Retry.retry({ schedule: Backoff.exponential({ jitter: "none", maxAttempts: 10 }), onAttempt }),
        Deadline.withDeadline("1 second")
      ))
      // 100 + 200 + 400 = 700 ms slept; the next 800 ms would cross the deadline at 1000 ms
      expect(upstream.arrivals).toEqual([0, 100, 300, 700])
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("Unavailable")
      expect(attempts.at(-1)!.reason).toBe("deadline")
    }))

  it.effect("attempt timeouts are retried when the predicate says so; the total deadline still bounds the call", () =>
    Effect.gen(function*() {
      let calls = 0
      const hanging = Effect.suspend(() => {
        calls++
        return Effect.never
      })
      const exit = yield* runVirtual(hanging.pipe(
        Deadline.attemptTimeout("1 second"),
        Retry.retry({
          schedule: Backoff.exponential({ jitter: "none", maxAttempts: 100 }),
          while: (e) => e.reason === "Attempt"
        }),
        Deadline.withDeadline("3 seconds")
      ))
      expect(exit).toStrictEqual(
        Exit.fail(new Deadline.DeadlineExceeded({ reason: "Deadline", timeout: Duration.seconds(3) }))
      )
      // attempts start at 0, 1100, 2300; the third is cut by the total deadline at 3000
      expect(calls).toBe(3)
    }))

  it.effect("a refused budget returns the original failure, wrapped, without retrying", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream()
      const { attempts, onAttempt } = collector<Unavailable>()
      const error = yield* upstream.call.pipe(
        Retry.retry({ budgetKey: "api", onAttempt }),
        Effect.flip,
        Effect.provide(RetryBudget.layer({ minRetries: 0, ratio: 0 }))
      )
      expect(error).toStrictEqual(
        new RetryBudget.RetryBudgetExhausted({
          key: "api",
          attempts: 1,
          failure: new Unavailable({ attempt: 1, retryAfter: Option.none() })
        })
      )
      expect(upstream.arrivals).toEqual([0])
      expect(attempts.map((a) => a.reason)).toEqual(["budget-refused"])
      // a caller that does not care why can recover the original failure
      const original = yield* Effect.fail(error).pipe(
        Effect.catchTag("RetryBudgetExhausted", (e) => Effect.fail(e.failure)),
        Effect.flip
      )
      expect(original._tag).toBe("Unavailable")
    }))

  it.effect("full outage: with a budget, attempts stay near the logical calls; without, they triple", () =>
    Effect.gen(function*() {
      const calls = 100
      const outage = (retry: (call: Effect.Effect<never, Unavailable>) => Effect.Effect<unknown, unknown>) =>
        Effect.gen(function*() {
          let attempts = 0
          const call = Effect.suspend(() => {
            attempts++
            return Effect.fail(new Unavailable({ attempt: attempts, retryAfter: Option.none() }))
          })
          const exits = yield* runVirtual(
            Effect.all(Array.from({ length: calls }, () => Effect.exit(retry(call))), { concurrency: "unbounded" })
          )
          expect(Exit.isSuccess(exits)).toBe(true)
          return attempts
        })

      const unbudgeted = yield* outage((call) => Retry.retry(call))
      expect(unbudgeted).toBe(3 * calls)

      // one budget shared by every call (as one `RetryBudget.layer` provided to the whole program gives)
      const shared = yield* Effect.gen(function*() {
        const budget = yield* RetryBudget.make()
        return yield* outage((call) =>
          Retry.retry(call, { budgetKey: "api" }).pipe(Effect.provideService(RetryBudget.RetryBudget, budget))
        )
      })
      const { ratio, minRetries } = RetryBudget.defaults
      expect(shared).toBeLessThanOrEqual(calls + ratio * calls + minRetries)
      expect(shared).toBeGreaterThan(calls)
    }))

  it.effect("reports each decision as span events, a span annotation and debug logs", () =>
    Effect.gen(function*() {
      const events: Array<readonly [string, Record<string, unknown>]> = []
      const annotations = new Map<string, unknown>()
      const tracer = Tracer.make({
        span: (name, parent, context, links, startTime, kind) => ({
          _tag: "Span",
          name,
          spanId: "span",
          traceId: "trace",
          parent,
          context,
          status: { _tag: "Started", startTime },
          attributes: annotations,
          links,
          sampled: true,
          kind,
          end: () => {},
          attribute: (key, value) => annotations.set(key, value),
          event: (eventName, _time, attributes) => events.push([eventName, attributes ?? {}]),
          addLinks: () => {}
        }),
        context: (f) => f()
      })
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => logs.push(String(Array.isArray(message) ? message[0] : message)))
      const upstream = makeUpstream({ failures: 1 })
      yield* runVirtual(
        upstream.call.pipe(
          Retry.retry({ schedule: noJitter }),
          Effect.withSpan("call"),
          Effect.withTracer(tracer),
          Logger.withMinimumLogLevel(LogLevel.Debug),
          Effect.provide(Logger.replace(Logger.defaultLogger, logger))
        )
      )
      expect(events.filter(([name]) => name === "retry" || name === "retry.stop")).toEqual([
        ["retry", { "retry.attempt": 2, "retry.delay_ms": 100, "retry.reason": "backoff", "retry.retrying": true }]
      ])
      expect(annotations.get("retry.attempts")).toBe(2)
      expect(logs).toEqual(["retrying: attempt 2 after 100ms (backoff)"])
    }))

  const arbitraries = {
    seed: FastCheck.integer(),
    base: FastCheck.integer({ min: 1, max: 1000 }),
    jitter: FastCheck.constantFrom<Backoff.Jitter>("none", "full", "equal", "decorrelated"),
    maxAttempts: FastCheck.integer({ min: 1, max: 15 })
  }

  it.effect.prop(
    "no sleep runs past the deadline and attempts never exceed maxAttempts",
    { ...arbitraries, deadline: FastCheck.integer({ min: 1, max: 5000 }) },
    ({ base, deadline, jitter, maxAttempts, seed }) =>
      Effect.gen(function*() {
        const start = yield* TestClock.currentTimeMillis
        const upstream = makeUpstream()
        const { attempts, onAttempt } = collector<Unavailable>()
        yield* runVirtual(upstream.call.pipe(
          Retry.retry({
            schedule: Backoff.exponential({ baseDelay: Duration.millis(base), jitter, maxAttempts }),
            onAttempt
          }),
          Deadline.withDeadline(Duration.millis(deadline)),
          Effect.withRandom(Random.make(seed))
        ))
        const slept = attempts.filter((a) => a.retrying).reduce((sum, a) => sum + Duration.toMillis(a.delay), 0)
        expect(slept).toBeLessThan(deadline)
        expect(upstream.arrivals.at(-1)! - start).toBeLessThan(deadline)
        expect(upstream.arrivals.length).toBeLessThanOrEqual(maxAttempts)
      }),
    { fastCheck: { seed: 42, numRuns: 60 } }
  )

  it.effect.prop(
    "Retry-After is the wait whatever the backoff: hint ≤ wait ≤ hint + min(10 %, 1 s)",
    { ...arbitraries, hint: FastCheck.integer({ min: 0, max: 5000 }) },
    ({ base, hint, jitter, maxAttempts, seed }) =>
      Effect.gen(function*() {
        const upstream = makeUpstream({ retryAfter: Duration.millis(hint) })
        const schedule = Backoff.exponential({ baseDelay: Duration.millis(base), jitter, maxAttempts })
        yield* runVirtual(upstream.call.pipe(
          Retry.retry({ schedule, delayHint: hintOf, maxRetryAfter: "10 seconds", retryAfterJitter: 0.1 }),
          Effect.withRandom(Random.make(seed))
        ))
        expect(upstream.arrivals.length).toBe(maxAttempts)
        for (let i = 1; i < upstream.arrivals.length; i++) {
          const wait = upstream.arrivals[i]! - upstream.arrivals[i - 1]!
          expect(wait).toBeGreaterThanOrEqual(hint)
          expect(wait).toBeLessThanOrEqual(hint + Math.min(hint * 0.1, 1000))
        }
      }),
    { fastCheck: { seed: 42, numRuns: 60 } }
  )

  it.effect.prop(
    "with a server's wait, no retry starts at or past the deadline, nor past maxElapsed after the first failure",
    {
      ...arbitraries,
      hint: FastCheck.integer({ min: 0, max: 5000 }),
      deadline: FastCheck.integer({ min: 1, max: 20_000 }),
      maxElapsed: FastCheck.integer({ min: 0, max: 20_000 })
    },
    ({ base, deadline, hint, jitter, maxAttempts, maxElapsed, seed }) =>
      Effect.gen(function*() {
        const start = yield* TestClock.currentTimeMillis
        const upstream = makeUpstream({ retryAfter: Duration.millis(hint) })
        const schedule = Backoff.exponential({
          baseDelay: Duration.millis(base),
          jitter,
          maxAttempts,
          maxElapsed: Duration.millis(maxElapsed)
        })
        yield* runVirtual(upstream.call.pipe(
          Retry.retry({ schedule, delayHint: hintOf, retryAfterJitter: 0.1 }),
          Deadline.withDeadline(Duration.millis(deadline)),
          Effect.withRandom(Random.make(seed))
        ))
        for (const arrival of upstream.arrivals.slice(1)) {
          expect(arrival - start).toBeLessThan(deadline)
          expect(arrival - start).toBeLessThanOrEqual(maxElapsed)
          expect(arrival - start).toBeGreaterThanOrEqual(hint)
        }
        expect(upstream.arrivals.length).toBeLessThanOrEqual(maxAttempts)
      }),
    { fastCheck: { seed: 42, numRuns: 60 } }
  )
})

describe("Retry: settings resolved once", () => {
  it.effect("callers with settings of their own, calling in turn, each keep their resolution, and each still applies", () =>
    Effect.gen(function*() {
      // two upstreams' settings, as two `Policy` stages pass them: one options literal per call from fixed values
      const fast: Retry.Options<number, never> = {
        schedule: Backoff.exponential({ baseDelay: "10 millis", maxAttempts: 3 }),
        maxRetryAfter: "1 second"
      }
      const slow: Retry.Options<number, never> = {
        schedule: Backoff.exponential({ baseDelay: "1 second", maxAttempts: 3 }),
        maxRetryAfter: "1 minute"
      }
      const before = resolutionsMade()
      for (let i = 0; i < 50; i++) {
        expect(yield* Retry.retry(Effect.succeed(i), { ...fast })).toBe(i)
        expect(yield* Retry.retry(Effect.succeed(i), { ...slow })).toBe(i)
      }
      // before, every call of the one resolved after the other's resolved again: 100 resolutions
      expect(resolutionsMade() - before).toBe(2)
      // a change of any setting is a new resolution, and is what the retry then follows: a server's 2 s wait is past
      // the fast upstream's patience (no retry) and within the slow one's (both retries made)
      const hint = () => Option.some(Duration.seconds(2))
      const attemptsWith = (settings: typeof fast) =>
        Effect.gen(function*() {
          let attempts = 0
          const fiber = yield* Effect.fork(
            Effect.exit(Retry.retry(Effect.suspend(() => Effect.fail(++attempts)), { ...settings, delayHint: hint }))
          )
          yield* TestClock.adjust("10 seconds")
          expect(Exit.isFailure(yield* Fiber.join(fiber))).toBe(true)
          return attempts
        })
      expect(yield* attemptsWith(fast)).toBe(1)
      expect(yield* attemptsWith(slow)).toBe(3)
      expect(resolutionsMade() - before).toBe(4)
    }))
})

describe("Retry: a budget passed directly (budgetService)", () => {
  it.effect("draws from budgetService with no RetryBudget in context: a refusing budget ends with RetryBudgetExhausted", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream()
      const { attempts, onAttempt } = collector<Unavailable>()
      const budgetService = RetryBudget.unsafeMake({ minRetries: 0, ratio: 0 })
      // no RetryBudget provided: the program type-checks and runs without one
      const error = yield* upstream.call.pipe(Retry.retry({ budgetKey: "api", budgetService, onAttempt }), Effect.flip)
      expect(error).toStrictEqual(
        new RetryBudget.RetryBudgetExhausted({
          key: "api",
          attempts: 1,
          failure: new Unavailable({ attempt: 1, retryAfter: Option.none() })
        })
      )
      expect(upstream.arrivals).toEqual([0])
      expect(attempts.map((a) => a.reason)).toEqual(["budget-refused"])
      expect(yield* budgetService.stats("api")).toMatchObject({ requests: 1, retries: 0 })
    }))

  it.effect("a budget made by hand is asked through its own deposit, passed directly or from context", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream({ failures: 0 })
      const inner = RetryBudget.unsafeMake()
      const deposits: Array<string> = []
      // a decorator over the in-memory budget: its deposit must be the one called, on every call
      const byHand: RetryBudget.RetryBudget.Service = {
        ...inner,
        deposit: (key) => Effect.zipRight(Effect.sync(() => deposits.push(key)), inner.deposit(key))
      }
      yield* upstream.call.pipe(Retry.retry({ budgetKey: "direct", budgetService: byHand }))
      yield* upstream.call.pipe(
        Retry.retry({ budgetKey: "context" }),
        Effect.provideService(RetryBudget.RetryBudget, byHand)
      )
      expect(deposits).toEqual(["direct", "context"])
      expect(yield* inner.stats("direct")).toMatchObject({ requests: 1 })
      expect(yield* inner.stats("context")).toMatchObject({ requests: 1 })
    }))

  it.effect("the budget passed directly is used even when another RetryBudget is in context", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream()
      const own = RetryBudget.unsafeMake({ minRetries: 0, ratio: 0 })
      const inContext = yield* RetryBudget.make({ minRetries: 100 })
      const error = yield* upstream.call.pipe(
        Retry.retry({ budgetKey: "api", budgetService: own }),
        Effect.flip,
        Effect.provideService(RetryBudget.RetryBudget, inContext)
      )
      expect(error._tag).toBe("RetryBudgetExhausted")
      expect(upstream.arrivals).toEqual([0])
      expect(yield* inContext.stats("api")).toMatchObject({ requests: 0, retries: 0 })
    }))

  it.effect("a budget with room allows the retries and records the request and the retries it granted", () =>
    Effect.gen(function*() {
      const upstream = makeUpstream({ failures: 2 })
      const budgetService = RetryBudget.unsafeMake({ minRetries: 5, ratio: 0 })
      const fiber = yield* Effect.fork(upstream.call.pipe(
        Retry.retry({ budgetKey: "api", budgetService, schedule: noJitter })
      ))
      // 100 ms + 200 ms of backoff, well inside the budget's 10 s window
      yield* TestClock.adjust("300 millis")
      expect(yield* Fiber.join(fiber)).toBe("ok after 3")
      expect(upstream.arrivals).toEqual([0, 100, 300])
      expect(yield* budgetService.stats("api")).toMatchObject({ requests: 1, retries: 2 })
    }))
})

describe("Retry: options of the wrong type", () => {
  it.effect("a while, delayHint, finalFailure or onAttempt that is no function is a RangeError naming it", () =>
    Effect.gen(function*() {
      for (const field of ["while", "delayHint", "finalFailure", "onAttempt"]) {
        const defect = yield* defectOf(() =>
          Retry.retry(Effect.fail("boom"), { schedule: Schedule.recurs(1), [field]: "yes" } as Retry.Options<string>)
        )
        expect(defect, field).toBeInstanceOf(RangeError)
        expect((defect as Error).message, field).toContain(`Retry: ${field}`)
      }
    }))

  it.effect("a retryAfterJitter that is no number is refused, not coerced", () =>
    Effect.gen(function*() {
      for (const retryAfterJitter of [true, "", [1], "0.5", Symbol("j")]) {
        const defect = yield* defectOf(() =>
          Retry.retry(Effect.fail("boom"), {
            schedule: Schedule.recurs(1),
            retryAfterJitter: retryAfterJitter as unknown as number
          })
        )
        expect(defect, String(retryAfterJitter)).toBeInstanceOf(RangeError)
        expect((defect as Error).message).toContain("retryAfterJitter")
      }
    }))
})
