// The reference model of `RetryHeaders` shared by prop-RetryHeaders.test.ts and prop-HttpFailure.test.ts: HTTP-date
// rendering in every form the docs list, generators of header values (valid, near-miss, garbage) and of whole header
// sets, and the documented reading of them (see the header of prop-RetryHeaders.test.ts).
import type { RetryHeaders } from "@sturdy/http"
import { FastCheck as fc } from "effect"

export const DAY = 86_400_000
export const clamp = (millis: number) => {
  const wanted = millis <= 0 ? 0 : Math.ceil(millis)
  return wanted > DAY ? { ms: DAY, clamped: true } : { ms: wanted, clamped: false }
}

// -----------------------------------------------------------------------------
// HTTP-date rendering
// -----------------------------------------------------------------------------

export const shortDays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
export const longDays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
export const monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
export const p2 = (n: number) => String(n).padStart(2, "0")
export const p4 = (n: number) => String(n).padStart(4, "0")

export type DateForm = "imf" | "rfc850" | "asctime" | "rfc5322"

export interface DateStyle {
  readonly form: DateForm
  /** for rfc5322: zone offset in minutes (undefined: a name), the zone name, day name shown, space after comma */
  readonly offsetMinutes: number
  readonly zoneName: string
  readonly dayName: boolean
  readonly commaSpace: boolean
  readonly twoDigitYear: boolean
  readonly dropSeconds: boolean
  readonly padDay: boolean
  readonly wrongWeekday: number
  readonly caseMask: ReadonlyArray<boolean>
  readonly before: string
  readonly after: string
}

export const applyCase = (text: string, mask: ReadonlyArray<boolean>) =>
  mask.length === 0
    ? text
    : [...text].map((c, i) => (mask[i % mask.length] ? c.toUpperCase() : c.toLowerCase())).join("")

/** Renders `instant` (whole seconds, or minutes when seconds are dropped) in `style`; returns the instant it names. */
export const renderDate = (instant: number, style: DateStyle): { text: string; names: number } => {
  const offset = style.form === "rfc5322" ? style.offsetMinutes * 60_000 : 0
  const named = style.form === "rfc5322" && style.dropSeconds ? instant - (instant % 60_000 + 60_000) % 60_000 : instant
  const local = new Date(named + offset)
  const wd = (local.getUTCDay() + style.wrongWeekday) % 7
  const day = local.getUTCDate()
  const mon = monthNames[local.getUTCMonth()]!
  const year = local.getUTCFullYear()
  const time = `${p2(local.getUTCHours())}:${p2(local.getUTCMinutes())}`
  const sec = `:${p2(local.getUTCSeconds())}`
  let text: string
  switch (style.form) {
    case "imf":
      text = `${shortDays[wd]}, ${p2(day)} ${mon} ${p4(year)} ${time}${sec} GMT`
      break
    case "rfc850":
      text = `${longDays[wd]}, ${p2(day)}-${mon}-${p2(year % 100)} ${time}${sec} GMT`
      break
    case "asctime":
      text = `${shortDays[wd]} ${mon} ${style.padDay ? String(day).padStart(2, " ") : String(day)} ${time}${sec} ${
        p4(year)
      }`
      break
    case "rfc5322": {
      const head = style.dayName ? `${shortDays[wd]},${style.commaSpace ? " " : ""}` : ""
      const y = style.twoDigitYear ? p2(year % 100) : p4(year)
      const zone = style.zoneName !== ""
        ? style.zoneName
        : `${style.offsetMinutes < 0 ? "-" : "+"}${p2(Math.floor(Math.abs(style.offsetMinutes) / 60))}${
          p2(Math.abs(style.offsetMinutes) % 60)
        }`
      text = `${head}${style.padDay ? p2(day) : String(day)} ${mon} ${y} ${time}${style.dropSeconds ? "" : sec} ${zone}`
      break
    }
  }
  return { text: `${style.before}${applyCase(text, style.caseMask)}${style.after}`, names: named }
}

export const ows = fc.array(fc.constantFrom(" ", "\t"), { maxLength: 3 }).map((cs) => cs.join(""))

