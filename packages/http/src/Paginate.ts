/**
 * Pagination as a lazy `Stream` of pages: each page is fetched by an effect the caller gives (so it runs through the
 * caller's `Policy`, `Attempt` or `SturdyClient`, and a page that fails is retried as one call, never from page 1),
 * and the next request is computed from the page just fetched, as got's `pagination` option and Octokit's `paginate`
 * do. Nothing is fetched before the stream is pulled, and a page is fetched only when the one before it has been
 * consumed: `Stream.take(n)` fetches only the pages holding those `n` items.
 *
 * | Strategy          | Next request                                                          | The last page              |
 * | ----------------- | --------------------------------------------------------------------- | -------------------------- |
 * | {@link links}     | the `Link` header's `rel="next"` (RFC 8288), resolved against the page's URL; it replaces URL and query | no `rel="next"` |
 * | {@link cursor}    | the first request with `?<param>=<cursor>` (default `cursor`), or the caller's `request(cursor)` | no cursor (`undefined`, `null`, `""`) |
 * | {@link pageNumbers} | the first request with `?<param>=<n>` (default `page`, from `start`, default 1) | an empty page, or one shorter than `pageSize` |
 * | {@link offsets}   | the first request with `?<param>=<offset>` (default `offset`, from `start`, default 0), advanced by the items received | as `pageNumbers` |
 *
 * Every request keeps the caller's headers and method (a `Link` page is a GET). The query parameter a strategy sets
 * replaces one of the same name written in the request's URL.
 *
 * ## Safety
 *
 * Each is a {@link PaginationError}, raised when the page after the last good one is pulled (the pages before it are
 * emitted), its URL and detail redacted as every `HttpFailure` is:
 *
 * | Reason           | When                                                                                    |
 * | ---------------- | --------------------------------------------------------------------------------------- |
 * | `Loop`           | a next link to a URL already fetched, or a cursor already followed (the one the first request carries in `param` too) |
 * | `CrossOrigin`    | a next link to another origin (scheme, host, port) than the first request's, not in `allowedOrigins` |
 * | `Downgrade`      | a next link over `http:` when the first request was `https:`, even to an origin listed in `allowedOrigins` (no option allows it) |
 * | `InvalidLink`    | a next link that does not parse, is not http(s) (`javascript:`, `file:`, `data:`), or carries `user:pass@`; a cursor that is not a string or a finite number (a number is sent written out) |
 * | `TooManyPages`   | `maxPages` pages were fetched and there is a next one: a typed failure, not a silent truncation |
 * | `InvalidOptions` | an option out of range (naming it), or a relative first URL for `links` without `baseUrl`, before anything is sent; or a page number beyond 2^53 − 1 |
 *
 * A page on an allowed other origin is sent without `Authorization`, `Proxy-Authorization`, `Cookie`, any header
 * `Redaction` calls secret, any header holding a registered secret value, and URL credentials, as `Redirect.follow`
 * drops them; a later page back on the first origin has them again (each request is built from the first one).
 *
 * | Option           | Default                      | Valid values                             |
 * | ---------------- | ---------------------------- | ---------------------------------------- |
 * | `maxPages`       | 1000 ({@link defaultMaxPages}) | an integer ≥ 1, or `Infinity`           |
 * | `allowedOrigins` | none (`links`)               | http(s) origins (`https://api2.example.com`) |
 * | `param`          | `cursor` / `page` / `offset` | a non-empty string                       |
 * | `start`          | 1 (`pageNumbers`), 0 (`offsets`) | an integer ≥ 0                       |
 * | `pageSize`       | none: only an empty page ends | an integer ≥ 1                          |
 * | `sizeParam`      | none (`pageSize` is not sent) | a non-empty string, with `pageSize`     |
 * | `baseUrl`        | none                         | an absolute http(s) URL                  |
 *
 * Judgement calls: a link with an `anchor` parameter names the next page of another resource and is not followed;
 * the pages stream emits every page fetched, an empty last one too (`items` flattens it away); `links` needs an
 * absolute first URL, or a relative one with `baseUrl` (a relative one without, left for a client's base URL, is
 * refused with `InvalidOptions`, as next links could not be resolved nor their origin checked); loops are found by URL
 * for links and by cursor value for cursors, so a server that changes a link's query on every page is bounded by
 * `maxPages` only. A downgrade is refused even to a listed origin: unlike `Redirect.follow` (`allowDowngrade`, on by
 * default), there is no option to allow it.
 *
 * ## Telemetry
 *
 * With a real tracer installed, a listing is one `http.client.paginate {METHOD}` span (`internal`) with the first
 * request's attributes (`url.full` redacted) and `sturdy.strategy` (`links`, `cursor`, `page_numbers`, `offsets`);
 * each page's call, traced as the caller traces it, is its child. It ends when the stream ends, fails or is
 * interrupted, and when a consumer stops pulling (`Stream.take`), with `sturdy.pages` (the pages fetched),
 * `sturdy.items` (`pageNumbers`, `offsets`: the items their `items` option counted; `links`, `cursor`: the items
 * {@link items} flattened from their pages, when the listing is flattened with it, absent otherwise), `sturdy.outcome`, `error.type`, `sturdy.failure_tag` and `sturdy.failure_reason` (a `PaginationError`'s).
 * The counter `sturdy_http_paginate_pages_total` (label `host`: the first request's) counts pages with or without a
 * tracer. Without a tracer: no span, no attribute, no redacted URL; per listing a regex for the host and a set lookup
 * for its label, then a counter update per page, as `EventStream` and `Download` do. Options refused with
 * `InvalidOptions` start no span.
 *
 * @since 0.2.0
 */
