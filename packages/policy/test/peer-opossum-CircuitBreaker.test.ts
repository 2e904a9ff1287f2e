// Ported from opossum's test suite (nodeshift/opossum, test/test.js, half-open-test.js, error-filter-test.js,
// volume-threshold-test.js, warmup-test.js, closed-test.js, open-test.js, circuit-shutdown-test.js), one `it` per
// opossum case whose behaviour maps onto Sturdy, named after it.
// Mapping: `new CircuitBreaker(action, options)` + `fire(x)` is `CircuitBreaker.withBreaker(action(x), breaker)`;
// `errorThresholdPercentage: p` is `failureRateThreshold: p / 100`, `volumeThreshold: n` is `minimumThroughput: n`
// (opossum's default 0 is Sturdy's least, 1), `rollingCountTimeout` is `slidingWindow` (Sturdy keeps 10 buckets,
// whatever opossum's `rollingCountBuckets`), `resetTimeout` is `breakDuration`, `timeout` is `Deadline.attemptTimeout`
// inside the breaker, `errorFilter(e)` (true: not a failure, counted as a success) is `isFailure: (e) => !filter(e)`,
// `capacity` is a `Bulkhead` with `maxConcurrent: capacity` inside the breaker (its `ESEMLOCKED` is
// `BulkheadRejected`), `fallback(fn)` is `Fallback.orElse` around the breaker, `open()` is `isolate`, `close()` is
// `reset`, `shutdown()` is closing the breaker's scope, the `open`/`halfOpen`/`close` events are `changes`, and
// `stats` (`fires`, `failures`, `successes`) is `snapshot` (`calls`, `failures`, `calls - failures` over the window).
// opossum's `passFail(x)` resolves x when x > 0 and rejects `Error: x is < 0` otherwise.
// Deliberate differences (each test says which): Sturdy's window is emptied whenever the breaker opens or closes (as
// resilience4j's and Polly's), where opossum's stats keep counting across transitions: the count that tripped the
// breaker is `CircuitOpen.failures`. Open -> HalfOpen is published on `changes` when the first call after the pause
// arrives (no timers); `state` reports HalfOpen once the pause is over. Sturdy's default `minimumThroughput` is 10 and
// its plain breaker counts consecutive failures (3), where opossum's default judges a 50 % rate from the first call.
// A rate threshold of 0 is refused (opossum's `errorThresholdPercentage: 0` opens on any failure; Sturdy's least
// ratio, e.g. 0.01 over one call, does the same). opossum's `allowWarmUp` (no opening during the first
// `rollingCountTimeout`) has no counterpart: `minimumThroughput` holds the breaker closed until enough calls are in
// the window. A probe still running after `maxProbeDuration` (by default the pause) gives its slot to the next call.
// Not ported (opossum-only mechanics): the EventEmitter API shapes and event arguments (`fire`, `success`, `failure`,
// `reject`, `timeout`, `fallback` events and their latency argument; Sturdy publishes transitions only), `name`/
// `group`/UUID names (Sturdy's key is given), `promisify`/callback functions/non-function actions, `cache` and
// `clearCache`, hystrix and Prometheus stats, rolling percentiles and `latencyMean`, `status.on('snapshot')`,
// `maxFailures` deprecation, `enabled`/`enable()`/`disable()` (a disabled breaker is not wrapping the call), the
// browser build, `EventEmitter max listeners` (listener leaks of a Node EventEmitter), `Only warms up for
// rollingCountTimeout` (no warm-up clock), and the stats counters with no counterpart in the snapshot (`rejects`,
// `fallbacks`, `timeouts`, `cacheHits`, `semaphoreRejections`: a caller counts its own `CircuitOpen`s).
import { describe, expect, it } from "@effect/vitest"
import { Bulkhead, CircuitBreaker, Deadline, Fallback } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

