// Properties of `RetryHeaders` against a reference model written from its module docs (src/RetryHeaders.ts).
//
// Model. A Retry-After value is delay-seconds (1*DIGIT, SP/HTAB around) or an HTTP-date naming an instant; the wait is
// `clamp(instant − now)` (or `clamp(seconds·1000)`), where clamp rounds up to the ms, takes 0 for the past and cuts at
// 24 h (`clamped: true`). The dates generated: IMF-fixdate, RFC 850 (two-digit year: the latest year with those digits
// at most 50 years ahead of `now`'s year), asctime (day padded with a space, or not), and RFC 5322's forms (no day
// name, no space after the comma, no seconds, a two-digit year, zones GMT/UT/UTC/Z/±hhmm with hh ≤ 23, mm ≤ 59), in
// any letter case, with SP/HTAB around; a day name that is not the date's own (it is not checked); second 60 (the
// next minute). Near-misses, refused: day 0 or one the month has not, hour ≥ 24, minute ≥ 60, second ≥ 61, a month
// name one letter off, a zone a day or more off UTC, a 3- or 5-digit year, and delay-seconds with a sign, a fraction,
// an exponent, a hex prefix, an inner space. Copies joined with ", " are one value when their waits agree, none when
// they do not.
// Reset headers (`RateLimit-Reset`, `X-RateLimit-Reset`): below 1e9 delta seconds, from 1e9 epoch seconds, from 1e12
// epoch milliseconds, or an HTTP-date; the four spellings of one instant give one wait. `t=` of the RateLimit field is
// always delta seconds.
// Header sets: any subset of `Retry-After-Ms`, `x-ms-retry-after-ms`, `Retry-After`, `RateLimit` (a list of named
// quotas, the draft-07 dictionary, or malformed), `RateLimit-Policy` (named `q=`, or the older form whose item is the quota; `w=`, `qu=`), the `RateLimit-Limit/-Remaining/-Reset` triple,
// `X-RateLimit-Retry-After`, `X-RateLimit-*` / `X-Rate-Limit-*` (each read when the `X-RateLimit-` one is absent),
// each valid, a near-miss or garbage, names in any letter case. The model's wait is the doc's ordered list (`retryAfter`
// section), its source, the summary (`limit`/`remaining`/`reset` of the lowest remaining IETF quota, else
// `X-RateLimit-*`), the quotas and the policies; `retryAfter` and `parse(...).wait` must both answer it.
// Totality: any string in any header: nothing throws, every delay lies in [0, 24 h], and the two getters agree.
//
// Rules taken from the code (the docs are silent): copies "agree" when the waits they ask for are equal in ms, before
// the 24 h cap (so two different past dates agree on 0, and `100000, 200000` disagree); the summary picks the first of the quotas with the lowest remaining, or the first quota
// when none has a remaining count; the structured-field whitespace accepted is RFC 8941's (OWS around the commas of a
// list, SP after a parameter's `;`, SP around the field).
// Left out: the hot-path allocation claims, `currentRetryAfter` beyond one clock check (it is `retryAfter` at the
// Clock's time), byte sequences and inner lists in structured fields (no RateLimit parameter uses them).
//
// Found and fixed (regressions in RetryHeaders.test.ts): copies were compared after the 24 h cap, so `86400, 86401`
// agreed on 24 h (and two future dates agreed or not depending on the clock); the limited reading of HttpFailure (see
// prop-HttpFailure.test.ts) took an unreadable `RateLimit-Remaining` for requests left.
//
// Mutation checks (each made the named property fail with a shrunk counterexample; the source was then restored;
// internal/retryHeaders.ts unless named):
// - two-digit year: a year exactly 50 ahead refused (`>=`) → "a two-digit year is the latest ..."
// - zone offset sign flipped → "names the instant ...", "a later date never gives a shorter wait"
// - asctime day no longer space-padded → "names the instant ..."
// - second 61 accepted; a day the month has not accepted (rollover check removed) → "an IMF-fixdate or asctime ..."
// - second 60 refused → "second 60 is the next minute"
// - delay-seconds accepting a fraction → "delay-seconds with a sign, ..."
// - HTAB no longer trimmed around a value → "any run of digits ..."
// - disagreeing copies accepted; copies compared after the cap (the fix reverted) → "copies joined with ..."
// - 1e12 read as epoch seconds (`>` for `>=`) → "the magnitude rule"
// - seconds × 1000 in floating point instead of `secondsToMillis` → "... of one instant give one wait",
//   "parse reads every header ..."
// - `X-Rate-Limit-*` read before `X-RateLimit-*`; the first exhausted reset instead of the longest;
//   `X-RateLimit-Retry-After` before the IETF reset; no HTAB around a list's commas → "parse reads every header ..."
// - a `qu` token ignored; the older `RateLimit-Policy: 100;w=60` form dropped → "parse reads every header ..."
// - summary ties going to the last quota → "retryAfter answers the wait of parse; the summary ..."
// - the `retryAfter` fast path skipping `Retry-After-Ms` → "retryAfter answers ...", "totality"
// - the 24 h clamp removed → "totality"
// - `currentRetryAfter` reading at time 0 → "currentRetryAfter is retryAfter at the Clock's time"
import * as Headers from "@effect/platform/Headers"
import { describe, expect, it } from "@effect/vitest"
import { RetryHeaders } from "@sturdy/http"
import { Duration, Effect, FastCheck as fc, Option, TestClock } from "effect"
import {
  clamp,
  type DateForm,
  dateStyle,
  DAY,
  type Delay,
  headerSetArb,
  imfStyle,
  instantArb,
  modelWait,
  monthNames,
  nearArb,
  ows,
  p2,
  p4,
  render,
  renderDate
} from "./utils/retryHeadersModel.js"

