/**
 * Redirect following as client middleware, in place of `HttpClient.followRedirects`: secrets stay on their origin,
 * methods change as the fetch standard says, and the chain is bounded with a typed failure.
 *
 * | status | next request |
 * | --- | --- |
 * | 301, 302 | the same method and body, except POST, which becomes a GET without body (fetch, browsers) |
 * | 303 | GET without body (HEAD stays HEAD) |
 * | 307, 308 | the same method and body |
 * | 300, 304, 305, a 3xx without `Location` | not followed: the response is returned |
 *
 * A body read once (a `Stream`, or a raw `Readable`, `ReadableStream` or async iterable) cannot be sent twice: a hop
 * that would send it again (307, 308, and 301 or 302 for any method but POST) returns the 3xx instead.
 *
 * - **Another origin** (scheme, host or port differs, so every https → http downgrade too): `Authorization`,
 *   `Proxy-Authorization`, `Cookie`, `Host` and every header `Redaction` calls secret (`X-Api-Key`, `*-Token`...,
 *   and the names added with `Redaction.withSecretNames`) are dropped, as curl does without `--location-trusted`;
 *   fetch drops only `Authorization`. The `Idempotency-Key` goes on (it names the request and grants nothing: the
 *   next origin needs it to apply a repeat once). Any header whose value holds a registered secret (`Auth`'s
 *   credential, `Redaction.registerSecretValues`) is dropped too, whatever its name (an `Idempotency-Key` as well),
 *   and so are credentials in the URL (`user:pass@`, which
 *   transports send as Basic authentication): the request's, and any a `Location` to another origin carries (got).
 *   Same-origin hops keep every header, and the request's URL credentials when the `Location` has none (got, curl).
 * - Dropping the body also drops `Content-Type`, `Content-Length`, `Content-Encoding`, `Content-Language`,
 *   `Content-Location`. The request's query parameters are not carried over: the `Location` is the whole target.
 * - More than `maxRedirects` (default 20, as fetch) fails with `RedirectFailed` `TooMany`; a `Location` that does
 *   not parse or is not http(s) (`file:`, `data:`, `javascript:`) with `InvalidLocation`; an https → http hop with
 *   `allowDowngrade: false` with `Downgrade`. The failure names the redacted target.
 * - A non-ASCII `Location` is read as UTF-8 (browsers, undici's fetch and got do so; transports hand header values
 *   over one character a byte), so `Location: /café` goes to `/caf%C3%A9`; bytes that are not UTF-8 are kept as
 *   the Latin-1 characters they are.
 * - Each redirect's body is discarded (at most one chunk read, for a second at most) so its connection is freed; a body
 *   that sends nothing within that second is cancelled (its connection is not reused), and the redirect followed.
 *
 * Apply it outside `Auth`, whose credentials are attached per hop and only to the first hop's origin:
 * `client.pipe(Auth.bearer(token), Redirect.follow())`. Inside an `Attempt` or a `Policy` the whole chain is one
 * attempt: its timeout covers every hop, and a retry starts again from the first URL.
 *
 * @since 0.2.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpFailure from "./HttpFailure.js"
import * as internal from "./internal/redirect.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * Redirects followed at most, an integer of at least 0 (default 20); one more fails with `RedirectFailed` `TooMany`.
   * `follow` throws a `RangeError` for anything else.
   */
  readonly maxRedirects?: number | undefined
  /** Whether an https → http hop is followed (default `true`, without the secret headers); `false` fails it. */
  readonly allowDowngrade?: boolean | undefined
}

/**
 * The default redirect limit: 20, as the fetch standard.
 *
 * @example
 * ```ts
 * import { Redirect } from "@sturdy/http"
 *
 * console.log(Redirect.defaultMaxRedirects) // 20
 * ```
 * @since 0.2.0
 * @category constants
 */
export const defaultMaxRedirects: number = internal.defaultMaxRedirects

/**
 * Follows 301, 302, 303, 307 and 308 responses, dropping credentials on a hop to another origin.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Auth, Redirect } from "@sturdy/http"
 * import { Effect, Redacted } from "effect"
 *
 * const client = Effect.map(
 *   HttpClient.HttpClient,
 *   (client) => client.pipe(Auth.bearer(Redacted.make("t")), Redirect.follow({ maxRedirects: 5 }))
 * )
 * ```
 * @since 0.2.0
 * @category middleware
 */
export const follow: {
  (
    options?: Options
  ): <E, R>(self: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E | HttpFailure.RedirectFailed, R>
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    options?: Options
  ): HttpClient.HttpClient.With<E | HttpFailure.RedirectFailed, R>
} = internal.follow