class PassFailError extends Error {}
class CodeError extends Error {
  constructor(readonly statusCode: number) {
    super(`Failed with ${statusCode} status code`)
  }
}

// opossum's test/common.js passFail, timedFailingFunction and failWithCode
const passFail = (x: number) => x > 0 ? Effect.succeed(x) : Effect.fail(new PassFailError(`Error: ${x} is < 0`))
const timedFailing = (millis: number) =>
  Effect.zipRight(Effect.sleep(Duration.millis(millis)), Effect.fail(new PassFailError(`Failed after ${millis}`)))
const failWithCode = (code: number) => Effect.fail(new CodeError(code))

// a breaker built from opossum options
interface OpossumOptions {
  readonly errorThresholdPercentage?: number
  readonly volumeThreshold?: number
  readonly resetTimeout?: number
  readonly rollingCountTimeout?: number
  readonly errorFilter?: (e: unknown) => boolean
}
const opossum = (o: OpossumOptions = {}) =>
  CircuitBreaker.make("opossum", {
    failureRateThreshold: (o.errorThresholdPercentage ?? 50) / 100,
    minimumThroughput: Math.max(1, o.volumeThreshold ?? 0),
    slidingWindow: Duration.millis(o.rollingCountTimeout ?? 10_000),
    breakDuration: Duration.millis(o.resetTimeout ?? 30_000),
    ...(o.errorFilter ? { isFailure: (e: unknown) => !o.errorFilter!(e) } : {})
  })

// `fire` of a call that may take virtual time: forks it and lets it start
const start = <A, E>(breaker: CircuitBreaker.CircuitBreaker, self: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(CircuitBreaker.withBreaker(self, breaker))
    yield* Effect.yieldNow()
    return fiber
  })

const isOpenRejection = (e: unknown) => CircuitBreaker.isCircuitOpen(e)

