/**
 * Request coalescing ("singleflight"): while a call of a key is in flight, other calls of that key wait for it and
 * get its answer instead of asking the upstream again, so a hundred callers that miss a cache at once send one
 * request (the thundering herd that Go's `x/sync/singleflight`, Caffeine's loading cache and nginx's
 * `proxy_cache_lock` prevent).
 *
 * The rules:
 *
 * 1. **One run per key at a time.** `run(self, group, key)` runs `self` when no call of `key` is in flight in
 *    `group`. While one is, another `run` of `key` does not run its own `self`: it waits for the one in flight and
 *    ends with the same `Exit`: its success, its typed failure, its defect.
 * 2. **No caching.** Once the run of a key ends, the key is free: the next `run` of it runs `self` again. Nothing
 *    is kept of the answer; to serve an answer again later, put a `StaleCache` (or a cache of your own) around it.
 * 3. **The run is shared, not the first caller's.** `self` runs in a fiber of its own (a daemon), so every caller,
 *    the first one included, is only waiting for it: interrupting one waiter (a timeout, a client gone) leaves the
 *    run and the other waiters alone.
 * 4. **Nothing runs for nobody.** Waiters are counted per key; when the last one has gone (interrupted, or its
 *    deadline passed), the run is interrupted and the key freed at once. The next `run` of the key starts a new run,
 *    without waiting for the finalizers of the abandoned one.
 * 5. **The first caller's context.** The run has the services, `FiberRef`s (log annotations, the parent span) and
 *    interruptibility of the call that started it; a later caller's own services are not used, so a key must name
 *    everything that makes the answer differ (see below).
 * 6. **Deadlines stay each caller's own.** The run does not inherit the first caller's `Deadline` (nor its attempt
 *    timeout): a later caller with more time left must not fail because the first one had less. Each caller waits
 *    within its own deadline: under `Deadline.withDeadline` or `Effect.timeout` its timer interrupts its wait; under a
 *    deadline only established (`Deadline.establish`, as a `Policy` does) the wait bounds itself and fails with
 *    `Deadline.DeadlineExceeded` (a caller that enters with its established deadline passed fails at once, starting
 *    nothing). The run lasts as long as someone waits for it (rule 4). To bound the shared work itself, put the
 *    limit inside: `Coalesce.run(Deadline.withDeadline(fetch, "5 seconds"), group, key)`.
 * 7. **One key, one call.** The group does not look at `self`: a later caller of a key gets the answer of the run
 *    in flight, whatever effect it passed. Use one key per distinct call (and, since the answer is shared as it is, an
 *    answer that is a value, not a resource).
 *
 * **What to coalesce over HTTP.** Never an `HttpClientResponse`: its body is a one-shot stream that only one caller
 * can read. Coalesce the decoded value (`Attempt.json(...)` or `Policy.json(...)` of `@sturdy/http`), and only for
 * safe, idempotent reads (GET): key it by method and URL, plus whatever else makes the answer differ, such as the
 * caller's identity when the request carries credentials (otherwise one user is served another's answer). Coalesce
 * the whole `Policy` call rather than each attempt: the retries are then shared too.
 *
 * **Why not an Effect primitive.** Each was checked (effect 3.22):
 *
 * - `Cache` (with a zero time to live, to keep nothing) coalesces concurrent `get`s of a key, but runs the lookup in
 *   the fiber of the first caller: interrupting that caller interrupts every caller waiting for the key (checked:
 *   the second waiter's `Exit` is an interruption).
 * - `Request` with request caching coalesces, but keeps each answer for the cache's time to live: with a zero one it
 *   no longer coalesces (each lookup misses, and the upstream is asked twice), and it needs a `Request` class and a
 *   resolver per call.
 * - `Effect.cached`, `cachedWithTTL` and `cachedInvalidateWithTTL` keep the answer (for ever, or for a time to live)
 *   and are not keyed; `cachedFunction` keeps every answer for ever.
 *
 * None coalesces without caching while sharing the run among its waiters, hence this module. Telemetry: each call
 * sets the attribute `sturdy.coalesced` on its current span: `true` when it waited for a run already in flight,
 * `false` when it started the run.
 *
 * | option | default     | meaning                                 |
 * | ------ | ----------- | --------------------------------------- |
 * | `name` | `"default"` | names the group in the `RangeError`s of `run` |
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Policy } from "@sturdy/http"
 * import { Coalesce } from "@sturdy/policy"
 * import { Effect, Schema } from "effect"
 *
 * const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
 *
 * // concurrent reads of one user send one GET; the decoded value, not the response, is shared
 * const getUser = (group: Coalesce.Coalesce, tenant: string, id: number) => {
 *   const url = `https://api.example.com/users/${id}`
 *   return Effect.flatMap(HttpClient.HttpClient, (client) =>
 *     Policy.json(client, HttpClientRequest.get(url), User).pipe(
 *       // the key: method, URL and who asks (the answer depends on the caller's credentials)
 *       Coalesce.run(group, `GET ${url} as ${tenant}`)
 *     ))
 * }
 * ```
 * @since 0.2.0
 */
