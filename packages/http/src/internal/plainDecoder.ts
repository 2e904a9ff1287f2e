import * as Option from "effect/Option"
import * as AST from "effect/SchemaAST"

/**
 * What a plain decoder answers when it cannot vouch for the input: the schema's own decoder then decides, and
 * reports its own issues.
 *
 * @internal
 */
export const unsure: unique symbol = Symbol.for("@sturdy/http/PlainDecoder/unsure")

/** @internal */
export type Unsure = typeof unsure

/**
 * A decoder for the schemas a JSON response is usually checked against: structs, arrays and tuples of strings,
 * numbers, booleans, literals and their refinements. It answers with exactly what `Schema.decodeUnknown` succeeds
 * with, or `unsure`; it never fails in its own words.
 *
 * `Schema.decodeUnknown` spends, per property, an `Either`, pointers for issues it may never report and a sort of
 * the results: about 2.5 KB and several µs for a five-field document. This spends the output and nothing else.
 *
 * @internal
 */
export type PlainDecoder = (input: unknown) => unknown

// Which inputs a node accepts at all: members of a union that accept disjoint inputs cannot compete, so the
// union's own choice among them does not matter.
type Domain = "primitive" | "record" | "array" | "any"

interface Compiled {
  readonly decode: PlainDecoder
  // returns its input itself when it accepts it
  readonly identity: boolean
  readonly domain: Domain
}

const identityOf = (domain: Domain, accepts: (input: unknown) => boolean): Compiled => ({
  decode: (input) => accepts(input) ? input : unsure,
  identity: true,
  domain
})

const acceptAll: Compiled = { decode: (input) => input, identity: true, domain: "any" }
const string = identityOf("primitive", (input) => typeof input === "string")
const number = identityOf("primitive", (input) => typeof input === "number")
const boolean = identityOf("primitive", (input) => typeof input === "boolean")
const undefinedOnly = identityOf("primitive", (input) => input === undefined)

// whether any of `decoders` accepts `input` (a loop: a callback would be a closure per decode)
const anyAccepts = (decoders: ReadonlyArray<PlainDecoder>, input: unknown): boolean => {
  for (let index = 0; index < decoders.length; index++) {
    if (decoders[index](input) !== unsure) return true
  }
  return false
}

const isRecord = (input: unknown): input is Record<PropertyKey, unknown> =>
  typeof input === "object" && input !== null && !Array.isArray(input)

const hasOwn = Object.prototype.hasOwnProperty

/**
 * The plain decoder of `ast`, or `undefined` when any part of it transforms, suspends, declares, carries its own
 * parse options or is otherwise not plain data: such a schema is decoded by `Schema.decodeUnknown` alone.
 *
 * @internal
 */
export const compile = (ast: AST.AST): PlainDecoder | undefined => compileNode(ast)?.decode

const compileNode = (ast: AST.AST): Compiled | undefined => {
  // parse options of its own (`onExcessProperty`, `exact`, ...) change what the node accepts and returns
  if (Option.isSome(AST.getParseOptionsAnnotation(ast))) return undefined
  switch (ast._tag) {
    case "StringKeyword":
      return string
    case "NumberKeyword":
      return number
    case "BooleanKeyword":
      return boolean
    case "UndefinedKeyword":
      return undefinedOnly
    case "UnknownKeyword":
    case "AnyKeyword":
      return acceptAll
    case "Literal": {
      const literal = ast.literal
      return identityOf("primitive", (input) => input === literal)
    }
    case "Enums": {
      const values = ast.enums.map(([, value]) => value)
      return identityOf("primitive", (input) => {
        for (let index = 0; index < values.length; index++) {
          if (values[index] === input) return true
        }
        return false
      })
    }
    case "Refinement":
      return refinement(ast)
    case "TupleType":
      return tuple(ast)
    case "TypeLiteral":
      return struct(ast)
    case "Union":
      return union(ast)
    default:
      return undefined
  }
}

