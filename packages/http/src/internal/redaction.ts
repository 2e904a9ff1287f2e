import type * as Headers from "@effect/platform/Headers"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as ClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

/** @internal */
export const placeholder = "<redacted>"

// -----------------------------------------------------------------------------
// names
// -----------------------------------------------------------------------------

const secretHeaderExact = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "www-authenticate",
  "proxy-authenticate"
])

/**
 * A name that contains one of these words, or ends in `key` after a separator (`x-functions-key`, `access_key`,
 * `key`), is secret, as a header and as a query parameter.
 */
const secretNamePattern =
  /api[-_.]?key|token|secret|session|passw(or)?d|passphrase|signature|credential|private[-_.]?key|auth|jwt|cookie|(^|[-_.])key$/i

/** `signingKey`, `accessKey`: a camel-case name ending in `Key` (matched on the name as written). */
const camelKeyPattern = /[a-z0-9]Key$/

const secretParamExact = new Set([
  "sig",
  "pwd",
  "pass",
  "code",
  "code_verifier",
  "assertion",
  "client_assertion",
  "otp",
  "ticket",
  "hmac",
  "apikey",
  "client_secret",
  "x-amz-security-token",
  // OpenTelemetry's list of query keys to redact in `url.full` (S3's signature version 2)
  "awsaccesskeyid"
])

/** @internal */
export const currentSecretNames = globalValue(
  Symbol.for("@sturdy/http/Redaction/currentSecretNames"),
  () => FiberRef.unsafeMake<ReadonlyArray<string | RegExp>>([])
)

/** The names the running fiber adds (`withSecretNames`); none outside a fiber. */
const addedNames = (): ReadonlyArray<string | RegExp> => {
  const fiber = Fiber.getCurrentFiber()
  return fiber._tag === "Some" ? fiber.value.getFiberRef(currentSecretNames) : []
}

const matchesAdded = (name: string, lower: string, written: string): boolean => {
  const added = addedNames()
  for (let i = 0; i < added.length; i++) {
    const entry = added[i]
    if (
      typeof entry === "string"
        ? entry.toLowerCase() === lower
        : testPattern(entry, written) || (written !== name && testPattern(entry, name))
    ) return true
  }
  return false
}

/**
 * Format characters (Unicode category Cf: zero-width space and joiners, soft hyphen, byte order mark, bidi controls)
 * draw nothing, and a name split by them (`to\u200Bken`) reads as the name without them: they are taken out before a
 * name is judged. A name that holds none (nearly every name) is judged as it is.
 */
const formatCharacters = /\p{Cf}/gu
const formatCharacter = /\p{Cf}/u
const withoutFormatCharacters = (name: string): string =>
  formatCharacter.test(name) ? name.replace(formatCharacters, "") : name

const testPattern = (pattern: RegExp, name: string): boolean => {
  // a global or sticky pattern keeps state between calls: reset it so the answer does not depend on the last one
  pattern.lastIndex = 0
  return pattern.test(name)
}

/** @internal */
export const isSecretHeaderName = (written: string): boolean => {
  const name = withoutFormatCharacters(written)
  const lower = name.toLowerCase()
  return secretHeaderExact.has(lower) || secretNamePattern.test(lower) || camelKeyPattern.test(name) ||
    matchesAdded(name, lower, written)
}

/** @internal */
export const isSecretParamName = (written: string): boolean => {
  const name = withoutFormatCharacters(written)
  const lower = name.toLowerCase()
  return secretParamExact.has(lower) || secretNamePattern.test(lower) || camelKeyPattern.test(name) ||
    matchesAdded(name, lower, written)
}

/** @internal */
export const withSecretNames = dual<
  (names: ReadonlyArray<string | RegExp>) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  <A, E, R>(self: Effect.Effect<A, E, R>, names: ReadonlyArray<string | RegExp>) => Effect.Effect<A, E, R>
>(2, (self, names) => {
  checkSecretNames("Redaction.withSecretNames", names)
  return Effect.locallyWith(self, currentSecretNames, (current) => [...current, ...names])
})

/** @internal */
export const layerSecretNames = (names: ReadonlyArray<string | RegExp>): Layer.Layer<never> => {
  checkSecretNames("Redaction.layerSecretNames", names)
  return Layer.scopedDiscard(Effect.locallyScopedWith(currentSecretNames, (current) => [...current, ...names]))
}

// Every redaction in scope matches names against these: an entry of another type (plain JavaScript, a list read from
// configuration) would make each one fail, far from the mistake, so it is refused where it is given.
const checkSecretNames = (owner: string, names: ReadonlyArray<unknown>): void => {
  if (!Array.isArray(names)) throw new TypeError(`${owner}: names must be an array of strings and RegExps`)
  for (let i = 0; i < names.length; i++) {
    const name: unknown = names[i]
    if (typeof name !== "string" && !(name instanceof RegExp)) {
      throw new TypeError(`${owner}: names[${i}] (${typeof name}) must be a string or a RegExp`)
    }
  }
}

// -----------------------------------------------------------------------------
// values
// -----------------------------------------------------------------------------

/** Values shorter than this are not searched for: they would match inside ordinary words. */
const minimumSecretLength = 4

/** A token source's tokens kept registered: the current one and the one before, which a request may still carry. */
interface Rotation {
  current: string | undefined
  previous: string | undefined
}

/**
 * The secret values the process holds, in two areas:
 *
 * - pinned: values given to `registerSecretValues`, static credentials (`Auth.bearer`, `apiKeyHeader`,
 *   `apiKeyQuery`, their layers) and OAuth2 client secrets; kept for the life of the process, never evicted;
 * - rotating: the tokens a token source hands to `Auth`, kept per source (its current token and the one before), a
 *   token let go when its source moves on twice, or when the source is garbage collected.
 *
 * `searched` is their union, each value with the forms a server echoes it in, computed once: the one map the hot
 * path (redaction of a failure, a redirect hop's header check) reads.
 */
interface SecretRegistry {
  readonly pinned: Set<string>
  /** How many sources hold each rotating value (two sources may share a token). */
  readonly rotatingHolders: Map<string, number>
  readonly rotations: WeakMap<object, Rotation>
  readonly collected: FinalizationRegistry<Rotation> | undefined
  readonly searched: Map<string, ReadonlyArray<string>>
}

