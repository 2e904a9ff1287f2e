import type * as Headers from "@effect/platform/Headers"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as RetryHeaders from "../RetryHeaders.js"

/** @internal */
export const maxDelayMillis = 24 * 60 * 60 * 1000

/** @internal */
export const maxDelay: Duration.Duration = Duration.millis(maxDelayMillis)

/** @internal */
export const epochSecondsThreshold = 1e9

/** @internal */
export const epochMillisThreshold = 1e12

// Headers is a null-prototype record with lower-cased keys, so a plain property read is the cheapest lookup and
// allocates nothing when the header is absent.
const lookup = (headers: Headers.Headers, name: string): string | undefined => (headers as Record<string, string>)[name]

// Round up so that a caller never retries before the instant the server named; the past is now.
const wantedMillis = (millis: number): number => millis <= 0 ? 0 : Math.ceil(millis)

const makeDelay = (millis: number, format: RetryHeaders.Delay["format"]): RetryHeaders.Delay => {
  const wanted = wantedMillis(millis)
  const clamped = !(wanted <= maxDelayMillis)
  return { duration: Duration.millis(clamped ? maxDelayMillis : wanted), clamped, format }
}

// -----------------------------------------------------------------------------
// numbers
// -----------------------------------------------------------------------------

const unsignedDecimal = /^\d+(?:\.\d+)?$/
const delaySeconds = /^\d+$/
const surroundingWhitespace = /^[ \t]+|[ \t]+$/g
const unsignedInteger = /^\d+$/

const parseSeconds = (value: string): number | undefined => {
  const trimmed = value.trim()
  return unsignedDecimal.test(trimmed) ? Number(trimmed) : undefined
}

const parseCount = (value: string | undefined): Option.Option<number> => {
  if (value === undefined) return Option.none()
  const trimmed = value.trim()
  if (!unsignedInteger.test(trimmed)) return Option.none()
  return Option.some(Math.min(Number(trimmed), Number.MAX_SAFE_INTEGER))
}

const plainDecimal = /^(\d+)(?:\.(\d+))?$/

/**
 * Seconds to milliseconds without floating-point error: `2.007 * 1000` is 2007.0000000000002, which `makeDelay` would
 * round up to 2008 ms. Shifting the decimal point in the number's shortest decimal form (the one the header wrote) is
 * exact; a number that has no plain decimal form (below 1e-6, from 1e21) is multiplied.
 *
 * @internal
 */
export const secondsToMillis = (seconds: number): number => {
  const match = plainDecimal.exec(String(seconds))
  if (match === null) return seconds * 1000
  const fraction = match[2] ?? ""
  return Number(`${match[1]}${fraction.slice(0, 3).padEnd(3, "0")}.${fraction.slice(3) || "0"}`)
}

const deltaSecondsDelay = (seconds: number): RetryHeaders.Delay => makeDelay(secondsToMillis(seconds), "delta-seconds")

/**
 * Delta seconds below 1e9, epoch seconds from 1e9, epoch milliseconds from 1e12.
 *
 * @internal
 */
export const resetDelay = (seconds: number, nowMillis: number): RetryHeaders.Delay =>
  seconds >= epochMillisThreshold
    ? makeDelay(seconds - nowMillis, "epoch-millis")
    : seconds >= epochSecondsThreshold
    ? makeDelay(secondsToMillis(seconds) - nowMillis, "epoch-seconds")
    : deltaSecondsDelay(seconds)

const parseReset = (value: string | undefined, nowMillis: number): Option.Option<RetryHeaders.Delay> => {
  if (value === undefined) return Option.none()
  const seconds = parseSeconds(value)
  if (seconds !== undefined) return Option.some(resetDelay(seconds, nowMillis))
  // some vendors send the reset as an HTTP-date (Vimeo's `X-RateLimit-Reset`), read as Retry-After's date
  const at = parseHttpDate(value.replace(surroundingWhitespace, ""), nowMillis)
  return at === undefined ? Option.none() : Option.some(makeDelay(at - nowMillis, "http-date"))
}

