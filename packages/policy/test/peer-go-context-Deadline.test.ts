// Ported from golang/go's src/context: x_test.go (the stored version that carries TestCause, TestWithoutCancel and the
// AfterFunc tests, Go 1.21+; the archive did not report its commit) for the public cases, and context_test.go at
// 0ad368675bae1e3228c9146e092cd00cfb29ac27 for XTestParentFinishesChild and XTestChildFinishesFirst (they read
// unexported linkage; only their public Done/Err assertions are ported). One `it` per Go test, named after it.
// Mapping: a context is the scope of an effect; `WithTimeout(parent, d)` is `Deadline.withDeadline(d)` around the
// effect that runs in the child, `WithDeadline(parent, t)` the same with `t - now`; `Background()` is no limit;
// `<-c.Done()` then `c.Err() == DeadlineExceeded` is the effect (`Effect.never`) failing with `DeadlineExceeded`;
// `c.Err() == Canceled` after `cancel()` is the effect's fiber being interrupted (Effect's cancellation), never a
// `DeadlineExceeded`; the non-blocking `select { case <-c.Done(): default: }` on a deadline is `ensureRemaining("0
// millis")`; `c.Deadline()` is `Deadline.current` (and `remaining`); `otherContext{c}` (a foreign Context wrapping
// c) is a fiber boundary: the child effect forked and joined, so the limit crosses a fiber; `quiescent`,
// `shortDuration` and `veryLongDuration` are TestClock times (1 ms, 1000 h).
// Deliberate differences: Go's child context outlives the call that made it and must be cancelled; Sturdy's limit is
// scoped to the effect, so "cancel" is interrupting the fiber. A Go deadline in the past is built by `WithDeadline`;
// Sturdy's limits are relative, so a past deadline is one established earlier (`Deadline.establish`) that has since
// passed.
// Not ported: TestTODO, TestWithCancel, TestSimultaneousCancels, TestInterlockedCancels, TestWithCancelCanceledParent,
// TestWithCancelSimultaneouslyCanceledParent, TestCauseRace, TestCustomContextPropagation, TestCustomContextCause and
// the WithCancelCause rows of TestCause (cancellation without a deadline is Effect's interruption, not Sturdy's);
// TestValues, TestWithValueChecksKey, TestInvalidDerivedFail (context values; Sturdy's limit is a FiberRef);
// TestAllocs, TestCancelRemoves, XTestCustomContextGoroutines (allocations, unexported linkage, goroutine counts);
// the String() prefixes; TestWithoutCancel and its TestCause rows (no way to drop the limit for a sub-effect in
// Sturdy's API); the AfterFunc tests other than TestAfterFuncCalledAfterTimeout (AfterFunc's stop() has no analogue).
import { describe, expect, it } from "@effect/vitest"
import { Deadline } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const shortDuration = "1 millis"
const veryLongDuration = "1000 hours"

const isDeadlineExceeded = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && Deadline.isDeadlineExceeded(exit.cause.error)

const isCanceled = (exit: Exit.Exit<unknown, unknown>) => Exit.isInterrupted(exit) && !isDeadlineExceeded(exit)

// `otherContext{c}`: the effect runs in a child fiber that inherits the limit
const otherContext = <A, E>(self: Effect.Effect<A, E>) => Effect.flatMap(Effect.fork(self), Fiber.join)

// testDeadline: `c.Done()` closes within `quiescent` (here: on the TestClock, at `at` ms) with DeadlineExceeded
const testDeadline = <A, E>(c: Effect.Effect<A, E>, atMillis: number) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const fiber = yield* Effect.fork(c)
    yield* Effect.yieldNow()
    if (atMillis > 0) {
      yield* TestClock.adjust(Duration.millis(atMillis - 1))
      // not done before its deadline
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
    }
    const exit = yield* Fiber.await(fiber)
    expect(isDeadlineExceeded(exit)).toBe(true)
    expect((yield* Clock.currentTimeMillis) - start).toBe(atMillis)
  })