import type * as Headers from "@effect/platform/Headers"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/paginate.js"

/**
 * One link of a `Link` header: its target as written (not resolved; a non-ASCII target the transport handed over as
 * Latin-1 bytes is read as UTF-8, as `Redirect` reads a `Location`), its relation types (lowercased, as they
 * compare case-insensitively), and its parameters (names lowercased, values unquoted, the first occurrence of each).
 *
 * @example
 * ```ts
 * import type { Paginate } from "@sturdy/http"
 *
 * const isNext = (link: Paginate.Link) => link.rels.includes("next")
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Link {
  readonly uri: string
  readonly rels: ReadonlyArray<string>
  readonly params: Readonly<Record<string, string>>
}

/**
 * Where a `Link` header is read from: an `Attempt.Received` (or anything with `headers`), or the headers themselves.
 *
 * @example
 * ```ts
 * import type { Paginate } from "@sturdy/http"
 *
 * const page: Paginate.HeaderSource = { headers: { link: `<https://api.example.com/items?page=2>; rel="next"` } }
 * ```
 * @since 0.2.0
 * @category models
 */
export type HeaderSource =
  | { readonly headers: Headers.Headers | Readonly<Record<string, string | ReadonlyArray<string> | undefined>> }
  | Headers.Headers
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/**
 * Options of every strategy. Values out of range fail the stream with `PaginationError` `InvalidOptions` before
 * anything is sent.
 *
 * @example
 * ```ts
 * import type { Paginate } from "@sturdy/http"
 *
 * const options: Paginate.Options = { maxPages: 50, baseUrl: "https://api.example.com/v1" }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Pages fetched at most (default 1000); a next page beyond fails with `TooManyPages`. */
  readonly maxPages?: number | undefined
  /**
   * An absolute http(s) URL a relative first URL is resolved against, as `SturdyClient`'s `baseUrl` resolves one
   * (`https://api.example.com/v1` and `/items` give `https://api.example.com/v1/items`; an absolute first URL is left
   * alone). Every page is then requested by its absolute URL, and for {@link links} the resolved URL's origin is the
   * listing's. Default none: a relative first URL is sent as it is (for `cursor`, `pageNumbers`, `offsets`, to a
   * client that has a base URL of its own), and `links` refuses it with `InvalidOptions`.
   */
  readonly baseUrl?: string | URL | undefined
}

/**
 * Options of {@link links}.
 *
 * @example
 * ```ts
 * import type { Paginate } from "@sturdy/http"
 *
 * const options: Paginate.LinkOptions = { allowedOrigins: ["https://api2.example.com"] }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface LinkOptions extends Options {
  /**
   * Other origins a next link may go to (sent without credentials); default none. Listing an `http:` origin does not
   * allow a downgrade: after an `https:` first request, an `http:` next link fails with `Downgrade` whatever this
   * holds.
   */
  readonly allowedOrigins?: ReadonlyArray<string> | undefined
}

/**
 * Options of {@link cursor}.
 *
 * @example
 * ```ts
 * import type { Paginate } from "@sturdy/http"
 *
 * interface Page { readonly items: ReadonlyArray<string>; readonly next_cursor: string | null }
 * const options: Paginate.CursorOptions<Page> = { cursor: (page) => page.next_cursor, param: "after" }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface CursorOptions<P> extends Options {
  /** The next page's cursor from a page; `undefined`, `null` or `""` when it is the last. */
  readonly cursor: (page: P) => string | null | undefined
  /** The query parameter the cursor goes in (default `cursor`), replacing one of that name. */
  readonly param?: string | undefined
  /** Builds the next request from the cursor and the first request instead (a POST body, a header). */
  readonly request?:
    | ((cursor: string, first: HttpClientRequest.HttpClientRequest) => HttpClientRequest.HttpClientRequest)
    | undefined
}

