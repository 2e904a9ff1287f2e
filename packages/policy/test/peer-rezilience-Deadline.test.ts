// Ported from rezilience's rezilience/shared/src/test/scala/nl/vroste/rezilience/TimeoutSpec.scala
// (svroonland/rezilience, commit caa1642e8e7be29bf7c54715202f3ceff43eb07a), one `it` per rezilience case, named after it.
// Mapping: `Timeout.make(d)` applied to a call (ZIO's `timeoutFail(CallTimedOut)(d)` around it) is
// `Deadline.withDeadline(d)` around the call; `CallTimedOut` is `DeadlineExceeded` of reason "Deadline" with `timeout`
// d (inside a retry, a per-attempt timeout is `Deadline.attemptTimeout`, reason "Attempt"); `ZIO.sleep` sleeps on the
// TestClock.
// Deliberate differences: none found.
// Not ported: the `nonFlaky` aspect (each case runs once, deterministically, on the TestClock).
import { describe, expect, it } from "@effect/vitest"
import { Deadline } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

describe("peer rezilience TimeoutSpec", () => {
  it.effect("succeeds a regular call", () =>
    Effect.gen(function*() {
      const result = yield* Effect.exit(Deadline.withDeadline(Effect.void, "10 seconds"))
      expect(Exit.isSuccess(result)).toBe(true)
    }))

  it.effect("fails a call that times out", () =>
    Effect.gen(function*() {
      const fib = yield* Effect.fork(Deadline.withDeadline(Effect.sleep("20 seconds"), "10 seconds"))
      yield* TestClock.adjust("30 seconds")
      const result = yield* Effect.exit(Fiber.join(fib))
      expect(Exit.isFailure(result) && result.cause._tag).toBe("Fail")
      const error = Exit.isFailure(result) && result.cause._tag === "Fail" ? result.cause.error : undefined
      expect(Deadline.isDeadlineExceeded(error) && [error.reason, Duration.toMillis(error.timeout)]).toEqual([
        "Deadline",
        10_000
      ])
    }))
})
