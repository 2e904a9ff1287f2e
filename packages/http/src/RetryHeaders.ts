/**
 * Reads how long a server asks us to wait, and how much quota is left, from its response headers.
 *
 * Understood headers: `Retry-After` (RFC 9110), the IETF RateLimit fields of draft-ietf-httpapi-ratelimit-headers in
 * all their shapes (`RateLimit: "default";r=50;t=30` with `RateLimit-Policy: "default";q=100;w=60`; the draft-07
 * dictionary `RateLimit: limit=100, remaining=50, reset=5`; the older `RateLimit-Limit` / `RateLimit-Remaining` /
 * `RateLimit-Reset` triple, with `RateLimit-Policy: 100;w=60`), and the vendor `X-RateLimit-Limit` /
 * `X-RateLimit-Remaining` / `X-RateLimit-Reset` (or Twitter's `X-Rate-Limit-*`, read when no `X-RateLimit-*` field
 * is there: the three describe one quota, so the spellings are never mixed),
 * and `X-RateLimit-Retry-After` (Symfony-based services; read as ky reads it, with `Retry-After`'s grammar).
 * Nothing here throws or fails: a value we cannot read is `None`.
 *
 * Times are relative to `nowMillis`, which the caller takes from the Effect `Clock` (`currentRetryAfter` does it for
 * you), so tests with `TestClock` are deterministic.
 *
 * | Input                                                     | Answer                                                    |
 * | --------------------------------------------------------- | --------------------------------------------------------- |
 * | `Retry-After: 120`                                        | 120 s                                                     |
 * | `Retry-After: 0`                                          | 0 s                                                       |
 * | `Retry-After: <HTTP-date in the future>`                  | date − now; IMF-fixdate, RFC 850 and asctime are all read |
 * | `Retry-After: Wed, 25 Nov 2026 13:00:00 +0100`, `… UTC`   | read as RFC 5322 dates (zones GMT, UT, UTC, Z, ±hhmm; no day name) |
 * | `Retry-After: Wed,25 Nov 2026 13:00 GMT`, `25 Nov 26 …`    | RFC 5322's other forms too: no space after the comma, no seconds, a two-digit year (read as RFC 850's) |
 * | `Retry-After: <HTTP-date now or in the past>`             | 0 s: the moment the server named has come                 |
 * | `Retry-After: " 7\t"` (SP / HTAB around the digits)      | 7 s                                                       |
 * | `Retry-After: 1.0`, `1.5`, `+1`, `-1`, `0x10`, `1e3`      | `None`: RFC 9110 delay-seconds is digits only             |
 * | `Retry-After: soon`, empty                                | `None` (garbage)                                          |
 * | `Retry-After: Wed, 31 Feb 2026 12:00:00 GMT`, ISO 8601, `EST` | `None` (impossible date, or not an HTTP-date)         |
 * | `Retry-After: … 07:39:33 +2600` (a zone a day or more off UTC) | `None` (no such zone: no instant to wait for)          |
 * | `Retry-After: … 12:00:60 GMT` (second 60: RFC 9110's leap second) | read as the next minute, `12:01:00`, as ky reads it |
 * | `Retry-After: Sun, 07 Nov 1994 08:48:37 GMT` (a Monday)   | the date counts: the day name is not checked against it   |
 * | `Retry-After: 120, 120` (a repeated header, joined)       | 120 s: copies that agree are one value                    |
 * | `Retry-After: 120, 60` (copies that disagree)             | `None`, also when both exceed 24 h (`100000, 200000`)     |
 * | `X-RateLimit-Retry-After: 120`, `… <HTTP-date>`           | as `Retry-After`: 120 s (delta seconds even from 1e9, as ky) |
 * | `Retry-After-Ms: 1500.5` (OpenAI, Azure OpenAI, Anthropic) | 1,501 ms (format `delta-millis`), before any `Retry-After`; garbage is skipped |
 * | `x-ms-retry-after-ms: 1500` (Azure services)              | as `Retry-After-Ms`, read when no readable `Retry-After-Ms` came (Azure's SDKs' order) |
 * | `Retry-After: Friday, 25-Nov-77 12:00:00 GMT` (RFC 850)   | the 2-digit year is the latest with those digits at most 50 years ahead: 1977 in 2026, 2077 in 2030 |
 * | any delay above 24 h (`maxDelay`): `Retry-After: 999999`  | 24 h, and `clamped: true` in the structured value         |
 * | reset `n < 1e9` (`RateLimit-Reset`, `X-RateLimit-Reset`)  | `n` delta seconds (format `delta-seconds`); these vendor headers may be fractional (`1.5`), rounded up to the ms |
 * | reset `1e9 ≤ n < 1e12`                                    | epoch seconds: `n·1000 − now`, 0 s if past                |
 * | reset `n ≥ 1e12`                                          | epoch milliseconds: `n − now`, 0 s if past                |
 * | reset as an HTTP-date (Vimeo's `X-RateLimit-Reset`)        | as `Retry-After`'s date: until then, 0 s if past (format `http-date`) |
 * | reset, `t=`, `w=` negative or garbage                     | `None` for that value; the rest of the header counts      |
 * | remaining, limit, `r=`, `q=` negative, fractional, garbage | `None` for that value                                    |
 * | remaining, limit above 2^53 − 1                           | `Number.MAX_SAFE_INTEGER`                                 |
 * | `RateLimit`, `RateLimit-Policy` malformed (RFC 9651)      | field ignored; `RateLimit-Limit/-Remaining/-Reset` used   |
 *
 * Why the magnitude rule works: no server means a delta of 1e9 s (31 years), every epoch-seconds timestamp since
 * 2001-09-09 is at least 1e9, and every epoch-milliseconds timestamp since then is at least 1e12. A reset in the
 * draft RateLimit field (`t=`) is always delta seconds, as the draft specifies; the draft-07 `reset=` and the
 * `RateLimit-Reset` / `X-RateLimit-Reset` headers follow the magnitude rule. Structured fields are read leniently
 * in one respect: integers longer than 15 digits are accepted (and then clamped) rather than voiding the field.
 *
 * A `None` is never an error: the caller then waits its own computed backoff (`Policy` does), as if no hint was sent.
 *
 * `retryAfter` (the wait the server asked for) takes the first of:
 * 1. a readable `Retry-After-Ms` (milliseconds, as the OpenAI and Anthropic SDKs read it first), else a readable
 *    `x-ms-retry-after-ms` (Azure's), else a readable `Retry-After` (a garbage one is skipped, not fatal), all with
 *    source `retry-after`;
 * 2. the IETF reset of a quota whose remaining is 0 (with several exhausted quotas, the longest reset);
 * 3. a readable `X-RateLimit-Retry-After` (source `x-ratelimit`; ky's order);
 * 4. `X-RateLimit-Reset` when `X-RateLimit-Remaining` is 0;
 *
 * and is `None` otherwise, including when remaining is 0 but no reset was sent, and when a reset comes without any
 * remaining count. On a response that already says "limited", a `RateLimit-Reset` or `X-RateLimit-Reset` sent
 * without a remaining count is the wait too, as in ky: the server said "not now", and when. `HttpFailure.retryAfter`
 * takes it on a 429 or 503; `Policy` on every status of its `retry.retryAfterStatuses` (a failure cannot know a
 * policy's settings, so on another listed status only the policy sees that wait).
 *
 * Why the date leniency: RFC 9110 §5.6.7 asks recipients to be robust, as dates forwarded from other sources follow
 * the Internet Message Format (RFC 5322); urllib3 reads them too. Why copies that agree: Retry-After is a singleton
 * field, but a server or proxy may send it twice, and transports join the copies with ", ".
 *
 * @since 0.1.0
 */
