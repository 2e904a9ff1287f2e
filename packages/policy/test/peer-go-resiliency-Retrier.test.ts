// Ported from eapache/go-resiliency at 39c0aa4a7ec871cc8e2f7be2c44db1362e0667b7: retrier/retrier_test.go,
// retrier/classifier_test.go and retrier/backoffs_test.go, one `it` per Go test, named after it.
// Mapping: `retrier.New(backoff, classifier)` is `Retry.retry({ schedule, while })` where `schedule` waits
// `backoff[n - 1]` before retry n (`Backoff.fromDelay`) for `backoff.length` retries (`Backoff.bounded` with
// `maxAttempts: backoff.length + 1`), and `WithInfiniteRetry()` keeps the last wait for ever (no bound); a
// `Classifier` is `while`: `DefaultClassifier` (retry every error) is no `while`, `WhitelistClassifier{errs}` is
// `while: (e) => errs.includes(e)`, `BlacklistClassifier{errs}` its negation; `Succeed` is a success, which is never
// retried, `Fail` a failure `while` refuses. A `context.Context` that is cancelled is the interruption of the fiber
// running the retry; the attempts are counted by the work itself (Go's `i` and `RunFn`'s `retries`); every wait is on
// the TestClock (`advance`). `ConstantBackoff(n, d)` is `Backoff.bounded(Schedule.spaced(d), { maxAttempts: n + 1 })`,
// `ExponentialBackoff(n, d)` is `Backoff.exponential({ baseDelay: d, jitter: "none", maxDelay: Infinity,
// maxAttempts: n + 1 })` and `LimitedExponentialBackoff(n, d, max)` the same with `maxDelay: max`; their slices are
// the delays the schedule steps to (`stepDelays`).
// Deliberate differences: a cancelled context makes go-resiliency return `ctx.Err()` (or, `WithSurfaceWorkErrors`,
// the work's last error); an interrupted Sturdy retry ends interrupted, with no further attempt and no error value
// (the caller that interrupted it gets no answer to read), so both of those cases assert the interruption.
// go-resiliency's classifiers unwrap errors (`errors.Is`); Sturdy's `while` is the caller's predicate and sees the
// failure as it is, so the wrapped-error lines of TestWhitelistClassifier / TestBlacklistClassifier are not ported.
// Not ported: TestRetrierJitter's jittered half (`SetJitter` draws ±25 % around a listed delay; Sturdy's delay lists,
// `fromDelay`, have no jitter, and its exponential jitter only shortens a delay) and its `SetJitter(-1)` / `(2)`
// lines (a setter that silently ignores bad values; Sturdy has no such setter); the un-jittered `calcSleep` lines are
// ported. ExampleRetrier (no assertion).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Retry from "@sturdy/policy/Retry"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import { advance } from "./utils/advance.js"
import { stepDelays } from "./utils/stepDelays.js"

const errFoo = new Error("FOO")
const errBar = new Error("BAR")
const errBaz = new Error("BAZ")

// retrier.New(backoff, _): wait backoff[n - 1] before retry n, for backoff.length retries (or for ever, with the last)
const backoffSchedule = (backoff: ReadonlyArray<number>, infinite = false) => {
  const delays = Backoff.fromDelay((retry) => backoff[Math.min(retry, backoff.length) - 1] ?? 0)
  return infinite ? delays : Backoff.bounded(delays, { maxAttempts: backoff.length + 1 })
}

const whitelist = (...errs: ReadonlyArray<Error>) => (e: Error) => errs.includes(e)
const blacklist = (...errs: ReadonlyArray<Error>) => (e: Error) => !errs.includes(e)

// genWork(returns): the i-th call returns returns[i - 1], then nil; `count()` is Go's `i`
const genWork = (returns: ReadonlyArray<Error>) => {
  let i = 0
  const work = Effect.suspend(() => {
    i++
    return i > returns.length ? Effect.void : Effect.fail(returns[i - 1])
  })
  return { work, count: () => i }
}

// RunFn's work(ctx, retries): the attempt number, from 0, is counted by the work
const runFn = (errExpected: ReadonlyArray<Error>, onCall?: (retries: number) => Effect.Effect<void>) => {
  let retries = 0
  return Effect.suspend(() => {
    const n = retries
    if (n >= errExpected.length) return Effect.void
    retries++
    return Effect.zipRight(onCall === undefined ? Effect.void : onCall(n), Effect.fail(errExpected[n]))
  })
}