/**
 * Options of {@link pageNumbers} and {@link offsets}.
 *
 * @example
 * ```ts
 * import type { Paginate } from "@sturdy/http"
 *
 * const options: Paginate.NumberedOptions<ReadonlyArray<string>> = {
 *   items: (page) => page,
 *   pageSize: 100,
 *   sizeParam: "per_page"
 * }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface NumberedOptions<P> extends Options {
  /** The items of a page: an empty page (or one shorter than `pageSize`) is the last. */
  readonly items: (page: P) => ReadonlyArray<unknown>
  /** The query parameter of the number (default `page`, or `offset`). */
  readonly param?: string | undefined
  /** The first number (default 1 for pages, 0 for offsets). */
  readonly start?: number | undefined
  /** The items a full page has: a shorter page is the last, so no empty page is asked for. */
  readonly pageSize?: number | undefined
  /** A query parameter `pageSize` is sent in (`per_page`, `limit`); default none. */
  readonly sizeParam?: string | undefined
}

/**
 * Why pagination stopped with a failure: `Loop`, `CrossOrigin`, `Downgrade`, `InvalidLink`, `TooManyPages`,
 * `InvalidOptions` (see the module's table). `method` and `url` (redacted) are the request the failure is about: the
 * page whose next link or cursor was refused, the next page for `TooManyPages`, the first request for
 * `InvalidOptions`; `pages` counts the pages emitted before it.
 *
 * @example
 * ```ts
 * import { Paginate } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * declare const run: Effect.Effect<void, Paginate.PaginationError>
 * const program = run.pipe(
 *   Effect.catchTag("PaginationError", (e) =>
 *     e.reason === "TooManyPages" ? Effect.logWarning(`stopped after ${e.pages} pages`) : Effect.fail(e))
 * )
 * ```
 * @since 0.2.0
 * @category errors
 */
export const PaginationError: typeof internal.PaginationError = internal.PaginationError

/**
 * @since 0.2.0
 * @category errors
 */
export type PaginationError = internal.PaginationError

/**
 * The default `maxPages`: 1000.
 *
 * @example
 * ```ts
 * import { Paginate } from "@sturdy/http"
 *
 * console.log(Paginate.defaultMaxPages) // 1000
 * ```
 * @since 0.2.0
 * @category constants
 */
export const defaultMaxPages: number = internal.defaultMaxPages

/**
 * Parses `Link` header values (RFC 8288 §3), one or several lines: the links in order, each with its target as
 * written, its relation types and its parameters. A `<uri>` may hold commas and semicolons, a quoted-string value
 * escapes and commas; names compare case-insensitively and the first occurrence of a parameter wins (§3.4.1). An
 * unquoted value is read up to `;`, `,` or a space (servers send `type=text/html`, which is no token). A malformed
 * link is skipped, the others kept; the work is linear in the header's length. `title*` (RFC 8187) is kept as
 * written. A target's non-ASCII bytes, which transports hand over as Latin-1 characters, are decoded as UTF-8 when
 * they are valid UTF-8 (as `Redirect` decodes a `Location`), and kept as they are otherwise.
 *
 * @example
 * ```ts
 * import { Paginate } from "@sturdy/http"
 *
 * Paginate.parseLinkHeader(`<https://api.example.com/items?page=2>; rel="next", </items?page=9>; rel=last`)
 * // [{ uri: "https://api.example.com/items?page=2", rels: ["next"], params: { rel: "next" } }, ...]
 * ```
 * @since 0.2.0
 * @category parsing
 */
export const parseLinkHeader: (value: string | ReadonlyArray<string> | null | undefined) => Array<Link> =
  internal.parseLinkHeader

/**
 * The `rel="next"` link of a response (or of its headers), resolved against `base` (the URL of the request, for
 * relative references); `None` when there is none or it does not resolve.
 *
 * @example
 * ```ts
 * import { Paginate } from "@sturdy/http"
 *
 * Paginate.nextLink({ link: `</items?page=3>; rel="next"` }, "https://api.example.com/items?page=2")
 * // Option.some(new URL("https://api.example.com/items?page=3"))
 * ```
 * @since 0.2.0
 * @category parsing
 */
export const nextLink: (source: HeaderSource, base: string | URL) => Option.Option<URL> = internal.nextLink