describe("peer opossum test.js", () => {
  it.scoped("Fails when the circuit function fails", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum()
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      expect(e.message).toBe("Error: -1 is < 0")
    }))

  it.scoped("Passes parameters to the circuit function", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum()
      expect(yield* CircuitBreaker.withBreaker(passFail(34), breaker)).toBe(34)
    }))

  it.scoped("Fails when the circuit function times out", () =>
    Effect.gen(function*() {
      // `timeout: 10`: the attempt is cut after 10 ms, and the timeout counts as a failure
      const breaker = yield* CircuitBreaker.make("opossum")
      const fiber = yield* start(breaker, Effect.never.pipe(Deadline.attemptTimeout("10 millis")))
      yield* TestClock.adjust("10 millis")
      const e = yield* Effect.flip(Fiber.join(fiber))
      expect(Deadline.isDeadlineExceeded(e)).toBe(true)
      expect(yield* breaker.snapshot).toMatchObject({ calls: 1, failures: 1 })
    }))

  it.scoped("Breaker opens after a configurable number of failures", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 10 })
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      expect(e.message).toBe("Error: -1 is < 0")
      // now the breaker is open and fails fast even with a valid value
      let ran = false
      const rejected = yield* Effect.flip(
        CircuitBreaker.withBreaker(Effect.suspend(() => (ran = true, passFail(100))), breaker)
      )
      expect(isOpenRejection(rejected)).toBe(true)
      expect(ran).toBe(false)
    }))

  it.scoped("Breaker resets after a configurable amount of time", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100 })
      yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      yield* TestClock.adjust("125 millis")
      expect(yield* CircuitBreaker.withBreaker(passFail(100), breaker)).toBe(100)
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("Breaker status reflects open state", () =>
    Effect.gen(function*() {
      // errorThresholdPercentage 0: Sturdy refuses a ratio of 0 (it would open on successes); its least ratio opens
      // on the first failure as opossum's 0 does
      const exit = yield* Effect.exit(CircuitBreaker.make("opossum", { failureRateThreshold: 0 }))
      expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/RangeError: CircuitBreaker: failureRateThreshold/)
      const breaker = yield* opossum({ errorThresholdPercentage: 0.0001, resetTimeout: 100 })
      yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      expect(yield* breaker.snapshot).toMatchObject({ state: "Open", isolated: false })
    }))

  it.scoped("Breaker resets for circuits with a fallback function", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100 })
      const fire = (x: number) =>
        CircuitBreaker.withBreaker(passFail(x), breaker).pipe(Fallback.orElse(Effect.succeed(x * 2)))
      const first = yield* fire(-1)
      expect([first.value, first.source]).toEqual([-2, "fallback"])
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("125 millis")
      const second = yield* fire(100)
      expect([second.value, second.source]).toEqual([100, "primary"])
    }))

  it.scoped("Executes fallback action, if one exists, when breaker is open", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1 })
      const fire = (x: number) =>
        CircuitBreaker.withBreaker(passFail(x), breaker).pipe(Fallback.orElse(Effect.succeed(100)))
      yield* fire(-1)
      const answer = yield* fire(5)
      expect(answer.value).toBe(100)
      expect(isOpenRejection(answer.failures[0]?.error)).toBe(true)
    }))

  it.scoped("Passes error as last argument to the fallback function", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1 })
      const answer = yield* CircuitBreaker.withBreaker(passFail(-1), breaker).pipe(
        Effect.catchAll((e) => Effect.succeed(e instanceof Error ? e.message : "?"))
      )
      expect(answer).toBe("Error: -1 is < 0")
      // with Fallback.orElse the answer carries the failure it replaced
      const provenanced = yield* CircuitBreaker.withBreaker(passFail(-1), breaker).pipe(
        Fallback.orElse(Effect.succeed(0))
      )
      expect(isOpenRejection(provenanced.failures[0]?.error)).toBe(true)
    }))

  it.scoped("Fallback is not called twice for the same execution when action fails after timing out", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("opossum")
      let fallbacks = 0
      const fiber = yield* Effect.fork(
        CircuitBreaker.withBreaker(timedFailing(200).pipe(Deadline.attemptTimeout("100 millis")), breaker).pipe(
          Fallback.orElse(Effect.sync(() => ++fallbacks))
        )
      )
      yield* Effect.yieldNow()
      yield* TestClock.adjust("100 millis")
      expect((yield* Fiber.join(fiber)).value).toBe(1)
      yield* TestClock.adjust("200 millis")
      expect(fallbacks).toBe(1)
    }))

  it.scoped("Returns self from fallback()", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1 })
      const answer = yield* CircuitBreaker.withBreaker(passFail(1), breaker).pipe(Fallback.orElse(Effect.void))
      expect([answer.value, answer.source]).toEqual([1, "primary"])
    }))

  it.scoped("CircuitBreaker emits failure when action throws", () =>
    Effect.gen(function*() {
      // a throwing action is a defect in Effect; the breaker counts it as a failure and the caller gets the defect
      const breaker = yield* CircuitBreaker.make("opossum")
      const exit = yield* Effect.exit(
        CircuitBreaker.withBreaker(
          Effect.sync(() => {
            throw new Error("E_TOOMANYCHICKENTACOS")
          }),
          breaker
        )
      )
      expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/E_TOOMANYCHICKENTACOS/)
      expect(yield* breaker.snapshot).toMatchObject({ calls: 1, failures: 1 })
    }))

  it.scoped("CircuitBreaker executes fallback when an action throws", () =>
    Effect.gen(function*() {
      // a throwing function called through `Effect.try` fails with a typed failure, which falls back (a defect is
      // not recovered by `Fallback.orElse`: Effect's rule for defects)
      const breaker = yield* CircuitBreaker.make("opossum")
      const answer = yield* CircuitBreaker.withBreaker(
        Effect.try(() => {
          throw new Error("E_TOOMANYCHICKENTACOS")
        }),
        breaker
      ).pipe(Fallback.orElse(Effect.succeed("Fallback executed")))
      expect(answer.value).toBe("Fallback executed")
      expect(yield* breaker.snapshot).toMatchObject({ calls: 1, failures: 1 })
    }))

  it.scoped("CircuitBreaker emits failure when falling back", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("opossum")
      const answer = yield* CircuitBreaker.withBreaker(passFail(-1), breaker).pipe(
        Fallback.orElse(Effect.succeed("fallback value"))
      )
      expect(answer.value).toBe("fallback value")
      expect((answer.failures[0]?.error as Error).message).toBe("Error: -1 is < 0")
      expect(yield* breaker.snapshot).toMatchObject({ calls: 1, failures: 1 })
    }))

  it.scoped("CircuitBreaker status", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1 })
      const answers = yield* Effect.all([10, 20, 30].map((x) => CircuitBreaker.withBreaker(passFail(x), breaker)), {
        concurrency: "unbounded"
      })
      expect(answers).toEqual([10, 20, 30])
      expect(yield* breaker.snapshot).toMatchObject({ calls: 3, failures: 0 })

      const e = yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-10), breaker))
      expect(e.message).toBe("Error: -10 is < 0")
      // 1 of 4 failed, above 1 %: the breaker opened on it, and its window was emptied (opossum keeps counting)
      expect(yield* breaker.snapshot).toMatchObject({ state: "Open", calls: 0, failures: 0 })

      const answer = yield* CircuitBreaker.withBreaker(passFail(-20), breaker).pipe(
        Fallback.orElse(Effect.succeed("Fallback called"))
      )
      expect(answer.value).toBe("Fallback called")
      const rejected = answer.failures[0]?.error
      expect(CircuitBreaker.isCircuitOpen(rejected) && [rejected.reason, rejected.failures]).toEqual([
        "FailureRate",
        1
      ])
    }))

  it.scoped("CircuitBreaker rolling counts", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ rollingCountTimeout: 200 })
      yield* Effect.all([10, 20, 30].map((x) => CircuitBreaker.withBreaker(passFail(x), breaker)))
      expect(yield* breaker.snapshot).toMatchObject({ calls: 3, failures: 0 })
      yield* TestClock.adjust("300 millis")
      expect(yield* breaker.snapshot).toMatchObject({ calls: 0, failures: 0 })
    }))

  it.scoped("CircuitBreaker events", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 500 })
      const changes = yield* breaker.subscribe
      const transitions = Effect.map(
        Stream.runCollect(Stream.take(changes, 3)),
        (chunk) => Array.from(chunk, (c) => `${c.from}->${c.to}`)
      )
      expect(yield* CircuitBreaker.withBreaker(passFail(10), breaker)).toBe(10)
      yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker)) // open
      expect(isOpenRejection(yield* Effect.flip(CircuitBreaker.withBreaker(passFail(10), breaker)))).toBe(true)
      yield* TestClock.adjust("500 millis")
      expect(yield* breaker.state).toBe("HalfOpen")
      expect(yield* CircuitBreaker.withBreaker(passFail(10), breaker)).toBe(10) // halfOpen, then close
      expect(yield* transitions).toEqual(["Closed->Open", "Open->HalfOpen", "HalfOpen->Closed"])
    }))

  it.scoped("circuit halfOpen", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100 })
      yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("130 millis")
      expect(yield* breaker.state).toBe("HalfOpen")
      // failing while half-open opens the circuit again
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      expect(e).toBeInstanceOf(PassFailError)
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("130 millis")
      expect(yield* breaker.state).toBe("HalfOpen")
      expect(yield* CircuitBreaker.withBreaker(passFail(1), breaker)).toBe(1)
      expect(yield* breaker.state).toBe("Closed")
    }))

  it.scoped("CircuitBreaker fallback as a rejected promise", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100 })
      const e = yield* Effect.flip(
        CircuitBreaker.withBreaker(passFail(-1), breaker).pipe(Fallback.orElse(Effect.fail(new Error("nope"))))
      )
      expect(e.message).toBe("nope")
    }))

  it.scoped("CircuitBreaker fallback as a CircuitBreaker", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100 })
      const other = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100 })
      const answer = yield* CircuitBreaker.withBreaker(passFail(-1), breaker).pipe(
        Fallback.orElse(CircuitBreaker.withBreaker(Effect.succeed(-1), other))
      )
      expect(answer.value).toBe(-1)
    }))

  it.scoped("CircuitBreaker fallback as a CircuitBreaker that fails", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100 })
      const other = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100 })
      const e = yield* Effect.flip(
        CircuitBreaker.withBreaker(passFail(-1), breaker).pipe(
          Fallback.orElse(CircuitBreaker.withBreaker(passFail(-1), other))
        )
      )
      expect(e.message).toBe("Error: -1 is < 0")
      expect(yield* other.state).toBe("Open")
    }))

  it.scoped("Circuit Breaker timeout with semaphore released", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("opossum")
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 2 })
      const fiber = yield* start(
        breaker,
        Effect.never.pipe(Bulkhead.withBulkhead(bulkhead), Deadline.attemptTimeout("10 millis"))
      )
      yield* TestClock.adjust("5 millis")
      expect((yield* bulkhead.snapshot).active).toBe(1)
      yield* TestClock.adjust("5 millis")
      expect(Deadline.isDeadlineExceeded(yield* Effect.flip(Fiber.join(fiber)))).toBe(true)
      expect(yield* bulkhead.snapshot).toEqual({ active: 0, queued: 0 })
    }))

  it.scoped("CircuitBreaker semaphore rate limiting", () =>
    Effect.gen(function*() {
      // capacity 1: a second call while the first holds the permit is rejected at once; the rejection says nothing
      // about the upstream, so the breaker does not count it
      const breaker = yield* CircuitBreaker.make("opossum", { consecutiveFailures: 1 })
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
      const guarded = <A, E>(self: Effect.Effect<A, E>) =>
        self.pipe(Bulkhead.withBulkhead(bulkhead), Deadline.attemptTimeout("300 millis"))
      const holder = yield* start(breaker, guarded(Effect.sleep("1 second")))
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(guarded(Effect.void), breaker))
      expect(Bulkhead.isBulkheadRejected(e)).toBe(true)
      expect(yield* breaker.snapshot).toMatchObject({ state: "Closed", calls: 0, failures: 0 })
      yield* Fiber.interrupt(holder)
    }))

  it.scoped("CircuitBreaker default capacity", () =>
    Effect.gen(function*() {
      // no capacity by default: a breaker alone limits no concurrency
      const breaker = yield* CircuitBreaker.make("opossum")
      let running = 0
      const fibers = []
      for (let i = 0; i < 100; i++) {
        fibers.push(yield* start(breaker, Effect.zipRight(Effect.sync(() => running++), Effect.sleep("1 second"))))
      }
      expect(running).toBe(100)
      yield* TestClock.adjust("1 second")
      for (const f of fibers) yield* Fiber.join(f)
      expect(yield* breaker.snapshot).toMatchObject({ calls: 100, failures: 0 })
    }))
})

