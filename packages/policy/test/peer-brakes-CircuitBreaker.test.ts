// Ported from brakes' test/Brakes.spec.js and test/Circuit.spec.js (awolden/brakes, commit
// 576c47c00ea9e85fb7a879bca3415162f97a720f), one `it` per brakes case, named after it.
// Mapping: `new Brakes(fn, opts)` is `CircuitBreaker.make(name, options)` and `brake.exec(...)` is the call run under
// `Deadline.attemptTimeout(timeout)` inside `CircuitBreaker.withBreaker` (brakes arms its timer inside the circuit,
// and a timeout counts against it), then `Fallback.orElse(fallback)` when a fallback is given. brakes' options:
// `threshold` (the success ratio below which it opens) is `failureRateThreshold: 1 - threshold`; `waitThreshold` (no
// judgement until the window holds more than this many calls) is `minimumThroughput: waitThreshold + 1`;
// `bucketSpan × bucketNum` is `slidingWindow`; `circuitDuration` is `breakDuration`; `timeout` is the attempt timeout;
// `isFailure` is `isFailure`; `name` is the breaker's `key`. A sub circuit (`brake.subCircuit(fn)`) is another effect
// through the same breaker; `brake._circuitOpen = true` (a circuit forced open) is `isolate`, `_close()` is `reset`,
// `isOpen()` is `state`. The 'success' / 'failure' / 'timeout' events, which feed brakes' stats, are read as the
// breaker's `snapshot` counts (`calls`, `failures`). sinon's fake timers are the TestClock.
// Deliberate differences (each test says which): Sturdy opens at the threshold (a failure ratio >= 1 - threshold),
// brakes below it (success ratio < threshold); Sturdy judges the window on every call, brakes every `statInterval`
// (1.2 s) from a snapshot; when `circuitDuration` ends brakes closes at once (or when its `healthCheck` passes),
// Sturdy goes HalfOpen and lets the next call probe: that call is Sturdy's health check, a success closes the breaker
// and a failure opens it again; brakes prefixes the failure's message with `[Breaker: name]` (`modifyError`), Sturdy
// returns the failure untouched; a failure `isFailure` rejects counts as a successful call in Sturdy (the upstream
// answered), brakes records nothing; brakes' CircuitBrokenError reports the failure percentage, Sturdy's
// `CircuitOpen` the reason (`"FailureRate"`) and the counted failures.
// Not ported: the cases about brakes' own API shape (an EventEmitter, default and override options read from `_opts`,
// no main function, a missing or non-function argument, `group`, the health check given in options, the health
// interval's timer bookkeeping, `destroy`, global stats, the 'exec' event, the Circuit constructor variants, the
// promisified `_serviceCall`), `_checkStats` with a total of 0 or on an open circuit (Sturdy has no periodic stats
// check to skip), and Stats.spec.js, Bucket.spec.js, globalStats.spec.js, utils.spec.js and the error classes' specs
// (brakes' internal bucket, percentile and Hystrix-stream code; Sturdy's window is checked through `snapshot` here).
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker, Deadline, Fallback } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { recordTransitions, settle as settleTransitions } from "./utils/transitions.js"

interface BrakesOptions {
  readonly name?: string
  readonly threshold?: number
  readonly waitThreshold?: number
  readonly bucketSpan?: number
  readonly bucketNum?: number
  readonly circuitDuration?: number
  readonly isFailure?: (e: unknown) => boolean
}

// `new Brakes(fn, opts)` with brakes' defaults (threshold 0.5, waitThreshold 100, 60 buckets of 1 s, 30 s open)
const makeBrake = (opts: BrakesOptions = {}) =>
  CircuitBreaker.make(opts.name ?? "defaultBrake", {
    failureRateThreshold: 1 - (opts.threshold ?? 0.5),
    minimumThroughput: (opts.waitThreshold ?? 100) + 1,
    slidingWindow: Duration.millis((opts.bucketSpan ?? 1000) * (opts.bucketNum ?? 60)),
    breakDuration: Duration.millis(opts.circuitDuration ?? 30_000),
    ...(opts.isFailure === undefined ? {} : { isFailure: opts.isFailure })
  })