export const dateStyle = (form?: DateForm): fc.Arbitrary<DateStyle> =>
  fc.record({
    form: form === undefined ? fc.constantFrom<DateForm>("imf", "rfc850", "asctime", "rfc5322") : fc.constant(form),
    offsetMinutes: fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
    zoneName: fc.constantFrom("", "", "GMT", "UT", "UTC", "Z"),
    dayName: fc.boolean(),
    commaSpace: fc.boolean(),
    twoDigitYear: fc.boolean(),
    dropSeconds: fc.boolean(),
    padDay: fc.boolean(),
    wrongWeekday: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 6 })),
    caseMask: fc.oneof(fc.constant([]), fc.array(fc.boolean(), { minLength: 1, maxLength: 7 })),
    before: ows,
    after: ows
  }).map((s) => (s.zoneName === "" ? s : { ...s, offsetMinutes: 0 }))

// instants from 1971 to 9998 in whole seconds (the 4-digit years every form can write)
export const instantArb = fc.integer({ min: Date.UTC(1971, 0, 1) / 1000, max: Date.UTC(9998, 11, 31) / 1000 }).map((
  s
) => s * 1000)
// RFC 850 and two-digit years name a year within 50 of now's: keep the date near now (a day at most)
export const nearArb = fc.integer({ min: -DAY, max: DAY })

export const imfStyle: DateStyle = {
  form: "imf",
  offsetMinutes: 0,
  zoneName: "GMT",
  dayName: true,
  commaSpace: true,
  twoDigitYear: false,
  dropSeconds: false,
  padDay: true,
  wrongWeekday: 0,
  caseMask: [],
  before: "",
  after: ""
}

// -----------------------------------------------------------------------------
// header sets: the precedence model
// -----------------------------------------------------------------------------

/** A header value and what the model reads from it (undefined: unreadable, or not sent). */
export interface Value<A> {
  readonly text: string
  readonly read: A | undefined
}
export interface Delay {
  readonly ms: number
  readonly clamped: boolean
  readonly format: RetryHeaders.Delay["format"]
}
export type Reset = (now: number) => Value<Delay>

export const delayOf = (millis: number, format: Delay["format"]): Delay => ({ ...clamp(millis), format })

export const garbage = fc.constantFrom("soon", "", "-1", "1e3", "0x10", "1.5.2", "abc", "+5", " ", "NaN", "Infinity")

export const countValue: fc.Arbitrary<Value<number>> = fc.oneof(
  fc.integer({ min: 0, max: 5 }).map((n) => ({ text: String(n), read: n })),
  fc.bigInt({ min: 0n, max: 10n ** 20n }).map((n) => ({
    text: `${n}`,
    read: Math.min(Number(n), Number.MAX_SAFE_INTEGER)
  })),
  fc.constantFrom("00", " 0 ", "007").map((t) => ({ text: t, read: Number(t) })),
  fc.constantFrom("-1", "1.5", "", "many", "+3", "1e2").map((t) => ({ text: t, read: undefined }))
)

export const resetValue: fc.Arbitrary<Reset> = fc.oneof(
  fc.integer({ min: 0, max: 200_000 }).map((s): Reset => () => ({
    text: String(s),
    read: delayOf(s * 1000, "delta-seconds")
  })),
  fc.integer({ min: -1000, max: 100_000 }).map((off): Reset => (now) => {
    const at = Math.floor(now / 1000) + off
    return { text: String(at), read: delayOf(at * 1000 - now, "epoch-seconds") }
  }),
  fc.integer({ min: -1_000_000, max: 100_000_000 }).map((off): Reset => (now) => ({
    text: String(now + off),
    read: delayOf(off, "epoch-millis")
  })),
  fc.integer({ min: -1000, max: 100_000 }).map((off): Reset => (now) => {
    const at = (Math.floor(now / 1000) + off) * 1000
    return { text: renderDate(at, imfStyle).text, read: delayOf(at - now, "http-date") }
  }),
  garbage.map((t): Reset => () => ({ text: t, read: undefined }))
)

// Retry-After: delay-seconds, a date, or garbage
export const retryAfterValue: fc.Arbitrary<Reset> = fc.oneof(
  fc.integer({ min: 0, max: 200_000 }).map((s): Reset => () => ({
    text: String(s),
    read: delayOf(s * 1000, "delta-seconds")
  })),
  fc.integer({ min: -1000, max: 100_000 }).map((off): Reset => (now) => {
    const at = (Math.floor(now / 1000) + off) * 1000
    return { text: renderDate(at, imfStyle).text, read: delayOf(at - now, "http-date") }
  }),
  garbage.map((t): Reset => () => ({ text: t, read: undefined }))
)

