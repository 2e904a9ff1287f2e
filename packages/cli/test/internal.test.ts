import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as durations from "../src/internal/duration.js"
import * as jsonSchema from "../src/internal/jsonSchema.js"
import * as policyFile from "../src/internal/policyFile.js"
import * as request from "../src/internal/request.js"
import * as terminal from "../src/internal/terminal.js"

const schemaOf = (json: unknown) => Either.getOrThrow(jsonSchema.toSchema(json))
const accepts = (json: unknown, value: unknown) => Either.isRight(Schema.decodeUnknownEither(schemaOf(json))(value))

describe("durations", () => {
  it("parses the short forms and refuses the rest", () => {
    const ms = (text: string) => Either.map(durations.parse(text), Duration.toMillis)
    expect(ms("500ms")).toEqual(Either.right(500))
    expect(ms("2s")).toEqual(Either.right(2_000))
    expect(ms("1.5m")).toEqual(Either.right(90_000))
    expect(ms("1h")).toEqual(Either.right(3_600_000))
    expect(ms("2 seconds")).toEqual(Either.right(2_000))
    expect(Either.isLeft(durations.parse("soon"))).toBe(true)
    expect(Either.isLeft(durations.parse("5 fortnights"))).toBe(true)
    expect(durations.format(1_500)).toBe("1.5s")
    expect(durations.format(42)).toBe("42ms")
  })

  it("format picks the unit after rounding: a value that rounds up to the next unit is shown in it", () => {
    expect(durations.format(999.4)).toBe("999ms")
    expect(durations.format(999.6)).toBe("1s")
    expect(durations.format(59_940)).toBe("59.9s")
    expect(durations.format(59_950)).toBe("1m")
    expect(durations.format(60_000)).toBe("1m")
  })
})

describe("durations that overflow", () => {
  it("digits past what a double holds are refused, not read as no limit (policy files too, and negative Effect forms)", () => {
    expect(durations.parse(`${"9".repeat(400)}ms`)).toEqual(
      Either.left(`invalid duration "${"9".repeat(400)}ms" (too large; "none" for no limit)`)
    )
    expect(Either.isLeft(durations.parse(`1${"0".repeat(305)}h`))).toBe(true)
    expect(Either.map(durations.parse("none"), Duration.isFinite)).toEqual(Either.right(false))
    for (const totalTimeout of [`${"9".repeat(320)}ms`, `${"9".repeat(320)} millis`, "-5 seconds"]) {
      expect([totalTimeout, Either.isLeft(policyFile.decode(JSON.stringify({ totalTimeout })))]).toEqual([
        totalTimeout,
        true
      ])
    }
    expect(Either.isLeft(policyFile.decode("{\"retry\":{\"baseDelay\":1e999}}"))).toBe(true)
    expect(millisOf(Either.getOrThrow(policyFile.decode("{\"totalTimeout\":\"5 days\"}")).totalTimeout)).toBe(
      432_000_000
    )
  })
})