describe("peer opossum half-open-test.js", () => {
  it.scoped("When half-open, the circuit only allows one request through", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100 })
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(timedFailing(0), breaker))
      expect(e.message).toBe("Failed after 0")
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("150 millis")
      expect(yield* breaker.state).toBe("HalfOpen")
      // the probe fails after 500 ms, letting other calls arrive meanwhile: they are rejected (within the 100 ms of
      // `maxProbeDuration`, by default the pause: after it a probe gives its slot to the next call, Polly's rule)
      const probe = yield* start(breaker, timedFailing(500))
      yield* TestClock.adjust("50 millis")
      expect(isOpenRejection(yield* Effect.flip(CircuitBreaker.withBreaker(passFail(1), breaker)))).toBe(true)
      yield* TestClock.adjust("450 millis")
      expect((yield* Effect.flip(Fiber.join(probe))).message).toBe("Failed after 500")
      expect(yield* breaker.state).toBe("Open")
      expect(isOpenRejection(yield* Effect.flip(CircuitBreaker.withBreaker(passFail(1), breaker)))).toBe(true)
    }))

  it.scoped("When half-open, a filtered error should close the circuit", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({
        errorThresholdPercentage: 1,
        resetTimeout: 100,
        errorFilter: (e) => e instanceof CodeError && e.statusCode < 500
      })
      expect((yield* Effect.flip(CircuitBreaker.withBreaker(failWithCode(500), breaker))).message).toBe(
        "Failed with 500 status code"
      )
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("150 millis")
      expect(yield* breaker.state).toBe("HalfOpen")
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(failWithCode(400), breaker))
      expect(e.message).toBe("Failed with 400 status code")
      expect(yield* breaker.state).toBe("Closed")
    }))
})