// `circuit.exec(...)`: the call under brakes' timeout (default 15 s) inside the breaker
const exec = <A, E>(breaker: CircuitBreaker.CircuitBreaker, call: Effect.Effect<A, E>, timeout = 15_000) =>
  call.pipe(Deadline.attemptTimeout(Duration.millis(timeout)), CircuitBreaker.withBreaker(breaker))

// brakes' test service functions: `noop` (a node callback), `nopr` (a promise), `slowpr` (a promise after 50 ms)
const noop = (foo: string | null, err?: string) =>
  Effect.async<string | null, Error>((resume) => {
    resume(err ? Effect.fail(new Error(err)) : Effect.succeed(foo))
  })
const nopr = (foo: string | null, err?: string) =>
  Effect.tryPromise({
    try: () => (err ? Promise.reject(new Error(err)) : Promise.resolve(foo)),
    catch: (e) => e as Error
  })
const slowpr = (foo: string | null) => Effect.as(Effect.sleep("50 millis"), foo)
// `fbpr(foo, err)`: the fallback answers what the call was given
const fbpr = (foo: string | null, err?: string) => Effect.succeed(foo || err)

// runs a call that sleeps on the TestClock to its end
const settle = <A, E>(effect: Effect.Effect<A, E>, millis: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(Duration.millis(millis))
    return yield* Fiber.join(fiber)
  })

const counts = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(breaker.snapshot, (s) => ({ calls: s.calls, failures: s.failures }))

// n calls that fail (or succeed) through the breaker
const fail = (breaker: CircuitBreaker.CircuitBreaker, n: number) =>
  Effect.repeatN(Effect.either(exec(breaker, nopr(null, "err"))), n - 1)
const succeed = (breaker: CircuitBreaker.CircuitBreaker, n: number) =>
  Effect.repeatN(Effect.either(exec(breaker, nopr("ok"))), n - 1)