describe("peer go-resiliency retrier_test.go", () => {
  it.effect("TestRetrier", () =>
    Effect.gen(function*() {
      const r = { schedule: backoffSchedule([0, 10]), while: whitelist(errFoo) }

      let run = genWork([errFoo, errFoo])
      expect(yield* advance(Retry.retry(run.work, r))).toEqual(Exit.void)
      expect(run.count()).toBe(3)

      run = genWork([errFoo, errBar])
      expect(yield* advance(Retry.retry(run.work, r))).toEqual(Exit.fail(errBar))
      expect(run.count()).toBe(2)

      run = genWork([errBar, errBaz])
      expect(yield* advance(Retry.retry(run.work, r))).toEqual(Exit.fail(errBar))
      expect(run.count()).toBe(1)
    }))

  it.effect("TestRetrierCtx", () =>
    Effect.gen(function*() {
      const r = { schedule: backoffSchedule([0, 10]), while: whitelist() }

      let run = genWork([])
      expect(yield* advance(Retry.retry(run.work, r))).toEqual(Exit.void)
      expect(run.count()).toBe(1)

      // cancel(): a retry whose fiber is interrupted before it starts runs no attempt (Go's work sees ctx.Done and
      // returns errFoo without counting; Sturdy's work is not run at all)
      run = genWork([])
      const fiber = yield* Effect.fork(Retry.retry(run.work, r))
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(run.count()).toBe(0)
    }))

  it.effect("TestRetrierCtxError", () =>
    Effect.gen(function*() {
      // nil classifier: every error is retried, two retries
      const work = runFn([errFoo, errFoo, errBar, errBaz])
      expect(yield* advance(Retry.retry(work, { schedule: backoffSchedule([0, 10]) }))).toEqual(Exit.fail(errBar))
    }))

  it.effect("TestRetrierRunFnError", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      const work = runFn([errFoo, errFoo, errBar, errBaz], (retries) => Effect.sync(() => seen.push(retries)))
      expect(yield* advance(Retry.retry(work, { schedule: backoffSchedule([0, 10]) }))).toEqual(Exit.fail(errBar))
      expect(seen).toEqual([0, 1, 2])
    }))

  it.effect("TestRetrierCtxWithInfinite", () =>
    Effect.gen(function*() {
      const work = runFn([errFoo, errFoo, errFoo, errBar, errBaz])
      expect(yield* advance(Retry.retry(work, { schedule: backoffSchedule([0, 10], true) }))).toEqual(Exit.void)
    }))

  it.effect("TestRetrierRunFnWithInfinite", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      const work = runFn([errFoo, errFoo, errFoo, errBar, errBaz], (retries) => Effect.sync(() => seen.push(retries)))
      expect(yield* advance(Retry.retry(work, { schedule: backoffSchedule([0, 10], true) }))).toEqual(Exit.void)
      // the last wait (10 ms) repeats: five failures, then the sixth attempt succeeds
      expect(seen).toEqual([0, 1, 2, 3, 4])
    }))

  // the context is cancelled inside the second call to the work function: the caller's fiber is interrupted from
  // within the second attempt, which then fails with errBar
  const cancelledInSecondCall = Effect.gen(function*() {
    const seen: Array<number> = []
    const work = runFn([errFoo, errBar, errBaz], (retries) =>
      Effect.withFiberRuntime<void>((fiber) => {
        seen.push(retries)
        // cancel(): the fiber running the retry is interrupted, as from outside
        if (retries === 1) fiber.unsafeInterruptAsFork(fiber.id())
        return Effect.void
      }))
    const exit = yield* advance(Retry.retry(work, { schedule: backoffSchedule([0, 10]) }))
    return { exit, seen }
  })

  it.effect("TestRetrierRunFnWithSurfaceWorkErrors", () =>
    Effect.gen(function*() {
      // go-resiliency returns the work's last error, errBar; Sturdy ends interrupted, with no third attempt
      const { exit, seen } = yield* cancelledInSecondCall
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(seen).toEqual([0, 1])
    }))

  it.effect("TestRetrierRunFnWithoutSurfaceWorkErrors", () =>
    Effect.gen(function*() {
      // go-resiliency returns context.Canceled: Sturdy ends interrupted, with no third attempt
      const { exit, seen } = yield* cancelledInSecondCall
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(seen).toEqual([0, 1])
    }))

  it.effect("TestRetrierNone", () =>
    Effect.gen(function*() {
      const r = { schedule: backoffSchedule([]) }
      let i = 0
      const failing = Effect.suspend(() => {
        i++
        return Effect.fail(errFoo)
      })
      expect(yield* advance(Retry.retry(failing, r))).toEqual(Exit.fail(errFoo))
      expect(i).toBe(1)

      i = 0
      const succeeding = Effect.sync(() => {
        i++
      })
      expect(yield* advance(Retry.retry(succeeding, r))).toEqual(Exit.void)
      expect(i).toBe(1)
    }))

  it("TestRetrierJitter", () => {
    // calcSleep(n) without jitter: the n-th listed delay (the third retry waits 4 h)
    expect(stepDelays(backoffSchedule([0, 10, 4 * 3_600_000]), [errFoo, errFoo, errFoo, errFoo])).toEqual([
      0,
      10,
      4 * 3_600_000
    ])
  })

  it.effect("TestRetrierThreadSafety", () =>
    Effect.gen(function*() {
      // two runs of one retrier at once: each makes its own attempts (one retry) and fails on its own
      let calls = 0
      const work = Effect.suspend(() => {
        calls++
        return Effect.fail(new Error("error"))
      })
      const retried = Retry.retry(work, { schedule: backoffSchedule([0]) })
      const exits = yield* advance(Effect.all([Effect.exit(retried), Effect.exit(retried)], { concurrency: 2 }))
      expect(Exit.isSuccess(exits) && exits.value.every(Exit.isFailure)).toBe(true)
      expect(calls).toBe(4)
    }))
})

