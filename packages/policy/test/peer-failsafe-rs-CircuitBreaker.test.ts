// Ported from failsafe-rs' src/state_machine.rs, src/circuit_breaker.rs, src/futures/mod.rs, src/futures/stream.rs
// and src/failure_predicate.rs `mod tests` (dmexe/failsafe-rs, commit 5bf89775ea320f288f11935f3b5526e63a865d2a), one
// `it` per case, named after it (a `describe` per source file, as several files share case names).
// Mapping: `Config::new().failure_policy(consecutive_failures(n, backoff)).build()` is `CircuitBreaker.make(key,
// { consecutiveFailures: n, breakDuration })`, with `constant(d)` the duration `d` and `exponential(5 s, 300 s)`
// `Backoff.exponential({ baseDelay: "5 seconds", maxDelay: "300 seconds", jitter: "none", maxAttempts: Infinity })`;
// `call(f)` / `call(future)` is `CircuitBreaker.withBreaker`; `call_with(predicate, f)` is the breaker made with
// `isFailure: predicate` (failsafe-rs' predicate says which errors are failures; any other counts as a success in
// both); `Error::Inner(e)` is the call's own failure `e`, `Error::Rejected` a `CircuitOpen`. `is_call_permitted()` is
// whether the breaker admits a call: its `state` is not `Open` (reading it moves an Open breaker whose pause ended to
// HalfOpen, as `is_call_permitted()` does); the state machine's `on_success()` / `on_error()` are a call that
// succeeds / fails; `reset()` is `reset`. The Observer's state is the breaker's `state`, its `rejected_calls()` the
// `CircuitOpen` rejections counted here. A `BreakerStream` (each poll of the inner stream a call, a rejected poll not
// polling it) is a pull of the stream's next element run through `withBreaker`. tokio's timer and `clock::freeze` are
// the TestClock.
// Deliberate differences: none met by these cases (Sturdy ends a pause at its last millisecond, failsafe-rs the
// instant after; the cases wait past both).
// Not ported: none of these files' cases is left out (the Instrument's printing aside).
import { describe, expect, it } from "@effect/vitest"
import { Backoff, CircuitBreaker } from "@sturdy/policy"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

const isCallPermitted = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(breaker.state, (state) => state !== "Open")

// the tests' `new_circuit_breaker()`: consecutive_failures(1, constant(duration))
const newCircuitBreaker = (duration: Duration.DurationInput = "5 seconds", isFailure?: (e: unknown) => boolean) =>
  CircuitBreaker.make("failsafe-rs", {
    consecutiveFailures: 1,
    breakDuration: duration,
    ...(isFailure === undefined ? {} : { isFailure })
  })

// `is_err = |err: &bool| !(*err)`: an `Err(true)` is no failure, an `Err(false)` is
const isErr = (err: unknown) => !(err as boolean)

// tokio's `delay_for(d)`: a future that sleeps `d` and succeeds; run to its end on the TestClock
const delayFor = (millis: number) => Effect.sleep(Duration.millis(millis))
const runTimed = <A, E>(effect: Effect.Effect<A, E>, millis: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* Effect.yieldNow()
    yield* TestClock.adjust(Duration.millis(millis))
    return yield* Fiber.join(fiber)
  })