export const millisValue: fc.Arbitrary<Reset> = fc.oneof(
  fc.integer({ min: 0, max: 100_000_000 }).map((n): Reset => () => ({
    text: String(n),
    read: delayOf(n, "delta-millis")
  })),
  fc.tuple(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 999 })).map(([n, f]): Reset => () => ({
    text: `${n}.${String(f).padStart(3, "0")}`,
    read: delayOf(n + f / 1000, "delta-millis")
  })),
  garbage.map((t): Reset => () => ({ text: t, read: undefined }))
)

export interface Quota {
  readonly name: string
  readonly quoted: boolean
  readonly r: Value<number> | undefined
  readonly t: Value<number> | undefined
  readonly extra: string
}

export const sfNumber: fc.Arbitrary<Value<number>> = fc.oneof(
  fc.integer({ min: 0, max: 200_000 }).map((n) => ({ text: String(n), read: n })),
  fc.constantFrom("-1", "-30").map((t) => ({ text: t, read: undefined })),
  fc.constantFrom("1.5", "?1", "\"5\"", "abc", ":AQ==:").map((t) => ({ text: t, read: undefined }))
)

export const sfSeconds: fc.Arbitrary<Value<number>> = fc.tuple(
  fc.integer({ min: 0, max: 100_000 }),
  fc.integer({ min: 0, max: 999 })
)
  .map(([n, f]) => ({ text: `${n}.${String(f).padStart(3, "0")}`, read: n + f / 1000 }))

export const quotaArb: fc.Arbitrary<Quota> = fc.record({
  name: fc.constantFrom("default", "burst", "day", "a*b", "x.y"),
  quoted: fc.boolean(),
  r: fc.option(fc.oneof(sfNumber, fc.constant({ text: "0", read: 0 })), { nil: undefined }),
  // `t=` is seconds: a decimal counts (the doc refuses only a negative or garbage reset)
  t: fc.option(fc.oneof(sfNumber.map((v) => (v.text === "1.5" ? { text: v.text, read: 1.5 } : v)), sfSeconds), {
    nil: undefined
  }),
  extra: fc.constantFrom("", ";pk=:AQ==:", ";x", ";q=7", ";foo=\"bar\"")
})

interface Pol {
  readonly name: string | undefined
  readonly quota: number
  readonly window: number | undefined
  readonly unit: string | undefined
}

export interface PolicyItem {
  readonly unit: string | undefined
  readonly name: string
  readonly q: number | undefined
  readonly w: number | undefined
}

export const policyArb: fc.Arbitrary<PolicyItem> = fc.record({
  // "": the older form, whose item is the quota itself (`RateLimit-Policy: 100;w=60`)
  name: fc.constantFrom("default", "burst", "day", "a*b", "x.y", ""),
  unit: fc.constantFrom(undefined, "\"requests\"", "content-bytes", "?1", "5"),
  q: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
  w: fc.option(fc.integer({ min: 0, max: 86_400 }), { nil: undefined })
})

export const sep = fc.tuple(ows, ows).map(([a, b]) => `${a},${b}`)
export const paramSpace = fc.constantFrom("", " ", "  ")

export const renderQuota = (q: Quota, space: string) => {
  const params: Array<string> = []
  if (q.r !== undefined) params.push(`r=${q.r.text}`)
  if (q.t !== undefined) params.push(`t=${q.t.text}`)
  return `${q.quoted ? `"${q.name}"` : q.name}${params.map((p) => `;${space}${p}`).join("")}${q.extra}`
}

export interface HeaderSet {
  readonly retryAfterMs: Reset | undefined
  readonly xMsRetryAfterMs: Reset | undefined
  readonly retryAfter: Reset | undefined
  readonly rateLimit:
    | { readonly kind: "list"; readonly quotas: ReadonlyArray<Quota>; readonly seps: ReadonlyArray<string> }
    | { readonly kind: "dict"; readonly limit?: number; readonly remaining?: number; readonly reset?: Reset }
    | { readonly kind: "malformed"; readonly text: string }
    | undefined
  readonly policy: ReadonlyArray<PolicyItem> | undefined
  readonly triple: {
    readonly limit: Value<number> | undefined
    readonly remaining: Value<number> | undefined
    readonly reset: Reset | undefined
  }
  readonly xRetryAfter: Reset | undefined
  readonly vendor: {
    readonly limit: Value<number> | undefined
    readonly remaining: Value<number> | undefined
    readonly reset: Reset | undefined
    /** per header: X-RateLimit-, X-Rate-Limit- or both (the first then wins) */
    readonly spelling: ReadonlyArray<"x-ratelimit-" | "x-rate-limit-" | "both">
  }
  readonly caseMask: ReadonlyArray<boolean>
  readonly paramSpace: string
  readonly fieldSpace: string
}