describe("peer opossum error-filter-test.js", () => {
  const options: OpossumOptions = {
    errorThresholdPercentage: 1,
    resetTimeout: 10_000,
    errorFilter: (e) => e instanceof CodeError && e.statusCode < 500
  }

  it.scoped("Bypasses failure stats if errorFilter returns true", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum(options)
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(failWithCode(400), breaker))
      expect((e as CodeError).statusCode).toBe(400)
      const s = yield* breaker.snapshot
      expect([s.failures, s.calls - s.failures, s.state]).toEqual([0, 1, "Closed"])
    }))

  it.scoped("Increments failure stats if errorFilter returns false", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum(options)
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(failWithCode(500), breaker))
      expect((e as CodeError).statusCode).toBe(500)
      const rejected = yield* Effect.flip(CircuitBreaker.withBreaker(failWithCode(500), breaker))
      expect(CircuitBreaker.isCircuitOpen(rejected) && rejected.failures).toBe(1)
    }))

  it.scoped("Increments failure stats if no filter is provided", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1 })
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(failWithCode(500), breaker))
      expect((e as CodeError).statusCode).toBe(500)
      const rejected = yield* Effect.flip(CircuitBreaker.withBreaker(failWithCode(500), breaker))
      expect(CircuitBreaker.isCircuitOpen(rejected) && [rejected.failures, rejected.reason]).toEqual([1, "FailureRate"])
    }))

  it.scoped("Should not call fallback if errorFilter returns true", () =>
    Effect.gen(function*() {
      // the fallback runs for the failures that count (`while`); a filtered one reaches the caller as it is
      const breaker = yield* opossum(options)
      let fallbacks = 0
      const e = yield* Effect.flip(
        CircuitBreaker.withBreaker(failWithCode(400), breaker).pipe(
          Fallback.orElse(Effect.sync(() => ++fallbacks), { while: (e) => !options.errorFilter!(e) })
        )
      )
      expect((e as CodeError).statusCode).toBe(400)
      expect(fallbacks).toBe(0)
      const s = yield* breaker.snapshot
      expect([s.failures, s.calls - s.failures, s.state]).toEqual([0, 1, "Closed"])
    }))
})

