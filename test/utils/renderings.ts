import { Cause, Inspectable } from "effect"
import * as Util from "node:util"

/** `JSON.stringify` that never throws (a bigint, a cycle): the text, or the error's. */
export const safeJson = (value: unknown): string => {
  try {
    return JSON.stringify(value, (_, v) => typeof v === "bigint" ? String(v) : v) ?? ""
  } catch (error) {
    return String(error)
  }
}

/**
 * Every text a user, a logger or a tracer could make of a value: `util.inspect`, Effect's `Inspectable.format`, JSON,
 * and for an error its message, `toString`, stack, `toJSON` and the causes it would be printed in; an object's fields
 * one by one too.
 */
export const renderings = (value: unknown): ReadonlyArray<string> => {
  const out = [
    Util.inspect(value, { depth: 20, getters: true, showHidden: false }),
    Inspectable.format(value),
    safeJson(value)
  ]
  if (value instanceof Error) {
    out.push(value.message, String(value), value.toString(), value.stack ?? "")
    out.push(Cause.pretty(Cause.fail(value)), String(Cause.fail(value)), Cause.pretty(Cause.die(value)))
    if ("toJSON" in value && typeof value.toJSON === "function") out.push(safeJson(value.toJSON()))
  }
  if (typeof value === "object" && value !== null) {
    for (const field of Object.values(value)) out.push(Util.inspect(field, { depth: 20 }), safeJson(field))
  }
  return out
}