import type * as Headers from "@effect/platform/Headers"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as internal from "./internal/retryHeaders.js"

/**
 * The longest delay any parser here returns (24 hours); longer requests are clamped to it and flagged `clamped`.
 *
 * @example
 * ```ts
 * import { RetryHeaders } from "@sturdy/http"
 * import { Duration } from "effect"
 *
 * Duration.toHours(RetryHeaders.maxDelay) // 24
 * ```
 * @since 0.1.0
 * @category constants
 */
export const maxDelay: Duration.Duration = internal.maxDelay

/**
 * A delay read from a header, already clamped to `[0, maxDelay]`.
 *
 * `format` says how the value was read: `delta-seconds`, `delta-millis` (`Retry-After-Ms`), `http-date`,
 * `epoch-seconds` or `epoch-millis` (see the magnitude rule in the module documentation).
 *
 * @example
 * ```ts
 * import { RetryHeaders } from "@sturdy/http"
 * import { Duration, Option } from "effect"
 *
 * const delay: RetryHeaders.Delay = { duration: Duration.seconds(5), clamped: false, format: "delta-seconds" }
 * Option.some(delay)
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Delay {
  readonly duration: Duration.Duration
  /** `true` when the server asked for more than `maxDelay` and `duration` was cut down to it. */
  readonly clamped: boolean
  readonly format: "delta-seconds" | "delta-millis" | "http-date" | "epoch-seconds" | "epoch-millis"
}