// a seeded generator (Go's rand.New(rand.NewSource(seed))), so every run builds the same layers
const lcg = (seed: number) => {
  let state = seed >>> 0
  return (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
}

// testLayers: at least 30 layers of value scopes (here: fiber boundaries), cancel scopes (a fiber one can interrupt)
// and timeout scopes (`withDeadline`), built from `seed`
const layers = (seed: number, timeout: Duration.DurationInput) => {
  const intn = lcg(seed)
  const kinds: Array<0 | 1 | 2> = []
  let timers = 0
  let cancels = 0
  let values = 0
  for (let i = 0; i < 30 || timers === 0 || cancels === 0 || values === 0; i++) {
    const kind = intn(3) as 0 | 1 | 2
    kinds.push(kind)
    if (kind === 0) values++
    else if (kind === 1) cancels++
    else {
      cancels++
      timers++
    }
  }
  return { kinds, intn, timeout }
}

describe("peer Go context x_test.go", () => {
  it.effect("TestBackground", () =>
    Effect.gen(function*() {
      // Background is never done: no deadline, nothing interrupts it
      expect(yield* Deadline.current).toEqual(Option.none())
      expect(yield* Deadline.remaining).toEqual(Option.none())
      expect(yield* Effect.exit(Deadline.ensureRemaining("0 millis"))).toEqual(Exit.void)
      const fiber = yield* Effect.fork(Effect.never)
      yield* TestClock.adjust(veryLongDuration)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("TestDeadline", () =>
    Effect.gen(function*() {
      // WithDeadline(Background(), now + shortDuration)
      yield* testDeadline(Deadline.withDeadline(Effect.never, shortDuration), 1)
      // WithDeadline+otherContext
      yield* testDeadline(Deadline.withDeadline(otherContext(Effect.never), shortDuration), 1)
      // WithDeadline+otherContext+WithDeadline: the child's later deadline does not outlive the parent's, and
      // Deadline() reports the parent's, the sooner one
      const now = yield* Clock.currentTimeMillis
      const seen = yield* Deadline.current.pipe(
        Deadline.withDeadline(veryLongDuration),
        otherContext,
        Deadline.withDeadline(shortDuration)
      )
      expect(seen).toEqual(Option.some(now + 1))
      yield* testDeadline(
        Deadline.withDeadline(otherContext(Deadline.withDeadline(Effect.never, veryLongDuration)), shortDuration),
        1
      )
      // WithDeadline+inthepast: a deadline that has passed is done at once (Err is set without blocking), and a child
      // made under it is done at once too
      const pastExit = yield* Effect.gen(function*() {
        yield* TestClock.adjust("2 millis")
        expect(yield* Deadline.remaining).toEqual(Option.some(Duration.zero))
        expect(isDeadlineExceeded(yield* Effect.exit(Deadline.ensureRemaining("0 millis")))).toBe(true)
        return yield* Effect.exit(Deadline.withDeadline(Effect.never, veryLongDuration))
      }).pipe(Deadline.establish(shortDuration))
      expect(isDeadlineExceeded(pastExit)).toBe(true)
      // WithDeadline+now: a deadline of now is done at once
      yield* testDeadline(Deadline.withDeadline(Effect.never, "0 millis"), 0)
    }))

  it.effect("TestTimeout", () =>
    Effect.gen(function*() {
      yield* testDeadline(Deadline.withDeadline(Effect.never, shortDuration), 1)
      yield* testDeadline(otherContext(Deadline.withDeadline(Effect.never, shortDuration)), 1)
      // WithTimeout+otherContext+WithTimeout: the child's veryLongDuration is capped by the parent's shortDuration
      yield* testDeadline(
        Deadline.withDeadline(otherContext(Deadline.withDeadline(Effect.never, veryLongDuration)), shortDuration),
        1
      )
    }))

  it.effect("TestCanceledTimeout", () =>
    Effect.gen(function*() {
      // c := WithTimeout(otherContext{WithTimeout(Background(), time.Second)}, veryLongDuration); cancel()
      const fiber = yield* Effect.fork(
        Deadline.withDeadline(otherContext(Deadline.withDeadline(Effect.never, veryLongDuration)), "1 second")
      )
      yield* Effect.yieldNow()
      // cancel propagates synchronously: done at once, with Canceled, not DeadlineExceeded
      const exit = yield* Fiber.interrupt(fiber)
      expect(isCanceled(exit)).toBe(true)
    }))

  it.effect("TestLayersCancel", () =>
    Effect.gen(function*() {
      const { intn, kinds } = layers(20_161_115, veryLongDuration)
      const cancelAt = (() => {
        const cancelIndices = kinds.flatMap((kind, i) => (kind === 0 ? [] : [i]))
        return cancelIndices[intn(cancelIndices.length)]
      })()
      // the cancellable layers' fibers, outermost first
      const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
      let innermostStarted = false
      let innermostDone = false
      let build: Effect.Effect<unknown, unknown> = Effect.sync(() => (innermostStarted = true)).pipe(
        Effect.zipRight(Effect.never),
        Effect.onInterrupt(() => Effect.sync(() => (innermostDone = true)))
      )
      for (let i = kinds.length - 1; i >= 0; i--) {
        const inner = build
        const kind = kinds[i]
        build = kind === 0
          ? otherContext(inner)
          : Effect.gen(function*() {
            const fiber = yield* Effect.fork(kind === 2 ? Deadline.withDeadline(inner, veryLongDuration) : inner)
            fibers[i] = fiber
            return yield* Fiber.join(fiber)
          })
      }
      const root = yield* Effect.fork(build)
      for (let turn = 0; turn < 1000 && !innermostStarted; turn++) yield* Effect.yieldNow()
      expect(innermostStarted).toBe(true)
      // not cancelled yet
      expect(innermostDone).toBe(false)
      expect(Option.isNone(yield* Fiber.poll(root))).toBe(true)
      // cancelling any one layer cancels the innermost context, which is Canceled (not timed out)
      const exit = yield* Fiber.interrupt(fibers[cancelAt]!)
      expect(isCanceled(exit)).toBe(true)
      expect(innermostDone).toBe(true)
      yield* Fiber.interrupt(root)
    }))

  it.effect("TestLayersTimeout", () =>
    Effect.gen(function*() {
      const { kinds } = layers(20_161_116, shortDuration)
      let build: Effect.Effect<unknown, unknown> = Effect.never
      for (let i = kinds.length - 1; i >= 0; i--) {
        const kind = kinds[i]
        build = kind === 0
          ? otherContext(build)
          : kind === 1
          ? Effect.flatMap(Effect.fork(build), Fiber.join)
          : Deadline.withDeadline(build, shortDuration)
      }
      // every layer's timer is shortDuration from its own start, all at time 0: the innermost is done at 1 ms
      yield* testDeadline(build, 1)
    }))

  it.effect("TestDeadlineExceededSupportsTimeout", () =>
    Effect.gen(function*() {
      // DeadlineExceeded says it is a timeout: it is recognised as one, with the limit that fired
      const exit = yield* Effect.exit(Deadline.withDeadline(Effect.never, "0 millis"))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail").toBe(true)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        const error = exit.cause.error
        expect(Deadline.isDeadlineExceeded(error)).toBe(true)
        if (Deadline.isDeadlineExceeded(error)) {
          expect(error.reason).toBe("Deadline")
          expect(Duration.toMillis(error.timeout)).toBe(0)
        }
      }
    }))

  it.effect("TestCause", () =>
    Effect.gen(function*() {
      // "Background": no error
      expect(yield* Effect.exit(Deadline.ensureRemaining("0 millis"))).toEqual(Exit.void)
      // "WithTimeout": WithTimeout(Background(), 0) then cancel(): DeadlineExceeded (the deadline came first)
      expect(isDeadlineExceeded(yield* Effect.exit(Deadline.withDeadline(Effect.never, "0 millis")))).toBe(true)
      // "WithTimeout canceled": WithTimeout(Background(), forever) then cancel(): Canceled
      const fiber = yield* Effect.fork(Deadline.withDeadline(Effect.never, "1000000 seconds"))
      yield* Effect.yieldNow()
      expect(isCanceled(yield* Fiber.interrupt(fiber))).toBe(true)
      // "WithTimeoutCause stacked": a cancellable parent, a child timed out at once, then the parent cancelled:
      // the child's error stays DeadlineExceeded
      const stacked = yield* Effect.fork(Effect.exit(Deadline.withDeadline(Effect.never, "0 millis")))
      expect(isDeadlineExceeded(yield* Fiber.join(stacked))).toBe(true)
      // "WithTimeoutCause stacked canceled": the parent cancelled before the child's forever deadline: Canceled
      const parent = yield* Effect.fork(otherContext(Deadline.withDeadline(Effect.never, "1000000 seconds")))
      yield* Effect.yieldNow()
      expect(isCanceled(yield* Fiber.interrupt(parent))).toBe(true)
    }))

  it.effect("TestAfterFuncCalledAfterTimeout", () =>
    Effect.gen(function*() {
      // AfterFunc(ctx, f) on WithTimeout(Background(), shortDuration): f runs once the deadline passes
      let called = false
      const fiber = yield* Effect.fork(
        Effect.never.pipe(
          Effect.onInterrupt(() => Effect.sync(() => (called = true))),
          Deadline.withDeadline(shortDuration)
        )
      )
      yield* Effect.yieldNow()
      expect(called).toBe(false)
      yield* TestClock.adjust(shortDuration)
      expect(isDeadlineExceeded(yield* Fiber.await(fiber))).toBe(true)
      expect(called).toBe(true)
    }))
})

describe("peer Go context context_test.go", () => {
  it.effect("XTestParentFinishesChild", () =>
    Effect.gen(function*() {
      // parent -> cancelChild; parent -> valueChild -> timerChild (WithTimeout 10000 h)
      const done = { cancelChild: false, valueChild: false, timerChild: false }
      const mark = (name: keyof typeof done) => Effect.onInterrupt(() => Effect.sync(() => (done[name] = true)))
      const parent = yield* Effect.fork(
        Effect.all([
          Effect.never.pipe(mark("cancelChild")),
          otherContext(
            Effect.zip(
              Effect.never.pipe(mark("valueChild")),
              Effect.never.pipe(mark("timerChild"), Deadline.withDeadline("10000 hours")),
              { concurrent: true }
            )
          )
        ], { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("1 hour")
      // nothing done yet
      expect(done).toEqual({ cancelChild: false, valueChild: false, timerChild: false })
      // cancelling the parent finishes every child, Canceled (the timer child too, not DeadlineExceeded)
      expect(isCanceled(yield* Fiber.interrupt(parent))).toBe(true)
      expect(done).toEqual({ cancelChild: true, valueChild: true, timerChild: true })
    }))

  it.effect("XTestChildFinishesFirst", () =>
    Effect.gen(function*() {
      // for a parent with no deadline (Background) and one with a deadline: cancelling the child leaves the parent
      for (const parentLimit of [undefined, "1 hour"] as const) {
        const program = Effect.gen(function*() {
          const before = yield* Deadline.current
          const child = yield* Effect.fork(Deadline.withDeadline(Effect.never, "10 minutes"))
          yield* Effect.yieldNow()
          expect(isCanceled(yield* Fiber.interrupt(child))).toBe(true)
          // the parent is not finished, and its deadline is as it was
          expect(yield* Deadline.current).toEqual(before)
          expect(yield* Effect.exit(Deadline.ensureRemaining("0 millis"))).toEqual(Exit.void)
          return "parent alive"
        })
        const result = yield* (parentLimit === undefined ? program : Deadline.withDeadline(program, parentLimit))
        expect(result).toBe("parent alive")
      }
    }))
})
