import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as durations from "../src/internal/duration.js"
import * as jsonSchema from "../src/internal/jsonSchema.js"
import * as policyFile from "../src/internal/policyFile.js"
import * as request from "../src/internal/request.js"

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