const refinement = (ast: AST.Refinement): Compiled | undefined => {
  const from = compileNode(ast.from)
  if (from === undefined) return undefined
  const decodeFrom = from.decode
  // the filter sees what `from` decoded, with the options `Schema.decodeUnknown` gives it when none are passed
  return {
    decode: (input) => {
      const decoded = decodeFrom(input)
      return decoded !== unsure && Option.isNone(ast.filter(decoded, AST.defaultParseOption, ast)) ? decoded : unsure
    },
    identity: from.identity,
    domain: from.domain
  }
}

const tuple = (ast: AST.TupleType): Compiled | undefined => {
  if (ast.rest.length > 1 || ast.elements.some((element) => element.isOptional)) return undefined
  const elements: Array<PlainDecoder> = []
  for (const element of ast.elements) {
    const compiled = compileNode(element.type)
    if (compiled === undefined) return undefined
    elements.push(compiled.decode)
  }
  const restCompiled = ast.rest.length === 1 ? compileNode(ast.rest[0].type) : undefined
  if (ast.rest.length === 1 && restCompiled === undefined) return undefined
  const rest = restCompiled?.decode
  const fixed = elements.length
  return {
    decode: (input) => {
      if (!Array.isArray(input)) return unsure
      const length = input.length
      if (length < fixed || (rest === undefined && length !== fixed)) return unsure
      const output = new Array<unknown>(length)
      for (let index = 0; index < length; index++) {
        const decoded = (index < fixed ? elements[index] : rest!)(input[index])
        if (decoded === unsure) return unsure
        output[index] = decoded
      }
      return output
    },
    identity: false,
    domain: "array"
  }
}

// `{}` is what the parser takes it for: any value but `null` and `undefined`, returned as it is
const nonNullable = identityOf("any", (input) => input !== null && input !== undefined)

const struct = (ast: AST.TypeLiteral): Compiled | undefined => {
  if (ast.indexSignatures.length > 0) return undefined
  if (ast.propertySignatures.length === 0) return nonNullable
  const names: Array<string> = []
  const optional: Array<boolean> = []
  const decoders: Array<PlainDecoder> = []
  for (const signature of ast.propertySignatures) {
    if (typeof signature.name !== "string") return undefined
    const compiled = compileNode(signature.type)
    if (compiled === undefined) return undefined
    names.push(signature.name)
    optional.push(signature.isOptional)
    decoders.push(compiled.decode)
  }
  const count = names.length
  return {
    // as `Schema.decodeUnknown` does by default: declared properties in declared order, others dropped; a missing
    // required property is decoded from what reading it gives (`undefined`, or an inherited value)
    decode: (input) => {
      if (!isRecord(input)) return unsure
      const output: Record<string, unknown> = {}
      for (let index = 0; index < count; index++) {
        const name = names[index]
        if (optional[index] && !hasOwn.call(input, name)) continue
        const decoded = decoders[index](input[name])
        if (decoded === unsure) return unsure
        output[name] = decoded
      }
      return output
    },
    identity: false,
    domain: "record"
  }
}

const union = (ast: AST.Union): Compiled | undefined => {
  const members: Array<Compiled> = []
  for (const type of ast.types) {
    const compiled = compileNode(type)
    if (compiled === undefined) return undefined
    members.push(compiled)
  }
  if (members.every((member) => member.identity)) {
    const decoders = members.map((member) => member.decode)
    return {
      decode: (input) => anyAccepts(decoders, input) ? input : unsure,
      identity: true,
      domain: members.some((member) => member.domain !== "primitive") ? "any" : "primitive"
    }
  }
  // Members that decode into new values are told apart by the kind of input alone (a record, an array, a primitive),
  // so at most one member accepts any input and the union's order of trying them cannot matter.
  const records = members.filter((member) => member.domain === "record")
  const arrays = members.filter((member) => member.domain === "array")
  const others = members.filter((member) => member.domain !== "record" && member.domain !== "array")
  if (records.length > 1 || arrays.length > 1 || others.some((member) => member.domain !== "primitive")) {
    return undefined
  }
  const record = records[0]?.decode
  const array = arrays[0]?.decode
  const primitives = others.map((member) => member.decode)
  return {
    decode: (input) => {
      if (isRecord(input)) return record === undefined ? unsure : record(input)
      if (Array.isArray(input)) return array === undefined ? unsure : array(input)
      return anyAccepts(primitives, input) ? input : unsure
    },
    identity: false,
    domain: "any"
  }
}
