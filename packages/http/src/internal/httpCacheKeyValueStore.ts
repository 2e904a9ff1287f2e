import type * as PlatformError from "@effect/platform/Error"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as HttpCache from "../HttpCache.js"
import type * as HttpCacheKeyValueStore from "../HttpCacheKeyValueStore.js"
import { checkCount, checkObject, defaults, InvalidOptions, type Problems, Store } from "./httpCache.js"
import { decode, encode, hashOf, utf8 } from "./httpCacheRecord.js"

// A `HttpCache.Store` over `@effect/platform`'s `KeyValueStore`. A URL's responses are one record under
// `prefix + sha256(url)` (a URL may be longer than a file name and hold any character), a JSON text that carries
// the URL (checked on read: a collision or a foreign value is a miss) and a format version. Bounds are kept by an
// index record under `prefix + "index"`: the records this store wrote, least recently used first, with their sizes.

/** @internal */
export const keyValueStoreDefaults = { prefix: "sturdy-http-cache:" } as const

/** The longest prefix once URI-encoded (as `layerFileSystem` names files): with the 64-hex hash, < 255 bytes. */
const maxEncodedPrefix = 128

// -----------------------------------------------------------------------------
// the index
// -----------------------------------------------------------------------------

const StoredIndex = Schema.parseJson(Schema.Struct({
  v: Schema.Literal(1),
  // [hash, responses, bytes], least recently used first
  keys: Schema.Array(Schema.Tuple(
    Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/)),
    Schema.Int.pipe(Schema.greaterThanOrEqualTo(1)),
    Schema.Int.pipe(Schema.greaterThanOrEqualTo(0))
  ))
}))

const decodeIndex = Schema.decodeUnknownEither(StoredIndex)
const encodeIndex = Schema.encodeEither(StoredIndex)

const isNotFound = (error: PlatformError.PlatformError) => error._tag === "SystemError" && error.reason === "NotFound"

// -----------------------------------------------------------------------------
// the store
// -----------------------------------------------------------------------------

