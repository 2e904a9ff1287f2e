import * as Schema from "effect/Schema"

/**
 * The document the benchmark server returns: 54 bytes of JSON.
 */
export const body = JSON.stringify({ id: 1, name: "api", tags: ["a", "b"], ok: true, n: 4 })

/**
 * The schema the Effect clients decode with.
 */
export const Payload = Schema.Struct({
  id: Schema.Number,
  name: Schema.String,
  tags: Schema.Array(Schema.String),
  ok: Schema.Boolean,
  n: Schema.Number
})

/**
 * The decoded document.
 */
export type Payload = typeof Payload.Type

/**
 * The check the non-Effect clients apply: the same shape `Payload` accepts, written by hand as a careful user of a
 * plain client would, so every contender validates what it received.
 */
export const validate = (value: unknown): Payload => {
  if (typeof value !== "object" || value === null) throw new TypeError("payload: not an object")
  const record = value as Record<string, unknown>
  const tags = record.tags
  if (
    typeof record.id !== "number" || typeof record.name !== "string" || typeof record.ok !== "boolean" ||
    typeof record.n !== "number" || !Array.isArray(tags) || !tags.every((tag) => typeof tag === "string")
  ) {
    throw new TypeError("payload: unexpected shape")
  }
  return { id: record.id, name: record.name, tags, ok: record.ok, n: record.n }
}
