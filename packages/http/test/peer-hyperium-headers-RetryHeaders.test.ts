/**
 * hyperium/headers (the typed headers of hyper and axum), ported to `RetryHeaders`: the tests of
 * `src/common/retry_after.rs` (the `RetryAfter` header) and of `src/util/http_date.rs` (the `HttpDate` it decodes
 * dates with, a wrapper of pyfisch/httpdate), commit be070e896d1d1056d0164b6aefb7c58b168698da; one `it` per Rust test.
 *
 * Mapping: `RetryAfter::delay(d)` is a wait of `d` read as `delta-seconds`; `RetryAfter::date(t)` (and an `HttpDate`
 * equal to `t`) is a `Retry-After` that, with the TestClock 10 s before `t`, asks for a 10 s wait read as an
 * `http-date`; a decode or parse error is a value Sturdy refuses (no wait: the policy's own backoff applies). An
 * RFC 850 two-digit year: the clock sits in 1994, so "94" is 1994 for both.
 *
 * Differences outside these tests, noted for the record: the `HttpDate` of headers is httpdate's, so it refuses a day
 * name that does not match the date (the comment in `http_date.rs`: "The old tests had Sunday, but 1994-11-07 is a
 * Monday") and the second 60; Sturdy does not check the day name (as Go, Python and undici) and reads the second 60
 * as the next minute (RFC 9110's leap second, as ky). headers decodes only the first `Retry-After` line; Sturdy reads
 * copies joined with ", " when they agree.
 *
 * Not ported: `test_display_is_imf_fixdate` (formatting: Sturdy formats no dates).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { expectInstant, retryAfterAt } from "./utils/retryAfterClock.js"

describe("hyperium/headers src/common/retry_after.rs", () => {
  it.effect("delay_decode", () =>
    Effect.gen(function*() {
      expect(yield* retryAfterAt("1234", 0)).toStrictEqual({ millis: 1_234_000, format: "delta-seconds" })
    }))

  // test_retry_after_datetime!: each decodes to the date "Sun, 06 Nov 1994 08:49:37 GMT"
  const dt = Date.UTC(1994, 10, 6, 8, 49, 37)

  it.effect("date_decode_rfc1123", () => expectInstant("Sun, 06 Nov 1994 08:49:37 GMT", dt))

  it.effect("date_decode_rfc850", () => expectInstant("Sunday, 06-Nov-94 08:49:37 GMT", dt))

  it.effect("date_decode_asctime", () => expectInstant("Sun Nov  6 08:49:37 1994", dt))
})

describe("hyperium/headers src/util/http_date.rs", () => {
  // nov_07(): UNIX_EPOCH + 784198117 s
  const nov07 = 784198117 * 1000

  it.effect("test_imf_fixdate", () => expectInstant("Mon, 07 Nov 1994 08:48:37 GMT", nov07))

  it.effect("test_rfc_850", () => expectInstant("Monday, 07-Nov-94 08:48:37 GMT", nov07))

  it.effect("test_asctime", () => expectInstant("Mon Nov  7 08:48:37 1994", nov07))

  it.effect("test_no_date", () =>
    Effect.gen(function*() {
      expect(yield* retryAfterAt("this-is-no-date", nov07)).toBeUndefined()
    }))
})
