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
import { jsonArbitrary, referenceValid, schemaArbitrary } from "./jsonSchemaModel.js"
import { check, sturdy } from "./utils.js"

// -----------------------------------------------------------------------------
// --schema FILE (JSON Schema)
// -----------------------------------------------------------------------------

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
  const unsupportedKeys = [
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
  ]
  const unsupported = fc.constantFrom(...unsupportedKeys)
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
          // the planted keyword is the one refused (everything else in the schema is supported), at its path
          expect([planted.schema, message]).toEqual([planted.schema, expect.stringMatching(/^\$[^:]*: /)])
          expect([planted.schema, message.startsWith(`${planted.path}.${key}: `)]).toEqual([planted.schema, true])
          if (unsupportedKeys.includes(key)) expect(message).toContain(`unsupported keyword "${key}"`)
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