/** @internal */
export const makeKeyValueStore = (
  input?: HttpCacheKeyValueStore.Options
): Effect.Effect<HttpCache.Store.Service, InvalidOptions, KeyValueStore.KeyValueStore> =>
  Effect.gen(function*() {
    const notObject = checkObject(input)
    if (notObject !== undefined) return yield* Effect.fail(notObject)
    const options = input ?? {}
    const problems: Problems = []
    const maxEntries = checkCount("maxEntries", options.maxEntries, defaults.maxEntries, problems, 1)
    const maxBytes = checkCount("maxBytes", options.maxBytes, defaults.maxBytes, problems, 1)
    const prefix = checkPrefix(options.prefix, problems)
    if (problems.length > 0) return yield* Effect.fail(new InvalidOptions({ problems }))
    const kv = yield* KeyValueStore.KeyValueStore
    const indexKey = `${prefix}index`
    const recordKey = (hash: string) => prefix + hash

    // Failures are reported once per store at warning level (later ones at debug): a store that is down would
    // otherwise log on every request. A failure never reaches the caller: a read is a miss, a write is skipped.
    let reportedFailure = false
    let reportedCorrupt = false
    const reportFailure = (operation: string, cause: unknown) => {
      const first = !reportedFailure
      reportedFailure = true
      const message = "HttpCache: the KeyValueStore failed; the cache answers without it (reported once)"
      return (first ? Effect.logWarning(message, cause) : Effect.logDebug(message, cause)).pipe(
        Effect.annotateLogs("operation", operation)
      )
    }
    const reportCorrupt = (operation: string) => {
      const first = !reportedCorrupt
      reportedCorrupt = true
      const message = "HttpCache: a KeyValueStore value could not be read as a cache record; removed (reported once)"
      return (first ? Effect.logWarning(message) : Effect.logDebug(message)).pipe(
        Effect.annotateLogs("operation", operation)
      )
    }
    // a defect of the store (a bug in a custom one) is a failure of the store too, never of the request
    const attempt = <A>(operation: string, effect: Effect.Effect<A, PlatformError.PlatformError>, fallback: A) =>
      effect.pipe(
        Effect.catchAll((error) => Effect.as(reportFailure(operation, error), fallback)),
        Effect.catchAllDefect((defect) => Effect.as(reportFailure(operation, defect), fallback))
      )
    const removeRecord = (hash: string) =>
      attempt(
        "remove",
        Effect.catchIf(kv.remove(recordKey(hash)), isNotFound, () => Effect.void),
        undefined
      )

    // the index: hash to sizes, in a Map's insertion order, least recently used first
    const index = new Map<string, { readonly entries: number; readonly bytes: number }>()
    let entries = 0
    let bytes = 0
    const track = (hash: string, held: { readonly entries: number; readonly bytes: number }) => {
      untrack(hash)
      index.set(hash, held)
      entries += held.entries
      bytes += held.bytes
    }
    const untrack = (hash: string) => {
      const held = index.get(hash)
      if (held === undefined) return false
      index.delete(hash)
      entries -= held.entries
      bytes -= held.bytes
      return true
    }
    const persistIndex = Effect.suspend(() => {
      const text = encodeIndex({ v: 1, keys: Array.from(index, ([hash, held]) => [hash, held.entries, held.bytes]) })
      return Either.isLeft(text) ? Effect.void : attempt("set", kv.set(indexKey, text.right), undefined)
    })
    /** Removes the least recently used records until the bounds hold. */
    const evict = Effect.suspend(() => {
      const victims: Array<string> = []
      for (const hash of index.keys()) {
        if (entries <= maxEntries && bytes <= maxBytes) break
        untrack(hash)
        victims.push(hash)
      }
      return Effect.forEach(victims, removeRecord, { discard: true })
    })
    // writes (and the index they change) go one at a time: two index texts written at once could land in any order
    const lock = yield* Effect.makeSemaphore(1)
    const serialized = lock.withPermits(1)

    const loaded = yield* attempt("get", kv.get(indexKey), Option.none())
    if (Option.isSome(loaded)) {
      const decoded = decodeIndex(loaded.value)
      if (Either.isLeft(decoded)) yield* reportCorrupt("get")
      else for (const [hash, n, size] of decoded.right.keys) track(hash, { entries: n, bytes: size })
      // bounds smaller than the last run's apply at once
      if (entries > maxEntries || bytes > maxBytes) yield* Effect.zipRight(evict, persistIndex)
    }

    const remove = (key: string) =>
      Effect.flatMap(
        Effect.either(hashOf(key)),
        (hash) =>
          Either.isLeft(hash) ? reportFailure("hash", hash.left) : serialized(
            Effect.zipRight(
              removeRecord(hash.right),
              Effect.suspend(() => untrack(hash.right) ? persistIndex : Effect.void)
            )
          )
      )

    const get = (key: string): Effect.Effect<ReadonlyArray<HttpCache.Entry>> =>
      Effect.gen(function*() {
        const hashed = yield* Effect.either(hashOf(key))
        if (Either.isLeft(hashed)) return yield* Effect.as(reportFailure("hash", hashed.left), [])
        const hash = hashed.right
        const value = yield* attempt("get", kv.get(recordKey(hash)), Option.none())
        if (Option.isNone(value)) {
          // the record went (removed by hand, or a crash between writes): the index forgets it
          if (index.has(hash)) yield* serialized(Effect.suspend(() => untrack(hash) ? persistIndex : Effect.void))
          return []
        }
        const record = decode(value.value)
        if (record === undefined) {
          yield* reportCorrupt("get")
          yield* serialized(
            Effect.zipRight(removeRecord(hash), Effect.suspend(() => untrack(hash) ? persistIndex : Effect.void))
          )
          return []
        }
        // another URL with the same hash: a miss (its record stays; a set for this URL replaces it)
        if (record.url !== key) return []
        const held = index.get(hash)
        if (held !== undefined) {
          // a use makes it the most recently used; the order is written with the next write, not on every read
          index.delete(hash)
          index.set(hash, held)
        } else {
          // a record this store did not write (another process, or written before a crash lost the index): counted
          yield* serialized(Effect.suspend(() => {
            if (index.has(hash)) return Effect.void
            track(hash, { entries: record.entries.length, bytes: utf8.encode(value.value).byteLength })
            // (one larger than the bounds goes at once: it is still the answer to this read)
            return Effect.zipRight(evict, persistIndex)
          }))
        }
        return record.entries
      })

    const set = (key: string, stored: ReadonlyArray<HttpCache.Entry>): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (stored.length === 0) return yield* remove(key)
        const text = encode(key, stored)
        const size = Either.isRight(text) ? utf8.encode(text.right).byteLength : Infinity
        // one URL's responses larger than the whole store, or more of them than it holds, are not kept (nor what
        // they replace)
        if (Either.isLeft(text) || stored.length > maxEntries || size > maxBytes) return yield* remove(key)
        const hashed = yield* Effect.either(hashOf(key))
        if (Either.isLeft(hashed)) return yield* reportFailure("hash", hashed.left)
        const hash = hashed.right
        yield* serialized(Effect.gen(function*() {
          const written = yield* attempt("set", Effect.as(kv.set(recordKey(hash), text.right), true), false)
          if (!written) return
          track(hash, { entries: stored.length, bytes: size })
          yield* evict
          yield* persistIndex
        }))
      })

    const service: HttpCache.Store.Service = {
      get,
      set,
      remove,
      size: Effect.sync(() => ({ entries, bytes }))
    }
    return service
  })

const checkPrefix = (value: unknown, problems: Problems): string => {
  if (value === undefined) return keyValueStoreDefaults.prefix
  if (typeof value === "string") {
    let encoded: string | undefined
    try {
      encoded = encodeURIComponent(value)
    } catch {
      // a lone surrogate: no file name holds it
    }
    if (encoded !== undefined && encoded.length <= maxEncodedPrefix) return value
  }
  problems.push({
    field: "prefix",
    detail: `must be a string of at most ${maxEncodedPrefix} characters once URI-encoded, without lone surrogates${
      typeof value === "string" ? "" : ` (got a value of type ${value === null ? "null" : typeof value})`
    }`
  })
  return keyValueStoreDefaults.prefix
}

/** @internal */
export const layerKeyValueStore = (
  options?: HttpCacheKeyValueStore.Options
): Layer.Layer<Store, InvalidOptions, KeyValueStore.KeyValueStore> => Layer.effect(Store, makeKeyValueStore(options))