const registry: SecretRegistry = globalValue(
  Symbol.for("@sturdy/http/Redaction/secretRegistry"),
  (): SecretRegistry => {
    const registry: SecretRegistry = {
      pinned: new Set(),
      rotatingHolders: new Map(),
      rotations: new WeakMap(),
      collected: typeof FinalizationRegistry === "function"
        ? new FinalizationRegistry((rotation: Rotation) => {
          releaseRotating(registry, rotation.previous)
          releaseRotating(registry, rotation.current)
        })
        : undefined,
      searched: new Map()
    }
    return registry
  }
)

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * The text with each lone surrogate replaced by U+FFFD, as `TextEncoder` and `URLSearchParams` send it:
 * `encodeURIComponent` throws a `URIError` on a lone surrogate.
 *
 * @internal
 */
export const wellFormed = (text: string): string => text.replace(loneSurrogate, "\uFFFD")

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * The forms a secret takes when a server echoes it: as written; URL-encoded, with upper- or lower-case hex, and with
 * `+` for spaces (form encoding); and JSON-escaped with `\/` (PHP's `json_encode` escapes slashes, and base64 tokens
 * hold them). URL-encoded is both `encodeURIComponent`'s form and the form encoding's (`URLSearchParams`, which
 * `HttpClientRequest` uses for query parameters, so for `Auth.apiKeyQuery`), which also escapes `!`, `'`, `(`, `)`
 * and `~`.
 */
const considerForms = (value: string, consider: (form: string) => void): void => {
  consider(value)
  const component = encodeURIComponent(wellFormed(value))
  // the form encoding escapes `!'()~` too, and writes a space `+`; `%20` for it is RFC 3986's strict encoding
  const form = component.replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  for (const encoded of component === form ? [component] : [component, form]) {
    if (encoded === value) continue
    consider(encoded)
    const lowerHex = encoded.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())
    if (lowerHex !== encoded) consider(lowerHex)
    if (value.includes(" ")) {
      consider(encoded.replaceAll("%20", "+"))
      if (lowerHex !== encoded) consider(lowerHex.replaceAll("%20", "+"))
    }
  }
  if (value.includes("/")) consider(value.replaceAll("/", "\\/"))
}

const formsOf = (value: string): ReadonlyArray<string> => {
  const forms: Array<string> = []
  considerForms(value, (form) => forms.push(form))
  return forms
}

const search = (registry: SecretRegistry, value: string): void => {
  if (!registry.searched.has(value)) registry.searched.set(value, formsOf(value))
}

const unsearchUnlessHeld = (registry: SecretRegistry, value: string): void => {
  if (!registry.pinned.has(value) && !registry.rotatingHolders.has(value)) registry.searched.delete(value)
}

const holdRotating = (registry: SecretRegistry, value: string): void => {
  registry.rotatingHolders.set(value, (registry.rotatingHolders.get(value) ?? 0) + 1)
  search(registry, value)
}

function releaseRotating(registry: SecretRegistry, value: string | undefined): void {
  if (value === undefined) return
  const holders = registry.rotatingHolders.get(value)
  if (holders === undefined) return
  if (holders > 1) {
    registry.rotatingHolders.set(value, holders - 1)
    return
  }
  registry.rotatingHolders.delete(value)
  unsearchUnlessHeld(registry, value)
}

const valueOf = (secret: string | Redacted.Redacted<string>): string =>
  typeof secret === "string" ? secret : Redacted.value(secret)

/**
 * Pins a long-lived secret (a static credential, a client secret, a value given to `registerSecretValues`): it is
 * redacted by value for the life of the process, whatever else is registered after it.
 *
 * @internal
 */
export const unsafeRegisterSecret = (secret: string | Redacted.Redacted<string>): void => {
  const value = valueOf(secret)
  if (value.length < minimumSecretLength) return
  registry.pinned.add(value)
  search(registry, value)
}

/**
 * Registers the token `holder` (a token source) hands out now. The holder's current token and the one before it
 * (which a request sent before the refresh may still carry) stay registered; an older one is let go, so a source
 * that refreshes every hour for a year holds two entries, not 8,760. All of a holder's tokens are let go when it is
 * garbage collected.
 *
 * @internal
 */
export const unsafeRegisterRotatingSecret = (holder: object, secret: string | Redacted.Redacted<string>): void => {
  const value = valueOf(secret)
  if (value.length < minimumSecretLength) return
  let rotation = registry.rotations.get(holder)
  if (rotation === undefined) {
    rotation = { current: undefined, previous: undefined }
    registry.rotations.set(holder, rotation)
    registry.collected?.register(holder, rotation)
  }
  // every request through the source attaches its current token: this is the common case, and costs a comparison
  if (rotation.current === value) return
  if (rotation.previous === value) {
    // the source went back to the token before (a refresh failed, the cached one is still valid): both stay held
    rotation.previous = rotation.current
    rotation.current = value
    return
  }
  const dropped = rotation.previous
  rotation.previous = rotation.current
  rotation.current = value
  holdRotating(registry, value)
  releaseRotating(registry, dropped)
}

/**
 * How many distinct secret values are registered (pinned and rotating), for tests of the registry's bounds.
 *
 * @internal
 */
export const registeredSecretCount = (): number => registry.searched.size

/**
 * Whether `text` holds a secret the process registered (Auth's credentials, `registerSecretValues`): a header that
 * carries one is secret whatever its name.
 *
 * @internal
 */
export const holdsRegisteredSecret = (text: string): boolean => {
  if (text.length < minimumSecretLength) return false
  for (const value of registry.searched.keys()) if (text.includes(value)) return true
  return false
}

/** @internal */
export const registerSecretValues = (
  ...secrets: ReadonlyArray<string | Redacted.Redacted<string>>
): Effect.Effect<void> =>
  Effect.sync(() => {
    for (const secret of secrets) unsafeRegisterSecret(secret)
  })

const credentialScheme = /^\s*([A-Za-z][A-Za-z0-9._~+-]*)\s+(.+)$/

const addValue = (out: Set<string>, value: string | undefined): void => {
  if (value === undefined) return
  const trimmed = value.trim()
  if (trimmed.length >= minimumSecretLength) out.add(trimmed)
}

const decodeBase64 = (text: string): string | undefined => {
  if (!/^[A-Za-z0-9+/=]+$/.test(text)) return undefined
  try {
    return atob(text)
  } catch {
    return undefined
  }
}

