/**
 * What the resilience4j ports (`peer-resilience4j-CircuitBreaker.test.ts`, `peer-resilience4j-CountWindow.test.ts`),
 * and the breaker ports that call a breaker the same way (Failsafe's, mollitia's), share: the Java exception types its tests throw, and `onSuccess` / `onError`, a call through the breaker that takes
 * some virtual time and then succeeds or fails, as resilience4j's tests report an outcome with a duration.
 */
import type { CircuitBreaker as CircuitBreakerModule } from "@sturdy/policy"
import { CircuitBreaker } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

export class RuntimeException extends Error {}
export class NumberFormatException extends Error {}

/**
 * A call through the breaker that takes `millis` of virtual time, then fails with `error` or succeeds; a call the
 * breaker rejects at once takes none.
 */
const call = (breaker: CircuitBreakerModule.CircuitBreaker, millis: number, error?: Error) =>
  Effect.gen(function*() {
    const body = error === undefined ? Effect.succeed("ok") : Effect.fail(error)
    const fiber = yield* Effect.fork(
      CircuitBreaker.withBreaker(
        millis === 0 ? body : Effect.zipRight(Effect.sleep(Duration.millis(millis)), body),
        breaker
      )
    )
    yield* Effect.yieldNow()
    // a call the breaker rejected took no time: the clock moves only for a call that is running
    const early = yield* Fiber.poll(fiber)
    if (Option.isSome(early)) return early.value
    if (millis > 0) yield* TestClock.adjust(Duration.millis(millis))
    return yield* Fiber.await(fiber)
  })

export const onSuccess = (breaker: CircuitBreakerModule.CircuitBreaker, millis = 0) => call(breaker, millis)

export const onError = (
  breaker: CircuitBreakerModule.CircuitBreaker,
  millis = 0,
  error: Error = new RuntimeException()
) => call(breaker, millis, error)
