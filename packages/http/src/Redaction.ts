/**
 * Removes secrets from URLs, headers and text before they reach a message, a log or a span.
 *
 * What is secret:
 *
 * | what | rule |
 * | --- | --- |
 * | header names | `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`, `WWW-Authenticate`, `Proxy-Authenticate`; any name containing `api-key`, `token`, `secret`, `session`, `password`, `passwd`, `passphrase`, `signature`, `credential`, `private-key`, `auth`, `jwt` or `cookie`; a name ending in `key` after `-`, `_` or `.` (`x-functions-key`) or in camel case (`signingKey`) |
 * | query parameter names | the same, plus `sig`, `pwd`, `pass`, `code`, `code_verifier`, `assertion`, `client_assertion`, `otp`, `ticket`, `hmac`, `apikey`, `client_secret`, `AWSAccessKeyId` (`jwt`, `id_token`, `refresh_token`, `auth`, `session`, `api_key`, `access_key`...) |
 * | names you add | {@link withSecretNames} / {@link layerSecretNames}: exact names (case-insensitive) or patterns, for headers and parameters |
 * | pairs encoded in a value | a pair percent-encoded once or twice inside a query value or in text (a URL handed to another: `?next=https%3A%2F%2Fidp%2Fcb%3Faccess_token%3Dabc%26page%3D2`, a `redirect_uri`, a `state`) is found by its encoded `=` and separators and judged by its decoded name; only its value is replaced (`access_token%3D<redacted>%26page%3D2`), the rest kept as written. A pair inside a path segment (`%2Ftoken%3D`) is not one. Written without encoding in a value (`next=/login?token=abc`), a pair after a `?` is judged by its own name too, even in a value no server reads as a URL (`b=1?api_key=k2`: a secret-looking pair is never shown). A secret value is hidden whole, to the `&`, `;`, `#` or blank that ends it: a server splits a query on those, never on a second `?`, so what follows a `?` in it is part of it (`next=/login?token=abc?x=1` reads `next=/login?token=<redacted>`, and so does `%3Ftoken%3Dabc%3Fx%3D1` encoded) |
 * | percent-encoded names | a query parameter's or a `name=value` pair's name is judged percent-decoded, as a server reads it (`?%74oken=`, `access%5Ftoken=`; an escape that is not UTF-8 does not stop the others being decoded) |
 * | format characters in names | a name is judged without the Unicode format characters (category Cf: zero-width space and joiners, soft hyphen, byte order mark, bidi controls) that may split it unseen (`to\u200Bken=`); names you add are matched with and without them |
 * | name-value records | in text and in a failure's parsed `payload`, a JSON object with a `"name"` (or Postman's `"key"`) and a `"value"`, members in any order, spacing and case (the headers, query and form parameters of a HAR, Postman's headers, variables and auth), written as JSON or inside a JSON string, escaped once or twice (`{"log": "{\"name\":\"Authorization\",\"value\":\"...\"}"}`, a HAR's `postData.text`): the value is replaced when the name is a secret header or parameter name; every record of a HAR `"cookies"` array is secret whatever its name, as a `Cookie` header is (the HAR sanitizers of Google and Cloudflare have this as an option). A `"key"` beside a `"value"` names the parameter and is kept (`{"key": "api_key", "value": "<redacted>"}`); a `"key"` member with no `"value"` beside it is judged by its own name, as any member is |
 * | `;` in a query | a pair after a `;` is judged by its own name (`?a=1;token=abc`), as servers that split a query on `;` read it |
 * | URL parts | user info (`user:pass@`) and the fragment are dropped; in an absolute URL that does not parse, everything from `//` to the last `@` is taken for user info and replaced (a password with a raw `/`, `?` or `#`) |
 * | URL-valued response headers | `Location`, `Content-Location`, `Link`, `Refresh`: the query rule applies to the URLs in them |
 * | values | every secret the client holds, wherever it appears: the values of the secret headers and parameters of the request that failed (and of the secret pairs of a URL nested in one of its parameters, raw or encoded once or twice: `?next=https%3A%2F%2Fidp%2Fcb%3Faccess_token%3Dabc` adds `abc`, or named in one of its other headers: a `Referer` with `?code=...`), its user info, the credentials `Auth` attaches and values given to {@link registerSecretValues} (4 characters or more, as written, URL-encoded as `encodeURIComponent` or a form (`URLSearchParams`, a query's encoding) writes it, with either case of hex or `+` for spaces, and JSON-escaped as `\/`) |
 *
 * Registered values (the last row) are kept in two areas, searched alike and in every form above:
 *
 * | area | what | kept |
 * | --- | --- | --- |
 * | pinned | values given to {@link registerSecretValues}; the static credentials of `Auth.bearer`, `Auth.apiKeyHeader`, `Auth.apiKeyQuery` and their layers; OAuth2 client secrets | for the life of the process, whatever is registered after them; no limit |
 * | rotating | the tokens `Auth.bearerFrom` (and `layerBearerFrom`, `OAuth2`) takes from a token source | per token source, its current token and the one before it (a request sent before a refresh still carries it); an older one is let go on the next refresh, and all of a source's tokens when the source is garbage collected |
 *
 * A long-running service thus holds one entry per pinned value plus two per token source, however many times its
 * tokens are refreshed. Each distinct pinned value stays for good and is searched in every redaction, so pinning
 * unboundedly many distinct values (a client built per request with `Auth.bearer` and that request's own token, a
 * value per tenant registered as tenants come and go) grows memory and redaction time without bound: that is the
 * caller's to avoid. Hand tokens that change to `Auth.bearerFrom` through `Auth.makeTokenSource` instead.
 *
 * Where: every `HttpFailure` (`url`, `headers`, `bodyExcerpt`, `detail`, `issue`, causes, so `message`, `toString`,
 * `toJSON` and inspection), every span, span event and log line `Telemetry` and `Policy` write, `Policy` events, the
 * `sturdy` command's output. The platform's own client span, which records the raw URL and ends with the raw
 * transport error, is replaced by a redacted one wherever Sturdy sends a request.
 *
 * @since 0.1.0
 */
