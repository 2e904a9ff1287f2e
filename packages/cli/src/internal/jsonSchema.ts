import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/** A schema that decodes a JSON value and needs no services. */
export type JsonValueSchema = Schema.Schema.AnyNoContext

const supportedKeywords = new Set([
  "$schema",
  "$id",
  "$comment",
  "title",
  "description",
  "examples",
  "default",
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "enum",
  "const",
  "anyOf",
  "oneOf",
  "nullable",
  "minLength",
  "maxLength",
  "pattern",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minItems",
  "maxItems",
  "format"
])

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const isLiteral = (u: unknown): u is string | number | boolean | null =>
  u === null || typeof u === "string" || typeof u === "number" || typeof u === "boolean"

class Unsupported extends Error {}

const fail = (path: string, detail: string): never => {
  throw new Unsupported(`${path}: ${detail}`)
}

const literalSchema = (path: string, values: ReadonlyArray<unknown>): JsonValueSchema => {
  if (values.length === 0) return fail(path, "empty enum")
  const literals = values.map((value) =>
    isLiteral(value) ? Schema.Literal(value) : fail(path, "enum values must be primitives")
  )
  return literals.length === 1 ? literals[0] : Schema.Union(...literals)
}

const stringSchema = (node: Readonly<Record<string, unknown>>): JsonValueSchema => {
  let schema: Schema.Schema<string> = Schema.String
  if (typeof node.minLength === "number") schema = schema.pipe(Schema.minLength(node.minLength))
  if (typeof node.maxLength === "number") schema = schema.pipe(Schema.maxLength(node.maxLength))
  if (typeof node.pattern === "string") schema = schema.pipe(Schema.pattern(new RegExp(node.pattern, "u")))
  return schema
}

const numberSchema = (node: Readonly<Record<string, unknown>>, integer: boolean): JsonValueSchema => {
  let schema: Schema.Schema<number> = integer ? Schema.Int : Schema.Number
  if (typeof node.minimum === "number") schema = schema.pipe(Schema.greaterThanOrEqualTo(node.minimum))
  if (typeof node.maximum === "number") schema = schema.pipe(Schema.lessThanOrEqualTo(node.maximum))
  if (typeof node.exclusiveMinimum === "number") schema = schema.pipe(Schema.greaterThan(node.exclusiveMinimum))
  if (typeof node.exclusiveMaximum === "number") schema = schema.pipe(Schema.lessThan(node.exclusiveMaximum))
  return schema
}

const arraySchema = (path: string, node: Readonly<Record<string, unknown>>): JsonValueSchema => {
  const items = node.items === undefined ? Schema.Unknown : convert(`${path}.items`, node.items)
  let schema: Schema.Schema<ReadonlyArray<any>, ReadonlyArray<any>> = Schema.Array(items)
  if (typeof node.minItems === "number") schema = schema.pipe(Schema.minItems(node.minItems))
  if (typeof node.maxItems === "number") schema = schema.pipe(Schema.maxItems(node.maxItems))
  return schema
}

const objectSchema = (path: string, node: Readonly<Record<string, unknown>>): JsonValueSchema => {
  const properties = node.properties === undefined ? {} : node.properties
  if (!isRecord(properties)) return fail(`${path}.properties`, "must be an object")
  const required = node.required === undefined ? [] : node.required
  if (!Array.isArray(required) || !required.every((key) => typeof key === "string")) {
    return fail(`${path}.required`, "must be an array of property names")
  }
  const fields: Record<string, JsonValueSchema | Schema.optional<JsonValueSchema>> = {}
  for (const [key, value] of Object.entries(properties)) {
    const schema = convert(`${path}.properties.${key}`, value)
    fields[key] = required.includes(key) ? schema : Schema.optional(schema)
  }
  for (const key of required) {
    if (!(key in fields)) fields[key] = Schema.Unknown
  }
  const additional = node.additionalProperties
  if (additional === undefined || additional === true || additional === false) {
    const struct = Schema.Struct(fields)
    // `additionalProperties: false` makes extra keys an error, as JSON Schema validators report them
    return additional === false ? struct.annotations({ parseOptions: { onExcessProperty: "error" } }) : struct
  }
  const rest = convert(`${path}.additionalProperties`, additional)
  return Schema.Struct(fields, Schema.Record({ key: Schema.String, value: rest }))
}

const typeSchema = (path: string, type: string, node: Readonly<Record<string, unknown>>): JsonValueSchema => {
  switch (type) {
    case "string":
      return stringSchema(node)
    case "number":
      return numberSchema(node, false)
    case "integer":
      return numberSchema(node, true)
    case "boolean":
      return Schema.Boolean
    case "null":
      return Schema.Null
    case "array":
      return arraySchema(path, node)
    case "object":
      return objectSchema(path, node)
    default:
      return fail(`${path}.type`, `unknown type "${type}"`)
  }
}

const union = (members: ReadonlyArray<JsonValueSchema>): JsonValueSchema =>
  members.length === 1 ? members[0] : Schema.Union(...members)

const convert = (path: string, node: unknown): JsonValueSchema => {
  if (node === true) return Schema.Unknown
  if (node === false) return Schema.Unknown.pipe(Schema.filter(() => "no value is allowed here"))
  if (!isRecord(node)) return fail(path, "a schema must be an object or a boolean")
  for (const key of Object.keys(node)) {
    if (!supportedKeywords.has(key)) fail(`${path}.${key}`, `unsupported keyword "${key}"`)
  }
  let schema: JsonValueSchema
  if (node.const !== undefined) {
    schema = literalSchema(path, [node.const])
  } else if (node.enum !== undefined) {
    if (!Array.isArray(node.enum)) return fail(`${path}.enum`, "must be an array")
    schema = literalSchema(path, node.enum)
  } else if (node.anyOf !== undefined || node.oneOf !== undefined) {
    const key = node.anyOf !== undefined ? "anyOf" : "oneOf"
    const members = node[key]
    if (!Array.isArray(members) || members.length === 0) return fail(`${path}.${key}`, "must be a non-empty array")
    schema = union(members.map((member, i) => convert(`${path}.${key}[${i}]`, member)))
  } else if (node.type === undefined) {
    // no type: infer from the keywords present, or accept anything
    schema = node.properties !== undefined || node.required !== undefined
      ? objectSchema(path, node)
      : node.items !== undefined
      ? arraySchema(path, node)
      : Schema.Unknown
  } else if (typeof node.type === "string") {
    schema = typeSchema(path, node.type, node)
  } else if (Array.isArray(node.type) && node.type.length > 0 && node.type.every((t) => typeof t === "string")) {
    schema = union(node.type.map((t: string) => typeSchema(path, t, node)))
  } else {
    return fail(`${path}.type`, "must be a type name or an array of them")
  }
  return node.nullable === true ? union([schema, Schema.Null]) : schema
}

/**
 * Builds an Effect Schema from a JSON Schema: `type` (one or several), `properties`, `required`,
 * `additionalProperties`, `items`, `enum`, `const`, `anyOf`/`oneOf`, `nullable`, and the string, number and array
 * bounds. Any other keyword (`$ref`, `allOf`, `if`...) is refused rather than silently ignored.
 */
export const toSchema = (jsonSchema: unknown): Either.Either<JsonValueSchema, string> => {
  try {
    return Either.right(convert("$", jsonSchema))
  } catch (error) {
    if (error instanceof Unsupported) return Either.left(error.message)
    throw error
  }
}
