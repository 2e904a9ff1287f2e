import * as Headers from "@effect/platform/Headers"
import { expect } from "@effect/vitest"
import { RetryHeaders } from "@sturdy/http"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

/** How Sturdy read a `Retry-After` value: the wait in milliseconds and the value's format. */
export interface ReadWait {
  readonly millis: number
  readonly format: RetryHeaders.Delay["format"]
}

/**
 * What Sturdy makes of `Retry-After: value` with the TestClock set to `clockMillis`: the wait and how the value was
 * read, or `undefined` when it is refused (no wait named: the caller's own backoff applies). The getter a policy reads
 * (`currentRetryAfter`) and the structured `parse` are checked to agree.
 */
export const retryAfterAt = (value: string, clockMillis: number): Effect.Effect<ReadWait | undefined> =>
  Effect.gen(function*() {
    yield* TestClock.setTime(clockMillis)
    const headers = Headers.fromInput({ "retry-after": value })
    const wait = Option.map(yield* RetryHeaders.currentRetryAfter(headers), Duration.toMillis)
    const parsed = RetryHeaders.parse(headers, yield* Clock.currentTimeMillis).retryAfter
    expect(Option.map(parsed, (delay) => Duration.toMillis(delay.duration))).toStrictEqual(wait)
    return Option.getOrUndefined(
      Option.map(parsed, (delay): ReadWait => ({ millis: Duration.toMillis(delay.duration), format: delay.format }))
    )
  })

/**
 * Asserts that the HTTP-date `value` names exactly `instantMillis`: with the TestClock 10 s before it, the wait is
 * 10 s, read as an `http-date`.
 */
export const expectInstant = (value: string, instantMillis: number): Effect.Effect<void> =>
  Effect.map(retryAfterAt(value, instantMillis - 10_000), (read) => {
    expect(read, value).toStrictEqual({ millis: 10_000, format: "http-date" })
  })
