/**
 * pyfisch/httpdate (the Rust crate hyperium/headers decodes HTTP-dates with), ported to `RetryHeaders`: the
 * tests of `src/lib.rs` (commit 53df52094835dd85aca70e23b9f384abcf843f7f), one `it` per Rust test function, and, in a
 * second block clearly marked as such, the validity rules of `src/date.rs` (`HttpDate::is_valid` and the three
 * parsers), which has no tests of its own.
 *
 * Mapping: `parse_http_date(s)` returning `UNIX_EPOCH + n s` is a `Retry-After: s` that, with the TestClock 10 s
 * before that instant, asks for a 10 s wait read as an `http-date` (`expectInstant`); `is_err()` is a value Sturdy
 * refuses (no wait: the policy's own backoff applies). An RFC 850 two-digit year is read by RFC 9110's rule relative to
 * the clock (within 50 years ahead), where httpdate maps 00-69 to 2000-2069 and 70-99 to 1970-1999; the clock here
 * sits in the same years as the dates, so both readings agree.
 *
 * Deliberate differences (each test says which):
 * - httpdate refuses a day name that does not match the date (`test_parse_bad_date`: 7 Nov 1994 is a Monday, not a
 *   Sunday); Sturdy reads the date and does not check the day name, as Go's `http.ParseTime`, Python's
 *   `email.utils` and undici's `Date.parse` do: the date is what names the instant, and RFC 9110 asks recipients to
 *   be robust.
 * - httpdate refuses years before 1970 (its `SystemTime` starts there); Sturdy reads such a date, which is long past,
 *   as "the moment has come": a wait of 0.
 * - httpdate refuses the second 60; RFC 9110's grammar allows it (a leap second) and Sturdy reads it as the next
 *   minute, as ky does.
 * - httpdate takes exactly `GMT`, a two-digit day and a day name in IMF-fixdate; Sturdy also reads RFC 5322 dates
 *   (zones UT, UTC, Z, ±hhmm; a one-digit day; no day name), as the module documents (RFC 9110 §5.6.7).
 *
 * Not ported: `test_fmt` and `size_of`, `test_date_comparison` (formatting and the Rust type's size and ordering:
 * Sturdy formats no dates), the `testcase` fuzz helper, and the `benches/` and `fuzz/` targets (no assertions on
 * parsed values).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { expectInstant, retryAfterAt } from "./utils/retryAfterClock.js"

const seconds = (n: number) => n * 1000

describe("httpdate src/lib.rs tests", () => {
  it.effect("test_rfc_example", () =>
    Effect.gen(function*() {
      const d = seconds(784111777)
      yield* expectInstant("Sun, 06 Nov 1994 08:49:37 GMT", d)
      yield* expectInstant("Sunday, 06-Nov-94 08:49:37 GMT", d)
      yield* expectInstant("Sun Nov  6 08:49:37 1994", d)
    }))

  it.effect("test2", () =>
    Effect.gen(function*() {
      yield* expectInstant("Sun, 02 Oct 2016 14:44:11 GMT", seconds(1475419451))
      // httpdate: is_err (a year before 1970). Sturdy reads a well-formed date of the year 1000: long past, so the
      // server's moment has come (a wait of 0, as for every past date), whatever the clock says.
      expect(yield* retryAfterAt("Sun Nov 10 08:00:00 1000", seconds(1475419451))).toStrictEqual({
        millis: 0,
        format: "http-date"
      })
      expect(yield* retryAfterAt("Sun Nov 10 08*00:00 2000", Date.UTC(2000, 10, 10))).toBeUndefined()
      expect(yield* retryAfterAt("Sunday, 06-Nov-94 08+49:37 GMT", seconds(784111777) - 10_000)).toBeUndefined()
    }))

  it.effect("test3", () =>
    Effect.gen(function*() {
      let d = 0
      yield* expectInstant("Thu, 01 Jan 1970 00:00:00 GMT", d)
      d += seconds(3600)
      yield* expectInstant("Thu, 01 Jan 1970 01:00:00 GMT", d)
      d += seconds(86400)
      yield* expectInstant("Fri, 02 Jan 1970 01:00:00 GMT", d)
      d += seconds(2592000)
      yield* expectInstant("Sun, 01 Feb 1970 01:00:00 GMT", d)
      d += seconds(2592000)
      yield* expectInstant("Tue, 03 Mar 1970 01:00:00 GMT", d)
      d += seconds(31536005)
      yield* expectInstant("Wed, 03 Mar 1971 01:00:05 GMT", d)
      d += seconds(15552000)
      yield* expectInstant("Mon, 30 Aug 1971 01:00:05 GMT", d)
      d += seconds(6048000)
      yield* expectInstant("Mon, 08 Nov 1971 01:00:05 GMT", d)
      d += seconds(864000000)
      yield* expectInstant("Fri, 26 Mar 1999 01:00:05 GMT", d)
    }))

  it.effect("test_parse_bad_date", () =>
    Effect.gen(function*() {
      // httpdate: is_err, as 1994-11-07 is a Monday. Deliberate difference: Sturdy reads the date and does not check
      // the day name (Go, Python and undici do the same); the instant is 7 Nov 1994 08:48:37 UTC.
      yield* expectInstant("Sun, 07 Nov 1994 08:48:37 GMT", Date.UTC(1994, 10, 7, 8, 48, 37))
    }))
})

// Not test cases of httpdate: the checks its `HttpDate::is_valid` and parsers make (src/date.rs), each tried on
// Sturdy with the RFC 9110 example date, 1994-11-06 08:49:37 UTC.
describe("httpdate src/date.rs validity rules", () => {
  const example = seconds(784111777)

  it.effect("is_valid: sec < 60 (Sturdy reads the second 60, RFC 9110's leap second, as the next minute)", () =>
    Effect.gen(function*() {
      yield* expectInstant("Sun, 06 Nov 1994 08:49:60 GMT", Date.UTC(1994, 10, 6, 8, 50, 0))
      expect(yield* retryAfterAt("Sun, 06 Nov 1994 08:49:61 GMT", example)).toBeUndefined()
    }))

  it.effect("is_valid: min < 60, hour < 24", () =>
    Effect.gen(function*() {
      expect(yield* retryAfterAt("Sun, 06 Nov 1994 08:60:37 GMT", example)).toBeUndefined()
      expect(yield* retryAfterAt("Sun, 06 Nov 1994 24:49:37 GMT", example)).toBeUndefined()
      expect(yield* retryAfterAt("Sunday, 06-Nov-94 24:49:37 GMT", example)).toBeUndefined()
      expect(yield* retryAfterAt("Sun Nov  6 08:60:37 1994", example)).toBeUndefined()
    }))

  it.effect("is_valid: day 1-31 and a date that exists (the round trip through SystemTime)", () =>
    Effect.gen(function*() {
      for (
        const value of [
          "Sun, 00 Nov 1994 08:49:37 GMT",
          "Sun, 32 Nov 1994 08:49:37 GMT",
          "Thu, 31 Nov 1994 08:49:37 GMT",
          "Sunday, 31-Nov-94 08:49:37 GMT",
          "Thu Nov 31 08:49:37 1994"
        ]
      ) {
        expect(yield* retryAfterAt(value, example), value).toBeUndefined()
      }
    }))

  it.effect("is_leap_year: 29 Feb exists in years divisible by 4, except centuries not divisible by 400", () =>
    Effect.gen(function*() {
      yield* expectInstant("Thu, 29 Feb 1996 08:49:37 GMT", Date.UTC(1996, 1, 29, 8, 49, 37))
      yield* expectInstant("Tue, 29 Feb 2000 08:49:37 GMT", Date.UTC(2000, 1, 29, 8, 49, 37))
      yield* expectInstant("Thu Feb 29 08:49:37 2024", Date.UTC(2024, 1, 29, 8, 49, 37))
      for (const value of ["Wed, 29 Feb 1995 08:49:37 GMT", "Mon, 29 Feb 2100 08:49:37 GMT"]) {
        expect(yield* retryAfterAt(value, example), value).toBeUndefined()
      }
      // the day after 28 Feb in a leap year is 29 Feb: one day between 28 Feb and 1 Mar is two days in 2000
      yield* expectInstant("Wed, 01 Mar 2000 00:00:00 GMT", Date.UTC(2000, 1, 28) + 2 * seconds(86400))
    }))

  it.effect("parsers: a month name out of the twelve, a stray separator, a non-digit field", () =>
    Effect.gen(function*() {
      for (
        const value of [
          "Sun, 06 Xyz 1994 08:49:37 GMT",
          "Sun, 06 Nov 1994 08:49-37 GMT",
          "Sun, 06 Nov 19x4 08:49:37 GMT",
          "Sunday, 06/Nov/94 08:49:37 GMT",
          "Sunday, 06-Nov-9x 08:49:37 GMT",
          "Sun Nov  6 08:49:37 94",
          "Sun, 06 Nov 1994 08:49:37 GMT\u00a0"
        ]
      ) {
        expect(yield* retryAfterAt(value, example), value).toBeUndefined()
      }
    }))

  it.effect("parsers: asctime takes a space-padded or a two-digit day", () =>
    Effect.gen(function*() {
      yield* expectInstant("Sun Nov  6 08:49:37 1994", example)
      yield* expectInstant("Sun Nov 06 08:49:37 1994", example)
    }))

  it.effect("parsers: IMF-fixdate only with GMT (Sturdy also reads RFC 5322's zones and one-digit day)", () =>
    Effect.gen(function*() {
      // httpdate refuses all three; RFC 9110 §5.6.7 asks recipients to be robust, and the module reads them
      yield* expectInstant("Sun, 06 Nov 1994 08:49:37 UTC", example)
      yield* expectInstant("Sun, 6 Nov 1994 08:49:37 GMT", example)
      yield* expectInstant("Sun, 06 Nov 1994 09:49:37 +0100", example)
    }))
})