/**
 * The wait a server asked for, and which header asked for it.
 *
 * @example
 * ```ts
 * import { RetryHeaders } from "@sturdy/http"
 * import { Headers } from "@effect/platform"
 * import { Option } from "effect"
 *
 * const wait = RetryHeaders.parse(Headers.fromInput({ "retry-after": "3" }), Date.now()).wait
 * Option.map(wait, (w) => w.source) // Option.some("retry-after")
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Wait extends Delay {
  readonly source: "retry-after" | "ratelimit" | "x-ratelimit"
}

/**
 * One quota the server reports: how many requests it allows, how many are left, and when it resets.
 *
 * @example
 * ```ts
 * import { RetryHeaders } from "@sturdy/http"
 * import { Headers } from "@effect/platform"
 *
 * const [quota] = RetryHeaders.parse(Headers.fromInput({ ratelimit: "\"default\";r=0;t=30" }), Date.now()).rateLimits
 * quota?.remaining // Option.some(0)
 * ```
 * @since 0.1.0
 * @category models
 */
export interface RateLimit {
  /** The policy name in the newer `RateLimit` form; `None` for the triple, the draft-07 dictionary and `X-RateLimit-*`. */
  readonly policy: Option.Option<string>
  /** From `RateLimit-Limit`, `X-RateLimit-Limit`, or the `q` of the `RateLimit-Policy` of the same name. */
  readonly limit: Option.Option<number>
  readonly remaining: Option.Option<number>
  readonly reset: Option.Option<Delay>
}

/**
 * One entry of `RateLimit-Policy`: a quota over a time window.
 *
 * @example
 * ```ts
 * import { RetryHeaders } from "@sturdy/http"
 * import { Headers } from "@effect/platform"
 *
 * const parsed = RetryHeaders.parse(Headers.fromInput({ "ratelimit-policy": "\"default\";q=100;w=60" }), Date.now())
 * parsed.policies[0]?.quota // 100
 * ```
 * @since 0.1.0
 * @category models
 */
export interface RateLimitPolicy {
  /** `None` in the older form `RateLimit-Policy: 100;w=60`, where the item is the quota itself. */
  readonly name: Option.Option<string>
  readonly quota: number
  readonly window: Option.Option<Duration.Duration>
  /** The `qu` parameter (`"requests"`, `"content-bytes"`, ...). */
  readonly quotaUnit: Option.Option<string>
}

/**
 * Everything the retry and rate-limit headers of one response say.
 *
 * `limit`, `remaining` and `reset` summarise the most constrained IETF quota (the lowest remaining), else
 * `X-RateLimit-*`; the full detail is in `rateLimits`, `policies` and `xRateLimit`.
 *
 * @example
 * ```ts
 * import { RetryHeaders } from "@sturdy/http"
 * import { Headers } from "@effect/platform"
 *
 * const parsed: RetryHeaders.RetryHeaders = RetryHeaders.parse(
 *   Headers.fromInput({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "30" }),
 *   Date.now()
 * )
 * parsed.remaining // Option.some(0)
 * ```
 * @since 0.1.0
 * @category models
 */
