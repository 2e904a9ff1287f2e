import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/** A schema that decodes a JSON value and needs no services. */
export type JsonValueSchema = Schema.Schema.AnyNoContext

/** Keywords that only document a schema: accepted and not checked (`format` is an annotation in JSON Schema 2020-12). */
const annotations = new Set(["$schema", "$id", "$comment", "title", "description", "examples", "default", "format"])

const checked = new Set([
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
  "maxItems"
])

const typeNames = new Set(["string", "number", "integer", "boolean", "null", "array", "object"])

/** The most problems one value collects (a SchemaMismatch lists the first ones). */
const maxIssues = 100

interface Issue {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

/** Checks a value at `path`, adding what is wrong with it to `issues`. */
type Validator = (value: unknown, path: ReadonlyArray<PropertyKey>, issues: Array<Issue>) => void

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const kindOf = (u: unknown): string =>
  u === null ? "null" : Array.isArray(u) ? "array" : typeof u === "object" ? "object" : typeof u

const hasType = (type: string, u: unknown): boolean =>
  type === "integer" ? typeof u === "number" && Number.isInteger(u) : kindOf(u) === type

/** JSON equality: numbers by value, objects whatever their key order. */
const jsonEqual = (left: unknown, right: unknown): boolean => {
  if (kindOf(left) !== kindOf(right)) return false
  if (Array.isArray(left)) {
    const other = right as ReadonlyArray<unknown>
    return left.length === other.length && left.every((item, index) => jsonEqual(item, other[index]))
  }
  if (isRecord(left)) {
    const other = right as Readonly<Record<string, unknown>>
    const keys = Object.keys(left)
    return keys.length === Object.keys(other).length &&
      keys.every((key) => Object.hasOwn(other, key) && jsonEqual(left[key], other[key]))
  }
  return left === right
}

const show = (u: unknown): string => {
  const text = JSON.stringify(u) ?? String(u)
  return text.length <= 40 ? text : `${text.slice(0, 39)}…`
}

class Unsupported extends Error {}

const fail = (path: string, detail: string): never => {
  throw new Unsupported(`${path}: ${detail}`)
}

const count = (node: Readonly<Record<string, unknown>>, key: string, path: string): number | undefined => {
  const value = node[key]
  if (value === undefined) return undefined
  return typeof value === "number" && Number.isInteger(value) && value >= 0
    ? value
    : fail(`${path}.${key}`, "must be a non-negative integer")
}

const bound = (node: Readonly<Record<string, unknown>>, key: string, path: string): number | undefined => {
  const value = node[key]
  if (value === undefined) return undefined
  if (typeof value === "boolean") {
    return fail(`${path}.${key}`, "must be a number (the draft-04 boolean form is not supported)")
  }
  return typeof value === "number" && Number.isFinite(value) ? value : fail(`${path}.${key}`, "must be a number")
}

const schemaList = (node: Readonly<Record<string, unknown>>, key: string, path: string) => {
  const members = node[key]
  if (members === undefined) return undefined
  if (!Array.isArray(members) || members.length === 0) return fail(`${path}.${key}`, "must be a non-empty array")
  return members.map((member, index) => compile(`${path}.${key}[${index}]`, member))
}

const matches = (validator: Validator, value: unknown): boolean => {
  const issues: Array<Issue> = []
  validator(value, [], issues)
  return issues.length === 0
}

/**
 * Compiles one schema node. Every keyword present applies (as in JSON Schema, they are conjunctive), each to the kind
 * of value it is about: `minLength` to strings, `minimum` to numbers, `items` to arrays, `properties` to objects.
 */
const compile = (path: string, node: unknown): Validator => {
  if (node === true) return () => {}
  if (node === false) return (_, at, issues) => void issues.push({ path: at, message: "no value is allowed here" })
  if (!isRecord(node)) return fail(path, "a schema must be an object or a boolean")
  for (const key of Object.keys(node)) {
    if (!checked.has(key) && !annotations.has(key)) fail(`${path}.${key}`, `unsupported keyword "${key}"`)
  }

  let types: ReadonlyArray<string> | undefined
  if (node.type !== undefined) {
    const list = typeof node.type === "string" ? [node.type] : node.type
    if (!Array.isArray(list) || list.length === 0 || !list.every((type) => typeof type === "string")) {
      return fail(`${path}.type`, "must be a type name or an array of them")
    }
    for (const type of list) if (!typeNames.has(type)) fail(`${path}.type`, `unknown type "${type}"`)
    types = list
  }
  if (node.enum !== undefined && !Array.isArray(node.enum)) return fail(`${path}.enum`, "must be an array")
  if (Array.isArray(node.enum) && node.enum.length === 0) return fail(`${path}.enum`, "empty enum")
  const members: ReadonlyArray<unknown> | undefined = node.enum
  const hasConst = Object.hasOwn(node, "const")
  if (node.nullable !== undefined && typeof node.nullable !== "boolean") {
    return fail(`${path}.nullable`, "must be true or false")
  }

  const minLength = count(node, "minLength", path)
  const maxLength = count(node, "maxLength", path)
  let pattern: RegExp | undefined
  if (node.pattern !== undefined) {
    if (typeof node.pattern !== "string") return fail(`${path}.pattern`, "must be a string")
    try {
      pattern = new RegExp(node.pattern, "u")
    } catch (error) {
      return fail(
        `${path}.pattern`,
        `not a valid regular expression (${error instanceof Error ? error.message : error})`
      )
    }
  }
  const minimum = bound(node, "minimum", path)
  const maximum = bound(node, "maximum", path)
  const exclusiveMinimum = bound(node, "exclusiveMinimum", path)
  const exclusiveMaximum = bound(node, "exclusiveMaximum", path)
  const minItems = count(node, "minItems", path)
  const maxItems = count(node, "maxItems", path)
  if (Array.isArray(node.items)) return fail(`${path}.items`, "must be a schema (the array form is not supported)")
  const items = node.items === undefined ? undefined : compile(`${path}.items`, node.items)

  if (node.properties !== undefined && !isRecord(node.properties)) {
    return fail(`${path}.properties`, "must be an object")
  }
  const properties = new Map<string, Validator>()
  for (const [key, value] of Object.entries(node.properties ?? {})) {
    properties.set(key, compile(`${path}.properties.${key}`, value))
  }
  const required = node.required ?? []
  if (!Array.isArray(required) || !required.every((key) => typeof key === "string")) {
    return fail(`${path}.required`, "must be an array of property names")
  }
  const additional = node.additionalProperties === undefined
    ? undefined
    : compile(`${path}.additionalProperties`, node.additionalProperties)
  const anyOf = schemaList(node, "anyOf", path)
  const oneOf = schemaList(node, "oneOf", path)

  return (value, at, issues) => {
    if (node.nullable === true && value === null) return
    const problem = (message: string, where: ReadonlyArray<PropertyKey> = at) => {
      if (issues.length < maxIssues) issues.push({ path: where, message })
    }
    if (types !== undefined && !types.some((type) => hasType(type, value))) {
      return problem(`Expected ${types.join(" or ")}, actual ${show(value)}`)
    }
    if (hasConst && !jsonEqual(node.const, value)) return problem(`Expected ${show(node.const)}, actual ${show(value)}`)
    if (members !== undefined && !members.some((member) => jsonEqual(member, value))) {
      return problem(`Expected one of ${members.map(show).join(", ")}, actual ${show(value)}`)
    }
    if (typeof value === "string") {
      // JSON Schema counts characters (code points), not UTF-16 units
      const length = minLength === undefined && maxLength === undefined ? 0 : [...value].length
      if (minLength !== undefined && length < minLength) problem(`Expected at least ${minLength} characters`)
      if (maxLength !== undefined && length > maxLength) problem(`Expected at most ${maxLength} characters`)
      if (pattern !== undefined && !pattern.test(value)) problem(`Expected a string matching ${pattern.source}`)
    } else if (typeof value === "number") {
      if (minimum !== undefined && !(value >= minimum)) problem(`Expected a number >= ${minimum}, actual ${value}`)
      if (maximum !== undefined && !(value <= maximum)) problem(`Expected a number <= ${maximum}, actual ${value}`)
      if (exclusiveMinimum !== undefined && !(value > exclusiveMinimum)) {
        problem(`Expected a number > ${exclusiveMinimum}, actual ${value}`)
      }
      if (exclusiveMaximum !== undefined && !(value < exclusiveMaximum)) {
        problem(`Expected a number < ${exclusiveMaximum}, actual ${value}`)
      }
    } else if (Array.isArray(value)) {
      if (minItems !== undefined && value.length < minItems) problem(`Expected at least ${minItems} items`)
      if (maxItems !== undefined && value.length > maxItems) problem(`Expected at most ${maxItems} items`)
      if (items !== undefined) {
        for (let index = 0; index < value.length && issues.length < maxIssues; index++) {
          items(value[index], [...at, index], issues)
        }
      }
    } else if (isRecord(value)) {
      for (const [key, validator] of properties) {
        if (Object.hasOwn(value, key)) validator(value[key], [...at, key], issues)
      }
      for (const key of required) if (!Object.hasOwn(value, key)) problem("is missing", [...at, key])
      if (additional !== undefined) {
        for (const key of Object.keys(value)) {
          if (properties.has(key)) continue
          if (node.additionalProperties === false) problem("is unexpected", [...at, key])
          else additional(value[key], [...at, key], issues)
        }
      }
    }
    if (anyOf !== undefined && !anyOf.some((member) => matches(member, value))) {
      problem(`Expected a value matching one of the ${anyOf.length} anyOf schemas, actual ${show(value)}`)
    }
    if (oneOf !== undefined) {
      const matched = oneOf.filter((member) => matches(member, value)).length
      if (matched !== 1) {
        problem(`Expected a value matching exactly one of the ${oneOf.length} oneOf schemas (it matches ${matched})`)
      }
    }
  }
}

/**
 * Builds an Effect Schema from a JSON Schema: `type` (one or several), `properties`, `required`,
 * `additionalProperties`, `items`, `enum`, `const`, `anyOf`/`oneOf`, `nullable`, and the string, number and array
 * bounds, with JSON Schema's meaning (every keyword applies, each to its kind of value; `oneOf` means exactly one;
 * lengths count characters). Any other keyword (`$ref`, `allOf`, `if`...), a keyword whose value is not of its kind
 * and a `pattern` that is not a regular expression are refused rather than silently ignored. The schema decodes a
 * valid value to itself.
 */
export const toSchema = (jsonSchema: unknown): Either.Either<JsonValueSchema, string> => {
  let validate: Validator
  try {
    validate = compile("$", jsonSchema)
  } catch (error) {
    if (error instanceof Unsupported) return Either.left(error.message)
    throw error
  }
  return Either.right(Schema.Unknown.pipe(Schema.filter((value) => {
    const issues: Array<Issue> = []
    validate(value, [], issues)
    return issues.length === 0 ? true : issues
  })))
}