describe("peer brakes Brakes.spec.js", () => {
  it.scoped("Should promisify the service func", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      expect(yield* exec(brake, noop("test"))).toBe("test")
    }))

  it.scoped("Should promisify and reject service func", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      const err = yield* Effect.flip(exec(brake, noop(null, "err")))
      expect(err).toBeInstanceOf(Error)
      // brakes: '[Breaker: defaultBrake] err'; Sturdy returns the failure untouched
      expect((err as Error).message).toBe("err")
    }))

  it.scoped("Should not prefix error messages", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      const modifyError = Effect.try({
        try: () => {
          throw new Error("Not found")
        },
        catch: (e) => e as Error
      })
      const err = yield* Effect.flip(exec(brake, modifyError))
      expect((err as Error).message).toBe("Not found")
    }))

  it.scoped("Should accept a promise", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      expect(yield* exec(brake, nopr("test"))).toBe("test")
    }))

  it.scoped("Should reject a promise", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      const err = yield* Effect.flip(exec(brake, nopr(null, "err")))
      expect(err).toBeInstanceOf(Error)
      // brakes prefixes '[Breaker: defaultBrake] '; Sturdy does not
      expect((err as Error).message).toBe("err")
    }))

  it.scoped("Should be instantiated with a name", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake({ name: "allYourNameAreBelongToUs" })
      expect(brake.key).toBe("allYourNameAreBelongToUs")
    }))

  it.scoped("Should Resolve a service call and trigger event", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      expect(yield* exec(brake, nopr("foo"))).toBe("foo")
      // the 'success' event: one successful call recorded
      expect(yield* counts(brake)).toEqual({ calls: 1, failures: 0 })
    }))

  it.scoped("Should Reject a service call and trigger event", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      const err = yield* Effect.flip(exec(brake, noop(null, "err")))
      expect((err as Error).message).toBe("err")
      // the 'failure' event: one failed call recorded
      expect(yield* counts(brake)).toEqual({ calls: 1, failures: 1 })
    }))

  it.scoped("Should timeout a service call and trigger event", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      const err = yield* Effect.flip(settle(exec(brake, slowpr(null), 1), 50))
      // brakes' TimeOutError is an attempt's `DeadlineExceeded`; the 'timeout' event counts it against the upstream
      expect(Deadline.isDeadlineExceeded(err) && err.reason).toBe("Attempt")
      expect(yield* counts(brake)).toEqual({ calls: 1, failures: 1 })
    }))

  it.scoped("Should auto reject if circuit is broken", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      yield* brake.isolate
      let ran = false
      const err = yield* Effect.flip(exec(brake, Effect.sync(() => (ran = true))))
      expect(CircuitBreaker.isCircuitOpen(err)).toBe(true)
      expect(ran).toBe(false)
    }))

  it.scoped("Should call fallback if circuit is broken", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      yield* brake.isolate
      const answer = yield* exec(brake, nopr("test")).pipe(Fallback.orElse(fbpr("test")))
      expect(answer.value).toBe("test")
      expect(answer.source).toBe("fallback")
      expect(CircuitBreaker.isCircuitOpen(answer.failures[0].error)).toBe(true)
    }))

  it.scoped("Fallback should cascade fail", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      const err = yield* Effect.flip(exec(brake, nopr(null, "err")).pipe(Fallback.orElse(noop(null, "err"))))
      // the fallback's own failure, unprefixed in both
      expect(err).toBeInstanceOf(Error)
      expect(err.message).toBe("err")
    }))

  it.scoped("Fallback should succeed", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      const answer = yield* exec(brake, nopr(null, "thisShouldFailFirstCall")).pipe(
        Fallback.orElse(fbpr(null, "thisShouldFailFirstCall"))
      )
      expect(answer.value).toBe("thisShouldFailFirstCall")
      expect(answer.source).toBe("fallback")
    }))

  it.scoped("_setHealthInterval should close", () =>
    Effect.gen(function*() {
      // brakes' health check after the interval closes the circuit and resets its stats; Sturdy's health check is
      // the first call after the pause, a probe, whose success closes the breaker with a fresh window
      const brake = yield* makeBrake({ waitThreshold: 0, circuitDuration: 15 })
      yield* fail(brake, 1)
      expect(yield* brake.state).toBe("Open")
      yield* TestClock.adjust("15 millis")
      expect(yield* exec(brake, nopr("foo"))).toBe("foo")
      expect(yield* brake.state).toBe("Closed")
      expect(yield* counts(brake)).toEqual({ calls: 0, failures: 0 })
    }))

  it.scoped("_setHealthInterval should emit error", () =>
    Effect.gen(function*() {
      // a failed health check leaves brakes' circuit open; Sturdy's failed probe opens the breaker again
      const brake = yield* makeBrake({ waitThreshold: 0, circuitDuration: 5 })
      yield* fail(brake, 1)
      yield* TestClock.adjust("5 millis")
      const err = yield* Effect.flip(exec(brake, nopr(null, "thisisanerror")))
      expect(err.message).toBe("thisisanerror")
      expect(yield* brake.state).toBe("Open")
    }))

  it.scoped("_open should open", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake({ waitThreshold: 0, circuitDuration: 5 })
      const published = yield* recordTransitions(brake)
      yield* fail(brake, 1)
      expect(yield* brake.state).toBe("Open")
      // an open circuit does not open again (brakes' `_open()` on an open circuit emits nothing)
      yield* fail(brake, 3)
      yield* settleTransitions
      expect(published.map((c) => `${c.from}->${c.to}`)).toEqual(["Closed->Open"])
      yield* TestClock.adjust("4 millis")
      expect(yield* brake.state).toBe("Open")
      // brakes closes when circuitDuration ends and resets its stats; Sturdy half-opens and a successful probe closes
      yield* TestClock.adjust("1 millis")
      expect(yield* brake.state).toBe("HalfOpen")
      yield* succeed(brake, 1)
      expect(yield* brake.state).toBe("Closed")
      expect(yield* counts(brake)).toEqual({ calls: 0, failures: 0 })
    }))

  it.scoped("_close should close", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake({ waitThreshold: 0 })
      yield* fail(brake, 1)
      expect(yield* brake.state).toBe("Open")
      yield* brake.reset
      expect(yield* brake.state).toBe("Closed")
      expect(yield* exec(brake, nopr("foo"))).toBe("foo")
    }))

  it.scoped("_snapshotHandler should transform stats object and emit", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake({ name: "brake1" })
      yield* succeed(brake, 2)
      yield* fail(brake, 1)
      const snapshot = yield* brake.snapshot
      expect(snapshot.key).toBe("brake1")
      expect(snapshot.state).toBe("Closed")
      expect([snapshot.calls, snapshot.failures]).toEqual([3, 1])
    }))

  it.scoped("_failureHandler should not register a stats failure if generations do not match", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake({ waitThreshold: 1 })
      // a call admitted in the first generation, failing after the circuit opened and was closed again
      const stale = yield* Effect.fork(
        Effect.either(exec(brake, Effect.zipRight(Effect.sleep("100 millis"), nopr(null, "late"))))
      )
      yield* Effect.yieldNow()
      yield* fail(brake, 2)
      expect(yield* brake.state).toBe("Open")
      yield* brake.reset
      yield* TestClock.adjust("100 millis")
      const late = yield* Fiber.join(stale)
      expect(late._tag).toBe("Left")
      expect(yield* counts(brake)).toEqual({ calls: 0, failures: 0 })
    }))

  it.scoped("_timeoutHandler should not register a stats timeout if generations do not match", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake({ waitThreshold: 1 })
      const stale = yield* Effect.fork(Effect.either(exec(brake, slowpr(null), 20)))
      yield* Effect.yieldNow()
      yield* fail(brake, 2)
      expect(yield* brake.state).toBe("Open")
      yield* brake.reset
      yield* TestClock.adjust("20 millis")
      const late = yield* Fiber.join(stale)
      expect(late._tag === "Left" && Deadline.isDeadlineExceeded(late.left)).toBe(true)
      expect(yield* counts(brake)).toEqual({ calls: 0, failures: 0 })
    }))

  it.scoped("_checkStats should not check when threshold isn't met", () =>
    Effect.gen(function*() {
      // 50 calls, all failed: not more than waitThreshold (100), so no judgement
      const brake = yield* makeBrake()
      yield* fail(brake, 50)
      expect(yield* brake.state).toBe("Closed")
      expect(yield* counts(brake)).toEqual({ calls: 50, failures: 50 })
    }))

  it.scoped("isOpen should return whether or not circuit is open", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      yield* brake.isolate
      expect(yield* brake.state).toBe("Open")
      yield* brake.reset
      expect(yield* brake.state).toBe("Closed")
    }))

  it.scoped("_checkStats should check and not close", () =>
    Effect.gen(function*() {
      // 450 of 500 successful: above the 50 % threshold
      const brake = yield* makeBrake()
      yield* fail(brake, 50)
      yield* succeed(brake, 450)
      expect(yield* brake.state).toBe("Closed")
      expect(yield* counts(brake)).toEqual({ calls: 500, failures: 50 })
    }))

  it.scoped("_checkStats should check and close", () =>
    Effect.gen(function*() {
      // 1 of 200 successful: brakes opens at its next stats check; Sturdy judges every call, so it opens at the
      // 101st (the first past waitThreshold), 1 success and 100 failures, and rejects the other 99
      const brake = yield* makeBrake()
      yield* succeed(brake, 1)
      yield* fail(brake, 100)
      expect(yield* brake.state).toBe("Open")
      let rejected = 0
      for (let i = 0; i < 99; i++) {
        const err = yield* Effect.flip(exec(brake, nopr(null, "err")))
        if (CircuitBreaker.isCircuitOpen(err)) rejected++
      }
      expect(rejected).toBe(99)
    }))

  it.scoped("Should be able to create Sub Circuit", () =>
    Effect.gen(function*() {
      // a sub circuit is another call through the same breaker: it shares the breaker's state
      const brake = yield* makeBrake({ waitThreshold: 0 })
      yield* Effect.either(exec(brake, noop(null, "err")))
      const err = yield* Effect.flip(exec(brake, nopr("sub")))
      expect(CircuitBreaker.isCircuitOpen(err)).toBe(true)
    }))
})

