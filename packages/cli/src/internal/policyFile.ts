import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as durations from "./duration.js"

/** A duration written as `500ms`, `2s`, `1m`, `"2 seconds"`, `"infinity"`, or a number of milliseconds. */
export const DurationInput = Schema.transformOrFail(
  Schema.Union(Schema.String, Schema.NonNegative),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      // JSON reads digits past what a double holds as Infinity: only "none"/"infinity" mean no limit
      if (typeof input === "number") {
        return Number.isFinite(input)
          ? ParseResult.succeed(Duration.millis(input))
          : ParseResult.fail(
            new ParseResult.Type(ast, input, "a finite number of milliseconds (\"none\" for no limit)")
          )
      }
      const shorthand = durations.parse(input)
      if (Either.isRight(shorthand)) return ParseResult.succeed(shorthand.right)
      const decoded = Duration.decodeUnknown(input)
      // Effect's own form (`"5 days"`) too, but not a negative one (Effect clamps it to zero) nor digits that overflow
      // to Infinity: "none" and "infinity" are the ways to say no limit, and the shorthand took them
      return decoded._tag === "Some" && Duration.isFinite(decoded.value) && !/^\s*-/.test(input)
        ? ParseResult.succeed(decoded.value)
        : ParseResult.fail(new ParseResult.Type(ast, input, shorthand.left))
    },
    encode: (duration) => ParseResult.succeed(Duration.toMillis(duration))
  }
)

const Jitter = Schema.Literal("none", "full", "equal", "decorrelated")

const failureTags = [
  "ConnectionError",
  "Timeout",
  "ClientError",
  "RateLimited",
  "ServerError",
  "UnexpectedStatus",
  "BodyTruncated",
  "BodyUndecodable",
  "BodyTooLarge",
  "UnexpectedContentType",
  "InvalidJson",
  "SchemaMismatch",
  "InvalidRequest",
  "RedirectFailed",
  "AuthenticationFailed"
] as const

const RetryOn = Schema.partial(
  Schema.Struct(
    Object.fromEntries(failureTags.map((tag) => [tag, Schema.Boolean])) as {
      [K in typeof failureTags[number]]: typeof Schema.Boolean
    }
  )
)

const Retry = Schema.Struct({
  maxAttempts: Schema.optional(Schema.Int),
  baseDelay: Schema.optional(DurationInput),
  maxDelay: Schema.optional(DurationInput),
  jitter: Schema.optional(Jitter),
  maxRetryAfter: Schema.optional(DurationInput),
  retryAfterJitter: Schema.optional(Schema.Number),
  budget: Schema.optional(Schema.Boolean),
  idempotencyKey: Schema.optional(Schema.Boolean),
  retryOn: Schema.optional(RetryOn)
})

const Hedging = Schema.Struct({
  delay: DurationInput,
  maxHedges: Schema.optional(Schema.Int),
  failure: Schema.optional(Schema.Literal("first", "last"))
})

const CircuitBreaker = Schema.Struct({
  failureRateThreshold: Schema.optional(Schema.Number),
  minimumThroughput: Schema.optional(Schema.Int),
  // a duration, or the last n calls: `{ "calls": 100 }`
  slidingWindow: Schema.optional(Schema.Union(DurationInput, Schema.Struct({ calls: Schema.Int }))),
  breakDuration: Schema.optional(DurationInput),
  consecutiveFailures: Schema.optional(Schema.Int),
  failureCountThreshold: Schema.optional(Schema.Int),
  halfOpenMaxProbes: Schema.optional(Schema.Int),
  successThreshold: Schema.optional(Schema.Int),
  maxProbeDuration: Schema.optional(DurationInput)
})

const Bulkhead = Schema.Struct({
  maxConcurrent: Schema.optional(Schema.Int),
  maxQueued: Schema.optional(Schema.Int),
  maxWait: Schema.optional(DurationInput)
})

const RateLimit = Schema.Struct({
  limit: Schema.Int,
  window: DurationInput,
  algorithm: Schema.optional(Schema.Literal("token-bucket", "fixed-window")),
  onExceeded: Schema.optional(Schema.Literal("delay", "fail"))
})

const endpointFields = {
  totalTimeout: Schema.optional(DurationInput),
  attemptTimeout: Schema.optional(DurationInput),
  retry: Schema.optional(Schema.Union(Schema.Literal(false), Retry)),
  hedging: Schema.optional(Schema.Union(Schema.Literal(false), Hedging)),
  deadlineHeader: Schema.optional(Schema.Union(Schema.String, Schema.Boolean)),
  retryCountHeader: Schema.optional(Schema.Union(Schema.String, Schema.Boolean))
}

const Endpoint = Schema.Struct(endpointFields)

const hostFields = {
  ...endpointFields,
  circuitBreaker: Schema.optional(Schema.Union(Schema.Literal(false), CircuitBreaker)),
  bulkhead: Schema.optional(Schema.Union(Schema.Literal(false), Bulkhead)),
  rateLimit: Schema.optional(Schema.Union(Schema.Literal(false), RateLimit))
}