export interface RetryHeaders {
  /** What `retryAfter` returns, with its clamp flag and the header it came from. */
  readonly wait: Option.Option<Wait>
  /** `Retry-After-Ms`, else `x-ms-retry-after-ms`, else `Retry-After`, alone. */
  readonly retryAfter: Option.Option<Delay>
  readonly limit: Option.Option<number>
  readonly remaining: Option.Option<number>
  readonly reset: Option.Option<Delay>
  /** The IETF `RateLimit` items, or one item built from the `RateLimit-Limit/-Remaining/-Reset` triple. */
  readonly rateLimits: ReadonlyArray<RateLimit>
  readonly policies: ReadonlyArray<RateLimitPolicy>
  /** The vendor `X-RateLimit-Limit/-Remaining/-Reset` headers. */
  readonly xRateLimit: Option.Option<RateLimit>
}

/**
 * The wait the server asked for: `Retry-After`, else the IETF reset of an exhausted quota, else
 * `X-RateLimit-Reset` when `X-RateLimit-Remaining` is 0; clamped to `[0, maxDelay]`.
 *
 * Cheap on the happy path: a response with none of these headers costs a few property reads and no allocation.
 *
 * @example
 * ```ts
 * import { RetryHeaders } from "@sturdy/http"
 * import { Headers } from "@effect/platform"
 *
 * RetryHeaders.retryAfter(Headers.fromInput({ "retry-after": "2" }), Date.now()) // Option.some(2 seconds)
 * ```
 * @since 0.1.0
 * @category getters
 */
export const retryAfter: (headers: Headers.Headers, nowMillis: number) => Option.Option<Duration.Duration> =
  internal.retryAfter

/**
 * Reads every retry and rate-limit header into one structured value.
 *
 * @example
 * ```ts
 * import { RetryHeaders } from "@sturdy/http"
 * import { Headers } from "@effect/platform"
 *
 * const parsed = RetryHeaders.parse(
 *   Headers.fromInput({ "ratelimit": "\"default\";r=50;t=30", "ratelimit-policy": "\"default\";q=100;w=60" }),
 *   Date.now()
 * )
 * parsed.limit // Option.some(100)
 * ```
 * @since 0.1.0
 * @category parsing
 */
export const parse: (headers: Headers.Headers, nowMillis: number) => RetryHeaders = internal.parse

/**
 * Parses one `Retry-After` value: delay-seconds (digits only, RFC 9110; optional SP/HTAB around) or an HTTP-date
 * (IMF-fixdate, the obsolete RFC 850 and asctime forms, and RFC 5322 dates with a UT, UTC, Z or ±hhmm zone) relative
 * to `nowMillis`; copies of the header joined with commas count when they agree; anything else is `None`.
 *
 * @example
 * ```ts
 * import { RetryHeaders } from "@sturdy/http"
 *
 * RetryHeaders.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.UTC(2015, 9, 21, 7, 27, 0)) // 60 seconds
 * ```
 * @since 0.1.0
 * @category parsing
 */
export const parseRetryAfter: (value: string, nowMillis: number) => Option.Option<Duration.Duration> =
  internal.parseRetryAfter

/**
 * `retryAfter` with `nowMillis` read from the Effect `Clock` (so `TestClock` drives it in tests).
 *
 * @example
 * ```ts
 * import { RetryHeaders } from "@sturdy/http"
 * import { Headers } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const program = RetryHeaders.currentRetryAfter(Headers.fromInput({ "retry-after": "5" }))
 * Effect.runSync(program) // Option.some(5 seconds)
 * ```
 * @since 0.1.0
 * @category getters
 */
export const currentRetryAfter: (headers: Headers.Headers) => Effect.Effect<Option.Option<Duration.Duration>> =
  internal.currentRetryAfter
