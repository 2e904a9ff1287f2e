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
      if (typeof input === "number") return ParseResult.succeed(Duration.millis(input))
      const shorthand = durations.parse(input)
      if (Either.isRight(shorthand)) return ParseResult.succeed(shorthand.right)
      const decoded = Duration.decodeUnknown(input)
      return decoded._tag === "Some"
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
  slidingWindow: Schema.optional(DurationInput),
  breakDuration: Schema.optional(DurationInput),
  consecutiveFailures: Schema.optional(Schema.Int),
  halfOpenMaxProbes: Schema.optional(Schema.Int),
  successThreshold: Schema.optional(Schema.Int)
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
  deadlineHeader: Schema.optional(Schema.Union(Schema.String, Schema.Boolean))
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
      (error) => ParseResult.TreeFormatter.formatErrorSync(error)
    )
  } catch (error) {
    if (error instanceof RangeError) return Either.left("too deeply nested to read: not a policy file")
    throw error
  }
}

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