// -----------------------------------------------------------------------------
// HTTP-date (RFC 9110 section 5.6.7)
// -----------------------------------------------------------------------------

const months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

// RFC 9110 §5.6.7 asks recipients to be robust: dates forwarded from non-HTTP sources follow the Internet Message
// Format (RFC 5322), which allows no day name and the zones UT, UTC and ±hhmm besides GMT (as urllib3 reads them).
// A day name is not checked against the date: the date is what names the instant, and Go, Python and undici's
// `Date.parse` read it so (httpdate and hyperium/headers refuse the date instead).
// RFC 5322 also allows no space after the comma, a time without seconds and (obsolete, §4.3) a two-digit year, which
// is read as RFC 850's is.
const imfFixdate =
  /^(?:(?:mon|tue|wed|thu|fri|sat|sun), ?)?(\d{1,2}) ([a-z]{3}) (\d{4}|\d{2}) (\d{2}):(\d{2})(?::(\d{2}))? (gmt|utc?|z|[+-]\d{4})$/i
const rfc850Date =
  /^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday), (\d{1,2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) (gmt|utc?|z|[+-]\d{4})$/i
const asctimeDate = /^(?:mon|tue|wed|thu|fri|sat|sun) ([a-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i

// The offset of a zone from UTC in milliseconds: 0 for GMT, UT, UTC and Z; `+0100` is one hour ahead of UTC, so its
// UTC instant is one hour earlier. `undefined` for an offset of a day or more (hours above 23, as Python's
// `parsedate_to_datetime` refuses `+2600`) or minutes above 59: no zone on Earth, so no instant to wait for.
const zoneOffsetMillis = (zone: string): number | undefined => {
  const sign = zone.charAt(0)
  if (sign !== "+" && sign !== "-") return 0
  const hours = Number(zone.slice(1, 3))
  const minutes = Number(zone.slice(3, 5))
  if (hours > 23 || minutes > 59) return undefined
  return (sign === "+" ? 1 : -1) * (hours * 60 + minutes) * 60_000
}

// The UTC instant of a date and time of day in `zone`, or `undefined` when no such instant exists.
const instant = (
  year: number,
  monthName: string,
  day: number,
  hour: number,
  minute: number,
  second: number,
  zone: string
): number | undefined => {
  const month = months.indexOf(monthName.toLowerCase())
  if (month < 0 || hour > 23 || minute > 59 || second > 60) return undefined
  const offset = zoneOffsetMillis(zone)
  if (offset === undefined) return undefined
  const date = new Date(0)
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month, day)
  // a day the month does not have (0, 31 February) rolls over into another month
  if (date.getUTCDate() !== day) return undefined
  // RFC 9110 allows the second 60 (a leap second); it lands on the next minute, as close as a millisecond clock gets
  // (ky reads it so, at any minute; httpdate, Go and Python refuse every `:60`, which would only fall back to the
  // backoff, while the instant named is plain).
  return date.getTime() + ((hour * 60 + minute) * 60 + second) * 1000 - offset
}

// RFC 9110: a two-digit year more than 50 years in the future means the most recent past year with those digits; so
// it is the latest year with those digits at most 50 years ahead (in 2080, "29" is 2129, not 2029).
const fullYear = (digits: string, nowMillis: number): number => {
  const currentYear = new Date(nowMillis).getUTCFullYear()
  const year = currentYear - (currentYear % 100) + Number(digits)
  return year > currentYear + 50 ? year - 100 : year <= currentYear - 50 ? year + 100 : year
}

/** @internal */
export const parseHttpDate = (value: string, nowMillis: number): number | undefined => {
  let match = imfFixdate.exec(value)
  if (match !== null) {
    const year = match[3]!.length === 2 ? fullYear(match[3]!, nowMillis) : Number(match[3])
    return instant(
      year,
      match[2]!,
      Number(match[1]),
      Number(match[4]),
      Number(match[5]),
      match[6] === undefined ? 0 : Number(match[6]),
      match[7]!
    )
  }
  match = rfc850Date.exec(value)
  if (match !== null) {
    const year = fullYear(match[3]!, nowMillis)
    return instant(year, match[2]!, Number(match[1]), Number(match[4]), Number(match[5]), Number(match[6]), match[7]!)
  }
  match = asctimeDate.exec(value)
  if (match !== null) {
    return instant(
      Number(match[6]),
      match[1]!,
      Number(match[2]),
      Number(match[3]),
      Number(match[4]),
      Number(match[5]),
      "gmt"
    )
  }
  return undefined
}

/** @internal */
export const parseRetryAfterDelay = (value: string, nowMillis: number): Option.Option<RetryHeaders.Delay> => {
  // RFC 9110 §10.2.3: delay-seconds = 1*DIGIT, with optional whitespace (SP, HTAB) around the field value.
  // `1.0`, `1.5`, `+1`, `-1`, `0x10`, `1e3` are not delay-seconds: no hint, so the caller's backoff applies.
  const delay = parseOneRetryAfter(value, nowMillis)
  if (delay !== undefined) return Option.some(delay)
  // Retry-After is a singleton field, but a server or a proxy may send it twice, and a transport joins the values with
  // ", " (fetch and `@sturdy/node` do). Copies that agree are read as one; copies that disagree leave the wait unknown.
  const members = listMembers(value)
  if (members === undefined) return Option.none()
  let agreed: Asked | undefined
  for (const member of members) {
    const copy = askedWait(member, nowMillis)
    // Copies agree when they ask for the same wait before `maxDelay` cuts it: `100000, 200000` disagree, though both
    // would be cut to 24 h (and would then agree or not depending on the clock, as copies of two future dates do).
    if (copy === undefined || (agreed !== undefined && wantedMillis(copy.millis) !== wantedMillis(agreed.millis))) {
      return Option.none()
    }
    agreed ??= copy
  }
  return agreed === undefined ? Option.none() : Option.some(makeDelay(agreed.millis, agreed.format))
}

interface Asked {
  readonly millis: number
  readonly format: "delta-seconds" | "http-date"
}

// The wait a single Retry-After value asks for, in ms before rounding and clamping.
const askedWait = (value: string, nowMillis: number): Asked | undefined => {
  const trimmed = value.replace(surroundingWhitespace, "")
  if (delaySeconds.test(trimmed)) return { millis: secondsToMillis(Number(trimmed)), format: "delta-seconds" }
  const at = parseHttpDate(trimmed, nowMillis)
  return at === undefined ? undefined : { millis: at - nowMillis, format: "http-date" }
}

const parseOneRetryAfter = (value: string, nowMillis: number): RetryHeaders.Delay | undefined => {
  const asked = askedWait(value, nowMillis)
  return asked === undefined ? undefined : makeDelay(asked.millis, asked.format)
}

// `X-RateLimit-Retry-After` (Symfony-based services; ky reads it): Retry-After's grammar under a vendor name, a
// wait in delay-seconds (never an epoch, however large) or an HTTP-date, needing no remaining count.
const vendorRetryAfter = (headers: Headers.Headers, nowMillis: number): RetryHeaders.Delay | undefined => {
  const value = lookup(headers, "x-ratelimit-retry-after")
  return value === undefined ? undefined : parseOneRetryAfter(value, nowMillis)
}

const dayName = /^[ \t]*(?:mon|tue|wed|thu|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|sunday)$/i

// The members of a comma-joined list of Retry-After values (the comma after an HTTP-date's day name does not end a
// member), or `undefined` when the value holds no list.
const listMembers = (value: string): Array<string> | undefined => {
  const members: Array<string> = []
  let start = 0
  let from = 0
  for (;;) {
    const comma = value.indexOf(",", from)
    if (comma < 0) break
    from = comma + 1
    if (!dayName.test(value.slice(start, comma))) {
      members.push(value.slice(start, comma))
      start = from
    }
  }
  if (members.length === 0) return undefined
  members.push(value.slice(start))
  return members
}

// `Retry-After-Ms` (OpenAI, Azure OpenAI, Anthropic; their SDKs read it before `Retry-After`): a wait in milliseconds,
// fractions allowed, taking precedence over `Retry-After`, which such servers send rounded up to whole seconds.
const parseRetryAfterMs = (value: string | undefined): RetryHeaders.Delay | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.replace(surroundingWhitespace, "")
  return unsignedDecimal.test(trimmed) ? makeDelay(Number(trimmed), "delta-millis") : undefined
}

// `Retry-After-Ms`, else Azure's `x-ms-retry-after-ms` (the same value under the service's prefix, read in that order
// by Azure's SDKs), when readable.
const retryAfterMillis = (headers: Headers.Headers): RetryHeaders.Delay | undefined =>
  parseRetryAfterMs(lookup(headers, "retry-after-ms")) ?? parseRetryAfterMs(lookup(headers, "x-ms-retry-after-ms"))

// The wait of `Retry-After-Ms`, or else of `Retry-After`, as read for the `retryAfter` of the structured value.
const serverRetryAfter = (headers: Headers.Headers, nowMillis: number): Option.Option<RetryHeaders.Delay> => {
  const millis = retryAfterMillis(headers)
  if (millis !== undefined) return Option.some(millis)
  const value = lookup(headers, "retry-after")
  return value === undefined ? Option.none() : parseRetryAfterDelay(value, nowMillis)
}

/** @internal */
export const parseRetryAfter = (value: string, nowMillis: number): Option.Option<Duration.Duration> =>
  Option.map(parseRetryAfterDelay(value, nowMillis), (delay) => delay.duration)

// -----------------------------------------------------------------------------
// Structured fields (RFC 9651), the subset the RateLimit drafts use
// -----------------------------------------------------------------------------

type BareItem = number | string | boolean | Token | ByteSequence

class Token {
  constructor(readonly value: string) {}
}

// Kept as base64 text: no RateLimit parameter we read is binary, so decoding would be wasted work.
class ByteSequence {
  constructor(readonly base64: string) {}
}

// Sticky patterns match at `lastIndex`, so the parser never slices the input.
const sfKey = /[a-z*][a-z0-9_.*-]*/y
const sfNumber = /-?\d+(?:\.\d+)?/y
const sfToken = /[a-z*][a-z0-9!#$%&'*+\-.^_`|~:/]*/iy
const sfByteSequence = /:([a-z0-9+/=]*):/iy
const sfBoolean = /\?[01]/y
const sfSpace = / /
const sfOptionalWhitespace = /[ \t]/

const matchAt = (pattern: RegExp, input: string, index: number): RegExpExecArray | null => {
  pattern.lastIndex = index
  return pattern.exec(input)
}

interface Member {
  readonly key: string | undefined
  readonly value: BareItem | ReadonlyArray<BareItem>
  readonly params: ReadonlyMap<string, BareItem>
}

class SfParser {
  private index = 0
  constructor(private readonly input: string) {}

  private peek(): string {
    return this.input.charAt(this.index)
  }

  private skip(pattern: RegExp): void {
    while (this.index < this.input.length && pattern.test(this.peek())) this.index++
  }

  private key(): string | undefined {
    const match = matchAt(sfKey, this.input, this.index)
    if (match === null) return undefined
    this.index += match[0].length
    return match[0]
  }

  private bareItem(): BareItem | undefined {
    const c = this.peek()
    if (c === "-" || (c >= "0" && c <= "9")) {
      const match = matchAt(sfNumber, this.input, this.index)
      if (match === null) return undefined
      this.index += match[0].length
      return Number(match[0])
    }
    if (c === "\"") {
      let out = ""
      for (let i = this.index + 1; i < this.input.length; i++) {
        const ch = this.input.charAt(i)
        if (ch === "\\") {
          const next = this.input.charAt(i + 1)
          if (next !== "\"" && next !== "\\") return undefined
          out += next
          i++
        } else if (ch === "\"") {
          this.index = i + 1
          return out
        } else if (ch < " " || ch > "~") {
          return undefined
        } else {
          out += ch
        }
      }
      return undefined
    }
    if (c === "*" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")) {
      const match = matchAt(sfToken, this.input, this.index)!
      this.index += match[0].length
      return new Token(match[0])
    }
    if (c === ":") {
      const match = matchAt(sfByteSequence, this.input, this.index)
      if (match === null) return undefined
      this.index += match[0].length
      return new ByteSequence(match[1]!)
    }
    if (c === "?") {
      const match = matchAt(sfBoolean, this.input, this.index)
      if (match === null) return undefined
      this.index += 2
      return match[0] === "?1"
    }
    return undefined
  }

  private params(): Map<string, BareItem> | undefined {
    const params = new Map<string, BareItem>()
    while (this.peek() === ";") {
      this.index++
      this.skip(sfSpace)
      const key = this.key()
      if (key === undefined) return undefined
      let value: BareItem | undefined = true
      if (this.peek() === "=") {
        this.index++
        value = this.bareItem()
        if (value === undefined) return undefined
      }
      params.set(key, value)
    }
    return params
  }

  private itemOrInnerList(): BareItem | ReadonlyArray<BareItem> | undefined {
    if (this.peek() !== "(") return this.bareItem()
    this.index++
    const items: Array<BareItem> = []
    while (this.index < this.input.length) {
      this.skip(sfSpace)
      if (this.peek() === ")") {
        this.index++
        return items
      }
      const item = this.bareItem()
      if (item === undefined || this.params() === undefined) return undefined
      items.push(item)
      if (this.peek() !== " " && this.peek() !== ")") return undefined
    }
    return undefined
  }

  /** Parses a List, or a Dictionary when `dictionary` is set; `undefined` when the field is malformed. */
  members(dictionary: boolean): Array<Member> | undefined {
    const members: Array<Member> = []
    this.skip(sfSpace)
    while (this.index < this.input.length) {
      let key: string | undefined
      let value: BareItem | ReadonlyArray<BareItem> | undefined = true
      if (dictionary) {
        key = this.key()
        if (key === undefined) return undefined
        if (this.peek() === "=") {
          this.index++
          value = this.itemOrInnerList()
        }
      } else {
        value = this.itemOrInnerList()
      }
      if (value === undefined) return undefined
      const params = this.params()
      if (params === undefined) return undefined
      members.push({ key, value, params })
      this.skip(sfOptionalWhitespace)
      if (this.index >= this.input.length) return members
      if (this.peek() !== ",") return undefined
      this.index++
      this.skip(sfOptionalWhitespace)
      if (this.index >= this.input.length) return undefined
    }
    return members
  }
}

const parseList = (value: string): Array<Member> | undefined => new SfParser(value.trim()).members(false)

const parseDictionary = (value: string): Array<Member> | undefined => new SfParser(value.trim()).members(true)

const nameOf = (value: Member["value"]): Option.Option<string> =>
  typeof value === "string" ? Option.some(value) : value instanceof Token ? Option.some(value.value) : Option.none()

const nonNegativeInteger = (value: BareItem | ReadonlyArray<BareItem> | undefined): Option.Option<number> =>
  typeof value === "number" && Number.isInteger(value) && value >= 0
    ? Option.some(Math.min(value, Number.MAX_SAFE_INTEGER))
    : Option.none()

const nonNegativeSeconds = (
  value: BareItem | ReadonlyArray<BareItem> | undefined
): Option.Option<number> => typeof value === "number" && value >= 0 ? Option.some(value) : Option.none()

/** @internal */
export const parsePolicies = (value: string): ReadonlyArray<RetryHeaders.RateLimitPolicy> => {
  const members = parseList(value)
  if (members === undefined) return []
  const policies: Array<RetryHeaders.RateLimitPolicy> = []
  for (const member of members) {
    const name = nameOf(member.value)
    // The newer drafts name the policy and put the quota in `q`; the older ones make the quota the item itself.
    const quota = Option.isSome(name) ? nonNegativeInteger(member.params.get("q")) : nonNegativeInteger(member.value)
    if (Option.isNone(quota)) continue
    const unit = member.params.get("qu")
    policies.push({
      name,
      quota: quota.value,
      window: Option.map(
        nonNegativeSeconds(member.params.get("w")),
        (seconds) => Duration.millis(secondsToMillis(seconds))
      ),
      quotaUnit: typeof unit === "string" || unit instanceof Token
        ? Option.some(typeof unit === "string" ? unit : unit.value)
        : Option.none()
    })
  }
  return policies
}

const limitFor = (
  name: Option.Option<string>,
  policies: ReadonlyArray<RetryHeaders.RateLimitPolicy>
): Option.Option<number> => {
  if (Option.isNone(name)) return Option.none()
  for (const policy of policies) {
    if (Option.isSome(policy.name) && policy.name.value === name.value) return Option.some(policy.quota)
  }
  return Option.none()
}

/** @internal */
export const parseRateLimitField = (
  value: string,
  policies: ReadonlyArray<RetryHeaders.RateLimitPolicy>,
  nowMillis: number
): ReadonlyArray<RetryHeaders.RateLimit> => {
  const list = parseList(value)
  if (list !== undefined) {
    return list.map((member) => {
      const policy = nameOf(member.value)
      return {
        policy,
        limit: limitFor(policy, policies),
        remaining: nonNegativeInteger(member.params.get("r")),
        reset: Option.map(nonNegativeSeconds(member.params.get("t")), deltaSecondsDelay)
      }
    })
  }
  // draft-ietf-httpapi-ratelimit-headers-07 sent a Dictionary: `RateLimit: limit=100, remaining=50, reset=5`.
  const dictionary = parseDictionary(value)
  if (dictionary === undefined) return []
  const get = (key: string) => dictionary.find((member) => member.key === key)?.value
  return [{
    policy: Option.none(),
    limit: nonNegativeInteger(get("limit")),
    remaining: nonNegativeInteger(get("remaining")),
    reset: Option.map(nonNegativeSeconds(get("reset")), (seconds) => resetDelay(seconds, nowMillis))
  }]
}

const firstLimit = (value: string | undefined): Option.Option<number> => {
  if (value === undefined) return Option.none()
  // Early drafts allowed `RateLimit-Limit: 100, 100;w=60`; the first item is the limit in force.
  const members = parseList(value)
  return members === undefined || members.length === 0 ? Option.none() : nonNegativeInteger(members[0]!.value)
}

// -----------------------------------------------------------------------------
// parse / retryAfter
// -----------------------------------------------------------------------------

const isExhausted = (rateLimit: RetryHeaders.RateLimit): boolean =>
  Option.isSome(rateLimit.remaining) && rateLimit.remaining.value === 0 && Option.isSome(rateLimit.reset)

// On a response that already says "limited" (a 429, a 503), a reset sent without a remaining count is the wait too.
const isExhaustedWhenLimited = (rateLimit: RetryHeaders.RateLimit): boolean =>
  Option.isSome(rateLimit.reset) && (Option.isNone(rateLimit.remaining) || rateLimit.remaining.value === 0)

// When several quotas are exhausted the request can only succeed once the last of them resets.
const exhaustedReset = (
  rateLimits: ReadonlyArray<RetryHeaders.RateLimit>,
  limited = false
): Option.Option<RetryHeaders.Delay> => {
  let longest: RetryHeaders.Delay | undefined
  for (const rateLimit of rateLimits) {
    if (limited ? isExhaustedWhenLimited(rateLimit) : isExhausted(rateLimit)) {
      const reset = Option.getOrThrow(rateLimit.reset)
      if (longest === undefined || Duration.greaterThan(reset.duration, longest.duration)) longest = reset
    }
  }
  return Option.fromNullable(longest)
}

const mostConstrained = (rateLimits: ReadonlyArray<RetryHeaders.RateLimit>): Option.Option<RetryHeaders.RateLimit> => {
  let best: RetryHeaders.RateLimit | undefined
  for (const rateLimit of rateLimits) {
    if (best === undefined) {
      best = rateLimit
    } else if (
      Option.isSome(rateLimit.remaining) &&
      (Option.isNone(best.remaining) || rateLimit.remaining.value < best.remaining.value)
    ) {
      best = rateLimit
    }
  }
  return Option.fromNullable(best)
}

const ietfRateLimits = (
  headers: Headers.Headers,
  policies: ReadonlyArray<RetryHeaders.RateLimitPolicy>,
  nowMillis: number
): ReadonlyArray<RetryHeaders.RateLimit> => {
  const field = lookup(headers, "ratelimit")
  if (field !== undefined) {
    const rateLimits = parseRateLimitField(field, policies, nowMillis)
    if (rateLimits.length > 0) return rateLimits
  }
  const limit = lookup(headers, "ratelimit-limit")
  const remaining = lookup(headers, "ratelimit-remaining")
  const reset = lookup(headers, "ratelimit-reset")
  if (limit === undefined && remaining === undefined && reset === undefined) return []
  return [{
    policy: Option.none(),
    limit: firstLimit(limit),
    remaining: parseCount(remaining),
    reset: parseReset(reset, nowMillis)
  }]
}

// `X-RateLimit-*` (GitHub and most others), else `X-Rate-Limit-*` (Twitter's spelling), as a set: the three fields
// describe one quota, so a remaining count is never paired with another spelling's reset (two layers, say a gateway
// and the service behind it, each sending its own).
const vendorPrefix = (headers: Headers.Headers): string =>
  lookup(headers, "x-ratelimit-limit") !== undefined || lookup(headers, "x-ratelimit-remaining") !== undefined ||
    lookup(headers, "x-ratelimit-reset") !== undefined
    ? "x-ratelimit-"
    : "x-rate-limit-"

const xRateLimit = (headers: Headers.Headers, nowMillis: number): Option.Option<RetryHeaders.RateLimit> => {
  const prefix = vendorPrefix(headers)
  const limit = lookup(headers, `${prefix}limit`)
  const remaining = lookup(headers, `${prefix}remaining`)
  const reset = lookup(headers, `${prefix}reset`)
  if (limit === undefined && remaining === undefined && reset === undefined) return Option.none()
  return Option.some({
    policy: Option.none(),
    limit: parseCount(limit),
    remaining: parseCount(remaining),
    reset: parseReset(reset, nowMillis)
  })
}

/** @internal */
export const parse = (headers: Headers.Headers, nowMillis: number): RetryHeaders.RetryHeaders => {
  const retryAfter = serverRetryAfter(headers, nowMillis)
  const policyValue = lookup(headers, "ratelimit-policy")
  const policies = policyValue === undefined ? [] : parsePolicies(policyValue)
  const rateLimits = ietfRateLimits(headers, policies, nowMillis)
  const vendor = xRateLimit(headers, nowMillis)
  const summary = Option.orElse(mostConstrained(rateLimits), () => vendor)

  let wait: Option.Option<RetryHeaders.Wait> = Option.map(retryAfter, (delay) => ({ ...delay, source: "retry-after" }))
  if (Option.isNone(wait)) {
    wait = Option.map(exhaustedReset(rateLimits), (delay) => ({ ...delay, source: "ratelimit" }))
  }
  if (Option.isNone(wait)) {
    const delay = vendorRetryAfter(headers, nowMillis)
    if (delay !== undefined) wait = Option.some({ ...delay, source: "x-ratelimit" })
  }
  if (Option.isNone(wait)) {
    wait = Option.map(
      Option.filter(vendor, isExhausted),
      (rateLimit) => ({ ...Option.getOrThrow(rateLimit.reset), source: "x-ratelimit" })
    )
  }

  return {
    wait,
    retryAfter,
    limit: Option.flatMap(summary, (rateLimit) => rateLimit.limit),
    remaining: Option.flatMap(summary, (rateLimit) => rateLimit.remaining),
    reset: Option.flatMap(summary, (rateLimit) => rateLimit.reset),
    rateLimits,
    policies,
    xRateLimit: vendor
  }
}

const zeroCount = /^\s*0+\s*$/
const readableCount = /^\s*\d+\s*$/
const noRateLimits: ReadonlyArray<RetryHeaders.RateLimit> = []
const noPolicies: ReadonlyArray<RetryHeaders.RateLimitPolicy> = []

// A remaining count that is 0, or (`limited`) none: not sent, or not readable (`-1`, `1.5`, garbage), which `parse`
// reads as `None` too, as it reads an unreadable `r=` of the RateLimit field.
const exhaustedCount = (remaining: string | undefined, limited: boolean): boolean =>
  remaining === undefined || !readableCount.test(remaining) ? limited : zeroCount.test(remaining)

const retryAfterWith = (
  headers: Headers.Headers,
  nowMillis: number,
  limited: boolean
): Option.Option<Duration.Duration> => {
  // Runs on every failed response: answer from the few headers that matter without building the structured value,
  // and without allocating when they are absent or the quota is not exhausted.
  const millis = retryAfterMillis(headers)
  if (millis !== undefined) return Option.some(millis.duration)
  const retryAfterValue = lookup(headers, "retry-after")
  if (retryAfterValue !== undefined) {
    const delay = parseRetryAfter(retryAfterValue, nowMillis)
    if (Option.isSome(delay)) return delay
  }
  const field = lookup(headers, "ratelimit")
  const rateLimits = field === undefined ? noRateLimits : parseRateLimitField(field, noPolicies, nowMillis)
  if (rateLimits.length > 0) {
    const reset = exhaustedReset(rateLimits, limited)
    if (Option.isSome(reset)) return Option.some(reset.value.duration)
  } else {
    const reset = lookup(headers, "ratelimit-reset")
    if (reset !== undefined && exhaustedCount(lookup(headers, "ratelimit-remaining"), limited)) {
      const delay = parseReset(reset, nowMillis)
      if (Option.isSome(delay)) return Option.some(delay.value.duration)
    }
  }
  const vendorWait = vendorRetryAfter(headers, nowMillis)
  if (vendorWait !== undefined) return Option.some(vendorWait.duration)
  const prefix = vendorPrefix(headers)
  const reset = lookup(headers, `${prefix}reset`)
  if (reset !== undefined && exhaustedCount(lookup(headers, `${prefix}remaining`), limited)) {
    return Option.map(parseReset(reset, nowMillis), (delay) => delay.duration)
  }
  return Option.none()
}

/** @internal */
export const retryAfter = (headers: Headers.Headers, nowMillis: number): Option.Option<Duration.Duration> =>
  retryAfterWith(headers, nowMillis, false)

/**
 * Whether `headers` hold any header `retryAfterWith` reads a wait from (a cheap test before reading them with the
 * Clock). Every header a wait can come from is listed, so that no wait is skipped.
 * @internal
 */
export const mayNameWait = (headers: Headers.Headers): boolean =>
  lookup(headers, "retry-after") !== undefined || lookup(headers, "retry-after-ms") !== undefined ||
  lookup(headers, "x-ms-retry-after-ms") !== undefined || lookup(headers, "ratelimit") !== undefined ||
  lookup(headers, "ratelimit-reset") !== undefined || lookup(headers, "x-ratelimit-retry-after") !== undefined ||
  lookup(headers, `${vendorPrefix(headers)}reset`) !== undefined

/**
 * The wait of a response that already says "limited" (429, 503, or a status of `retry.retryAfterStatuses`): as
 * `retryAfter`, and a `RateLimit-Reset` or `X-RateLimit-Reset` sent without a remaining count is the wait too (as ky
 * reads it): the server answered "not now", and named when.
 * @internal
 */
export const limitedRetryAfter = (headers: Headers.Headers, nowMillis: number): Option.Option<Duration.Duration> =>
  retryAfterWith(headers, nowMillis, true)

/** @internal */
export const currentRetryAfter = (headers: Headers.Headers): Effect.Effect<Option.Option<Duration.Duration>> =>
  Effect.map(Clock.currentTimeMillis, (nowMillis) => retryAfter(headers, nowMillis))
