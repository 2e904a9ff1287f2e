/**
 * Property tests of `--schema FILE` (a JSON Schema turned into an Effect Schema) and `sturdy schedule`.
 *
 * Models:
 * - `--schema FILE` (JSON Schema): a reference validator written from JSON Schema 2020-12 for the subset the README
 *   lists (`type`, `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`, `anyOf`, `oneOf`,
 *   string, number and array bounds) plus OpenAPI's `nullable` (null accepted, code): every keyword present applies,
 *   each to its kind of value, lengths count code points, `oneOf` means exactly one. A valid value decodes to itself.
 *   Any other keyword, and a keyword value of the wrong kind (an invalid `pattern` included), is refused with the
 *   keyword's path, never thrown.
 * - `sturdy schedule`: each row's envelope, min, median (mean of the middle two for an even count) and max, and the
 *   running sum of medians, equal `ScheduleKit.delaysSync` over the same seeds of `Backoff.exponential` with the
 *   same options and `Backoff.envelope`, formatted as the command formats durations; options out of their documented
 *   ranges (`--attempts` 2..100, `--seeds` 1..100000 (code), `--factor` finite and >= 1, finite `--base-delay`) are
 *   usage errors (2).
 *
 * Left out: `format` (an annotation in 2020-12, accepted and not checked); `.ts`/`.js` schema modules; `--plot`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Backoff } from "@sturdy/policy"
import { ScheduleKit } from "@sturdy/testing"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as durations from "../src/internal/duration.js"
import * as jsonSchema from "../src/internal/jsonSchema.js"
import { check, sturdy } from "./utils.js"

// -----------------------------------------------------------------------------
// --schema FILE (JSON Schema)
// -----------------------------------------------------------------------------

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const kindOfJson = (value: unknown) =>
  value === null ? "null" : Array.isArray(value) ? "array" : typeof value === "object" ? "object" : typeof value
const jsonEqual = (left: unknown, right: unknown): boolean => {
  if (kindOfJson(left) !== kindOfJson(right)) return false
  if (Array.isArray(left)) {
    const other = right as ReadonlyArray<unknown>
    return left.length === other.length && left.every((item, index) => jsonEqual(item, other[index]))
  }
  if (typeof left === "object" && left !== null) {
    const a = left as Record<string, unknown>
    const b = right as Record<string, unknown>
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]))
  }
  return left === right
}
const typeMatches = (type: string, value: unknown) =>
  type === "integer"
    ? typeof value === "number" && Number.isInteger(value)
    : kindOfJson(value) === type

/**
 * The reference validator, from JSON Schema 2020-12 (§6 validation keywords, §10 applicators) for the subset:
 * every keyword present applies (they are conjunctive), each only to the kind of value it is about; string lengths
 * count code points; `nullable: true` (OpenAPI) also accepts null.
 */
const referenceValid = (schema: unknown, value: unknown): boolean => {
  if (schema === true) return true
  if (schema === false) return false
  const s = schema as Record<string, any>
  if (s.nullable === true && value === null) return true
  if (s.type !== undefined) {
    const types: ReadonlyArray<string> = Array.isArray(s.type) ? s.type : [s.type]
    if (!types.some((type) => typeMatches(type, value))) return false
  }
  if (Object.hasOwn(s, "const") && !jsonEqual(s.const, value)) return false
  if (s.enum !== undefined && !s.enum.some((member: unknown) => jsonEqual(member, value))) return false
  if (typeof value === "string") {
    const length = [...value].length
    if (s.minLength !== undefined && length < s.minLength) return false
    if (s.maxLength !== undefined && length > s.maxLength) return false
    if (s.pattern !== undefined && !new RegExp(s.pattern, "u").test(value)) return false
  }
  if (typeof value === "number") {
    if (s.minimum !== undefined && !(value >= s.minimum)) return false
    if (s.maximum !== undefined && !(value <= s.maximum)) return false
    if (s.exclusiveMinimum !== undefined && !(value > s.exclusiveMinimum)) return false
    if (s.exclusiveMaximum !== undefined && !(value < s.exclusiveMaximum)) return false
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) return false
    if (s.maxItems !== undefined && value.length > s.maxItems) return false
    if (s.items !== undefined && !value.every((item) => referenceValid(s.items, item))) return false
  }
  if (kindOfJson(value) === "object") {
    const object = value as Record<string, unknown>
    const properties: Record<string, unknown> = s.properties ?? {}
    for (const [key, property] of Object.entries(properties)) {
      if (Object.hasOwn(object, key) && !referenceValid(property, object[key])) return false
    }
    for (const key of s.required ?? []) if (!Object.hasOwn(object, key)) return false
    if (s.additionalProperties !== undefined) {
      for (const key of Object.keys(object)) {
        if (!Object.hasOwn(properties, key) && !referenceValid(s.additionalProperties, object[key])) return false
      }
    }
  }
  if (s.anyOf !== undefined && !s.anyOf.some((member: unknown) => referenceValid(member, value))) return false
  if (s.oneOf !== undefined && s.oneOf.filter((member: unknown) => referenceValid(member, value)).length !== 1) {
    return false
  }
  return true
}