import type * as Headers from "@effect/platform/Headers"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Effect from "effect/Effect"
import type * as FiberRef from "effect/FiberRef"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as internal from "./internal/redaction.js"

/**
 * The text that replaces a secret value.
 *
 * @example
 * ```ts
 * import { Redaction } from "@sturdy/http"
 *
 * console.log(Redaction.placeholder) // "<redacted>"
 * ```
 * @since 0.1.0
 * @category constants
 */
export const placeholder: string = internal.placeholder

/**
 * Header and query parameter names the current fiber treats as secret on top of the built-in rule: a string is an
 * exact name (case-insensitive), a `RegExp` is tested against the name as written (and, if it holds format characters,
 * without them). Empty by default.
 *
 * @example
 * ```ts
 * import { Redaction } from "@sturdy/http"
 * import { Effect, FiberRef } from "effect"
 *
 * const names = FiberRef.get(Redaction.currentSecretNames)
 * ```
 * @since 0.2.0
 * @category fiber refs
 */
export const currentSecretNames: FiberRef.FiberRef<ReadonlyArray<string | RegExp>> = internal.currentSecretNames

/**
 * Treats more header and query parameter names as secret while `self` runs (everything Sturdy renders inside it:
 * failures, spans, logs, events, redirect header stripping). An entry that is neither a string nor a `RegExp` is a
 * `TypeError` naming its index, thrown when the effect is made (`layerSecretNames`: when the layer is made).
 *
 * @example
 * ```ts
 * import { Redaction } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string>
 * const redacted = call.pipe(Redaction.withSecretNames(["x-tenant", /^x-partner-/i, "state"]))
 * ```
 * @since 0.2.0
 * @category combinators
 */
export const withSecretNames: {
  (names: ReadonlyArray<string | RegExp>): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, names: ReadonlyArray<string | RegExp>): Effect.Effect<A, E, R>
} = internal.withSecretNames

/**
 * {@link withSecretNames} for a whole program, as a layer.
 *
 * @example
 * ```ts
 * import { Redaction } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * declare const program: Effect.Effect<void>
 * const main = program.pipe(Effect.provide(Redaction.layerSecretNames(["x-tenant", "state"])))
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layerSecretNames: (names: ReadonlyArray<string | RegExp>) => Layer.Layer<never> = internal.layerSecretNames

/**
 * Adds long-lived secret values to search for in everything Sturdy renders, in this process: they are pinned, kept
 * until the process exits and never pushed out by other values (values shorter than 4 characters are ignored). Each
 * distinct value costs memory and a search in every redaction for good: register the secrets the process holds, not
 * one per request. `Auth` registers the credentials it attaches by itself (tokens from a token source only while they
 * are current or the one before).
 *
 * @example
 * ```ts
 * import { Redaction } from "@sturdy/http"
 * import { Redacted } from "effect"
 *
 * const program = Redaction.registerSecretValues(Redacted.make("tenant-7f3a9c"))
 * ```
 * @since 0.2.0
 * @category values
 */
export const registerSecretValues: (
  ...secrets: ReadonlyArray<string | Redacted.Redacted<string>>
) => Effect.Effect<void> = internal.registerSecretValues

/**
 * Whether a header with this name carries a secret (inside a fiber, the names of {@link currentSecretNames} too).
 * Format characters in the name (`\u200B`, `\u00AD`...) are ignored.
 *
 * @example
 * ```ts
 * import { Redaction } from "@sturdy/http"
 *
 * Redaction.isSecretHeaderName("X-Api-Key") // true
 * ```
 * @since 0.1.0
 * @category predicates
 */
export const isSecretHeaderName: (name: string) => boolean = internal.isSecretHeaderName

/**
 * Whether a query parameter with this name carries a secret (inside a fiber, {@link currentSecretNames} too).
 * Format characters in the name are ignored.
 *
 * @example
 * ```ts
 * import { Redaction } from "@sturdy/http"
 *
 * Redaction.isSecretParamName("access_token") // true
 * ```
 * @since 0.1.0
 * @category predicates
 */