const ms = (d: Duration.Duration) => Duration.toMillis(d)
const waitMs = (value: string, now: number) =>
  Option.getOrUndefined(Option.map(RetryHeaders.parseRetryAfter(value, now), ms))

describe("Retry-After as an HTTP-date", () => {
  it.prop(
    "names the instant it was formatted from, in every form: the wait is instant − now, 0 once past, 24 h at most",
    [instantArb, dateStyle(), nearArb, fc.integer({ min: 0, max: 999 })],
    ([instant, style, distance, subMillis]) => {
      const { names, text } = renderDate(instant, style)
      const now = names - distance + subMillis
      expect(waitMs(text, now), text).toBe(clamp(names - now).ms)
      const parsed = RetryHeaders.parse(Headers.fromInput({ "retry-after": text }), now).retryAfter
      expect(Option.map(parsed, (d) => d.format), text).toStrictEqual(Option.some("http-date"))
    },
    { fastCheck: { seed: 1101, numRuns: 1500 } }
  )

  it.prop(
    "a two-digit year is the latest year with those digits at most 50 years ahead of now's",
    [
      fc.integer({ min: 1971, max: 9800 }),
      fc.integer({ min: 0, max: 99 }),
      fc.constantFrom<DateForm>("rfc850", "rfc5322"),
      dateStyle()
    ],
    ([nowYear, yy, form, style]) => {
      const now = Date.UTC(nowYear, 5, 15)
      let year = nowYear - (nowYear % 100) + yy
      while (year > nowYear + 50) year -= 100
      while (year + 100 <= nowYear + 50) year += 100
      const instant = Date.UTC(2000, 2, 1, 12) // a date in every year: 1 March, noon
      const d = new Date(instant)
      d.setUTCFullYear(year)
      const { text } = renderDate(d.getTime(), {
        ...style,
        form,
        twoDigitYear: true,
        zoneName: "GMT",
        offsetMinutes: 0
      })
      expect(waitMs(text, now), text).toBe(clamp(d.getTime() - now).ms)
      // the same date with its four-digit year gives the same answer
      const full = renderDate(d.getTime(), { ...style, form: "imf" }).text
      expect(waitMs(text, now), `${text} vs ${full}`).toBe(waitMs(full, now))
    },
    { fastCheck: { seed: 1102, numRuns: 800 } }
  )

  it.prop(
    "a later date never gives a shorter wait (any two dates, any forms)",
    [instantArb, nearArb, nearArb, dateStyle(), dateStyle()],
    ([base, a, b, styleA, styleB]) => {
      const now = base
      const da = renderDate(base + Math.round(a / 1000) * 1000, styleA)
      const db = renderDate(base + Math.round(b / 1000) * 1000, styleB)
      const wa = waitMs(da.text, now)!
      const wb = waitMs(db.text, now)!
      expect(wa).toBeGreaterThanOrEqual(0)
      if (da.names <= db.names) expect(wa, `${da.text} / ${db.text}`).toBeLessThanOrEqual(wb)
      else expect(wb, `${da.text} / ${db.text}`).toBeLessThanOrEqual(wa)
    },
    { fastCheck: { seed: 1103, numRuns: 800 } }
  )

  it.prop(
    "second 60 is the next minute, in every form with seconds",
    [instantArb, fc.constantFrom<DateForm>("imf", "rfc850", "asctime", "rfc5322"), dateStyle(), nearArb],
    ([instant, form, style, distance]) => {
      const minute = instant - (instant % 60_000) // hh:mm:00
      const s = { ...style, form, dropSeconds: false, zoneName: "GMT", offsetMinutes: 0, wrongWeekday: 0 }
      const { text } = renderDate(minute - 60_000, s)
      const leap = text.replace(/:00(?=[ \t]*(?:gmt|\d{4})?[ \t]*$)/i, ":60")
      fc.pre(leap !== text)
      const now = minute + distance
      expect(waitMs(leap, now), leap).toBe(clamp(minute - now).ms)
    },
    { fastCheck: { seed: 1104, numRuns: 400 } }
  )
})