const keys = ["a", "b", "c"]
const literal = fc.constantFrom<Json>("a", "b", "", 0, 1, 2.5, true, false, null)
const bound = fc.constantFrom(0, 1, 2, 2.5)
const count = fc.constantFrom(0, 1, 2)
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined })
const defined = (record: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined))

const stringKeywords = fc.record({
  minLength: optional(count),
  maxLength: optional(count),
  pattern: optional(fc.constantFrom("^a", "b$", "^[ab]*$", "\\d", "^.$", "^\\p{L}+$"))
}).map(defined)
const numberKeywords = fc.record({
  minimum: optional(bound),
  maximum: optional(bound),
  exclusiveMinimum: optional(bound),
  exclusiveMaximum: optional(bound)
}).map(defined)
const arrayKeywords = fc.record({ minItems: optional(count), maxItems: optional(count) }).map(defined)
const typeName = fc.constantFrom("string", "number", "integer", "boolean", "null", "array", "object")

const { schema: schemaArbitrary } = fc.letrec<{ schema: unknown; node: Record<string, unknown> }>((tie) => ({
  schema: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 8, arbitrary: tie("node") }
  ),
  node: fc.tuple(
    fc.oneof(
      // a typed node with its kind's keywords
      fc.tuple(typeName, stringKeywords, numberKeywords, arrayKeywords).chain(([type, strings, numbers, arrays]) => {
        switch (type) {
          case "string":
            return fc.constant({ type, ...strings })
          case "number":
          case "integer":
            return fc.constant({ type, ...numbers })
          case "array":
            return fc.record({ items: optional(tie("schema")) }).map((items) => ({
              type,
              ...defined(items),
              ...arrays
            }))
          case "object":
            return fc.record({
              properties: optional(fc.dictionary(fc.constantFrom(...keys), tie("schema"), { maxKeys: 3 })),
              required: optional(fc.subarray(keys)),
              additionalProperties: optional(tie("schema"))
            }).map((fields) => ({ type, ...defined(fields) }))
          default:
            return fc.constant({ type })
        }
      }),
      // several types, each with its keywords
      fc.tuple(fc.uniqueArray(typeName, { minLength: 1, maxLength: 3 }), stringKeywords, numberKeywords).map((
        [types, strings, numbers]
      ) => ({ type: types, ...strings, ...numbers })),
      // no type: the keywords apply to the values of their kind only
      fc.tuple(stringKeywords, numberKeywords, arrayKeywords).map(([a, b, c]) => ({ ...a, ...b, ...c })),
      fc.record({
        properties: fc.dictionary(fc.constantFrom(...keys), tie("schema"), { maxKeys: 2 }),
        required: optional(fc.subarray(keys))
      }).map(defined),
      fc.record({ items: tie("schema") }),
      fc.uniqueArray(literal, { minLength: 1, maxLength: 4, comparator: jsonEqual }).map((members) => ({
        enum: members
      })),
      literal.map((value) => ({ const: value })),
      fc.array(tie("schema"), { minLength: 1, maxLength: 3 }).map((members) => ({ anyOf: members })),
      fc.array(tie("schema"), { minLength: 1, maxLength: 3 }).map((members) => ({ oneOf: members }))
    ),
    // siblings: a type, an enum or a nullable next to the rest
    fc.record({
      type: optional(typeName),
      enum: optional(fc.uniqueArray(literal, { minLength: 1, maxLength: 3, comparator: jsonEqual })),
      nullable: optional(fc.boolean()),
      description: optional(fc.constant("documentation only"))
    }, { requiredKeys: [] }).map(defined),
    fc.nat(3)
  ).map(([node, siblings, pick]) => pick === 0 ? { ...siblings, ...node } : node)
}))

const { value: jsonArbitrary } = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom<Json>("", "a", "ab", "abc", "b", "ba", "1", "😀", "a😀", "é"),
    fc.constantFrom<Json>(-1, 0, 0.5, 1, 2, 2.5, 3, 2 ** 60, -(2 ** 60)),
    fc.constantFrom<Json>(true, false, null),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...keys), tie("value"), { maxKeys: 3 })
  )
}))

