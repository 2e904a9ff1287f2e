// Ported from googleapis/python-api-core `tests/unit/test_timeout.py` (commit
// dc039f57eaabdb4293b2b709b1ac7f796d1f7d08), one `it` per api-core case, named after it (class cases as
// `Class.test_name`).
//
// Mapping: api-core's per-attempt timeouts become Sturdy's `Deadline.attemptTimeout` around each attempt, and its
// overall deadline (`LogicalCallTimeout(t)`, the `deadline` of `ExponentialTimeout`) is `Deadline.withDeadline(t)`
// around the retry loop; the timeout an attempt is given is read inside it as the time left before the limit in force
// (`Deadline.currentLimit`'s `at` minus now), which `attemptTimeout` documents as "`timeout` (or what is left of the
// enclosing deadline, if less)". `utcnow()` advancing one second per call is each attempt starting one second after
// the previous one on the TestClock (a one-second retry delay). Sturdy has no growing per-attempt timeout of its
// own (`ExponentialTimeout`): the ported cases give attempt n `attemptTimeout(min(initial × multiplier^(n−1),
// maximum))` themselves, so what they check is how Sturdy bounds each attempt by the overall deadline.
//
// Not ported: the constructor/`with_deadline`/`__str__` cases of ConstantTimeout, ExponentialTimeout and
// LogicalCallTimeout and their `test_apply_passthrough` (Python object API: attributes, repr, positional and keyword
// arguments forwarded to the wrapped function).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Deadline from "@sturdy/policy/Deadline"
import * as Retry from "@sturdy/policy/Retry"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import { advanceToDone } from "./utils/advance.js"

class Again {
  readonly _tag = "Again"
}

// the time the attempt running now is given: the limit in force minus now, in seconds
const timeoutOfThisAttempt = Effect.gen(function*() {
  const limit = yield* FiberRef.get(Deadline.currentLimit)
  const now = yield* Clock.currentTimeMillis
  return (limit.at - now) / 1000
})

/**
 * Runs `count` attempts, one second apart (the first one second after the start, as api-core's mocked `utcnow()`
 * advances a second per call), attempt n under `attemptTimeout(timeoutOf(n))` seconds when given, and returns the
 * timeout each attempt was given.
 */
const timeoutsGiven = (count: number, timeoutOf: ((n: number) => number) | undefined) =>
  Effect.gen(function*() {
    const given: Array<number> = []
    let n = 0
    const attempt = Effect.suspend(() => {
      n++
      const body = Effect.flatMap(timeoutOfThisAttempt, (t) => {
        given.push(t)
        return n < count ? Effect.fail(new Again()) : Effect.succeed(given)
      })
      return timeoutOf === undefined ? body : Deadline.attemptTimeout(body, `${timeoutOf(n)} seconds`)
    })
    return yield* Effect.sleep("1 second").pipe(
      Effect.zipRight(
        Retry.retry(attempt, {
          schedule: Backoff.bounded(Backoff.fromDelay(() => "1 second"), { maxAttempts: count })
        })
      )
    )
  })

// api-core's `_exponential_timeout_generator(initial, maximum, multiplier)`
const exponential = (initial: number, maximum: number, multiplier: number) => (n: number) =>
  Math.min(initial * multiplier ** (n - 1), maximum)

describe("python-api-core tests/unit/test_timeout.py", () => {
  it.effect("test__exponential_timeout_generator_base_2", () =>
    Effect.gen(function*() {
      // no deadline: the timeouts are the exponential ones
      const exit = yield* advanceToDone(timeoutsGiven(8, exponential(1, 60, 2)))
      expect(exit).toEqual(Exit.succeed([1, 2, 4, 8, 16, 32, 60, 60]))
    }))

  it.effect("test__exponential_timeout_generator_base_deadline", () =>
    Effect.gen(function*() {
      // deadline 30 s: the timeouts grow until what is left of the deadline is less, then shrink with it
      const exit = yield* advanceToDone(
        timeoutsGiven(14, exponential(1, 60, 2)).pipe(Deadline.withDeadline("30 seconds"))
      )
      expect(exit).toEqual(Exit.succeed([1, 2, 4, 8, 16, 24, 23, 22, 21, 20, 19, 18, 17, 16]))
    }))

  it.effect("test__logical_call_timeout_generator_base_deadline", () =>
    Effect.gen(function*() {
      // api-core's first timeout is read at the start (60), each next one a second later; here the first attempt
      // starts a second after the deadline is set, so the deadline is 61 s for the same timeouts
      const exit = yield* advanceToDone(timeoutsGiven(14, undefined).pipe(Deadline.withDeadline("61 seconds")))
      expect(exit).toEqual(Exit.succeed([60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47]))
    }))

  it.effect("TestConstantTimeout.test_apply", () =>
    Effect.gen(function*() {
      const exit = yield* advanceToDone(timeoutsGiven(1, () => 42))
      expect(exit).toEqual(Exit.succeed([42]))
    }))

  it.effect("TestExponentialTimeout.test_apply", () =>
    Effect.gen(function*() {
      const exit = yield* advanceToDone(timeoutsGiven(3, exponential(1, 10, 2)))
      expect(exit).toEqual(Exit.succeed([1, 2, 4]))
    }))

  it.effect("TestLogicalCallTimeout.test_apply", () =>
    Effect.gen(function*() {
      // LogicalCallTimeout(42): 42, 41, 40 for calls one second apart (the first a second after the start here)
      const exit = yield* advanceToDone(timeoutsGiven(3, undefined).pipe(Deadline.withDeadline("43 seconds")))
      expect(exit).toEqual(Exit.succeed([42, 41, 40]))
    }))
})