describe("JSON Schema subset", () => {
  const item = {
    type: "object",
    properties: {
      id: { type: "integer", minimum: 1 },
      name: { type: "string", minLength: 1 },
      kind: { enum: ["a", "b"] },
      tags: { type: "array", items: { type: "string" }, maxItems: 2 },
      parent: { type: ["integer", "null"] }
    },
    required: ["id", "name"],
    additionalProperties: false
  }

  it("checks type, properties, required, items, enum, bounds and additionalProperties", () => {
    expect(accepts(item, { id: 1, name: "x" })).toBe(true)
    expect(accepts(item, { id: 1, name: "x", kind: "b", tags: ["t"], parent: null })).toBe(true)
    expect(accepts(item, { id: 1 })).toBe(false)
    expect(accepts(item, { id: 1.5, name: "x" })).toBe(false)
    expect(accepts(item, { id: 0, name: "x" })).toBe(false)
    expect(accepts(item, { id: 1, name: "" })).toBe(false)
    expect(accepts(item, { id: 1, name: "x", kind: "c" })).toBe(false)
    expect(accepts(item, { id: 1, name: "x", tags: [1] })).toBe(false)
    expect(accepts(item, { id: 1, name: "x", tags: ["a", "b", "c"] })).toBe(false)
    expect(accepts(item, { id: 1, name: "x", extra: true })).toBe(false)
    expect(accepts({ ...item, additionalProperties: true }, { id: 1, name: "x", extra: true })).toBe(true)
  })

  it("anyOf, const, nullable and boolean schemas", () => {
    expect(accepts({ anyOf: [{ type: "string" }, { const: 3 }] }, 3)).toBe(true)
    expect(accepts({ anyOf: [{ type: "string" }, { const: 3 }] }, 4)).toBe(false)
    expect(accepts({ type: "string", nullable: true }, null)).toBe(true)
    expect(accepts(true, { anything: 1 })).toBe(true)
    expect(accepts(false, 1)).toBe(false)
  })

  it("keywords mean what JSON Schema says: all apply, each to its kind of value", () => {
    // a required property without a schema must still be there
    expect(accepts({ required: ["a"] }, {})).toBe(false)
    expect(accepts({ type: "object", required: ["constructor"] }, {})).toBe(false)
    // additionalProperties is about the other keys only
    expect(accepts({ properties: { a: { type: "string" } }, additionalProperties: { type: "number" } }, { a: "x" }))
      .toBe(true)
    // characters, not UTF-16 units
    expect(accepts({ type: "string", maxLength: 1 }, "😀")).toBe(true)
    expect(accepts({ type: "integer" }, 2 ** 60)).toBe(true)
    expect(accepts({ type: "object" }, [1])).toBe(false)
    expect(accepts({ oneOf: [{ type: "number" }, { type: "integer" }] }, 1)).toBe(false)
    expect(accepts({ oneOf: [{ type: "number" }, { type: "integer" }] }, 1.5)).toBe(true)
    expect(accepts({ type: "string", enum: ["a", 1] }, 1)).toBe(false)
    expect(accepts({ minimum: 5 }, 3)).toBe(false)
    expect(accepts({ minimum: 5 }, "3")).toBe(true)
    expect(accepts({ properties: { a: { type: "string" } } }, 3)).toBe(true)
    expect(accepts({ type: "array", items: false }, [])).toBe(true)
    expect(accepts({ enum: [{ a: [1] }] }, { a: [1] })).toBe(true)
    // a valid body decodes to itself: `--json` prints what came
    expect(Schema.decodeUnknownSync(schemaOf({ type: "object", properties: { a: {} } }))({ a: 1, b: 2 })).toEqual({
      a: 1,
      b: 2
    })
  })

  it("a keyword value of the wrong kind is refused with its path, an invalid pattern included, never thrown", () => {
    expect(Either.getLeft(jsonSchema.toSchema({ type: "string", pattern: "(" })).pipe(Option.getOrThrow)).toMatch(
      /^\$\.pattern: not a valid regular expression/
    )
    expect(jsonSchema.toSchema({ properties: { a: { minLength: "2" } } })).toEqual(
      Either.left("$.properties.a.minLength: must be a non-negative integer")
    )
    expect(Either.isLeft(jsonSchema.toSchema({ type: "number", minimum: "5" }))).toBe(true)
    expect(Either.isLeft(jsonSchema.toSchema({ type: "number", exclusiveMinimum: true }))).toBe(true)
    expect(Either.isLeft(jsonSchema.toSchema({ items: [{ type: "string" }] }))).toBe(true)
  })

  it("refuses keywords it does not implement instead of ignoring them", () => {
    expect(jsonSchema.toSchema({ $ref: "#/defs/x" })).toEqual(Either.left("$.$ref: unsupported keyword \"$ref\""))
    expect(Either.isLeft(jsonSchema.toSchema({ type: "object", properties: { a: { allOf: [] } } }))).toBe(true)
    expect(Either.isLeft(jsonSchema.toSchema({ type: "decimal" }))).toBe(true)
  })
})