// -----------------------------------------------------------------------------
// near-misses
// -----------------------------------------------------------------------------

const daysIn = (year: number, month: number) => {
  const d = new Date(0)
  d.setUTCFullYear(year, month + 1, 0)
  return d.getUTCDate()
}

const notAMonth = fc.tuple(fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 2 }), fc.char()).map(
  ([m, i, c]) => {
    const name = monthNames[m]!
    return name.slice(0, i) + c + name.slice(i + 1)
  }
).filter((name) => !monthNames.some((m) => m.toLowerCase() === name.toLowerCase()))

describe("near-misses are refused", () => {
  it.prop(
    "an IMF-fixdate or asctime with one field out of range, a month one letter off or a zone a day off",
    [
      fc.integer({ min: 1971, max: 9998 }),
      fc.integer({ min: 0, max: 11 }),
      fc.constantFrom("day", "hour", "minute", "second", "month", "zone", "year"),
      fc.integer({ min: 0, max: 99 }),
      notAMonth,
      fc.constantFrom<DateForm>("imf", "asctime", "rfc5322"),
      instantArb
    ],
    ([year, month, field, n, badMonth, form, now]) => {
      let day = 1, hour = 12, minute = 30, second = 30, mon = monthNames[month]!, zone = "GMT", y = p4(year)
      switch (field) {
        case "day":
          day = n === 0 ? 0 : daysIn(year, month) + 1 + (n % (99 - daysIn(year, month)))
          break
        case "hour":
          hour = 24 + (n % 76)
          break
        case "minute":
          minute = 60 + (n % 40)
          break
        case "second":
          second = 61 + (n % 39)
          break
        case "month":
          mon = badMonth
          break
        case "zone":
          zone = n % 2 === 0 ? `+${24 + (n % 76)}00` : `-00${60 + (n % 40)}`
          break
        case "year":
          y = n % 2 === 0 ? String(100 + n) : `1${p4(year)}`
          break
      }
      if (form === "asctime" && field === "zone") return
      const text = form === "asctime"
        ? `Mon ${mon} ${day} ${p2(hour)}:${p2(minute)}:${p2(second)} ${y}`
        : `${form === "imf" ? "Mon, " : ""}${p2(day)} ${mon} ${y} ${p2(hour)}:${p2(minute)}:${p2(second)} ${zone}`
      expect(waitMs(text, now), text).toBeUndefined()
    },
    { fastCheck: { seed: 1201, numRuns: 1000 } }
  )

  it.prop(
    "delay-seconds with a sign, a fraction, an exponent, a hex prefix or an inner space",
    [
      fc.stringMatching(/^[0-9]{1,6}$/),
      fc.constantFrom("+", "-", ".5", ".0", "e3", "E1", "0x", " 1", "\t1", "_1", ",", ";", "s"),
      fc.boolean(),
      instantArb
    ],
    ([digits, extra, front, now]) => {
      const text = extra === "0x" ? `0x${digits}` : front ? `${extra}${digits}` : `${digits}${extra}`
      fc.pre(!/^[ \t]*\d+[ \t]*$/.test(text))
      expect(waitMs(text, now), text).toBeUndefined()
    },
    { fastCheck: { seed: 1202, numRuns: 600 } }
  )
})

// -----------------------------------------------------------------------------
// delay-seconds and copies
// -----------------------------------------------------------------------------