export const opt = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: undefined, freq: 2 })

export const headerSetArb: fc.Arbitrary<HeaderSet> = fc.record({
  retryAfterMs: opt(millisValue),
  xMsRetryAfterMs: opt(millisValue),
  retryAfter: opt(retryAfterValue),
  rateLimit: opt(fc.oneof(
    fc.array(quotaArb, { minLength: 1, maxLength: 4 }).chain((quotas) =>
      fc.record({
        kind: fc.constant("list" as const),
        quotas: fc.constant(quotas),
        seps: fc.array(sep, { minLength: quotas.length, maxLength: quotas.length })
      })
    ),
    fc.record({
      kind: fc.constant("dict" as const),
      limit: fc.integer({ min: 0, max: 1000 }),
      remaining: fc.integer({ min: 0, max: 3 }),
      reset: resetValue
    }, { requiredKeys: ["kind"] }),
    fc.record({
      kind: fc.constant("malformed" as const),
      text: fc.constantFrom("\"default\";r=0;t=5,", ",\"default\";r=0", "\"default;r=0;t=5", "default;r=0;;t=5", "(")
    })
  )),
  policy: opt(fc.array(policyArb, { minLength: 1, maxLength: 3 })),
  triple: fc.record({ limit: opt(countValue), remaining: opt(countValue), reset: opt(resetValue) }),
  xRetryAfter: opt(retryAfterValue),
  vendor: fc.record({
    limit: opt(countValue),
    remaining: opt(countValue),
    reset: opt(resetValue),
    spelling: fc.array(fc.constantFrom("x-ratelimit-" as const, "x-rate-limit-" as const, "both" as const), {
      minLength: 3,
      maxLength: 3
    })
  }),
  caseMask: fc.oneof(fc.constant([]), fc.array(fc.boolean(), { minLength: 1, maxLength: 5 })),
  paramSpace,
  fieldSpace: ows.map((s) => s.replace(/\t/g, " "))
})

export interface Rendered {
  readonly headers: Array<readonly [string, string]>
  readonly model: {
    readonly retryAfter: Delay | undefined
    readonly rateLimits: ReadonlyArray<
      { policy: string | undefined; limit: number | undefined; remaining: number | undefined; reset: Delay | undefined }
    >
    readonly policies: ReadonlyArray<Pol>
    readonly vendor: { limit: number | undefined; remaining: number | undefined; reset: Delay | undefined } | undefined
    readonly vendorRetryAfter: Delay | undefined
  }
}

