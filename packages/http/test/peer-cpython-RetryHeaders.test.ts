/**
 * CPython's `email.utils.parsedate_to_datetime` tests (`Lib/test/test_email/test_utils.py`, python/cpython commit
 * 0573248a89b6654875528e7c2c0236f6eb848127), ported to `RetryHeaders`: one `it` per test, and one per `subTest` of the
 * invalid dates. urllib3's `Retry` reads `Retry-After` dates with `email.utils.parsedate_tz`, the parser under this
 * function, and the module reads RFC 5322 dates (zones UT, UTC, Z, ±hhmm) as they do (RFC 9110 §5.6.7 asks recipients
 * to be robust).
 *
 * Mapping: a datetime returned, at UTC instant `t`, is a `Retry-After` that, with the TestClock 10 s before `t`, asks
 * for a 10 s wait read as an `http-date`; a naive datetime (zone `-0000`: RFC 5322's time in UTC with no word on the
 * sender's local zone) is read as UTC; `ValueError` is a value Sturdy refuses (no wait: the policy's own backoff
 * applies).
 *
 * Deliberate difference: `'0'` is no date for Python, but a `Retry-After` of `0` is delay-seconds (RFC 9110 §10.2.3):
 * retry now. Python reads `EST` (and the other US zone names of RFC 822); Sturdy reads no named zone but GMT, UT, UTC
 * and Z, so the three `EST` cases are refused by Sturdy for that reason too.
 *
 * Found by this port: `Tue, 06 Jun 2017 07:39:33 +2600` was read as a date 26 hours off; a zone a day or more off UTC
 * now names no instant, as in Python (regression test in `RetryHeaders.test.ts`).
 *
 * Not ported: `format_datetime` / `formatdate` and `localtime` tests (formatting and the local zone: Sturdy formats no
 * dates and reads no local time).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { expectInstant, retryAfterAt } from "./utils/retryAfterClock.js"

// DateTimeTests: datestring 'Sun, 23 Sep 2001 20:10:55', dateargs (2001, 9, 23, 20, 10, 55)
const datestring = "Sun, 23 Sep 2001 20:10:55"

describe("cpython test_email/test_utils.py DateTimeTests", () => {
  it.effect("test_parsedate_to_datetime", () =>
    // offsetstring ' -0700': 20:10:55 at UTC−7 is 03:10:55 UTC the next day
    expectInstant(datestring + " -0700", Date.UTC(2001, 8, 24, 3, 10, 55)))

  it.effect("test_parsedate_to_datetime_naive", () =>
    // ' -0000' gives a naive datetime in Python; Sturdy reads it as UTC
    expectInstant(datestring + " -0000", Date.UTC(2001, 8, 23, 20, 10, 55)))

  describe("test_parsedate_to_datetime_with_invalid_raises_valueerror", () => {
    const clock = Date.UTC(2017, 5, 6)

    it.effect.each([
      "",
      " ",
      "A Complete Waste of Time",
      // two entries in the source, joined into one string by a missing comma between them
      "Wed, 3 Apr 2002 12.34.56.78+0800" + "Tue, 06 Jun 2017 27:39:33 +0600",
      "Tue, 06 Jun 2017 07:39:33 +2600",
      "Tue, 06 Jun 2017 27:39:33",
      "17 June , 2022",
      "Friday, -Nov-82 16:14:55 EST",
      "Friday, Nov--82 16:14:55 EST",
      "Friday, 19-Nov- 16:14:55 EST"
    ])("%j", (dtstr) =>
      Effect.gen(function*() {
        expect(yield* retryAfterAt(dtstr, clock)).toBeUndefined()
      }))

    it.effect("\"0\" (deliberate difference: delay-seconds, retry now)", () =>
      Effect.gen(function*() {
        expect(yield* retryAfterAt("0", clock)).toStrictEqual({ millis: 0, format: "delta-seconds" })
      }))
  })
})