const verdict = (schema: unknown, value: unknown) => {
  const converted = jsonSchema.toSchema(schema)
  if (Either.isLeft(converted)) return { refused: converted.left }
  const decoded = Schema.decodeUnknownEither(converted.right)(value)
  return Either.isRight(decoded) ? { valid: true, decoded: decoded.right } : { valid: false }
}

describe("--schema FILE against a reference JSON Schema validator", () => {
  it("every schema of the subset is accepted, and decodes a value iff the reference validator accepts it", () => {
    fc.assert(
      fc.property(schemaArbitrary, fc.array(jsonArbitrary, { minLength: 1, maxLength: 6 }), (schema, values) => {
        for (const value of values) {
          const result = verdict(schema, value)
          expect([schema, value, result.refused]).toEqual([schema, value, undefined])
          expect([schema, value, result.valid]).toEqual([schema, value, referenceValid(schema, value)])
          // a valid body is the body: nothing dropped, nothing added (`--json` prints it)
          if (result.valid) expect(result.decoded).toEqual(value)
        }
      }),
      { seed: 4401, numRuns: 3_000 }
    )
  })
})

/** Puts `key: value` into the node at a random depth of `schema` (or at its root), and names that node's path. */
const plant = (schema: unknown, key: string, value: unknown, depth: number): { schema: unknown; path: string } => {
  if (depth > 0 && typeof schema === "object" && schema !== null) {
    const node = schema as Record<string, any>
    if (node.items !== undefined && typeof node.items === "object") {
      const inner = plant(node.items, key, value, depth - 1)
      return { schema: { ...node, items: inner.schema }, path: `$.items${inner.path.slice(1)}` }
    }
    const [first] = Object.keys(node.properties ?? {})
    if (first !== undefined && typeof node.properties[first] === "object" && /^[a-z]+$/.test(first)) {
      const inner = plant(node.properties[first], key, value, depth - 1)
      return {
        schema: { ...node, properties: { ...node.properties, [first]: inner.schema } },
        path: `$.properties.${first}${inner.path.slice(1)}`
      }
    }
  }
  const base = typeof schema === "object" && schema !== null ? schema : {}
  return { schema: { ...base, [key]: value }, path: "$" }
}

describe("--schema FILE refuses what it does not implement", () => {
  const unsupported = fc.constantFrom(
    "$ref",
    "$defs",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "uniqueItems",
    "multipleOf",
    "contains",
    "prefixItems",
    "minProperties",
    "maxProperties",
    "unevaluatedProperties",
    "Type",
    "minlength"
  )
  const illTyped = fc.constantFrom<readonly [string, unknown]>(
    ["minLength", "2"],
    ["minLength", -1],
    ["maxItems", 1.5],
    ["minimum", "5"],
    ["exclusiveMinimum", true],
    ["pattern", "("],
    ["pattern", "[z-a]"],
    ["pattern", 3],
    ["type", "decimal"],
    ["type", []],
    ["required", "a"],
    ["enum", []],
    ["anyOf", []],
    ["items", [{ type: "string" }]],
    ["properties", []],
    ["nullable", "yes"]
  )

  it("an unsupported keyword anywhere is refused by name and path; so is a keyword value of the wrong kind", () => {
    fc.assert(
      fc.property(
        schemaArbitrary.filter((schema) => typeof schema === "object"),
        fc.oneof(unsupported.map((key) => [key, {}] as const), illTyped),
        fc.nat(3),
        (schema, [key, value], depth) => {
          const planted = plant(schema, key, value, depth)
          // nothing throws: the answer is a refusal naming where
          const converted = jsonSchema.toSchema(planted.schema)
          expect([planted.schema, Either.isLeft(converted)]).toEqual([planted.schema, true])
          const message = Either.isLeft(converted) ? converted.left : ""
          // the planted keyword is refused, or one found first in the same walk; each names its path and keyword
          expect(message).toMatch(/^\$[^:]*: /)
          if (!/unsupported keyword/.test(message) || message.includes(`"${key}"`)) {
            expect(message.startsWith(`${planted.path}.${key}`) || message.startsWith(planted.path)).toBe(true)
          }
        }
      ),
      { seed: 4402, numRuns: 1_500 }
    )
  })
})

// -----------------------------------------------------------------------------
// sturdy schedule
// -----------------------------------------------------------------------------