export const isSecretParamName: (name: string) => boolean = internal.isSecretParamName

/**
 * Header names and patterns to add to `Headers.currentRedactedNames`, so platform spans and logs redact them too.
 *
 * @example
 * ```ts
 * import { Headers } from "@effect/platform"
 * import { Redaction } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const program = Effect.void.pipe(Effect.locally(Headers.currentRedactedNames, Redaction.headerNamesToRedact))
 * ```
 * @since 0.1.0
 * @category constants
 */
export const headerNamesToRedact: ReadonlyArray<string | RegExp> = internal.headerNamesToRedact

/**
 * Copies headers into a plain record with lower-case names, secret values replaced by the placeholder and the URLs
 * of `Location`, `Content-Location`, `Link` and `Refresh` redacted. Given the request they answer, it also replaces
 * that request's secrets wherever a server echoes them (the values of its secret headers and parameters, those of a URL
 * nested in one of its parameters, its user info and fragment), as the failures' `headers` do.
 *
 * @example
 * ```ts
 * import { Headers, HttpClientRequest } from "@effect/platform"
 * import { Redaction } from "@sturdy/http"
 *
 * Redaction.redactHeaders(Headers.fromInput({ authorization: "Bearer abc" })) // { authorization: "<redacted>" }
 *
 * const request = HttpClientRequest.get("https://api.example.com/", { headers: { "x-api-key": "k-123456" } })
 * Redaction.redactHeaders(Headers.fromInput({ "x-echo": "k-123456" }), request) // { "x-echo": "<redacted>" }
 * ```
 * @since 0.1.0
 * @category redaction
 */
export const redactHeaders: (
  headers: Headers.Headers | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>,
  request?: HttpClientRequest.HttpClientRequest
) => Record<string, string> = internal.redactHeadersFor

/**
 * Returns the URL without user info and fragment, secret query parameters and registered secret values replaced;
 * works on relative and unparsable URLs too. A query pair with nothing redacted keeps its encoding (`q=a+b`,
 * `fields=a,b`), so the URL shown is the one sent; a pair with something redacted is written anew, URL-encoded.
 * Given the request the URL belongs to (since 0.2.0), the secrets that request carries elsewhere (its secret headers'
 * values, its user info, its secret query parameters) are replaced wherever they appear in the URL too, as
 * {@link redactHeaders} does for headers: a token echoed under an ordinary name (`?state=<token>`) or in the path.
 *
 * @example
 * ```ts
 * import { HttpClientRequest } from "@effect/platform"
 * import { Redaction } from "@sturdy/http"
 *
 * Redaction.redactUrl("https://ada:pw@api.example.com/v1?api_key=abc&page=2#id_token=x")
 * // "https://api.example.com/v1?api_key=<redacted>&page=2"
 *
 * const request = HttpClientRequest.get("https://api.example.com/v1/t-0123456789/items", {
 *   headers: { authorization: "Bearer t-0123456789" }
 * })
 * Redaction.redactUrl(request.url, request) // "https://api.example.com/v1/<redacted>/items"
 * ```
 * @since 0.1.0
 * @category redaction
 */
export const redactUrl: (url: string | URL, request?: HttpClientRequest.HttpClientRequest) => string =
  internal.redactUrlFor

/**
 * Redacts a request's URL together with the query parameters kept apart from it (as `HttpClientRequest` does),
 * joined as the transport joins them (`UrlParams.makeUrl`: the parameters form-encoded, a space as `+`).
 *
 * @example
 * ```ts
 * import { Redaction } from "@sturdy/http"
 *
 * Redaction.redactUrlWithParams("https://api.example.com/v1", [["token", "abc"]])
 * // "https://api.example.com/v1?token=<redacted>"
 * ```
 * @since 0.1.0
 * @category redaction
 */
export const redactUrlWithParams: (url: string, urlParams: ReadonlyArray<readonly [string, string]>) => string =
  internal.redactUrlWithParams

/**
 * Replaces secret-looking `"name": "value"`, `name=value` and `Name: value` pairs, the values of name-value records
 * (`{"name": "Authorization", "value": "..."}`, as HAR and Postman write them), `Bearer ...` credentials, the secrets in
 * URLs and registered secret values in free text. A `"name": "value"` pair is found written as JSON and inside a JSON
 * string, escaped once or twice (`{"error": "{\"access_token\": \"...\"}"}`, an upstream's body kept as a string);
 * a string that held one is written back with `JSON.stringify`, the text around it as it was.
 *
 * @example
 * ```ts
 * import { Redaction } from "@sturdy/http"
 *
 * Redaction.redactText(`{"access_token":"abc","user":"ada"}`) // `{"access_token":"<redacted>","user":"ada"}`
 * ```
 * @since 0.1.0
 * @category redaction
 */
export const redactText: (text: string) => string = internal.redactText