describe("policy files", () => {
  it("decodes durations and the pipeline fields", () => {
    const decoded = Either.getOrThrow(policyFile.decode(JSON.stringify({
      totalTimeout: "20s",
      attemptTimeout: 1500,
      retry: { maxAttempts: 4, baseDelay: "200 millis", retryOn: { ClientError: false } },
      circuitBreaker: false,
      hosts: { "api.test": { attemptTimeout: "3s" } }
    })))
    expect(millisOf(decoded.totalTimeout)).toBe(20_000)
    expect(millisOf(decoded.attemptTimeout)).toBe(1_500)
    expect(decoded.retry).toMatchObject({ maxAttempts: 4, retryOn: { ClientError: false } })
    expect(decoded.circuitBreaker).toBe(false)
  })

  it("a breaker's window is a duration or the last n calls; maxProbeDuration is a duration", () => {
    const decoded = Either.getOrThrow(policyFile.decode(JSON.stringify({
      circuitBreaker: { slidingWindow: { calls: 50 }, maxProbeDuration: "2s" },
      hosts: { "slow.test": { circuitBreaker: { slidingWindow: "2m" } } }
    })))
    expect(decoded.circuitBreaker).toEqual({ slidingWindow: { calls: 50 }, maxProbeDuration: Duration.seconds(2) })
    expect(decoded.hosts?.["slow.test"]?.circuitBreaker).toEqual({ slidingWindow: Duration.minutes(2) })
    expect(Either.isLeft(policyFile.decode("{\"circuitBreaker\":{\"slidingWindow\":{\"calls\":1.5}}}"))).toBe(true)
    // the count window stays as the file says it when --timeout stretches a time window
    const stretched = request.applyFlags(decoded, {
      retries: Option.none(),
      timeout: Option.some(Duration.minutes(1)),
      deadline: Option.none()
    })
    expect(stretched.circuitBreaker).toMatchObject({ slidingWindow: { calls: 50 } })
  })

  it("reports unknown keys, bad values and bad JSON", () => {
    expect(Either.getLeft(policyFile.decode("{\"retry\":{\"maxAtempts\":3}}")).pipe(Option.getOrThrow)).toContain(
      "maxAtempts"
    )
    expect(Either.isLeft(policyFile.decode("{\"totalTimeout\":\"soon\"}"))).toBe(true)
    expect(Either.getLeft(policyFile.decode("{")).pipe(Option.getOrThrow)).toContain("not valid JSON")
  })
})

const millisOf = (input: Duration.DurationInput | false | undefined) =>
  input === undefined || input === false ? undefined : Duration.toMillis(Duration.decode(input))

describe("flags on top of a policy", () => {
  const none = Option.none()
  it("--retries sets maxAttempts (0 turns retry off); --timeout and --deadline keep the policy valid", () => {
    expect(request.applyFlags({}, { retries: Option.some(4), timeout: none, deadline: none }).retry)
      .toEqual({ maxAttempts: 5 })
    expect(request.applyFlags({}, { retries: Option.some(0), timeout: none, deadline: none }).retry).toBe(false)
    const long = request.applyFlags({}, { retries: none, timeout: Option.some(Duration.minutes(1)), deadline: none })
    expect(millisOf(long.totalTimeout)).toBe(60_000)
    expect(long.circuitBreaker).toMatchObject({ slidingWindow: Duration.minutes(2) })
    const short = request.applyFlags({}, { retries: none, timeout: none, deadline: Option.some(Duration.seconds(2)) })
    expect(millisOf(short.attemptTimeout)).toBe(2_000)
  })
})

describe("flags that are valid on their own keep the policy valid", () => {
  const none = Option.none()
  const timeout = (duration: Duration.Duration, base: Parameters<typeof request.applyFlags>[0] = {}) =>
    request.applyFlags(base, { retries: none, timeout: Option.some(duration), deadline: none })

  it("a timeout too long for the default breaker's window leaves that breaker out; none leaves its window alone", () => {
    expect(timeout(Duration.hours(298)).circuitBreaker).toMatchObject({ slidingWindow: Duration.hours(596) })
    expect(timeout(Duration.hours(300)).circuitBreaker).toBe(false)
    expect(millisOf(timeout(Duration.hours(300)).totalTimeout)).toBe(Duration.toMillis(Duration.hours(300)))
    const unbounded = timeout(Duration.infinity)
    expect(unbounded.circuitBreaker).toBeUndefined()
    expect(unbounded.attemptTimeout).toEqual(Duration.infinity)
    expect(unbounded.totalTimeout).toEqual(Duration.infinity)
    // a breaker the file configures is kept, its window at the most a timer holds
    expect(timeout(Duration.hours(300), { circuitBreaker: { consecutiveFailures: 3 } }).circuitBreaker).toEqual({
      consecutiveFailures: 3,
      slidingWindow: Duration.millis(2 ** 31 - 1)
    })
  })
})