/**
 * The pages of a resource that links them with `Link: <…>; rel="next"` (GitHub, GitLab): `fetch` gets each request
 * and gives a page with its headers (`Policy.send` gives an `Attempt.Received`).
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Attempt, Paginate, Policy } from "@sturdy/http"
 * import { Effect, Schema, Stream } from "effect"
 *
 * const Repo = Schema.Struct({ id: Schema.Number, name: Schema.String })
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   return yield* Paginate.links(
 *     HttpClientRequest.get("https://api.github.com/orgs/effect-ts/repos?per_page=100"),
 *     (request) => Policy.send(client, request),
 *     { maxPages: 20 }
 *   ).pipe(
 *     Stream.mapEffect((page) => Attempt.decodeJson(page, Schema.Array(Repo))),
 *     Paginate.items((repos) => repos),
 *     Stream.runCollect
 *   )
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const links: <P extends HeaderSource, E, R>(
  request: HttpClientRequest.HttpClientRequest,
  fetch: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<P, E, R>,
  options?: LinkOptions
) => Stream.Stream<P, E | PaginationError, R> = internal.links

/**
 * The pages of a resource that gives the next page's cursor in its body (Slack's `next_cursor`, Stripe's last id):
 * the cursor goes in the query parameter `param`, or in the request `request` builds.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Paginate, Policy } from "@sturdy/http"
 * import { Effect, Schema, Stream } from "effect"
 *
 * const Page = Schema.Struct({ items: Schema.Array(Schema.String), next_cursor: Schema.NullOr(Schema.String) })
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   return yield* Paginate.cursor(
 *     HttpClientRequest.get("https://api.example.com/items"),
 *     (request) => Policy.json(client, request, Page),
 *     { cursor: (page) => page.next_cursor }
 *   ).pipe(Paginate.items((page) => page.items), Stream.take(250), Stream.runCollect)
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const cursor: <P, E, R>(
  request: HttpClientRequest.HttpClientRequest,
  fetch: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<P, E, R>,
  options: CursorOptions<P>
) => Stream.Stream<P, E | PaginationError, R> = internal.cursor

/**
 * The pages of a resource numbered `?page=1, 2, 3 …`, up to an empty page or one shorter than `pageSize`.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Paginate, Policy } from "@sturdy/http"
 * import { Effect, Schema, Stream } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   return yield* Paginate.pageNumbers(
 *     HttpClientRequest.get("https://api.example.com/items"),
 *     (request) => Policy.json(client, request, Schema.Array(Schema.String)),
 *     { items: (page) => page, pageSize: 50, sizeParam: "per_page" }
 *   ).pipe(Paginate.items((page) => page), Stream.runCollect)
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const pageNumbers: <P, E, R>(
  request: HttpClientRequest.HttpClientRequest,
  fetch: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<P, E, R>,
  options: NumberedOptions<P>
) => Stream.Stream<P, E | PaginationError, R> = internal.pageNumbers

/**
 * The pages of a resource addressed by `?offset=0, n, 2n …`, the offset advanced by the items each page held, up to
 * an empty page or one shorter than `pageSize`.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Paginate, Policy } from "@sturdy/http"
 * import { Effect, Schema, Stream } from "effect"
 *
 * const Page = Schema.Struct({ results: Schema.Array(Schema.Number) })
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpClient.HttpClient
 *   return yield* Paginate.offsets(
 *     HttpClientRequest.get("https://api.example.com/numbers"),
 *     (request) => Policy.json(client, request, Page),
 *     { items: (page) => page.results, pageSize: 20, sizeParam: "limit" }
 *   ).pipe(Paginate.items((page) => page.results), Stream.runCollect)
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const offsets: <P, E, R>(
  request: HttpClientRequest.HttpClientRequest,
  fetch: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<P, E, R>,
  options: NumberedOptions<P>
) => Stream.Stream<P, E | PaginationError, R> = internal.offsets

/**
 * The items of a stream of pages, in order: `f` gives a page's items. Around a `links` or `cursor` listing, with a
 * real tracer installed, it counts them for the listing's span (`sturdy.items`, see Telemetry above); without one it
 * is `Stream.mapConcat`.
 *
 * @example
 * ```ts
 * import { Paginate } from "@sturdy/http"
 * import { Stream } from "effect"
 *
 * const numbers = Stream.make([1, 2], [3], []).pipe(Paginate.items((page) => page)) // 1, 2, 3
 * ```
 * @since 0.2.0
 * @category combinators
 */
export const items: {
  <P, A>(f: (page: P) => Iterable<A>): <E, R>(self: Stream.Stream<P, E, R>) => Stream.Stream<A, E, R>
  <P, E, R, A>(self: Stream.Stream<P, E, R>, f: (page: P) => Iterable<A>): Stream.Stream<A, E, R>
} = internal.items