describe("peer failsafe-rs state_machine.rs", () => {
  it.scoped("state_machine", () =>
    Effect.gen(function*() {
      const backoff = Backoff.exponential({
        baseDelay: "5 seconds",
        maxDelay: "300 seconds",
        jitter: "none",
        maxAttempts: Infinity
      })
      const stateMachine = yield* CircuitBreaker.make("state-machine", {
        consecutiveFailures: 3,
        breakDuration: backoff
      })
      const onSuccess = Effect.either(CircuitBreaker.withBreaker(Effect.void, stateMachine))
      const onError = Effect.either(CircuitBreaker.withBreaker(Effect.fail("error"), stateMachine))
      let rejectedCalls = 0
      // `is_call_permitted()` where it is refused: a call the breaker rejects, counted by the observer
      const rejected = Effect.gen(function*() {
        const outcome = yield* Effect.either(CircuitBreaker.withBreaker(Effect.void, stateMachine))
        const wasRejected = Either.isLeft(outcome) && CircuitBreaker.isCircuitOpen(outcome.left)
        if (wasRejected) rejectedCalls++
        return wasRejected
      })

      expect(yield* isCallPermitted(stateMachine)).toBe(true)

      // Perform success requests. the circuit breaker must be closed.
      for (let i = 0; i < 10; i++) {
        expect(yield* isCallPermitted(stateMachine)).toBe(true)
        yield* onSuccess
        expect(yield* stateMachine.state).toBe("Closed")
      }

      // Perform failed requests, the circuit breaker still closed.
      for (let i = 0; i < 2; i++) {
        expect(yield* isCallPermitted(stateMachine)).toBe(true)
        yield* onError
        expect(yield* stateMachine.state).toBe("Closed")
      }

      // Perform a failed request and transit to the open state for 5s.
      expect(yield* isCallPermitted(stateMachine)).toBe(true)
      yield* onError
      expect(yield* stateMachine.state).toBe("Open")

      // Reject call attempts, the circuit breaker in open state.
      for (let i = 0; i < 10; i++) {
        expect(yield* rejected).toBe(true)
        expect(rejectedCalls).toBe(i + 1)
      }

      // Wait 2s, the circuit breaker still open.
      yield* TestClock.adjust("2 seconds")
      expect(yield* isCallPermitted(stateMachine)).toBe(false)
      expect(yield* stateMachine.state).toBe("Open")

      // Wait 4s (6s total), the circuit breaker now in the half open state.
      yield* TestClock.adjust("4 seconds")
      expect(yield* isCallPermitted(stateMachine)).toBe(true)
      expect(yield* stateMachine.state).toBe("HalfOpen")

      // Perform a failed request and transit back to the open state for 10s.
      yield* onError
      expect(yield* isCallPermitted(stateMachine)).toBe(false)
      expect(yield* stateMachine.state).toBe("Open")
      expect(Duration.toSeconds((yield* stateMachine.snapshot).retryAfter)).toBe(10)

      // Wait 5s, the circuit breaker still open.
      yield* TestClock.adjust("5 seconds")
      expect(yield* isCallPermitted(stateMachine)).toBe(false)
      expect(yield* stateMachine.state).toBe("Open")

      // Wait 6s (11s total), the circuit breaker now in the half open state.
      yield* TestClock.adjust("6 seconds")
      expect(yield* isCallPermitted(stateMachine)).toBe(true)
      expect(yield* stateMachine.state).toBe("HalfOpen")

      // Perform a success request and transit to the closed state.
      yield* onSuccess
      expect(yield* isCallPermitted(stateMachine)).toBe(true)
      expect(yield* stateMachine.state).toBe("Closed")

      // Perform success requests.
      for (let i = 0; i < 10; i++) {
        expect(yield* isCallPermitted(stateMachine)).toBe(true)
        yield* onSuccess
      }

      // Perform failed request and transit back to open state
      for (let i = 0; i < 3; i++) yield* onError
      expect(yield* stateMachine.state).toBe("Open")

      // Reset state machine
      yield* stateMachine.reset
      expect(yield* stateMachine.state).toBe("Closed")
    }))
})

describe("peer failsafe-rs circuit_breaker.rs", () => {
  it.scoped("call_with", () =>
    Effect.gen(function*() {
      const circuitBreaker = yield* newCircuitBreaker("5 seconds", isErr)
      for (let i = 0; i < 2; i++) {
        expect(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(true), circuitBreaker))).toBe(true)
        expect(yield* isCallPermitted(circuitBreaker)).toBe(true)
      }
      expect(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(false), circuitBreaker))).toBe(false)
      expect(yield* isCallPermitted(circuitBreaker)).toBe(false)
    }))

  it.scoped("call_ok", () =>
    Effect.gen(function*() {
      const circuitBreaker = yield* newCircuitBreaker()
      yield* CircuitBreaker.withBreaker(Effect.void, circuitBreaker)
      expect(yield* isCallPermitted(circuitBreaker)).toBe(true)
    }))

  it.scoped("call_err", () =>
    Effect.gen(function*() {
      const circuitBreaker = yield* newCircuitBreaker()
      // Error::Inner(())
      expect(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail("inner"), circuitBreaker))).toBe("inner")
      expect(yield* isCallPermitted(circuitBreaker)).toBe(false)
      // Error::Rejected
      let ran = false
      const err = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.sync(() => (ran = true)), circuitBreaker))
      expect(CircuitBreaker.isCircuitOpen(err)).toBe(true)
      expect(ran).toBe(false)
      expect(yield* isCallPermitted(circuitBreaker)).toBe(false)
    }))
})

