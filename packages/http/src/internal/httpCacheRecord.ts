import * as Headers from "@effect/platform/Headers"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as HttpCache from "../HttpCache.js"

// The record format of the serialized HttpCache stores (`HttpCacheKeyValueStore`, `HttpCacheRedis`): a URL's
// responses are one versioned JSON text that carries the URL (checked on read: a collision or a foreign value is a
// miss), kept under the SHA-256 of the URL (a URL may be longer than a key may be, and hold any character).

// -----------------------------------------------------------------------------
// encoding
// -----------------------------------------------------------------------------

const EncodedEntry = Schema.Struct({
  url: Schema.String,
  status: Schema.Int,
  // pairs, not an object: a header named `__proto__` stays a header
  headers: Schema.Array(Schema.Tuple(Schema.String, Schema.String)),
  body: Schema.Uint8ArrayFromBase64,
  vary: Schema.Array(Schema.Tuple(Schema.String, Schema.NullOr(Schema.String))),
  requestTime: Schema.Number,
  responseTime: Schema.Number
})

const StoredRecord = Schema.parseJson(Schema.Struct({
  v: Schema.Literal(1),
  url: Schema.String,
  entries: Schema.Array(EncodedEntry)
}))

const decodeRecord = Schema.decodeUnknownEither(StoredRecord)
const encodeRecord = Schema.encodeEither(StoredRecord)

/** @internal An entry as the store writes it (its encoded text, for tests of the format). */
export const encode = (url: string, entries: ReadonlyArray<HttpCache.Entry>): Either.Either<string, unknown> =>
  encodeRecord({
    v: 1,
    url,
    entries: entries.map((entry) => ({
      url: entry.url,
      status: entry.status,
      headers: Object.entries(entry.headers),
      body: entry.body,
      vary: Object.entries(entry.vary),
      requestTime: entry.requestTime,
      responseTime: entry.responseTime
    }))
  })

/** @internal The entries `text` holds for `url`: `undefined` for a value that is not a record of this version. */
export const decode = (
  text: string
): { readonly url: string; readonly entries: ReadonlyArray<HttpCache.Entry> } | undefined => {
  const decoded = decodeRecord(text)
  if (Either.isLeft(decoded)) return undefined
  return {
    url: decoded.right.url,
    entries: decoded.right.entries.map((entry) => ({
      url: entry.url,
      status: entry.status,
      // Object.fromEntries defines each name as an own property, `__proto__` included
      headers: Headers.unsafeFromRecord(Object.fromEntries(entry.headers)),
      body: entry.body,
      vary: Object.fromEntries(entry.vary),
      requestTime: entry.requestTime,
      responseTime: entry.responseTime
    }))
  }
}

/** @internal */
export const utf8 = new TextEncoder()

const hex = (buffer: ArrayBuffer): string =>
  Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("")

/** @internal SHA-256 of the URL in hex, by Web Crypto (Node ≥ 20, browsers in a secure context, Deno, Bun). */
export const hashOf = (url: string): Effect.Effect<string, unknown> =>
  Effect.tryPromise({
    try: () => globalThis.crypto.subtle.digest("SHA-256", utf8.encode(url)),
    catch: (cause) => cause
  }).pipe(Effect.map(hex))