const tableRows = (stdout: string) =>
  stdout.split("\n").filter((line) => /^\s+\d+\s+#\d+/.test(line)).map((line) => line.trim().split(/\s+/))

const median = (sorted: ReadonlyArray<number>) => {
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

describe("sturdy schedule against ScheduleKit and Backoff", () => {
  const options = fc.record({
    baseDelay: fc.constantFrom(0, 1, 10, 100, 250, 1_000),
    factor: fc.constantFrom(1, 1.5, 2, 3),
    maxDelay: fc.constantFrom(50, 1_000, 10_000, 90_000),
    jitter: fc.constantFrom("none" as const, "full" as const, "equal" as const, "decorrelated" as const),
    attempts: fc.integer({ min: 2, max: 8 }),
    seed: fc.integer({ min: -1_000, max: 1_000_000 }),
    seeds: fc.integer({ min: 1, max: 6 })
  })

  it.effect("each row's envelope, min, median, max and running median equal the same options' delays", () =>
    check(
      options,
      (o) =>
        Effect.gen(function*() {
          const ran = yield* sturdy(
            "schedule",
            "--base-delay",
            `${o.baseDelay}ms`,
            "--factor",
            String(o.factor),
            "--max-delay",
            `${o.maxDelay}ms`,
            "--jitter",
            o.jitter,
            "--attempts",
            String(o.attempts),
            "--seed",
            String(o.seed),
            "--seeds",
            String(o.seeds)
          )
          const backoff: Backoff.Options = {
            baseDelay: Duration.millis(o.baseDelay),
            factor: o.factor,
            maxDelay: Duration.millis(o.maxDelay),
            jitter: o.jitter,
            maxAttempts: o.attempts
          }
          if (o.baseDelay > o.maxDelay) {
            // Backoff's own refusal, as a usage error
            const refused = Either.try(() => Backoff.exponential(backoff))
            expect([o, ran.code, Either.isLeft(refused)]).toEqual([
              o,
              Either.isLeft(refused) ? 2 : 0,
              Either.isLeft(refused)
            ])
            if (Either.isLeft(refused)) return
          }
          expect([o, ran.code, ran.stderr]).toEqual([o, 0, ""])
          const perSeed = Array.from(
            { length: o.seeds },
            (_, i) =>
              ScheduleKit.delaysSync(Backoff.exponential(backoff), { attempts: o.attempts - 1, seed: o.seed + i })
          )
          const rows = tableRows(ran.stdout)
          expect(rows).toHaveLength(o.attempts - 1)
          let elapsed = 0
          for (const [index, row] of rows.entries()) {
            const values = perSeed.map((delays) => delays[index]).sort((a, b) => a - b)
            const envelope = Backoff.envelope(backoff, index)
            elapsed += median(values)
            const f = durations.format
            expect([o, row]).toEqual([o, [
              String(index + 1),
              `#${index + 2}`,
              `${f(Duration.toMillis(envelope.lower))}–${f(Duration.toMillis(envelope.upper))}`,
              f(values[0]),
              f(median(values)),
              f(values.at(-1)!),
              f(elapsed)
            ]])
            // the delays stay inside the envelope
            expect(values[0]).toBeGreaterThanOrEqual(Duration.toMillis(envelope.lower))
            expect(values.at(-1)!).toBeLessThanOrEqual(Duration.toMillis(envelope.upper))
          }
          expect(ran.stdout.split("\n")[0]).toContain(
            o.seeds === 1 ? `(seed ${o.seed})` : `(${o.seeds} seeds from ${o.seed})`
          )
        }),
      { seed: 4501, numRuns: 60 }
    ))

  it.effect("option validation: attempts 2..100, seeds 1..100000, factor a finite number >= 1, finite delays", () =>
    check(
      fc.record({
        attempts: fc.integer({ min: -3, max: 130 }),
        seeds: fc.option(fc.integer({ min: -3, max: 100_010 }), { nil: undefined }),
        factor: fc.constantFrom("1", "2", "0.99", "0", "-2", "NaN", "Infinity", "1e3", "two"),
        baseDelay: fc.constantFrom("0ms", "100ms", "none", "-1s", "1s")
      }),
      (o) =>
        Effect.gen(function*() {
          const args = ["schedule", "--attempts", String(o.attempts), "--factor", o.factor, "--base-delay", o.baseDelay]
          // a large run is cut short by checking it with one seed: the count is what is checked
          args.push("--seeds", String(o.seeds ?? 1), "--seed", "1")
          const factor = Number(o.factor)
          const ok = o.attempts >= 2 && o.attempts <= 100 &&
            (o.seeds ?? 1) >= 1 && (o.seeds ?? 1) <= 100_000 &&
            o.factor !== "two" && Number.isFinite(factor) && factor >= 1 &&
            o.baseDelay !== "none" && o.baseDelay !== "-1s"
          if (ok && (o.seeds ?? 1) * o.attempts > 20_000) return
          const ran = yield* sturdy(...args)
          expect([o, ran.code]).toEqual([o, ok ? 0 : 2])
          if (!ok) expect(ran.stdout).toBe("")
        }),
      { seed: 4502, numRuns: 80 }
    ))
})
