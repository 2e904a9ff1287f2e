/**
 * What the ports of Go breakers (`peer-gobreaker-CircuitBreaker.test.ts`, `peer-go-resiliency-Breaker.test.ts`,
 * `peer-hystrix-go.test.ts`, `peer-rubyist-circuitbreaker.test.ts`) share: gobreaker's `succeed` / `fail` / `exclude` helpers, which return the breaker's
 * own error (`undefined` when the call ran, whatever the call returned), a call that ends later on the TestClock,
 * the breaker's counts, the last transition (gobreaker's `OnStateChange` recorder), and a wait on the live clock
 * until a breaker that shares its state reports a state (the distributed ports: gobreaker's and pybreaker's).
 */
import { CircuitBreaker } from "@sturdy/policy"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/** gobreaker's `errFailed` */
export class ErrFailed extends Error {}
/** gobreaker's `errExcluded` */
export class ErrExcluded extends Error {}

/** The breaker's rejection of the call, or `undefined` when the call ran (whatever it returned). */
export const rejectionOf = <A, E>(breaker: CircuitBreaker.CircuitBreaker, body: Effect.Effect<A, E>) =>
  CircuitBreaker.withBreaker(body, breaker).pipe(
    Effect.as(undefined),
    Effect.catchAll((e) => Effect.succeed(CircuitBreaker.isCircuitOpen(e) ? e : undefined))
  )

export const succeed = (breaker: CircuitBreaker.CircuitBreaker) => rejectionOf(breaker, Effect.succeed(true))

export const fail = (breaker: CircuitBreaker.CircuitBreaker, error: unknown = new ErrFailed()) =>
  rejectionOf(breaker, Effect.fail(error))

export const exclude = (breaker: CircuitBreaker.CircuitBreaker) => fail(breaker, new ErrExcluded())

/**
 * gobreaker's `succeedLater`: a call started now that succeeds after `delay` of virtual time; the fiber answers its
 * rejection as `succeed` does. The call is admitted (or rejected) before this returns.
 */
export const succeedLater = (breaker: CircuitBreaker.CircuitBreaker, delay: Duration.DurationInput) =>
  Effect.tap(
    Effect.fork(rejectionOf(breaker, Effect.as(Effect.sleep(delay), true))),
    () => Effect.yieldNow()
  )

/** A call started now that fails with `error` after `delay` of virtual time (gobreaker's delayed `done(err)`). */
export const failLater = (
  breaker: CircuitBreaker.CircuitBreaker,
  delay: Duration.DurationInput,
  error: unknown = new ErrFailed()
) =>
  Effect.tap(
    Effect.fork(rejectionOf(breaker, Effect.zipRight(Effect.sleep(delay), Effect.fail(error)))),
    () => Effect.yieldNow()
  )

/** gobreaker's `Counts` as Sturdy keeps them: recorded calls (ignored ones are not), failures, the failing run. */
export const counts = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(breaker.snapshot, (s) => ({
    calls: s.calls,
    failures: s.failures,
    consecutiveFailures: s.consecutiveFailures
  }))

/** gobreaker's `OnStateChange` recorder: the last `{ name, from, to }` seen on the breaker's transitions. */
export const recordChanges = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.gen(function*() {
    const changes: Array<CircuitBreaker.StateChange> = []
    yield* Effect.forkScoped(Stream.runForEach(yield* breaker.subscribe, (c) => Effect.sync(() => changes.push(c))))
    return Effect.map(Effect.repeatN(Effect.yieldNow(), 10), () => {
      const last = changes.at(-1)
      return last === undefined ? undefined : { name: last.key, from: last.from, to: last.to }
    })
  })

/**
 * Waits (live clock, 5 ms steps, at most 1 s) until `breaker` reports `state`, without calling it: a breaker on a
 * shared store reports a transition of another process once its poll (every `syncInterval`) has read it. Answers the
 * state it ended in.
 */
export const eventually = (breaker: CircuitBreaker.CircuitBreaker, state: CircuitBreaker.State) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      const now = yield* breaker.state
      if (now === state) return now
      yield* Effect.sleep("5 millis")
    }
    return yield* breaker.state
  })