// one attempt whose outcome is `outcome`, retried once if the classifier says Retry: the attempts it took
const classify = (outcome: Error | undefined, predicate?: (e: Error) => boolean) =>
  Effect.gen(function*() {
    let attempts = 0
    const work = Effect.suspend(() => {
      attempts++
      return outcome === undefined || attempts > 1 ? Effect.void : Effect.fail(outcome)
    })
    const exit = yield* advance(Retry.retry(work, { schedule: backoffSchedule([0]), while: predicate }))
    // Succeed: no retry; Retry: a second attempt; Fail: the failure at once
    return outcome === undefined ?
      (attempts === 1 && Exit.isSuccess(exit) ? "Succeed" : "?") :
      attempts === 2 && Exit.isSuccess(exit)
      ? "Retry"
      : attempts === 1 && Exit.isFailure(exit)
      ? "Fail"
      : "?"
  })

describe("peer go-resiliency classifier_test.go", () => {
  it.effect("TestDefaultClassifier", () =>
    Effect.gen(function*() {
      expect(yield* classify(undefined)).toBe("Succeed")
      expect(yield* classify(errFoo)).toBe("Retry")
      expect(yield* classify(errBar)).toBe("Retry")
      expect(yield* classify(errBaz)).toBe("Retry")
    }))

  it.effect("TestWhitelistClassifier", () =>
    Effect.gen(function*() {
      const c = whitelist(errFoo, errBar)
      expect(yield* classify(undefined, c)).toBe("Succeed")
      expect(yield* classify(errFoo, c)).toBe("Retry")
      expect(yield* classify(errBar, c)).toBe("Retry")
      expect(yield* classify(errBaz, c)).toBe("Fail")
    }))

  it.effect("TestBlacklistClassifier", () =>
    Effect.gen(function*() {
      const c = blacklist(errBar)
      expect(yield* classify(undefined, c)).toBe("Succeed")
      expect(yield* classify(errFoo, c)).toBe("Retry")
      expect(yield* classify(errBar, c)).toBe("Fail")
      expect(yield* classify(errBaz, c)).toBe("Retry")
    }))
})

// the delays a backoff schedule steps to, for as many failures as it allows (and one more, which it refuses)
const delaysOf = (schedule: Schedule.Schedule<unknown, unknown>, n: number) =>
  stepDelays(schedule, Array.from({ length: n + 1 }, () => errFoo))

const minute = 60_000
const hour = 3_600_000

describe("peer go-resiliency backoffs_test.go", () => {
  it("TestConstantBackoff", () => {
    expect(delaysOf(Backoff.bounded(Schedule.spaced("10 millis"), { maxAttempts: 2 }), 1)).toEqual([10])
    expect(delaysOf(Backoff.bounded(Schedule.spaced("250 hours"), { maxAttempts: 11 }), 10)).toEqual(
      Array.from({ length: 10 }, () => 250 * hour)
    )
  })

  it("TestExponentialBackoff", () => {
    const exponential = (n: number, baseDelay: number) =>
      Backoff.exponential({ baseDelay, jitter: "none", maxDelay: Infinity, maxAttempts: n + 1 })
    expect(delaysOf(exponential(1, 10), 1)).toEqual([10])
    expect(delaysOf(exponential(4, minute), 4)).toEqual([minute, 2 * minute, 4 * minute, 8 * minute])
  })

  it("TestLimitedExponentialBackoff", () => {
    const limited = (n: number, baseDelay: number, maxDelay: number) =>
      Backoff.exponential({ baseDelay, jitter: "none", maxDelay, maxAttempts: n + 1 })
    expect(delaysOf(limited(1, 10, 11), 1)).toEqual([10])
    expect(delaysOf(limited(5, minute, 4 * minute), 5)).toEqual([
      minute,
      2 * minute,
      4 * minute,
      4 * minute,
      4 * minute
    ])
  })
})
