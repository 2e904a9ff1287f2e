/**
 * Which requests are safe to send again after a failure that may have reached the server (RFC 9110 §9.2.2), and
 * the `Idempotency-Key` header that makes a POST or PATCH safe to repeat.
 *
 * | Request                                   | Repeated after a failure that may have reached the server? |
 * | ----------------------------------------- | ----------------------------------------------------------- |
 * | GET, HEAD, OPTIONS, TRACE, PUT, DELETE    | yes                                                         |
 * | QUERY (safe and idempotent, with a body)  | yes                                                         |
 * | POST, PATCH (or any other method)         | only with an `Idempotency-Key` header                       |
 * | any method, failure proved it never left  | yes (`HttpFailure.mayHaveReachedServer` is `false`)         |
 *
 * The last row is a considered choice: a refused connection, a failed DNS lookup or a connect timeout happen before
 * a byte of the request is written, so repeating even a POST cannot apply it twice. `Policy` follows it unless
 * `retry.retryUnsent: false`, for callers who would rather never repeat a non-idempotent request at all.
 *
 * A key is generated once per logical request (`crypto.randomUUID`) and sent unchanged with every attempt, so the
 * server can recognise the repeats.
 *
 * @since 0.1.0
 */
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import type * as Effect from "effect/Effect"
import type * as HttpFailure from "./HttpFailure.js"
import * as internal from "./internal/idempotency.js"

/**
 * The request methods Sturdy knows by name: Effect's `HttpMethod` plus `TRACE` and `QUERY` (which Effect's type
 * lacks), so neither needs a cast where Sturdy takes a method (`retry.methods`, `isIdempotentMethod`, the clients'
 * `trace` and `query`).
 *
 * @example
 * ```ts
 * import type { Idempotency } from "@sturdy/http"
 *
 * const safe: ReadonlyArray<Idempotency.Method> = ["GET", "HEAD", "OPTIONS", "TRACE"]
 * ```
 * @since 0.2.0
 * @category models
 */
export type Method = HttpMethod.HttpMethod | "TRACE" | "QUERY"

/**
 * Whether a method is idempotent by RFC 9110 (GET, HEAD, OPTIONS, TRACE, PUT, DELETE); case-insensitive.
 *
 * @example
 * ```ts
 * import { Idempotency } from "@sturdy/http"
 *
 * Idempotency.isIdempotentMethod("TRACE") // true
 * Idempotency.isIdempotentMethod("post") // false
 * ```
 * @since 0.2.0
 * @category predicates
 */
export const isIdempotentMethod: (method: Method | Lowercase<Method> | string) => boolean = internal.isIdempotentMethod

/**
 * The header that carries the key, lower-case: `idempotency-key`.
 *
 * @example
 * ```ts
 * import { Idempotency } from "@sturdy/http"
 *
 * console.log(Idempotency.headerName) // "idempotency-key"
 * ```
 * @since 0.1.0
 * @category constants
 */
export const headerName: string = internal.headerName

/**
 * The idempotent methods: those RFC 9110 defines as idempotent (GET, HEAD, OPTIONS, TRACE, PUT and DELETE) and
 * QUERY, the IETF's safe method with a body (draft-ietf-httpbis-safe-method-w-body), which is treated like GET.
 *
 * @example
 * ```ts
 * import { Idempotency } from "@sturdy/http"
 *
 * Idempotency.idempotentMethods.has("PUT") // true
 * Idempotency.idempotentMethods.has("QUERY") // true
 * ```
 * @since 0.1.0
 * @category constants
 */
export const idempotentMethods: ReadonlySet<string> = internal.idempotentMethods

/**
 * Whether the request carries a non-empty `Idempotency-Key`: a value of only spaces and tabs reaches the server empty
 * (HTTP drops the spaces around a field value) and is no key.
 *
 * @example
 * ```ts
 * import { HttpClientRequest } from "@effect/platform"
 * import { Idempotency } from "@sturdy/http"
 *
 * Idempotency.hasKey(HttpClientRequest.post("https://x.test/", { headers: { "idempotency-key": "k1" } })) // true
 * ```
 * @since 0.1.0
 * @category predicates
 */
export const hasKey: (request: HttpClientRequest.HttpClientRequest) => boolean = internal.hasKey

/**
 * Whether sending the request twice has the effect of sending it once: an idempotent method (read as
 * {@link isIdempotentMethod} reads it, in any case), or an `Idempotency-Key`.
 *
 * @example
 * ```ts
 * import { HttpClientRequest } from "@effect/platform"
 * import { Idempotency } from "@sturdy/http"
 *
 * Idempotency.isIdempotent(HttpClientRequest.post("https://x.test/orders")) // false
 * ```
 * @since 0.1.0
 * @category predicates
 */
export const isIdempotent: (request: HttpClientRequest.HttpClientRequest) => boolean = internal.isIdempotent

/**
 * Whether the request may be sent again after `failure`: it is idempotent, or the failure proves the request never
 * reached the server (a refused connection, a failed DNS lookup). Whether the failure is worth retrying at all is a
 * separate question (`HttpFailure.isTransient`).
 *
 * @example
 * ```ts
 * import { HttpClientRequest } from "@effect/platform"
 * import { HttpFailure, Idempotency } from "@sturdy/http"
 *
 * const request = HttpClientRequest.post("https://x.test/orders")
 * const refused = new HttpFailure.ConnectionError({ method: "POST", url: "https://x.test/orders", reason: "Refused" })
 * Idempotency.isSafeToRepeat(request, refused) // true: it never left
 * ```
 * @since 0.1.0
 * @category predicates
 */
export const isSafeToRepeat: (
  request: HttpClientRequest.HttpClientRequest,
  failure: HttpFailure.HttpFailure
) => boolean = internal.isSafeToRepeat

/**
 * A fresh key (`crypto.randomUUID()`).
 *
 * @example
 * ```ts
 * import { Idempotency } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const key = Effect.runSync(Idempotency.generateKey) // e.g. "3b241101-e2bb-4255-8caf-4136c566a962"
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const generateKey: Effect.Effect<string> = internal.generateKey

/**
 * Adds a fresh `Idempotency-Key` to a non-idempotent request that has none; other requests are returned as they
 * are. Call it once per logical request and send the result with every attempt.
 *
 * @example
 * ```ts
 * import { HttpClientRequest } from "@effect/platform"
 * import { Idempotency } from "@sturdy/http"
 * import { Effect } from "effect"
 *
 * const keyed = Idempotency.ensureKey(HttpClientRequest.post("https://x.test/orders"))
 * const key = Effect.map(keyed, (request) => request.headers[Idempotency.headerName])
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const ensureKey: (
  request: HttpClientRequest.HttpClientRequest
) => Effect.Effect<HttpClientRequest.HttpClientRequest> = internal.ensureKey
