import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"

/** @internal */
export type MalformedJwtReason = "Structure" | "Encoding" | "Payload" | "Expiry"

/**
 * Reads the `exp` claim (seconds since the epoch) of a compact JWS without verifying it: the client holds no key,
 * it only needs to know when to fetch a new token. Returns the expiry in epoch milliseconds.
 *
 * @internal
 */
export const readExpiry = (
  token: Redacted.Redacted<string>
): Either.Either<Option.Option<number>, MalformedJwtReason> => {
  const parts = Redacted.value(token).split(".")
  if (parts.length !== 3 || parts[0] === "" || parts[1] === "") {
    return Either.left("Structure")
  }
  const decoded = Encoding.decodeBase64UrlString(parts[1]!)
  if (Either.isLeft(decoded)) {
    return Either.left("Encoding")
  }
  let payload: unknown
  try {
    payload = JSON.parse(decoded.right)
  } catch {
    return Either.left("Payload")
  }
  if (!Predicate.isRecord(payload)) {
    return Either.left("Payload")
  }
  if (!("exp" in payload) || payload.exp === undefined) {
    return Either.right(Option.none())
  }
  const exp = payload.exp
  if (typeof exp !== "number" || !Number.isFinite(exp)) {
    return Either.left("Expiry")
  }
  return Either.right(Option.some(exp * 1000))
}