describe("headers as given", () => {
  it("a malformed header names its first word at most; repeated names are combined", () => {
    expect(request.parseHeader(" X-Trace :  abc ")).toEqual(Either.right(["X-Trace", "abc"]))
    expect(request.parseHeader("Authorization Bearer s3cr3t-value")).toEqual(
      Either.left("--header \"Authorization …\": expected NAME:VALUE (a name without spaces, then \":\")")
    )
    expect(Either.getLeft(request.parseHeader("s3cr3t-value")).pipe(Option.getOrThrow)).not.toContain("s3cr3t")
    expect(Either.getLeft(request.parseHeader(":s3cr3t-value")).pipe(Option.getOrThrow)).not.toContain("s3cr3t")
    expect(request.combineHeaders([["X-Tag", "one"], ["x-tag", "two"], ["Cookie", "a=1"], ["cookie", "b=2"]]))
      .toEqual([["X-Tag", "one, two"], ["Cookie", "a=1; b=2"]])
  })
})

describe("policy file problems", () => {
  const problem = (json: unknown) => Either.getLeft(policyFile.decode(JSON.stringify(json))).pipe(Option.getOrThrow)
  it("one `path: message` per problem, joined with '; ', never the schema's whole type", () => {
    expect(problem([])).toBe("policy: expected an object, actual []")
    expect(problem(null)).toBe("policy: expected an object, actual null")
    expect(problem({ circuitBreaker: true })).toBe("circuitBreaker: expected false or an object, actual true")
    expect(problem({ retry: { maxAttempts: 3.5 } })).toBe("retry.maxAttempts: expected an integer, actual 3.5")
    expect(problem({ totalTimeout: -5 })).toBe("totalTimeout: expected string or a non-negative number, actual -5")
    expect(problem({ hosts: { "a.test": { retry: { maxAttempts: "3" } } } }))
      .toBe("hosts[\"a.test\"].retry.maxAttempts: expected number, actual \"3\"")
    expect(problem({ hedging: {}, retry: { jitter: "wild" } })).toBe(
      "retry.jitter: expected \"none\" or \"full\" or \"equal\" or \"decorrelated\", actual \"wild\"; " +
        "hedging.delay: is missing"
    )
    const many = problem({ retry: { maxAttempts: "a", baseDelay: {}, maxDelay: {}, jitter: 1, budget: 2, retryOn: 3 } })
    expect(many).toMatch(/; and 1 more$/)
    expect(many).not.toContain("readonly")
  })
})

describe("the terminal", () => {
  it("colour only on a TTY and without NO_COLOR; escapes are stripped from the streams that may not carry it", () => {
    const tty = { isTTY: true }
    const pipe = { isTTY: false }
    expect(terminal.colorSupport({}, tty, pipe)).toEqual({ stdout: true, stderr: false })
    expect(terminal.colorSupport({ NO_COLOR: "1" }, tty, tty)).toEqual({ stdout: false, stderr: false })
    expect(terminal.colorSupport({ NO_COLOR: "" }, tty, tty)).toEqual({ stdout: true, stderr: true })
    expect(terminal.stripEscapes("\u001b[1m\u001b[36mUSAGE\u001b[39m\u001b[22m x")).toBe("USAGE x")
  })

  it("an interrupted run exits 128 + the signal's number; a defect 1; otherwise the command's code", () => {
    const interrupted = Exit.failCause(Cause.interrupt(FiberId.none))
    expect(terminal.exitCodeOf(interrupted, "SIGINT", 0)).toBe(130)
    expect(terminal.exitCodeOf(interrupted, "SIGTERM", 0)).toBe(143)
    expect(terminal.exitCodeOf(interrupted, undefined, 0)).toBe(130)
    expect(terminal.exitCodeOf(Exit.die(new Error("bug")), undefined, 0)).toBe(1)
    expect(terminal.exitCodeOf(Exit.void, undefined, 7)).toBe(7)
  })
})