export const render = (set: HeaderSet, now: number): Rendered => {
  const headers: Array<readonly [string, string]> = []
  const add = (name: string, value: string) => headers.push([applyCase(name, set.caseMask), value])
  const ra = set.retryAfter?.(now)
  const ram = set.retryAfterMs?.(now)
  const xms = set.xMsRetryAfterMs?.(now)
  if (ram) add("Retry-After-Ms", ram.text)
  if (xms) add("x-ms-retry-after-ms", xms.text)
  if (ra) add("Retry-After", ra.text)
  const policies: Array<Pol> = []
  if (set.policy) {
    add(
      "RateLimit-Policy",
      set.policy.map((p) =>
        `${p.name === "" ? p.q ?? "\"\"" : `"${p.name}";q=${p.q ?? "-1"}`}${p.w === undefined ? "" : `;w=${p.w}`}${
          p.unit === undefined ? "" : `;qu=${p.unit}`
        }`
      ).join(", ")
    )
    for (const p of set.policy) {
      if (p.q !== undefined) {
        policies.push({
          name: p.name === "" ? undefined : p.name,
          quota: p.q,
          window: p.w === undefined ? undefined : p.w * 1000,
          // the `qu` parameter when it is a string or a token
          unit: p.unit === undefined || /^[?\d]/.test(p.unit) ? undefined : p.unit.replace(/"/g, "")
        })
      }
    }
  }
  let rateLimits: Rendered["model"]["rateLimits"] = []
  const rl = set.rateLimit
  if (rl?.kind === "list") {
    add(
      "RateLimit",
      set.fieldSpace + rl.quotas.map((q, i) => (i === 0 ? "" : rl.seps[i]!) + renderQuota(q, set.paramSpace)).join("") +
        set.fieldSpace
    )
    rateLimits = rl.quotas.map((q) => ({
      policy: q.name,
      limit: policies.find((p) => p.name === q.name)?.quota,
      remaining: q.r?.read,
      // three decimals at most: the exact number of ms is the rounded product
      reset: q.t?.read === undefined ? undefined : delayOf(Math.round(q.t.read * 1000), "delta-seconds")
    }))
  } else if (rl?.kind === "dict") {
    const reset = rl.reset?.(now)
    const members = [
      rl.limit === undefined ? undefined : `limit=${rl.limit}`,
      rl.remaining === undefined ? undefined : `remaining=${rl.remaining}`,
      // the dictionary's reset is a structured-field number: digits only (dates and garbage stay out)
      reset === undefined || !/^\d+$/.test(reset.text) ? undefined : `reset=${reset.text}`
    ].filter((m) => m !== undefined)
    add("RateLimit", members.length === 0 ? "limit=?0" : members.join(", "))
    rateLimits = [{
      policy: undefined,
      limit: rl.limit,
      remaining: rl.remaining,
      reset: reset === undefined || !/^\d+$/.test(reset.text) ? undefined : reset.read
    }]
  } else if (rl?.kind === "malformed") {
    add("RateLimit", rl.text)
  }
  const tr = set.triple
  const trReset = tr.reset?.(now)
  if (tr.limit) add("RateLimit-Limit", tr.limit.text)
  if (tr.remaining) add("RateLimit-Remaining", tr.remaining.text)
  if (trReset) add("RateLimit-Reset", trReset.text)
  if (rateLimits.length === 0 && (tr.limit || tr.remaining || trReset)) {
    rateLimits = [{ policy: undefined, limit: tr.limit?.read, remaining: tr.remaining?.read, reset: trReset?.read }]
  }
  const xra = set.xRetryAfter?.(now)
  if (xra) add("X-RateLimit-Retry-After", xra.text)
  const v = set.vendor
  const vReset = v.reset?.(now)
  const vendorParts = [["limit", v.limit], ["remaining", v.remaining], ["reset", vReset]] as const
  vendorParts.forEach(([name, value], i) => {
    if (value === undefined) return
    const spelling = v.spelling[i]!
    if (spelling === "both") {
      add(`X-RateLimit-${name}`, value.text)
      add(`X-Rate-Limit-${name}`, "999") // read only when no X-RateLimit- field is there
    } else {
      add(`${spelling}${name}`, value.text)
    }
  })
  // the spellings are read as sets: X-RateLimit-* when any of its fields is there, else X-Rate-Limit-*
  const sent = vendorParts.map(([, value], i) => value === undefined ? undefined : v.spelling[i]!)
  const family = sent.some((spelling) => spelling === "x-ratelimit-" || spelling === "both")
    ? (spelling: string | undefined) => spelling === "x-ratelimit-" || spelling === "both"
    : (spelling: string | undefined) => spelling === "x-rate-limit-"
  const vendor = sent.some(family)
    ? {
      limit: family(sent[0]) ? v.limit?.read : undefined,
      remaining: family(sent[1]) ? v.remaining?.read : undefined,
      reset: family(sent[2]) ? vReset?.read : undefined
    }
    : undefined
  return {
    headers,
    model: {
      retryAfter: ram?.read ?? xms?.read ?? ra?.read,
      rateLimits,
      policies,
      vendor,
      vendorRetryAfter: xra?.read === undefined ? undefined : xra.read
    }
  }
}

export type Source = RetryHeaders.Wait["source"]

/** The doc's ordered list; `limited`: a reset without a remaining count counts too (HttpFailure on 429/503). */
export const modelWait = (model: Rendered["model"], limited: boolean): (Delay & { source: Source }) | undefined => {
  if (model.retryAfter) return { ...model.retryAfter, source: "retry-after" }
  const exhausted = (q: { remaining: number | undefined; reset: Delay | undefined }) =>
    q.reset !== undefined && (q.remaining === 0 || (limited && q.remaining === undefined))
  let longest: Delay | undefined
  for (const q of model.rateLimits) {
    if (exhausted(q) && (longest === undefined || q.reset!.ms > longest.ms)) longest = q.reset
  }
  if (longest) return { ...longest, source: "ratelimit" }
  if (model.vendorRetryAfter) return { ...model.vendorRetryAfter, source: "x-ratelimit" }
  if (model.vendor && exhausted(model.vendor)) return { ...model.vendor.reset!, source: "x-ratelimit" }
  return undefined
}
