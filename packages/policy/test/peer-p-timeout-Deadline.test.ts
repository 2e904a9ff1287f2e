// Ported from p-timeout's `test.js` (sindresorhus/p-timeout, commit f9ced5e18ad81eab24a9a8d0f07bf3002f7bea64), one
// `it` per case, named after it: the cases `peer-p-queue-timeout.test.ts` (same commit) left out or did not have, on
// `Deadline` and `Fallback`. The other p-timeout cases ("resolves before timeout", "throws when milliseconds is not
// number", "... negative number", "handles milliseconds being `Infinity`", "rejects after timeout", "rejects before
// timeout if specified promise rejects", "calls `.cancel()` ...", "accepts `customTimers` option" and the three
// AbortController cases) are ported there and not repeated here.
// Mapping: `pTimeout(promise, {milliseconds})` is `Deadline.withDeadline(effect, milliseconds)` and `TimeoutError` is
// `DeadlineExceeded`; `fallback: () => value` is `Fallback.orElse(timed, fallback, { while: isDeadlineExceeded })` (the
// answer says it came from `"fallback"`); `message: "rainbow"` or `message: new RangeError("cake")` (the error to
// reject with on timeout) is a fallback that fails with that error, which `orElse` returns as it is; `message: false`
// (resolve with `undefined`) a fallback that succeeds with `undefined`; a fallback that throws is one that dies
// (`Effect.sync(() => { throw })`), a defect; `delay(ms)` is `Effect.sleep`, on the TestClock.
// Deliberate differences: p-timeout rejects a `NaN` timeout with a TypeError when the promise is awaited; Sturdy
// throws a `RangeError` naming it when the effect is made (Effect would read `NaN` as zero, a deadline already
// passed), as `Deadline`'s module documentation says.
// Not ported: "`.clear()` method" and "`.clear()` method can be called multiple times" (`withDeadline` gives no handle
// on a running deadline: the limit is part of the effect, fixed when it is made), "removes abort listener after
// promise settles" / "... rejects" (DOM `AbortSignal` listeners: an interrupted fiber has none), "preserves stack trace
// when promise rejects" (V8 stacks across `await`).
import { describe, expect, it } from "@effect/vitest"
import { Deadline, Fallback } from "@sturdy/policy"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { advanceToDone } from "./utils/advance.js"

const fixtureError = new Error("fixture")

const delay = <A = void>(ms: number, value?: A) => Effect.as(Effect.sleep(`${ms} millis`), value as A)

/** `pTimeout(delay(200), { milliseconds: 50, fallback })`: the fallback runs when the 50 ms deadline passes */
const withFallback = <A2, E2>(fallback: Effect.Effect<A2, E2>) =>
  Fallback.orElse(Deadline.withDeadline(delay(200), "50 millis"), fallback, { while: Deadline.isDeadlineExceeded })

describe("peer p-timeout test.js (Deadline, Fallback)", () => {
  it("throws when milliseconds is NaN", () => {
    // p-timeout rejects with a TypeError; Sturdy refuses the NaN when the effect is made, with a RangeError naming it,
    // in both call forms
    expect(() => Deadline.withDeadline(delay(50), Number.NaN)).toThrow(RangeError)
    expect(() => delay(50).pipe(Deadline.withDeadline(Number.NaN))).toThrow(/timeout \(NaN\)/)
  })

  it.effect("resolves after timeout with message:false", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const exit = yield* advanceToDone(withFallback(Effect.succeed(undefined)))
      expect(Exit.isSuccess(exit) && [exit.value.value, exit.value.source]).toEqual([undefined, "fallback"])
      // it resolves when the deadline passes, not when the 200 ms delay would have ended
      expect((yield* Clock.currentTimeMillis) - start).toBe(50)
    }))

  it.effect("fallback argument", () =>
    Effect.gen(function*() {
      // message: "rainbow"
      const rainbow = yield* advanceToDone(withFallback(Effect.fail(new Error("rainbow"))))
      expect(Exit.isFailure(rainbow) && Option.map(Cause.failureOption(rainbow.cause), (e) => e.message))
        .toEqual(Option.some("rainbow"))
      // message: new RangeError("cake")
      const cake = yield* advanceToDone(withFallback(Effect.fail(new RangeError("cake"))))
      expect(Exit.isFailure(cake) && Option.getOrUndefined(Cause.failureOption(cake.cause))).toBeInstanceOf(RangeError)
      // fallback: () => Promise.reject(fixtureError)
      expect(yield* advanceToDone(withFallback(Effect.fail(fixtureError)))).toEqual(Exit.fail(fixtureError))
      // fallback() { throw new RangeError("cake") }: a defect, never turned into a typed failure
      const thrown = yield* advanceToDone(withFallback(Effect.sync(() => {
        throw new RangeError("cake")
      })))
      expect(Exit.isFailure(thrown) && Option.getOrUndefined(Cause.dieOption(thrown.cause))).toBeInstanceOf(RangeError)
    }))

  it.effect("fallback resolves successfully", () =>
    Effect.gen(function*() {
      const exit = yield* advanceToDone(withFallback(Effect.succeed("fallback result")))
      expect(Exit.isSuccess(exit) && exit.value.value).toBe("fallback result")
      // the answer says it is the fallback's, after the primary's DeadlineExceeded
      expect(Exit.isSuccess(exit) && exit.value.failures.map((f) => [f.source, Deadline.isDeadlineExceeded(f.error)]))
        .toEqual([["primary", true]])
    }))
})