const Host = Schema.Struct(hostFields)

/** The JSON form of the pipeline options (`--policy FILE`). */
export const PolicyFile = Schema.Struct({
  ...hostFields,
  hosts: Schema.optional(Schema.Record({ key: Schema.String, value: Host })),
  endpoints: Schema.optional(Schema.Record({ key: Schema.String, value: Endpoint }))
})

/** The decoded options, shaped as `Policy.Options` (durations decoded). */
export type PolicyFile = typeof PolicyFile.Type

/** Decodes the text of a policy file; unknown keys are errors, so a typo does not silently change nothing. */
export const decode = (text: string): Either.Either<PolicyFile, string> => {
  // a policy is a few levels deep; anything far deeper is not one, and formatting its Schema issues would recurse
  // once per level
  const depth = nestingDepth(text, maxDepth)
  if (depth > maxDepth) return Either.left(`nested deeper than ${maxDepth} levels: not a policy file`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Either.left(`not valid JSON: ${oneLine(error instanceof Error ? error.message : String(error))}`)
  }
  try {
    return Either.mapLeft(
      Schema.decodeUnknownEither(PolicyFile, { onExcessProperty: "error", errors: "all" })(json),
      formatIssues
    )
  } catch (error) {
    if (error instanceof RangeError) return Either.left("too deeply nested to read: not a policy file")
    throw error
  }
}

/** At most this many problems are listed; the rest are counted. */
const maxIssues = 5

/**
 * The problems of a policy file on one line, `path: message` joined with `; `. Schema's own issues are close to
 * the schema: a union (`retry: false | {...}`) reports each member, an optional field `undefined`, and a type is
 * the schema's whole TypeScript type. Here a problem is reported at its deepest path only, the members' expectations
 * are merged (`expected false or an object, actual true`), and a type is named by its kind.
 */
export const formatIssues = (error: ParseResult.ParseError): string => {
  const all = ParseResult.ArrayFormatter.formatErrorSync(error)
  const meaningful = all.filter((issue) => !/^Expected undefined, actual /.test(issue.message))
  const issues = meaningful.length === 0 ? all : meaningful
  // a problem under a path explains the failure of the path itself (a union member that almost matched)
  const deepest = issues.filter((issue) =>
    !issues.some((other) =>
      other.path.length > issue.path.length && issue.path.every((key, index) => other.path[index] === key)
    )
  )
  const byPath = new Map<string, { expected: Array<string>; actual: string | undefined; other: Array<string> }>()
  for (const issue of deepest) {
    const path = pathText(issue.path)
    const entry = byPath.get(path) ?? { expected: [], actual: undefined, other: [] }
    byPath.set(path, entry)
    const typed = /^Expected ([\s\S]*), actual ([\s\S]*)$/.exec(issue.message)
    if (typed === null) {
      const message = oneLine(issue.message).replace(/^is unexpected, expected: /, "unknown key, expected one of ")
      if (!entry.other.includes(message)) entry.other.push(message)
    } else {
      const expected = kindOf(typed[1])
      if (!entry.expected.includes(expected)) entry.expected.push(expected)
      entry.actual = clip(oneLine(typed[2]), 40)
    }
  }
  const lines = [...byPath].map(([path, entry]) => {
    const parts = [...entry.other]
    if (entry.expected.length > 0) parts.push(`expected ${entry.expected.join(" or ")}, actual ${entry.actual}`)
    return `${path}: ${clip(parts.join(", "), 200)}`
  })
  const shown = lines.slice(0, maxIssues)
  if (lines.length > maxIssues) shown.push(`and ${lines.length - maxIssues} more`)
  return shown.join("; ")
}

/** `retry.maxAttempts`, `hosts["api.example.com"].retry`; the file itself is `policy`. */
const pathText = (path: ReadonlyArray<PropertyKey>): string =>
  path.length === 0 ? "policy" : path.map((key, index) =>
    typeof key === "number"
      ? `[${key}]`
      : /^[A-Za-z_$][\w$]*$/.test(String(key))
      ? `${index === 0 ? "" : "."}${String(key)}`
      : `[${JSON.stringify(String(key))}]`
  ).join("")

/** A schema's description, or what kind of value it is when that description is a whole type. */
const kindOf = (expected: string): string =>
  expected.startsWith("{") ? "an object" : expected.length > 60 ? "another value" : expected

const clip = (text: string, length: number): string => text.length <= length ? text : `${text.slice(0, length - 1)}…`

/** @internal The deepest a policy file may nest objects and arrays. */
export const maxDepth = 32

const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim()

/** How deep the JSON text nests arrays and objects, counting no further than `limit + 1`; strings are skipped. */
const nestingDepth = (text: string, limit: number): number => {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i)
    if (inString) {
      if (char === 0x5c) i++
      else if (char === 0x22) inString = false
    } else if (char === 0x22) {
      inString = true
    } else if (char === 0x5b || char === 0x7b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest
    } else if (char === 0x5d || char === 0x7d) {
      depth--
    }
  }
  return deepest
}