describe("Retry-After as delay-seconds", () => {
  it.prop(
    "any run of digits (leading zeros, past 2^53, hundreds long) with SP/HTAB around is that many seconds, clamped",
    [fc.stringMatching(/^0{0,5}[0-9]{1,25}$/), ows, ows, instantArb],
    ([digits, before, after, now]) => {
      const headers = Headers.fromInput({ "retry-after": `${before}${digits}${after}` })
      const parsed = Option.getOrThrow(RetryHeaders.parse(headers, now).retryAfter)
      const model = clamp(Number(digits) * 1000)
      expect({ ms: ms(parsed.duration), clamped: parsed.clamped, format: parsed.format }).toStrictEqual({
        ...model,
        format: "delta-seconds"
      })
    },
    { fastCheck: { seed: 1301, numRuns: 800 } }
  )

  const anyValue = fc.oneof(
    fc.integer({ min: 0, max: 200_000 }).map((s) => ({ kind: "s" as const, s })),
    fc.tuple(nearArb, dateStyle()).map(([d, style]) => ({ kind: "date" as const, d, style }))
  )

  it.prop(
    "copies joined with \", \" are one value when their waits agree, and none when they differ",
    [instantArb, fc.array(anyValue, { minLength: 2, maxLength: 4 }), fc.boolean()],
    ([now, values, same]) => {
      const copies = (same ? values.map(() => values[0]!) : values).map((v) =>
        v.kind === "s" ? { text: String(v.s), asked: v.s * 1000, wait: clamp(v.s * 1000).ms } : (() => {
          const r = renderDate(now + Math.round(v.d / 1000) * 1000, v.style)
          return { text: r.text.trim(), asked: Math.max(0, r.names - now), wait: clamp(r.names - now).ms }
        })()
      )
      const joined = copies.map((c) => c.text).join(", ")
      // copies agree when they ask for the same wait (0 for any past date), not when the 24 h cap makes them equal
      const agree = copies.every((c) => c.asked === copies[0]!.asked)
      expect(waitMs(joined, now), joined).toBe(agree ? copies[0]!.wait : undefined)
      // as a transport joins a repeated header
      const repeated = Headers.fromInput({ "retry-after": copies.map((c) => c.text) })
      expect(Option.getOrUndefined(Option.map(RetryHeaders.retryAfter(repeated, now), ms))).toBe(
        agree ? copies[0]!.wait : undefined
      )
    },
    { fastCheck: { seed: 1302, numRuns: 800 } }
  )
})

// -----------------------------------------------------------------------------
// reset representations
// -----------------------------------------------------------------------------

describe("a reset's four spellings", () => {
  it.prop(
    "delta seconds, epoch seconds, epoch milliseconds and an HTTP-date of one instant give one wait",
    [
      fc.integer({ min: Date.UTC(2001, 8, 10) / 1000, max: Date.UTC(2200, 0, 1) / 1000 }),
      fc.integer({ min: 0, max: 2 * 86_400 }),
      fc.integer({ min: 0, max: 999 }),
      fc.constantFrom("x-ratelimit-reset", "x-rate-limit-reset", "ratelimit-reset"),
      ows
    ],
    ([nowSeconds, seconds, frac, name, space]) => {
      const now = nowSeconds * 1000 + frac
      const at = (nowSeconds + seconds) * 1000 // whole seconds: an HTTP-date can name it
      const remaining = name === "ratelimit-reset" ? "ratelimit-remaining" : name.replace("reset", "remaining")
      const read = (value: string) => {
        const parsed = RetryHeaders.parse(Headers.fromInput({ [name]: `${space}${value}`, [remaining]: "0" }), now)
        return Option.getOrUndefined(Option.map(parsed.reset, (d) => ({ ms: ms(d.duration), format: d.format })))
      }
      const wait = clamp(at - now).ms
      const date = renderDate(at, { ...imfStyle }).text
      expect([
        // a negative delta is no reset (the doc: "reset negative ... None")
        at >= now ? read(((at - now) / 1000).toFixed(3)) : read(((at - now) / 1000).toFixed(3)) ?? "none",
        read(String(at / 1000)),
        read(String(at)),
        read(date)
      ]).toStrictEqual([
        at >= now ? { ms: wait, format: "delta-seconds" } : "none",
        { ms: wait, format: "epoch-seconds" },
        { ms: wait, format: "epoch-millis" },
        { ms: wait, format: "http-date" }
      ])
    },
    { fastCheck: { seed: 1401, numRuns: 600 } }
  )

  it.prop(
    "the magnitude rule: below 1e9 delta seconds, from 1e9 epoch seconds, from 1e12 epoch milliseconds",
    [
      fc.oneof(
        fc.integer({ min: 0, max: 1e9 - 1 }),
        fc.integer({ min: 1e9, max: 1e12 - 1 }),
        fc.double({ min: 1e12, max: 1e16, noNaN: true }).map(Math.floor),
        fc.constantFrom(1e9 - 1, 1e9, 1e12 - 1, 1e12)
      ),
      fc.integer({ min: Date.UTC(2001, 8, 10), max: Date.UTC(2200, 0, 1) })
    ],
    ([n, now]) => {
      const parsed = RetryHeaders.parse(Headers.fromInput({ "x-ratelimit-reset": String(n) }), now).xRateLimit
      const reset = Option.getOrThrow(Option.getOrThrow(parsed).reset)
      const model = n >= 1e12
        ? { ...clamp(n - now), format: "epoch-millis" }
        : n >= 1e9
        ? { ...clamp(n * 1000 - now), format: "epoch-seconds" }
        : { ...clamp(n * 1000), format: "delta-seconds" }
      expect({ ms: ms(reset.duration), clamped: reset.clamped, format: reset.format }, String(n)).toStrictEqual(model)
    },
    { fastCheck: { seed: 1402, numRuns: 600 } }
  )
})