import type * as Effect from "effect/Effect"
import type { DeadlineExceeded } from "./Deadline.js"
import * as internal from "./internal/coalesce.js"

/**
 * Options of `make` (all optional).
 *
 * @example
 * ```ts
 * import type { Coalesce } from "@sturdy/policy"
 *
 * const options: Coalesce.Options = { name: "users" }
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Names the group in the `RangeError`s of `run` (default `"default"`); a string. */
  readonly name?: string | undefined
}

/**
 * A group of in-flight calls, keyed by string (see the module's documentation for its rules).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Coalesce } from "@sturdy/policy"
 *
 * const program = Effect.gen(function*() {
 *   const group = yield* Coalesce.make()
 *   const answer = yield* group.run(Effect.succeed(42), "answer")
 *   const inFlight = yield* group.inFlight // empty again: the key is free
 *   return [answer, inFlight.size]
 * })
 * ```
 * @since 0.2.0
 * @category models
 */
export interface Coalesce {
  readonly name: string
  /** Runs `self` as the call of `key`, or waits for the call of `key` in flight (prefer {@link run}). */
  readonly run: <A, E, R>(self: Effect.Effect<A, E, R>, key: string) => Effect.Effect<A, E | DeadlineExceeded, R>
  /** The keys in flight now, each with how many callers wait for it. */
  readonly inFlight: Effect.Effect<ReadonlyMap<string, number>>
}

/**
 * Builds a group outside of Effect. Throws a `RangeError` when `options` is not an object or `name` not a string.
 *
 * @example
 * ```ts
 * import { Coalesce } from "@sturdy/policy"
 *
 * const group = Coalesce.unsafeMake({ name: "prices" })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const unsafeMake: (options?: Options) => Coalesce = internal.unsafeMake

/**
 * Builds a group. Options `unsafeMake` refuses make the effect die with the same `RangeError`.
 *
 * @example
 * ```ts
 * import { Coalesce } from "@sturdy/policy"
 *
 * const group = Coalesce.make({ name: "prices" })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<Coalesce> = internal.make

/**
 * Runs `self` as the call of `key` in `group`, or, while a call of `key` is in flight there, waits for it and ends
 * with its `Exit`. A `key` that is not a string is a defect (a `RangeError`). Fails with `DeadlineExceeded` only
 * when the caller's own established deadline passes while it waits (see the module's documentation).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Coalesce } from "@sturdy/policy"
 *
 * declare const fetchPrice: (sku: string) => Effect.Effect<number, Error>
 * const group = Coalesce.unsafeMake()
 * // data-last and data-first
 * const price = (sku: string) => fetchPrice(sku).pipe(Coalesce.run(group, `price:${sku}`))
 * const same = (sku: string) => Coalesce.run(fetchPrice(sku), group, `price:${sku}`)
 * ```
 * @since 0.2.0
 * @category combinators
 */
export const run: {
  (group: Coalesce, key: string): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DeadlineExceeded, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, group: Coalesce, key: string): Effect.Effect<A, E | DeadlineExceeded, R>
} = internal.run
