import * as Predicate from "effect/Predicate"

/**
 * A user's predicate decides at once. An `async` one answers a Promise, which would read as `true` whatever it
 * resolves to (retry every failure, count every failure): a `TypeError` naming the option instead, which the caller
 * gets as a defect.
 * @internal
 */
export const answerOf = (answer: unknown, option: string): boolean => {
  if (typeof answer === "boolean") return answer
  if (Predicate.isPromiseLike(answer)) {
    throw new TypeError(
      `${option} returned a Promise; the predicate must answer true or false at once (it cannot be async)`
    )
  }
  return Boolean(answer)
}