const delayView = (d: Option.Option<RetryHeaders.Delay>) =>
  Option.getOrUndefined(Option.map(d, (x): Delay => ({ ms: ms(x.duration), clamped: x.clamped, format: x.format })))
const num = (o: Option.Option<number>) => Option.getOrUndefined(o)
const quotaView = (q: RetryHeaders.RateLimit) => ({
  policy: Option.getOrUndefined(q.policy),
  limit: num(q.limit),
  remaining: num(q.remaining),
  reset: delayView(q.reset)
})

const nowArb = fc.integer({ min: Date.UTC(2001, 8, 10), max: Date.UTC(2100, 0, 1) })

describe("header sets: the precedence model", () => {
  it.prop(
    "parse reads every header as the model does, and its wait follows the documented order",
    [headerSetArb, nowArb],
    ([set, now]) => {
      const { headers, model } = render(set, now)
      const parsed = RetryHeaders.parse(Headers.fromInput(headers), now)
      expect({
        retryAfter: delayView(parsed.retryAfter),
        rateLimits: parsed.rateLimits.map(quotaView),
        policies: parsed.policies.map((p) => ({
          name: Option.getOrUndefined(p.name),
          quota: p.quota,
          window: Option.getOrUndefined(Option.map(p.window, ms)),
          unit: Option.getOrUndefined(p.quotaUnit)
        })),
        vendor: Option.getOrUndefined(Option.map(parsed.xRateLimit, ({ limit, remaining, reset }) => ({
          limit: num(limit),
          remaining: num(remaining),
          reset: delayView(reset)
        }))),
        wait: Option.getOrUndefined(
          Option.map(parsed.wait, (w) => ({ ...delayView(Option.some(w))!, source: w.source }))
        )
      }, JSON.stringify(headers)).toStrictEqual({
        retryAfter: model.retryAfter,
        rateLimits: model.rateLimits,
        policies: model.policies,
        vendor: model.vendor,
        wait: modelWait(model, false)
      })
    },
    { fastCheck: { seed: 1501, numRuns: 2000 } }
  )

  it.prop(
    "retryAfter answers the wait of parse; the summary is the lowest-remaining IETF quota, else X-RateLimit-*",
    [headerSetArb, nowArb],
    ([set, now]) => {
      const { headers, model } = render(set, now)
      const h = Headers.fromInput(headers)
      const parsed = RetryHeaders.parse(h, now)
      const wait = modelWait(model, false)
      expect(Option.getOrUndefined(Option.map(RetryHeaders.retryAfter(h, now), ms)), JSON.stringify(headers)).toBe(
        wait?.ms
      )
      let summary: (typeof model.rateLimits)[number] | typeof model.vendor = undefined
      for (const q of model.rateLimits) {
        if (
          summary === undefined ||
          (q.remaining !== undefined && (summary.remaining === undefined || q.remaining < summary.remaining))
        ) summary = q
      }
      summary ??= model.vendor
      expect({ limit: num(parsed.limit), remaining: num(parsed.remaining), reset: delayView(parsed.reset) })
        .toStrictEqual({
          limit: summary?.limit,
          remaining: summary?.remaining,
          reset: summary?.reset
        })
    },
    { fastCheck: { seed: 1502, numRuns: 2000 } }
  )

  it.effect("currentRetryAfter is retryAfter at the Clock's time", () =>
    Effect.gen(function*() {
      const samples = fc.sample(fc.tuple(headerSetArb, nowArb), { seed: 1503, numRuns: 200 })
      for (const [set, now] of samples) {
        const { headers } = render(set, now)
        yield* TestClock.setTime(now)
        const h = Headers.fromInput(headers)
        expect(Option.map(yield* RetryHeaders.currentRetryAfter(h), ms)).toStrictEqual(
          Option.map(RetryHeaders.retryAfter(h, now), ms)
        )
      }
    }))
})