/** The secret parts of a header value: the value, the credential after an auth scheme, cookie values. */
const addHeaderValue = (out: Set<string>, name: string, value: string): void => {
  addValue(out, value)
  const lower = name.toLowerCase()
  if (lower === "cookie" || lower === "set-cookie") {
    for (const pair of value.split(";")) addValue(out, pair.slice(pair.indexOf("=") + 1))
    return
  }
  const scheme = credentialScheme.exec(value)
  if (scheme !== null) {
    addValue(out, scheme[2])
    if (scheme[1].toLowerCase() === "basic") {
      const decoded = decodeBase64(scheme[2].trim())
      if (decoded !== undefined && decoded.includes(":")) {
        addValue(out, decoded)
        addValue(out, decoded.slice(decoded.indexOf(":") + 1))
      }
    }
  }
}

const safeDecode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * A name as a server reads it: percent-decoded once, and leniently, as servers do: a run of escapes that is not UTF-8
 * (`%FF`) is kept, and the ASCII escapes in it are decoded all the same (`%74oken%FF` reads `token%FF`).
 */
const decodeName = (name: string): string =>
  name.includes("%") ?
    name.replace(escapeRun, (run) => {
      const decoded = safeDecode(run)
      return decoded !== run
        ? decoded
        : run.replace(asciiEscape, (escape) => String.fromCharCode(parseInt(escape.slice(1), 16)))
    }) :
    name
const escapeRun = /(?:%[0-9A-Fa-f]{2})+/g
const asciiEscape = /%[0-7][0-9A-Fa-f]/g

/**
 * The secrets a request carries: values of headers and query parameters whose names are secret, and the user info
 * of its URL.
 *
 * @internal
 */
