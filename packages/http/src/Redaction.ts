/**
 * Removes secrets from URLs, headers and text before they reach a message, a log or a span.
 *
 * A header is secret when its name is `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie` or contains
 * `api-key`, `token`, `secret`, `session`, `password`, `signature`, `credential` or `auth`. A query parameter is
 * secret when its name is `key`, `sig`, `code`, `apikey`, `client_secret`... or contains one of the same words
 * (`api_key`, `access_token`, `password`, `signature`...). User info in a URL (`user:pass@`) is always removed.
 *
 * @since 0.1.0
 */
import type * as Headers from "@effect/platform/Headers"
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
 * Whether a header with this name carries a secret.
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
 * Whether a query parameter with this name carries a secret.
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
 * Copies headers into a plain record with lower-case names and every secret value replaced by the placeholder.
 *
 * @example
 * ```ts
 * import { Headers } from "@effect/platform"
 * import { Redaction } from "@sturdy/http"
 *
 * Redaction.redactHeaders(Headers.fromInput({ authorization: "Bearer abc" })) // { authorization: "<redacted>" }
 * ```
 * @since 0.1.0
 * @category redaction
 */
export const redactHeaders: (
  headers: Headers.Headers | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
) => Record<string, string> = internal.redactHeaders

/**
 * Returns the URL with user info and secret query or fragment parameters replaced; works on unparsable URLs too.
 *
 * @example
 * ```ts
 * import { Redaction } from "@sturdy/http"
 *
 * Redaction.redactUrl("https://api.example.com/v1?api_key=abc&page=2")
 * // "https://api.example.com/v1?api_key=<redacted>&page=2"
 * ```
 * @since 0.1.0
 * @category redaction
 */
export const redactUrl: (url: string | URL) => string = internal.redactUrl

/**
 * Redacts a request's URL together with the query parameters kept apart from it (as `HttpClientRequest` does).
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
 * Replaces secret-looking `"name": "value"` and `name=value` pairs and `Bearer ...` credentials in free text.
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