describe("peer opossum volume-threshold-test.js", () => {
  it.scoped("By default does not have a volume threshold", () =>
    Effect.gen(function*() {
      // opossum's default volumeThreshold is 0; Sturdy's default minimumThroughput is 10 (a rate over one call is
      // noise), so a rate breaker with defaults does not open on one failure; with minimumThroughput 1 it does
      const defaults = yield* CircuitBreaker.make("opossum", {
        failureRateThreshold: 0.01,
        breakDuration: "100 millis"
      })
      yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), defaults))
      expect(yield* defaults.state).toBe("Closed")
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100 })
      expect((yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))).message).toBe("Error: -1 is < 0")
      expect(yield* breaker.state).toBe("Open")
    }))

  it.scoped("Has a volume threshold before tripping when option is provided", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100, volumeThreshold: 3 })
      yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      expect(yield* breaker.state).toBe("Closed")
      yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      expect(yield* breaker.state).toBe("Closed")
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      expect(e).toBeInstanceOf(PassFailError)
      expect(yield* breaker.state).toBe("Open")
    }))

  it.scoped("volume threshold does not affect halfOpen state", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({
        errorThresholdPercentage: 1,
        resetTimeout: 300,
        rollingCountTimeout: 300,
        volumeThreshold: 2
      })
      yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      expect(yield* breaker.state).toBe("Closed")
      yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("450 millis")
      // the statistical window is cleared
      expect(yield* breaker.snapshot).toMatchObject({ state: "HalfOpen", calls: 0 })
      // one failed probe opens it again, below the volume threshold
      yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      expect(yield* breaker.state).toBe("Open")
    }))
})