export const secretsOf = (request: HttpClientRequest.HttpClientRequest): ReadonlyArray<string> => {
  const out = new Set<string>()
  const headers = request.headers
  for (const name in headers) {
    if (isSecretHeaderName(name)) addHeaderValue(out, name, headers[name])
    // a URL the request names in a header (`Referer`, a callback URL) may carry a token in its query
    else if (headers[name].includes("?")) addQuerySecrets(out, headers[name])
  }
  for (const [name, value] of request.urlParams) {
    if (isSecretParamName(name)) addValue(out, value)
    else addNestedValues(out, value)
  }
  const url = request.url
  // the user info as the URL standard reads it (a `\` ends the authority of an http(s) URL)
  const userInfo = /^[a-z][a-z0-9+.-]*:[/\\]{2}([^/?#\\]*)@/i.exec(url)
  if (userInfo !== null) {
    const [user, ...password] = userInfo[1].split(":")
    addValue(out, safeDecode(user))
    addValue(out, safeDecode(password.join(":")))
  }
  const hashAt = addQuerySecrets(out, url)
  // the fragment is never meant for the server (single-page apps keep tokens there): all of it is secret
  if (hashAt !== -1) addFragment(out, url.slice(hashAt + 1))
  if (request.hash._tag === "Some") addFragment(out, request.hash.value)
  return out.size === 0 ? noSecrets : [...out]
}

const noSecrets: ReadonlyArray<string> = []

/** The values of the secret pairs in a URL's query, and of those nested in its other values; answers where `#` is. */
const addQuerySecrets = (out: Set<string>, url: string): number => {
  const hashAt = url.indexOf("#")
  const query = url.indexOf("?")
  if (query !== -1 && (hashAt === -1 || query < hashAt)) {
    for (const pair of url.slice(query + 1, hashAt === -1 ? undefined : hashAt).split("&")) {
      const eq = pair.indexOf("=")
      if (eq <= 0) continue
      if (isSecretParamName(decodeName(pair.slice(0, eq)))) addValue(out, safeDecode(pair.slice(eq + 1)))
      else addNestedValues(out, safeDecode(pair.slice(eq + 1)))
    }
  }
  return hashAt
}

/**
 * The values of the secret pairs in a URL that a query value (decoded) holds, written as it is or encoded once more
 * (`?next=https%3A%2F%2Fidp%2Fcb%3Faccess_token%3Dabc` holds `abc`): the values the URL's redaction replaces there
 * (see `encodedPairPatterns`), as the server that reads them decodes them, so that an echo of one elsewhere is found.
 */
const addNestedValues = (out: Set<string>, value: string): void => {
  // written back encoded, as a URL's redaction reads it: a URL written in the value without encoding is then encoded once
  const encoded = encodeURIComponent(value)
  if (!mayHoldEncodedPair.test(encoded)) return
  for (let level = 0; level < encodedPairPatterns.length; level++) {
    replaceEncodedSecrets(encoded, level, (secret) => {
      let decoded = secret
      for (let i = 0; i <= level; i++) decoded = safeDecode(decoded)
      addValue(out, decoded)
      return secret
    })
  }
}

const addFragment = (out: Set<string>, fragment: string): void => {
  addValue(out, fragment)
  addValue(out, safeDecode(fragment))
  for (const part of fragment.split(/[&;]/)) {
    const eq = part.indexOf("=")
    addValue(out, safeDecode(eq === -1 ? part : part.slice(eq + 1)))
  }
}

/** Replaces every registered secret and every given one, in each of its echoed forms, wherever it appears. */
const redactValues = (text: string, extra: ReadonlyArray<string>): string => {
  if (text.length < minimumSecretLength || (registry.searched.size === 0 && extra.length === 0)) return text
  const candidates: Array<string> = []
  const consider = (value: string) => {
    if (value.length <= text.length && text.includes(value)) candidates.push(value)
  }
  for (const forms of registry.searched.values()) for (const form of forms) consider(form)
  for (const value of extra) considerForms(value, consider)
  if (candidates.length === 0) return text
  // the longest first, so a secret that contains another is replaced whole
  candidates.sort((a, b) => b.length - a.length)
  return text.replace(new RegExp(candidates.map(escapeRegExp).join("|"), "g"), placeholder)
}

// -----------------------------------------------------------------------------
// URLs
// -----------------------------------------------------------------------------

// A pair can sit percent-encoded inside a parameter's value or in text: a URL handed to another (`?next=https%3A%2F%2Fidp
// %2Fcb%3Faccess_token%3Dabc%26page%3D2`, a `redirect_uri`, a `state`), once or twice encoded. Such a pair is found by
// its encoded `=` and separators (`%3D`, `%26`, `%3B`, `%3F`, `%23`; `%253D`... twice encoded), judged by its name
// decoded, and only its value is replaced: the rest is kept byte for byte. A value ends at an encoded separator, `?`
// included, so that the pairs after a second `?` are judged too; but a secret value runs on through a `?` (see
// `encodedSecretTails`), as the server that reads it does. A pair starts after an encoded separator, or
// after a character that starts a value or a word (`=`, `?`, `&`, a blank, a quote...), not inside a path
// (`%2Ftoken%3D` is a path segment). Every token starts with its own character (a name character, `%`, `<`), so a text
// that almost holds such a pair costs a pass.
const encodedNameCharacter = String.raw`[A-Za-z0-9_.~+*!\-]|\p{Cf}`
const valueOrWordStart = String.raw`[=?&;#\s"'(<\[,]`
const encodedPairPatterns: ReadonlyArray<RegExp> = [
  new RegExp(
    String.raw`(^|${valueOrWordStart}|%(?:2[36]|3[BbFf]))` +
      String.raw`((?:${encodedNameCharacter}|%(?!2[36Ff]|3[ABDFabdf])[0-9A-Fa-f]{2}){1,64})(%3[Dd])` +
      String.raw`(?:<redacted>|[^\s"'<>&;#%]|%(?!2[36]|3[BbFf]))*`,
    "gu"
  ),
  new RegExp(
    String.raw`(^|${valueOrWordStart}|%(?:2[36]|3[BbDdFf])|%25(?:2[36]|3[BbFf]))` +
      String.raw`((?:${encodedNameCharacter}|%25(?!2[36Ff]|3[ABDFabdf])[0-9A-Fa-f]{2}){1,64})(%253[Dd])` +
      String.raw`(?:<redacted>|[^\s"'<>&;#%]|%(?!2[36]|3[BbFf]|25(?:2[36]|3[BbFf])))*`,
    "gu"
  )
]
const mayHoldEncodedPair = /%(?:25)?3[Dd]/

// A server that reads a URL's query splits it on `&` (and some on `;`), never on a second `?`: the query of
// `/cb?access_token=abc?x=1` is one pair, the token `abc?x=1`. A secret pair's value thus runs on through an encoded `?`
// of its level (or of the level above, which the server decoding its value sees as data too), to the next `&`, `;` or
// `#`: it is hidden whole, and the part after the `?` is not shown. Each repetition starts at its own `?`, so a long tail
// costs a pass.
const encodedSecretTails: ReadonlyArray<RegExp> = [
  /(?:%3[Ff](?:<redacted>|[^\s"'<>&;#%]|%(?!2[36]|3[BbFf]))*)*/y,
  /(?:%(?:25)?3[Ff](?:<redacted>|[^\s"'<>&;#%]|%(?!2[36]|3[BbFf]|25(?:2[36]|3[BbFf])))*)*/y
]

/**
 * `text` with the value of each secret pair percent-encoded in it at `level` (0: once, 1: twice) replaced by what
 * `replace` returns for it (see `encodedPairPatterns`, `encodedSecretTails`); an empty value is left as it is.
 */
const replaceEncodedSecrets = (text: string, level: number, replace: (value: string) => string): string => {
  const pattern = encodedPairPatterns[level]!
  const tail = encodedSecretTails[level]!
  let out = ""
  let copied = 0
  pattern.lastIndex = 0
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const [whole, start, name, equals] = match as unknown as [string, string, string, string]
    // decoded once per level of encoding, then once more as a server reads a name
    let decoded = name
    for (let i = 0; i <= level + 1; i++) decoded = decodeName(decoded)
    if (!isSecretParamName(decoded)) continue
    const valueStart = match.index + start.length + name.length + equals.length
    tail.lastIndex = match.index + whole.length
    tail.exec(text) // it always matches, if only the empty string
    const valueEnd = tail.lastIndex
    if (valueEnd === valueStart) continue
    out += text.slice(copied, valueStart) + replace(text.slice(valueStart, valueEnd))
    copied = valueEnd
    pattern.lastIndex = valueEnd
  }
  return copied === 0 ? text : out + text.slice(copied)
}

/** Replaces the values of the secret pairs percent-encoded once or twice in `text` (see `encodedPairPatterns`). */
const redactEncodedPairs = (text: string): string => {
  if (!mayHoldEncodedPair.test(text)) return text
  let out = text
  for (let level = 0; level < encodedPairPatterns.length; level++) {
    out = replaceEncodedSecrets(out, level, () => placeholder)
  }
  return out
}

// A value written without encoding may hold a URL's query of its own (`next=/login?token=abc` in text or in a relative
// URL): after a `?` in the value, a pair is judged by its own name. A pair's value ends at the next `?name=`, so that the
// pairs after it are judged too; a secret pair's value runs to the end of the value that holds it, as the server that
// reads it does (`next=/login?token=abc?x=1` is the token `abc?x=1`: a query is not split on a second `?`). The
// lookahead reads 64 name characters at most, so a long value costs a pass.
const pairInValueName = String.raw`(?:[A-Za-z0-9_.\-]|%[0-9A-Fa-f]{2}|\p{Cf}){1,64}`
const pairInValuePattern = new RegExp(
  String.raw`\?(${pairInValueName})=(?:<redacted>|[^?<]|<(?!redacted>)|\?(?!${pairInValueName}=))*`,
  "gu"
)

/** A non-secret pair's value with the secret pairs of a query written in it (after a `?`) redacted. */
const redactPairsInValue = (value: string): string => {
  if (!value.includes("?")) return value
  pairInValuePattern.lastIndex = 0
  for (let match = pairInValuePattern.exec(value); match !== null; match = pairInValuePattern.exec(value)) {
    const name = match[1]!
    const valueStart = match.index + name.length + 2
    if (valueStart < value.length && isSecretParamName(decodeName(name))) {
      return `${value.slice(0, valueStart)}${placeholder}`
    }
  }
  return value
}

/** A decoded query value written back encoded, with the secret pairs encoded inside it redacted. */
const encodeValue = (value: string): string => redactEncodedPairs(encodeURIComponent(value))

// A pair is written back as it came (the query as the transport sends it: `+` or `%20`, `,` and `/` unescaped), and
// only a pair with something redacted is written anew, its name decoded and encoded again; whether it is secret is
// judged on its decoded name and value, which `URLSearchParams` gives for the pair alone. A pair that holds a known secret value is written anew too, in the
// encoding `redactValues` looks for: as it came, the secret may be encoded in a mix no echoed form matches.
const redactQuery = (query: string, extra: ReadonlyArray<string>): string =>
  query.split("&").map((pair) => {
    if (pair === "") return pair
    const [name, value] = new URLSearchParams(pair).entries().next().value!
    if (
      isSecretParamName(name) || (name.includes(";") && isSecretParamName(afterSemicolon(name))) ||
      value === placeholder
    ) return `${encodeURIComponent(name)}=${placeholder}`
    const redacted = redactSemicolonPairs(value)
    // an encoded value has no raw `<`, so the placeholder in it is one that redaction wrote
    return redacted.includes(placeholder) || holdsKnownSecret(name, extra) || holdsKnownSecret(value, extra)
      ? `${encodeURIComponent(name)}=${redacted}`
      : pair
  }).join("&")

const holdsKnownSecret = (text: string, extra: ReadonlyArray<string>): boolean => {
  if (text.length < minimumSecretLength) return false
  for (const secret of registry.searched.keys()) if (text.includes(secret)) return true
  for (const secret of extra) if (secret !== "" && text.includes(secret)) return true
  return false
}

// The URL standard splits a query on `&` only, but servers that also split on `;` (older PHP and Python, Java's
// matrix-style parameters) read `?a=1;token=abc` as a `token` of its own: a pair after a `;` is judged by its own name,
// as a relative URL's is. The `;` is written as it is, so the redacted URL shows the pairs apart.
const afterSemicolon = (name: string): string => name.slice(name.lastIndexOf(";") + 1)

const redactSemicolonPairs = (value: string): string => {
  if (!value.includes(";")) return encodeValue(value)
  return value.split(";").map((segment, i) => {
    const equals = segment.indexOf("=")
    if (i === 0 || equals <= 0) return encodeValue(segment)
    const name = segment.slice(0, equals)
    return `${encodeURIComponent(name)}=${
      isSecretParamName(name) ? placeholder : encodeValue(segment.slice(equals + 1))
    }`
  }).join(";")
}

// Used when a URL does not parse or is relative: secrets can still sit in `user:pass@` or `name=value` pairs. A name
// runs to a blank, but a byte order mark (a format character, judged absent, that `\s` counts as a blank) is in it.
const redactUnparsedUrl = (url: string): string =>
  redactEncodedPairs(url)
    .replace(/\/\/[^/?#\\\s]*@/g, "//")
    // an absolute URL that does not parse may hold a password with a raw `/`, `?` or `#` (base64 has `/`): what is
    // left up to the last `@` is taken for user info and replaced, even if that hides a path or query with an `@`
    .replace(/^([a-z][a-z0-9+.-]*:[/\\]{2})[^\s]*@/i, (_, origin: string) => `${origin}${placeholder}@`)
    .replace(/#[\s\S]*$/, "")
    .replace(
      /([?&;]|^)((?:[^=&?#;\s]|\uFEFF)+)=([^&#;\s]*)/g,
      (match, separator: string, name: string, value: string) =>
        isSecretParamName(decodeName(name))
          ? `${separator}${name}=${placeholder}`
          : `${separator}${name}=${redactPairsInValue(value)}`
    )
    .replace(/[\r\n]/g, " ")

const redactUrlOnly = (url: string | URL, extra: ReadonlyArray<string> = noSecrets): string => {
  let parsed: URL
  try {
    parsed = typeof url === "string" ? new URL(url) : url
  } catch {
    return redactUnparsedUrl(String(url))
  }
  // user info is dropped, and so is the fragment: it is never sent, and single-page apps keep tokens in it
  const search = parsed.search === "" ? "" : `?${redactQuery(parsed.search.slice(1), extra)}`
  // the URL's own serialization, so one without an authority (`about:blank`, `mailto:`) keeps its shape; a URL the
  // caller passed is copied before it is cleared, one parsed here is cleared in place
  const bare = typeof url === "string" ? parsed : new URL(parsed.href)
  bare.username = ""
  bare.password = ""
  bare.search = ""
  bare.hash = ""
  return `${bare.href}${search}`
}

/**
 * The request a Sturdy-built `RequestError` carries: its URL with secret query parameters redacted (and user info and
 * fragment dropped), so that the platform's message and `toJSON`, which print the request's URL, show no secret.
 *
 * @internal
 */
export const requestForError = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest => {
  const url = redactRequestUrl(request)
  return ClientRequest.setUrlParams(ClientRequest.setUrl(request, url), [])
}

/** @internal */
export const redactUrl = (url: string | URL, secrets: ReadonlyArray<string> = noSecrets): string =>
  redactValues(redactUrlOnly(url, secrets), secrets)

/** `redactUrl` with the secrets of the request the URL belongs to. @internal */
export const redactUrlFor = (url: string | URL, request?: HttpClientRequest.HttpClientRequest): string =>
  redactUrl(url, request === undefined ? noSecrets : secretsOf(request))

/** @internal */
export const redactUrlWithParams = (
  url: string,
  urlParams: ReadonlyArray<readonly [string, string]>,
  secrets: ReadonlyArray<string> = noSecrets
): string => {
  if (urlParams.length === 0) return redactUrl(url, secrets)
  // joined as the transport joins them (`UrlParams.makeUrl`), so the URL shown is the one sent
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    const params = new URLSearchParams()
    for (const [name, value] of urlParams) params.append(name, value)
    const hash = url.indexOf("#")
    const base = hash === -1 ? url : url.slice(0, hash)
    return redactUrl(`${base}${base.includes("?") ? "&" : "?"}${params.toString()}`, secrets)
  }
  for (const [name, value] of urlParams) parsed.searchParams.append(name, value)
  return redactUrl(parsed, secrets)
}

/** @internal */
export const redactRequestUrl = (request: HttpClientRequest.HttpClientRequest): string =>
  redactUrlWithParams(request.url, request.urlParams, secretsOf(request))

// -----------------------------------------------------------------------------
// headers
// -----------------------------------------------------------------------------

/** Response headers whose value is a URL (or, for `Link` and `Refresh`, contains one). */
const urlValuedHeaders = new Set(["location", "content-location", "link", "refresh"])

/** @internal */
export const redactHeaders = (
  headers: Headers.Headers | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>,
  secrets: ReadonlyArray<string> = noSecrets
): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name of Object.keys(headers)) {
    const value = (headers as Record<string, unknown>)[name]
    if (value === undefined || name === "__proto__") continue
    const lower = name.toLowerCase()
    if (isSecretHeaderName(name)) {
      out[lower] = placeholder
    } else if (urlValuedHeaders.has(lower)) {
      const text = String(value)
      out[lower] = lower === "location" || lower === "content-location"
        ? redactUrl(text.trim(), secrets)
        : redactText(redactHeaderUrls(lower, text, secrets), secrets)
    } else {
      out[lower] = redactValues(String(value), secrets)
    }
  }
  return out
}

/**
 * The URLs of a `Link` (each between `<` and `>`, RFC 8288) and of a `Refresh` (after `url=`) redacted as URLs, whole:
 * found as text, a URL would end at a quote or a bracket, which a query value may hold unescaped (`encodeURIComponent`
 * leaves `'`, `(`, `)`), and the rest of a secret value would be left behind.
 */
const redactHeaderUrls = (lower: string, text: string, secrets: ReadonlyArray<string>): string => {
  if (lower === "link") return text.replace(/<([^>]*)>/g, (_, url: string) => `<${redactUrl(url.trim(), secrets)}>`)
  const refresh = /^(\s*[\d.]*\s*[;,]?\s*url\s*=\s*)(["']?)(.*?)\2(\s*)$/is.exec(text)
  return refresh === null
    ? text
    : `${refresh[1]}${refresh[2]}${redactUrl(refresh[3].trim(), secrets)}${refresh[2]}${refresh[4]}`
}

/** @internal `Redaction.redactHeaders`: with the request they answer, its secrets too. */
export const redactHeadersFor = (
  headers: Headers.Headers | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>,
  request?: HttpClientRequest.HttpClientRequest
): Record<string, string> => redactHeaders(headers, request === undefined ? noSecrets : secretsOf(request))

// -----------------------------------------------------------------------------
// text
// -----------------------------------------------------------------------------

// Matches `"name": "value"` (or a number, `true`..., or an array of them: headers echoed as JSON carry repeated ones,
// `Set-Cookie` above all, as arrays), `name=value`, `Name: value` lines and `Bearer xxx`. An array's items are separated
// by commas that no item holds, so a match is found, or not, in one pass.
const jsonScalar = String.raw`"(?:[^"\\]|\\.)*"|[^\s,}\]"[{]+`
const jsonPairPattern = new RegExp(
  String.raw`"([^"\\]{1,64})"\s*:\s*(${jsonScalar}|\[\s*(?:(?:${jsonScalar})(?:\s*,\s*(?:${jsonScalar}))*)?\s*\])`,
  "g"
)
// a value may be a credential with its scheme (`authorization=Bearer abc`): the pair takes both words, or the credential
// would be left behind once the scheme is replaced. A name starts after any character that cannot be part of it, not
// only a blank or a separator: a form body quoted in JSON (`"client_secret=...&..."`, a HAR's `postData.text`), a
// fragment written without its URL (`/cb#access_token=...`), a pair in brackets.
// A name may hold format characters (`to\u200Bken`), which are judged absent (see `withoutFormatCharacters`), and
// percent escapes (`%74oken`, `access%5Ftoken`), judged decoded as a server reads them.
const formPairPattern =
  /(^|[^A-Za-z0-9_.-])((?:[A-Za-z0-9_.-]|%[0-9A-Fa-f]{2}|\p{Cf}){1,64})=(<redacted>|(?:(Bearer|Basic|Digest|Token)[ \t]+([A-Za-z0-9._~+/=-]+))|[^\s&;,"<>]+)/giu
const headerLinePattern = /(^|[\s,;{(])((?:[A-Za-z0-9_-]|\p{Cf}){1,64})([ \t]*:[ \t]*)[^\r\n]+/gu
const bearerPattern = /\b(Bearer|Basic|Digest|Token)\s+([A-Za-z0-9._~+/=-]+)/gi

/**
 * Whether the name of a `name=value` pair in text is secret. The name is read with the characters that may split it
 * (format characters, percent escapes) and judged decoded; what follows the last of them, which is all the pair's name
 * was before, is judged too, so that reading more of a name never lets a value through (`x\u200Bsig=...`).
 */
const isSecretPairName = (name: string): boolean => {
  if (isSecretParamName(decodeName(name))) return true
  let start = name.length
  while (start > 0 && isPlainNameCharacter(name.charCodeAt(start - 1))) start--
  return start > 0 && start < name.length && isSecretParamName(name.slice(start))
}

/** `[A-Za-z0-9_.-]` */
const isPlainNameCharacter = (code: number): boolean =>
  (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95 ||
  code === 46 || code === 45

// A scheme written as in a header (`Bearer`, `BASIC`) is followed by a credential, whatever it looks like; after a
// lower-case word it must look like one, or prose would be redacted ("the bearer token is…", "the token endpoint"):
// at least 8 characters with a digit or a symbol tokens carry, or 20 and more of anything. (Registered secrets are
// found by value whatever they look like.)
const isCapitalized = (word: string): boolean => word[0] !== word[0]!.toLowerCase()

const looksLikeCredential = (word: string): boolean =>
  word.length >= 20 || (word.length >= 8 && /[0-9._~+/=-]/.test(word))

// a URL redacted before (a failure's message, redacted again for a log line) keeps its `<redacted>` values whole
const urlInText = /\b[a-z][a-z0-9+.-]*:\/\/(?:<redacted>|[^\s"'<>])+/gi

// HAR and Postman keep headers, cookies, query and form parameters as name-value records: `{"name": "Authorization",
// "value": "Bearer ..."}`, Postman's `{"key": "api_key", "value": "..."}`, members in any order, with others beside
// them (`"comment"`, a cookie's `"path"`, Postman's `"type"` or a `"description"` object). A record is an object of up
// to 16 members whose values are strings, scalars or flat objects and arrays; its tokens are told apart by their first
// character, so a text that is no record costs a pass, not a blow-up.
const jsonString = String.raw`"(?:[^"\\]|\\.)*"`
const recordMemberValue = String.raw`${jsonString}|[^\s,{}\[\]":]+|[{[][^{}\[\]"]*(?:${jsonString}[^{}\[\]"]*)*[}\]]`
const recordMember = String.raw`${jsonString}\s*:\s*(?:${recordMemberValue})`

/** How name-value records are written at one depth of escaping: as JSON, or inside a JSON string once or twice. */
interface RecordSyntax {
  /** How many times the records are escaped: 0 (JSON), 1 (in a JSON string), 2 (in a string in a string). */
  readonly depth: number
  /** Whether a text may hold such a record: it holds `"value"` written at this depth. */
  readonly holds: RegExp
  readonly record: RegExp
  /** A member: its key, the colon with its blanks, its value. */
  readonly member: RegExp
  /** The start of a HAR `cookies` array, read backwards from its `[`. */
  readonly cookiesKey: RegExp
  /** A quote as written at this depth. */
  readonly quote: string
}

const jsonRecords: RecordSyntax = {
  depth: 0,
  holds: /"value"/i,
  record: new RegExp(String.raw`\{\s*(?:${recordMember}\s*,\s*){0,15}${recordMember}\s*\}`, "g"),
  member: new RegExp(String.raw`(${jsonString})(\s*:\s*)(${recordMemberValue})`, "g"),
  cookiesKey: /"cookies"\s*:\s*$/i,
  quote: "\""
}

/**
 * Records written inside a JSON string (a log line's `"message"`, a HAR's `postData.text`, a body kept as a string),
 * once or twice: a quote is then a run of 1 (or 3) backslashes before it, a blank may be an escaped `\n`, `\r` or `\t`,
 * and a quote inside a string is a longer run. A string ends at the first quote whose run is as long as the ones that
 * open strings, modulo 4 (or 8): `\"a\\\"b\"` is one string at depth 1, `\"a\\\\\"` one whose content ends with a
 * backslash. A run of backslashes is always read whole, and its end says which token it is, so these tokens are told
 * apart by their first characters too.
 */
const escapedRecords = (depth: number): RecordSyntax => {
  const opens = 2 ** depth - 1
  const period = 2 ** (depth + 1)
  const quote = String.raw`\\{${opens}}"`
  const string = String.raw`${quote}(?:[^"\\]|\\+[^"\\]|(?:\\{${period}})*\\{${
    period - 1
  }}")*(?:\\{${period}})*${quote}`
  const blank = String.raw`(?:\s|\\+[nrt])*`
  const value = String.raw`${string}|[^\s,{}\[\]":\\]+|[{[](?:[^{}\[\]"\\]|\\+[^"\\{}\[\]]|${string})*[}\]]`
  const member = String.raw`${string}${blank}:${blank}(?:${value})`
  return {
    depth,
    holds: new RegExp(String.raw`(?:^|[^\\])${quote}value${quote}`, "i"),
    record: new RegExp(String.raw`\{${blank}(?:${member}${blank},${blank}){0,15}${member}${blank}\}`, "g"),
    member: new RegExp(String.raw`(${string})(${blank}:${blank})(${value})`, "g"),
    cookiesKey: new RegExp(String.raw`${quote}cookies${quote}${blank}:${blank}$`, "i"),
    quote: `${"\\".repeat(opens)}"`
  }
}

// the escaped ones first: the positions `redactRecords` gives of the JSON records' keys are then those of the result
const recordSyntaxes: ReadonlyArray<RecordSyntax> = [escapedRecords(2), escapedRecords(1), jsonRecords]

/** `"value"` written as JSON, or escaped once or twice: one scan tells that a text holds no record at any depth. */
const mayHoldRecord = /"value(?:\\{1,3})?"/i

const parseJsonString = (literal: string): string | undefined => {
  try {
    const value: unknown = JSON.parse(literal)
    return typeof value === "string" ? value : undefined
  } catch {
    return undefined
  }
}

/** A quote written at each depth. */
const quotes: ReadonlyArray<string> = ["\"", "\\\"", "\\\\\\\""]

/** A string literal written at `depth`, unescaped: `\"Authorization\"` at depth 1 is `Authorization`. */
const parseStringAt = (literal: string, depth: number): string | undefined => {
  // nearly every name and value escapes nothing: it is what its quotes (`"`, `\"`, `\\\"`) hold
  const quote = quotes[depth]!
  if (literal.length >= 2 * quote.length && literal.startsWith(quote) && literal.endsWith(quote)) {
    const inner = literal.slice(quote.length, -quote.length)
    if (!inner.includes("\\")) return inner
  }
  let text: string | undefined = literal
  for (let i = 0; i < depth && text !== undefined; i++) text = parseJsonString(`"${text}"`)
  return text === undefined ? undefined : parseJsonString(text)
}

/**
 * The index of the last character before `end` that is not a blank, looking back 256 characters at most; or -1. In an
 * escaped text, an escaped `\n`, `\r` or `\t` is a blank too.
 */
const lastNonBlank = (text: string, end: number, escaped: boolean): number => {
  const stop = Math.max(0, end - 256)
  for (let i = end - 1; i >= stop; i--) {
    const code = text.charCodeAt(i)
    if (code === 32 || code === 9 || code === 10 || code === 13) continue
    // `n`, `r` or `t` after a backslash: the run of backslashes before it is skipped
    if (escaped && (code === 110 || code === 114 || code === 116) && i > 0 && text.charCodeAt(i - 1) === 92) {
      while (i > stop && text.charCodeAt(i - 1) === 92) i--
      continue
    }
    return i
  }
  return -1
}

/**
 * Replaces the `"value"` of every name-value record whose `"name"` (or Postman's `"key"`) is a secret header or
 * parameter name, and of every record in a HAR `"cookies"` array whatever its name: a cookie's value is as secret as
 * the `Cookie` header that carried it (the HAR sanitizers of Google and Cloudflare do so with their "all cookies"
 * option). Records are read as JSON and inside JSON strings, escaped once or twice. Nothing else of a record changes.
 * `names` is given where the `"key"` members of the JSON records that have a `"value"` start in the result.
 */
const redactRecords = (text: string, names: Set<number>): string => {
  if (!mayHoldRecord.test(text)) return text
  let out = text
  for (const syntax of recordSyntaxes) {
    if (syntax.holds.test(out)) out = redactRecordsAt(out, syntax, names)
  }
  return out
}

const redactRecordsAt = (text: string, syntax: RecordSyntax, names: Set<number>): string => {
  const escaped = syntax.depth > 0
  // the end of the last record found in a `cookies` array, to know the records that follow it there
  let cookieRecordEnd = -1
  // how much longer the text is now than it was, up to the record being read
  let shift = 0
  return text.replace(syntax.record, (record: string, offset: number) => {
    const before = lastNonBlank(text, offset, escaped)
    const inCookies = before !== -1 && (
      (text[before] === "[" && syntax.cookiesKey.test(text.slice(Math.max(0, before - 96), before))) ||
      (text[before] === "," && cookieRecordEnd !== -1 && lastNonBlank(text, before, escaped) === cookieRecordEnd - 1)
    )
    cookieRecordEnd = inCookies ? offset + record.length : -1
    if (!syntax.holds.test(record)) return record
    let secret = inCookies
    let hasValue = false
    let hasKey = false
    for (const [, key, , value] of record.matchAll(syntax.member)) {
      const name = parseStringAt(key!, syntax.depth)?.toLowerCase()
      if (name === "value") hasValue = true
      else if (name === "name" || name === "key") {
        if (name === "key") hasKey = true
        if (secret) continue
        const decoded = parseStringAt(value!, syntax.depth)
        secret = decoded !== undefined && (isSecretHeaderName(decoded) || isSecretParamName(decoded))
      }
    }
    const out = !secret || !hasValue ? record : record.replace(
      syntax.member,
      (member, key: string, colon: string) =>
        parseStringAt(key, syntax.depth)?.toLowerCase() === "value"
          ? `${key}${colon}${syntax.quote}${placeholder}${syntax.quote}`
          : member
    )
    // a `"key"` beside a `"value"` holds the parameter's name (Postman), which the `"name": "value"` rule must keep;
    // that rule reads JSON only
    if (hasKey && hasValue && !escaped) {
      for (const member of out.matchAll(syntax.member)) {
        if (parseStringAt(member[1]!, 0)?.toLowerCase() === "key") names.add(offset + shift + member.index)
      }
    }
    shift += out.length - record.length
    return out
  })
}

/** `"name": "value"` members whose name is secret: their values replaced, but not a record's `"key"` (`names`). */
const redactJsonPairs = (text: string, names: ReadonlySet<number>): string =>
  text.replace(
    jsonPairPattern,
    (match, name: string, _value: string, offset: number) =>
      isSecretParamName(name) && !names.has(offset) ? `"${name}":"${placeholder}"` : match
  )

/**
 * The `"name": "value"` members written inside a JSON string (`{"log": "{\"access_token\":\"abc\"}"}`), escaped
 * once or twice: each string literal that holds an escaped quote is read, its members redacted as JSON's are, and
 * written back only when that changed it. The literals are found in one pass that stops at one left open, so no text
 * costs more than a scan.
 */
const redactEscapedPairs = (text: string, depth: number): string => {
  if (depth >= 2 || !text.includes("\\\"")) return text
  let out = ""
  let copied = 0
  let i = text.indexOf("\"")
  while (i !== -1) {
    let end = i + 1
    let escapes = false
    while (end < text.length && text.charCodeAt(end) !== 34) {
      if (text.charCodeAt(end) === 92) {
        escapes = true
        end++
      }
      end++
    }
    if (end >= text.length) break
    if (escapes) {
      const literal = text.slice(i, end + 1)
      const inner = literal.includes("\\\"") ? parseJsonString(literal) : undefined
      if (inner !== undefined) {
        const names = new Set<number>()
        const redacted = redactEscapedPairs(redactJsonPairs(redactRecords(inner, names), names), depth + 1)
        if (redacted !== inner) {
          out += text.slice(copied, i) + JSON.stringify(redacted)
          copied = end + 1
        }
      }
    }
    i = text.indexOf("\"", end + 1)
  }
  return copied === 0 ? text : out + text.slice(copied)
}

/** @internal */
export const redactText = (text: string, secrets: ReadonlyArray<string> = noSecrets): string => {
  // where the `"key"` members that name a record's parameter start, once its records are read (see `redactRecords`)
  const recordNames = new Set<number>()
  return redactValues(
    redactEncodedPairs(
      redactEscapedPairs(
        redactJsonPairs(
          redactRecords(text.replace(urlInText, (url) => redactUrlOnly(url, secrets)), recordNames),
          recordNames
        ),
        0
      )
        .replace(
          formPairPattern,
          (match, prefix: string, name: string, value: string, scheme?: string, credential?: string) => {
            if (!isSecretPairName(name)) {
              return value.includes("?") ? `${prefix}${name}=${redactPairsInValue(value)}` : match
            }
            // after a lower-case scheme word, the next word is taken for a credential only if it looks like one
            if (
              scheme !== undefined && credential !== undefined && !isCapitalized(scheme) &&
              !looksLikeCredential(credential)
            ) {
              return `${prefix}${name}=${placeholder}${match.slice(prefix.length + name.length + 1 + scheme.length)}`
            }
            return `${prefix}${name}=${placeholder}`
          }
        )
        .replace(
          headerLinePattern,
          (match, start: string, name: string, colon: string) =>
            isSecretHeaderName(name) ? `${start}${name}${colon}${placeholder}` : match
        )
        .replace(
          bearerPattern,
          (match, scheme: string, credential: string) =>
            isCapitalized(scheme) || looksLikeCredential(credential) ? `${scheme} ${placeholder}` : match
        )
    ),
    secrets
  )
}

/**
 * A parsed JSON value with `redactText` applied to every string in it. Keys are kept, and so are values under
 * secret-looking keys that hold no secret: an error body's `code` or `session` field is data the caller reads. A
 * name-value record (HAR, Postman) is read as `redactText` reads it: its `value` is replaced when its `name` or `key` is
 * a secret header or parameter name, and in every record of a `cookies` array.
 *
 * @internal
 */
export const redactJson = (value: unknown, secrets: ReadonlyArray<string> = noSecrets): unknown =>
  redactJsonIn(value, secrets, false)

const redactJsonIn = (value: unknown, secrets: ReadonlyArray<string>, inCookies: boolean): unknown => {
  if (typeof value === "string") return redactText(value, secrets)
  if (typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) return value.map((item) => redactJsonIn(item, secrets, inCookies))
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  const secretRecord = (inCookies || hasSecretRecordName(record, keys)) &&
    keys.some((key) => key.toLowerCase() === "value")
  const out: Record<string, unknown> = {}
  for (const key of keys) {
    const lower = key.toLowerCase()
    const member = record[key]
    // assigned as a data property: a `__proto__` key must not set the copy's prototype
    Object.defineProperty(out, key, {
      value: secretRecord && lower === "value"
        ? placeholder
        : redactJsonIn(member, secrets, lower === "cookies" && Array.isArray(member)),
      enumerable: true,
      writable: true,
      configurable: true
    })
  }
  return out
}

const hasSecretRecordName = (record: Record<string, unknown>, keys: ReadonlyArray<string>): boolean => {
  for (const key of keys) {
    const lower = key.toLowerCase()
    const name = record[key]
    if (
      (lower === "name" || lower === "key") && typeof name === "string" &&
      (isSecretHeaderName(name) || isSecretParamName(name))
    ) return true
  }
  return false
}

/** @internal */
export const headerNamesToRedact: ReadonlyArray<string | RegExp> = [
  ...secretHeaderExact,
  secretNamePattern,
  camelKeyPattern
]

/** @internal The header names the running fiber treats as secret: ours and those added with `withSecretNames`. */
export const currentHeaderNamesToRedact = (): ReadonlyArray<string | RegExp> => {
  const added = addedNames()
  return added.length === 0 ? headerNamesToRedact : [...headerNamesToRedact, ...added]
}