describe("peer failsafe-rs futures/mod.rs", () => {
  it.scoped("call_ok", () =>
    Effect.gen(function*() {
      const circuitBreaker = yield* newCircuitBreaker()
      yield* runTimed(CircuitBreaker.withBreaker(delayFor(100), circuitBreaker), 100)
      expect(yield* isCallPermitted(circuitBreaker)).toBe(true)
    }))

  it.scoped("call_err", () =>
    Effect.gen(function*() {
      const circuitBreaker = yield* newCircuitBreaker()
      expect(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail("inner"), circuitBreaker))).toBe("inner")
      expect(yield* isCallPermitted(circuitBreaker)).toBe(false)

      // a rejected future is not polled: it fails at once, without its 1 s
      const fiber = yield* Effect.fork(CircuitBreaker.withBreaker(delayFor(1000), circuitBreaker))
      yield* Effect.yieldNow()
      const done = yield* Fiber.poll(fiber)
      expect(Option.isSome(done)).toBe(true)
      const err = yield* Effect.flip(Fiber.join(fiber))
      expect(CircuitBreaker.isCircuitOpen(err)).toBe(true)
      expect(yield* isCallPermitted(circuitBreaker)).toBe(false)
    }))

  it.scoped("call_with", () =>
    Effect.gen(function*() {
      const circuitBreaker = yield* newCircuitBreaker("5 seconds", isErr)
      for (let i = 0; i < 2; i++) {
        expect(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(true), circuitBreaker))).toBe(true)
        expect(yield* isCallPermitted(circuitBreaker)).toBe(true)
      }
      expect(yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(false), circuitBreaker))).toBe(false)
      expect(yield* isCallPermitted(circuitBreaker)).toBe(false)
    }))
})

// `BreakerStream::new(breaker, stream)`: `next()` pulls the stream's next element through the breaker (a rejected
// pull does not pull); an element is a `Result`, an `Err` a failure of that call; `None` at the end
const breakerStream = <A, E>(breaker: CircuitBreaker.CircuitBreaker, stream: Stream.Stream<Either.Either<A, E>>) =>
  Effect.gen(function*() {
    const pull = yield* Stream.toPull(Stream.rechunk(stream, 1))
    const element = Effect.flatMap(
      Effect.option(pull),
      Option.match({
        onNone: () => Effect.succeed(Option.none<A>()),
        onSome: (chunk) => Effect.map(Chunk.unsafeHead(chunk), Option.some)
      })
    )
    return Effect.either(CircuitBreaker.withBreaker(element, breaker))
  })

describe("peer failsafe-rs futures/stream.rs", () => {
  it.scoped("call_ok", () =>
    Effect.gen(function*() {
      const circuitBreaker = yield* newCircuitBreaker("5 seconds")
      const next = yield* breakerStream(
        circuitBreaker,
        Stream.fromEffect(Effect.as(delayFor(100), Either.right(undefined)))
      )
      // while let Some(_x) = stream.next().await {}
      expect(yield* runTimed(next, 100)).toEqual(Either.right(Option.some(undefined)))
      expect(yield* next).toEqual(Either.right(Option.none()))
      expect(yield* isCallPermitted(circuitBreaker)).toBe(true)
    }))

  it.scoped("call_err", () =>
    Effect.gen(function*() {
      const circuitBreaker = yield* newCircuitBreaker("100 millis")
      const next = yield* breakerStream(
        circuitBreaker,
        Stream.fromIterable([Either.left("inner"), Either.right("ok")])
      )
      // Some(Err(Error::Inner(_)))
      expect(yield* next).toEqual(Either.left("inner"))
      expect(yield* isCallPermitted(circuitBreaker)).toBe(false)

      // Some(Err(Error::Rejected))
      const rejected = yield* next
      expect(Either.isLeft(rejected) && CircuitBreaker.isCircuitOpen(rejected.left)).toBe(true)
      expect(yield* isCallPermitted(circuitBreaker)).toBe(false)
      yield* TestClock.adjust("200 millis")
      // permitted now
      expect(yield* isCallPermitted(circuitBreaker)).toBe(true)
      // Some(Ok(())): the element the rejected pull left in the stream
      expect(yield* next).toEqual(Either.right(Option.some("ok")))
    }))
})

describe("peer failsafe-rs failure_predicate.rs", () => {
  it.scoped("use_func_as_failure_predicate", () =>
    Effect.gen(function*() {
      // `is_err(&true)` is true: a function is a failure predicate; here the breaker's `isFailure`
      const isFailure = (err: unknown) => err as boolean
      const breaker = yield* newCircuitBreaker("5 seconds", isFailure)
      yield* Effect.either(CircuitBreaker.withBreaker(Effect.fail(true), breaker))
      expect(yield* breaker.state).toBe("Open")
    }))
})