// -----------------------------------------------------------------------------
// totality
// -----------------------------------------------------------------------------

const headerNames = [
  "retry-after",
  "retry-after-ms",
  "x-ms-retry-after-ms",
  "ratelimit",
  "ratelimit-policy",
  "ratelimit-limit",
  "ratelimit-remaining",
  "ratelimit-reset",
  "x-ratelimit-retry-after",
  "x-ratelimit-limit",
  "x-ratelimit-remaining",
  "x-ratelimit-reset",
  "x-rate-limit-limit",
  "x-rate-limit-remaining",
  "x-rate-limit-reset"
]

// strings made of the pieces these grammars are built from, and of anything else
const piece = fc.oneof(
  fc.constantFrom(
    "0",
    "1",
    "9",
    "60",
    "99",
    "1e3",
    ".",
    "-",
    "+",
    ",",
    ", ",
    ";",
    "=",
    "\"",
    "\\",
    ":",
    "?1",
    "(",
    ")",
    " ",
    "\t",
    "r=",
    "t=",
    "q=",
    "w=",
    "limit=",
    "remaining=",
    "reset=",
    "default",
    "Sun, ",
    "Sunday, ",
    "Nov",
    "-Nov-",
    "GMT",
    "UTC",
    "+0100",
    "-2600",
    " 1994",
    "08:49:37",
    "12:00:60",
    "\u00a0",
    "\u2028",
    "%",
    "*",
    "1000000000",
    "1e12"
  ),
  fc.string({ maxLength: 4 }),
  fc.string({ unit: "binary", maxLength: 3 })
)
const anyValueText = fc.array(piece, { maxLength: 12 }).map((ps) => ps.join(""))

describe("totality", () => {
  it.prop(
    "any strings in any of the headers: nothing throws, every delay lies in [0, 24 h], and the getters agree",
    [
      fc.dictionary(fc.constantFrom(...headerNames), anyValueText, { maxKeys: 6 }),
      fc.integer({ min: 0, max: 8.64e15 })
    ],
    ([input, now]) => {
      const h = Headers.fromInput(input)
      const parsed = RetryHeaders.parse(h, now)
      const delays = [
        parsed.wait,
        parsed.retryAfter,
        parsed.reset,
        ...parsed.rateLimits.map((q) => q.reset),
        Option.flatMap(parsed.xRateLimit, (q) => q.reset)
      ]
      for (const d of delays) {
        if (Option.isSome(d)) {
          const m = ms(d.value.duration)
          expect(Number.isInteger(m) && m >= 0 && m <= DAY, JSON.stringify(input)).toBe(true)
          expect(d.value.clamped ? m === DAY : true).toBe(true)
        }
      }
      for (const n of [parsed.limit, parsed.remaining]) {
        if (Option.isSome(n)) expect(Number.isSafeInteger(n.value) && n.value >= 0).toBe(true)
      }
      expect(Option.map(RetryHeaders.retryAfter(h, now), ms), JSON.stringify(input)).toStrictEqual(
        Option.map(parsed.wait, (w) => ms(w.duration))
      )
      if (input["retry-after"] !== undefined) {
        expect(Option.map(RetryHeaders.parseRetryAfter(input["retry-after"], now), ms)).toStrictEqual(
          input["retry-after-ms"] === undefined && input["x-ms-retry-after-ms"] === undefined
            ? Option.map(parsed.retryAfter, (d) => ms(d.duration))
            : Option.map(RetryHeaders.parseRetryAfter(input["retry-after"], now), ms)
        )
      }
    },
    { fastCheck: { seed: 1601, numRuns: 3000 } }
  )
})