describe("peer brakes Circuit.spec.js", () => {
  it.scoped("Should Resolve a service call and trigger event", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      expect(yield* exec(brake, nopr("foo"))).toBe("foo")
      expect(yield* counts(brake)).toEqual({ calls: 1, failures: 0 })
    }))

  it.scoped("Should Reject a service call and trigger event", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      const error = new Error("err")
      const err = yield* Effect.flip(exec(brake, Effect.fail(error)))
      // the caller gets the very failure the service gave (brakes: the same object, its message prefixed)
      expect(err).toBe(error)
      expect(err.message).toBe("err")
      expect(yield* counts(brake)).toEqual({ calls: 1, failures: 1 })
    }))

  it.scoped("Should timeout a service call and trigger event", () =>
    Effect.gen(function*() {
      // the sub circuit's own timeout (1 ms) under the brake's default (15 s)
      const brake = yield* makeBrake()
      const err = yield* Effect.flip(settle(exec(brake, slowpr(null), 1), 50))
      expect(Deadline.isDeadlineExceeded(err) && err.reason).toBe("Attempt")
      expect(yield* counts(brake)).toEqual({ calls: 1, failures: 1 })
    }))

  it.scoped("Should timeout a service call and trigger event (brake override)", () =>
    Effect.gen(function*() {
      // the brake's timeout (1 ms) for a sub circuit with none of its own
      const brake = yield* makeBrake()
      const brakeTimeout = 1
      const subCircuit = (call: Effect.Effect<string | null>) => exec(brake, call, brakeTimeout)
      const err = yield* Effect.flip(settle(subCircuit(slowpr(null)), 50))
      expect(Deadline.isDeadlineExceeded(err)).toBe(true)
      expect(yield* counts(brake)).toEqual({ calls: 1, failures: 1 })
    }))

  it.scoped("Should call fallback if circuit is broken", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      yield* brake.isolate
      const answer = yield* exec(brake, nopr("test")).pipe(Fallback.orElse(fbpr("test")))
      expect(answer.value).toBe("test")
    }))

  it.scoped("Should call main fallback when circuit open if used in a sub context", () =>
    Effect.gen(function*() {
      // the brake's fallback, shared by its sub circuits
      const brake = yield* makeBrake()
      const mainFallback = Effect.succeed("fallback")
      const subCircuit = (call: Effect.Effect<string | null, Error>) =>
        exec(brake, call).pipe(Fallback.orElse(mainFallback))
      yield* brake.isolate
      expect((yield* subCircuit(nopr("test"))).value).toBe("fallback")
    }))

  it.scoped("Should call main fallback when request fails if used in a sub context", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      const mainFallback = Effect.succeed("fallback")
      const subCircuit = (call: Effect.Effect<string | null, Error>) =>
        exec(brake, call).pipe(Fallback.orElse(mainFallback))
      const answer = yield* subCircuit(nopr(null, "test"))
      expect(answer.value).toBe("fallback")
      expect(answer.failures.map((f) => (f.error as Error).message)).toEqual(["test"])
    }))

  it.scoped("Fallback should cascade fail", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      const err = yield* Effect.flip(exec(brake, nopr(null, "err")).pipe(Fallback.orElse(noop(null, "err"))))
      expect(err.message).toBe("err")
    }))

  it.scoped("Fallback should succeed", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake()
      const answer = yield* exec(brake, nopr(null, "thisShouldFailFirstCall")).pipe(
        Fallback.orElse(fbpr(null, "thisShouldFailFirstCall"))
      )
      expect(answer.value).toBe("thisShouldFailFirstCall")
    }))

  it.scoped("Should reject with error if circuit is open and has no fallback", () =>
    Effect.gen(function*() {
      // brakes: 'Circuit has been opened - The percentage of failed requests (100%) is greater than the threshold
      // specified (50%)'; Sturdy's CircuitOpen names the breaker, the reason and the counted failures
      const brake = yield* makeBrake({ waitThreshold: 0 })
      yield* fail(brake, 1)
      const err = yield* Effect.flip(exec(brake, nopr("test")))
      expect(CircuitBreaker.isCircuitOpen(err)).toBe(true)
      if (!CircuitBreaker.isCircuitOpen(err)) return
      expect([err.reason, err.failures]).toEqual(["FailureRate", 1])
      expect(err.message).toBe("circuit open for defaultBrake after 1 × Error; retry after 30s")
    }))

  it.scoped("Should not count as failure if `isFailure` returns `false`", () =>
    Effect.gen(function*() {
      const brake = yield* makeBrake({ isFailure: () => false })
      const err = yield* Effect.flip(exec(brake, noop(null, "err")))
      expect(err.message).toBe("err")
      // no failure recorded; Sturdy counts the answer as a successful call (brakes records nothing)
      expect(yield* counts(brake)).toEqual({ calls: 1, failures: 0 })
    }))
})