describe("peer opossum warmup-test.js", () => {
  it.scoped("By default does not allow for warmup", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100 })
      yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      expect(yield* breaker.state).toBe("Open")
    }))

  it.scoped("Allows for warmup when option is provided", () =>
    Effect.gen(function*() {
      // no `allowWarmUp`: `minimumThroughput` keeps a young (or quiet) breaker from opening on its first failures
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100, volumeThreshold: 10 })
      yield* Effect.flip(CircuitBreaker.withBreaker(passFail(-1), breaker))
      expect(yield* breaker.snapshot).toMatchObject({ state: "Closed", calls: 1, failures: 1 })
    }))
})

describe("peer opossum closed-test.js", () => {
  it.scoped("When open, an existing request resolving does not close circuit", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 60_000 })
      const slow = yield* start(breaker, Effect.as(Effect.sleep("100 millis"), "success"))
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(Effect.fail(new Error("test-error")), breaker))
      expect(e.message).toBe("test-error")
      expect(yield* breaker.state).toBe("Open")
      yield* TestClock.adjust("100 millis")
      expect(yield* Fiber.join(slow)).toBe("success")
      expect(yield* breaker.state).toBe("Open")
    }))
})

describe("peer opossum open-test.js", () => {
  it.scoped("when open() is called it cancels the resetTimeout", () =>
    Effect.gen(function*() {
      const breaker = yield* opossum({ errorThresholdPercentage: 1, resetTimeout: 100 })
      expect((yield* Effect.flip(CircuitBreaker.withBreaker(timedFailing(0), breaker))).message).toBe(
        "Failed after 0"
      )
      expect(yield* breaker.state).toBe("Open")
      yield* breaker.isolate
      yield* TestClock.adjust("150 millis")
      expect(yield* breaker.snapshot).toMatchObject({ state: "Open", isolated: true })
      const e = yield* Effect.flip(CircuitBreaker.withBreaker(passFail(1), breaker))
      expect(CircuitBreaker.isCircuitOpen(e) && [e.reason, Duration.isFinite(e.retryAfter)]).toEqual([
        "Isolated",
        false
      ])
      // close(): reset
      yield* breaker.reset
      expect(yield* CircuitBreaker.withBreaker(passFail(1), breaker)).toBe(1)
    }))
})

describe("peer opossum circuit-shutdown-test.js", () => {
  it.effect("Circuit shuts down properly", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const breaker = yield* Scope.extend(opossum(), scope)
      expect(yield* CircuitBreaker.withBreaker(passFail(1), breaker)).toBe(1)
      const listener = yield* Effect.fork(Stream.runCollect(breaker.changes))
      yield* Effect.yieldNow()
      yield* Scope.close(scope, Exit.void)
      // shutdown ends the transitions stream: no listener is left behind
      expect(Array.from(yield* Fiber.join(listener))).toEqual([])
    }))
})
