/**
 * The JSON Schema model shared by the property tests of `--schema`: a reference validator written from JSON Schema
 * 2020-12 for the subset the CLI documents, and generators of schemas within that subset and of JSON values that
 * exercise them.
 */
import * as fc from "effect/FastCheck"

export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const kindOfJson = (value: unknown) =>
  value === null ? "null" : Array.isArray(value) ? "array" : typeof value === "object" ? "object" : typeof value
export const jsonEqual = (left: unknown, right: unknown): boolean => {
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
export const referenceValid = (schema: unknown, value: unknown): boolean => {
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

export const { schema: schemaArbitrary } = fc.letrec<{ schema: unknown; node: Record<string, unknown> }>((tie) => ({
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

export const { value: jsonArbitrary } = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom<Json>("", "a", "ab", "abc", "b", "ba", "1", "😀", "a😀", "é"),
    fc.constantFrom<Json>(-1, 0, 0.5, 1, 2, 2.5, 3, 2 ** 60, -(2 ** 60)),
    fc.constantFrom<Json>(true, false, null),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...keys), tie("value"), { maxKeys: 3 })
  )
}))
