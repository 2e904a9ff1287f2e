/**
 * Go's `net/http` `TestParseTime` (`src/net/http/header_test.go`, golang/go commit
 * 24ff72fd69e58c21226c579a42c75b9c045a7dd5), ported to `RetryHeaders`: one `it` per row of `parseTimeTests`, named
 * after the row's `Date` value.
 *
 * Mapping: `http.ParseTime(v)` (IMF-fixdate `TimeFormat`, then `time.RFC850`, then `time.ANSIC`) returning the test's
 * `expect`, 1994-11-06 08:49:37 UTC, is a `Retry-After: v` that, with the TestClock 10 s before that instant, asks for
 * a 10 s wait read as an `http-date`; a row with `err: true` is a value Sturdy refuses (no wait: the policy's own
 * backoff applies). Go reads an RFC 850 two-digit year 69-99 as 19xx; Sturdy reads it by RFC 9110's 50-year rule
 * relative to the clock, here in 1994, so "94" is 1994 for both.
 *
 * Differences outside these rows, noted for the record: like Sturdy, Go does not check the day name against the date;
 * unlike Sturdy, Go refuses the second 60 (RFC 9110's leap second, which Sturdy reads as the next minute, as ky does)
 * and reads no numeric `±hhmm` zone.
 *
 * Not ported: the file's other tests (header writing, `hasToken`, cloning, structured fields): no date parsing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { expectInstant, retryAfterAt } from "./utils/retryAfterClock.js"

const expected = Date.UTC(1994, 10, 6, 8, 49, 37)

describe("Go net/http TestParseTime (parseTimeTests)", () => {
  it.effect("\"\" (err)", () =>
    Effect.gen(function*() {
      expect(yield* retryAfterAt("", expected - 10_000)).toBeUndefined()
    }))

  it.effect("\"invalid\" (err)", () =>
    Effect.gen(function*() {
      expect(yield* retryAfterAt("invalid", expected - 10_000)).toBeUndefined()
    }))

  it.effect("\"1994-11-06T08:49:37Z00:00\" (err)", () =>
    Effect.gen(function*() {
      expect(yield* retryAfterAt("1994-11-06T08:49:37Z00:00", expected - 10_000)).toBeUndefined()
    }))

  it.effect("\"Sun, 06 Nov 1994 08:49:37 GMT\"", () => expectInstant("Sun, 06 Nov 1994 08:49:37 GMT", expected))

  it.effect("\"Sunday, 06-Nov-94 08:49:37 GMT\"", () => expectInstant("Sunday, 06-Nov-94 08:49:37 GMT", expected))

  it.effect("\"Sun Nov  6 08:49:37 1994\"", () => expectInstant("Sun Nov  6 08:49:37 1994", expected))
})
