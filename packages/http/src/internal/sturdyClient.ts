import * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as Balancer from "@sturdy/policy/Balancer"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type * as Attempt from "../Attempt.js"
import type * as HttpCache from "../HttpCache.js"
import * as HttpFailure from "../HttpFailure.js"
import type * as Idempotency from "../Idempotency.js"
import type * as Policy from "../Policy.js"
import type * as SturdyClient from "../SturdyClient.js"
import * as attempt from "./attempt.js"
import * as httpCache from "./httpCache.js"
import * as observe from "./observe.js"
import * as policyInternal from "./policy.js"
import * as replicasInternal from "./replicas.js"
import * as telemetryInternal from "./telemetry.js"
import * as upstreamInternal from "./upstream.js"

/** @internal */
export const tag = Context.GenericTag<SturdyClient.SturdyClient>("@sturdy/http/SturdyClient")

// A scheme and an authority (`https://…`): `images:annotate` (a custom method, as Google's APIs name them) is a path
// to join to the base, as ky and got join it, not a URL of scheme `images:`
const absoluteUrl = /^[a-z][a-z0-9+.-]*:\/\//i

/** @internal A path becomes a request with `verb` (GET when none); a request keeps its method unless `verb` differs. */
export const requestFor = (
  verb: Idempotency.Method | undefined,
  pathOrRequest: string | HttpClientRequest.HttpClientRequest
): HttpClientRequest.HttpClientRequest => {
  if (verb === undefined) {
    return typeof pathOrRequest === "string"
      ? HttpClientRequest.get(pathOrRequest)
      : pathOrRequest
  }
  // Effect's HttpMethod lacks TRACE and QUERY; the request carries the method as a string and every transport sends it
  const method = verb as HttpMethod.HttpMethod
  return typeof pathOrRequest === "string"
    ? HttpClientRequest.make(method)(pathOrRequest)
    : pathOrRequest.method === method
    ? pathOrRequest
    : HttpClientRequest.setMethod(pathOrRequest, method)
}

/** @internal The request methods of a client, each built from its verb (`execute` keeps the request's own). */
export const methodsOf = <M>(method: (verb: Idempotency.Method | undefined) => M) => ({
  execute: method(undefined),
  get: method("GET"),
  post: method("POST"),
  put: method("PUT"),
  patch: method("PATCH"),
  del: method("DELETE"),
  head: method("HEAD"),
  options: method("OPTIONS"),
  trace: method("TRACE"),
  query: method("QUERY")
})

/** @internal */
export const resolveUrl = (baseUrl: string | undefined, url: string): string => {
  if (baseUrl === undefined || baseUrl === "" || absoluteUrl.test(url)) return url
  // the common case, a plain base and a path: the join below, without taking either apart
  if (url !== "" && url[0] !== "?" && url[0] !== "#" && !baseUrl.includes("?") && !baseUrl.includes("#")) {
    const base = baseUrl.endsWith("/") ? baseUrl.slice(0, -1) : baseUrl
    return url[0] === "/" ? `${base}${url}` : `${base}/${url}`
  }
  return joinParts(baseUrl, url)
}

// path, query (without its "?", undefined when there is none) and fragment (with its "#", or "") of a URL reference
const partsOf = (url: string): readonly [string, string | undefined, string] => {
  const hashAt = url.indexOf("#")
  const fragment = hashAt === -1 ? "" : url.slice(hashAt)
  const rest = hashAt === -1 ? url : url.slice(0, hashAt)
  const queryAt = rest.indexOf("?")
  return queryAt === -1 ? [rest, undefined, fragment] : [rest.slice(0, queryAt), rest.slice(queryAt + 1), fragment]
}

// The path joins the base's path (a reference with no path, `?page=2`, keeps the base's as written, as RFC 3986
// resolves it); a query of the base (`https://api.example.com/v1?key=k`) comes first in the request's; a fragment of
// the base is dropped (a path written after it would be lost in the fragment, which is never sent)
const joinParts = (baseUrl: string, url: string): string => {
  const [basePath, baseQuery] = partsOf(baseUrl)
  const [path, query, fragment] = partsOf(url)
  const joinedPath = path === ""
    ? basePath
    : `${basePath.endsWith("/") ? basePath.slice(0, -1) : basePath}${path.startsWith("/") ? "" : "/"}${path}`
  const queries = [baseQuery, query].filter((part) => part !== undefined && part !== "")
  const joinedQuery = queries.length > 0 ? `?${queries.join("&")}` : query === undefined ? "" : "?"
  return `${joinedPath}${joinedQuery}${fragment}`
}

const setBody = <B, BI, BR>(
  request: HttpClientRequest.HttpClientRequest,
  options: SturdyClient.SturdyClient.RequestOptions<B, BI, BR>
): Effect.Effect<HttpClientRequest.HttpClientRequest, HttpFailure.InvalidRequest, BR> => {
  if (!("body" in options) || options.body === undefined) return Effect.succeed(request)
  const body = options.body
  if (HttpBody.isHttpBody(body)) return Effect.succeed(HttpClientRequest.setBody(request, body))
  const toJson = (value: unknown): Effect.Effect<HttpClientRequest.HttpClientRequest, HttpFailure.InvalidRequest> => {
    try {
      return Effect.succeed(HttpClientRequest.bodyUnsafeJson(request, value))
    } catch (error) {
      return Effect.fail(
        new HttpFailure.InvalidRequest({
          ...attempt.requestInfo(request),
          reason: "BodyEncode",
          detail: attempt.sanitizeCause(error)?.message ?? "JSON.stringify failed"
        })
      )
    }
  }
  if (options.bodySchema === undefined) return toJson(body)
  return Effect.flatMap(attempt.encodeBody(request, options.bodySchema, body), toJson)
}

// The replicas are checked with the attempt options, and any problem of theirs fails every call the same way.
const withReplicas = (
  checked: attempt.Checked | attempt.InvalidOptions,
  options: SturdyClient.SturdyClient.Options,
  baseUrl: string | undefined
): (attempt.Checked & { readonly replicas?: replicasInternal.Replicas | undefined }) | attempt.InvalidOptions => {
  // options that are no object were refused already
  if (!attempt.isOptionsObject(options) || options.replicas === undefined) return checked
  const problems: Array<attempt.OptionProblem> = checked instanceof attempt.InvalidOptions ? [...checked.problems] : []
  const before = problems.length
  const replicas = replicasInternal.make(options.replicas, baseUrl, problems)
  if (checked instanceof attempt.InvalidOptions || problems.length > before) return new attempt.InvalidOptions(problems)
  return { ...checked, replicas }
}

// A `cache` that is not one `HttpCache.make` made fails every call, as every option out of its domain does (a look-alike
// would fail deep inside the cache, as a defect).
const withCacheChecked = <C extends attempt.Checked>(
  checked: C | attempt.InvalidOptions,
  options: SturdyClient.SturdyClient.Options
): C | attempt.InvalidOptions => {
  if (!attempt.isOptionsObject(options) || options.cache === undefined || httpCache.isHttpCache(options.cache)) {
    return checked
  }
  const problem: attempt.OptionProblem = {
    field: "cache",
    detail: "must be an HttpCache made by HttpCache.make (got a value of type " +
      `${options.cache === null ? "null" : typeof options.cache})`
  }
  return new attempt.InvalidOptions(
    checked instanceof attempt.InvalidOptions ? [...checked.problems, problem] : [problem]
  )
}

/** @internal */
export const makeWith = (
  client: HttpClient.HttpClient,
  input?: SturdyClient.SturdyClient.Options | null
): SturdyClient.SturdyClient.Service => {
  // `null` (a setting read as none) is no options; a value that is no object is refused by `checkOptions` below
  const options: SturdyClient.SturdyClient.Options = input ?? {}
  const policy = options.policy
  const baseUrl = options.baseUrl === undefined ? undefined : String(options.baseUrl)
  const defaultHeaders = options.headers === undefined ? undefined : Headers.fromInput(options.headers)
  const transformed: Attempt.Client = options.transformClient === undefined ? client : options.transformClient(client)
  const prepare = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest => {
    const url = resolveUrl(baseUrl, request.url)
    // a URL fragment is the client's alone: never sent
    let prepared = attempt.withoutFragment(url === request.url ? request : HttpClientRequest.setUrl(request, url))
    if (defaultHeaders !== undefined) {
      // request headers win over the defaults
      prepared = HttpClientRequest.setHeaders(prepared, { ...defaultHeaders, ...prepared.headers })
    }
    return prepared
  }
  // Checked once, here: a call that sets no attempt option of its own runs on these as they are. Options that are not
  // valid do not stop the client from being built (its constructors cannot fail); every call fails instead, typed
  // and before anything is sent, with all the problems named.
  const defaults = withCacheChecked(withReplicas(attempt.checkOptions(options), options, baseUrl), options)
  const replicas = defaults instanceof attempt.InvalidOptions ? undefined : defaults.replicas
  // checked above: a value that is not a cache fails every call before this is read
  const cache = attempt.isOptionsObject(options) ? options.cache : undefined

  const run = <A, I, R, B, BI, BR>(
    request: HttpClientRequest.HttpClientRequest,
    requestOptions: SturdyClient.SturdyClient.RequestOptions<B, BI, BR> & {
      readonly schema?: Schema.Schema<A, I, R> | undefined
    }
  ): Effect.Effect<A | Attempt.Received, Policy.Failure, R | BR> => {
    // The request is built once, as it will be sent: the pipeline decides on it (an Idempotency-Key in `headers`
    // counts; the call's telemetry shows the redacted `urlParams`) and every attempt sends it, body encoded once.
    let built = prepare(request)
    if (requestOptions.headers !== undefined) built = HttpClientRequest.setHeaders(built, requestOptions.headers)
    if (requestOptions.urlParams !== undefined) {
      built = HttpClientRequest.appendUrlParams(built, requestOptions.urlParams)
    }
    // the failure names the request as the call built it, `urlParams` included, as a request's own bad option does
    if (defaults instanceof attempt.InvalidOptions) return Effect.fail(attempt.invalidOptions(built, defaults))
    // the request's `timeout` narrows the attempt's limit (`Deadline.attemptTimeout`): with a policy, the sooner of it
    // and the policy's `attemptTimeout` bounds each attempt, under one timer
    const attemptOptions = attempt.setsAttemptOptions(requestOptions)
      ? attempt.checkOptions(requestOptions, defaults)
      : defaults
    if (attemptOptions instanceof attempt.InvalidOptions) {
      return Effect.fail(attempt.invalidOptions(built, attemptOptions))
    }
    const schema = requestOptions.schema
    if (cache !== undefined) return runCached(cache, built, requestOptions, attemptOptions, schema)
    const sendOnce = (
      client: Attempt.Client,
      ready: HttpClientRequest.HttpClientRequest
    ): Effect.Effect<A | Attempt.Received, HttpFailure.HttpFailure, R> =>
      schema === undefined
        ? attempt.sendChecked(client, ready, attemptOptions)
        : attempt.jsonChecked(client, ready, schema, attemptOptions)
    // with replicas, each attempt (and each hedge copy) goes to the replica the balancer picks; the request the
    // pipeline decides on, and the call's telemetry, keep the base URL (the logical upstream)
    const sendOn = replicas === undefined
      ? sendOnce
      : (client: Attempt.Client, ready: HttpClientRequest.HttpClientRequest) =>
        replicasInternal.onReplica(replicas, ready, (sent) => sendOnce(client, sent))
    const call = Effect.flatMap(
      setBody(built, requestOptions),
      (ready) =>
        policy === undefined
          ? sendOn(transformed, ready)
          : policyInternal.runAttempts(policy, transformed, ready, sendOn, requestOptions.onEvent)
    )
    // a retry or a hedge prefers a replica this call has not tried yet
    return replicas === undefined ? call : Balancer.avoidRepeats(call)
  }

  // With a cache, it answers the call outside the policy, as `client.pipe(Policy.withPolicy(policy),
  // HttpCache.withCache(cache))` would: a fresh hit enters no policy stage and makes no attempt; the cache's
  // revalidation, or its request on a miss, is one call through the policy, each attempt reading the body (so a body
  // cut short is retried as without a cache) and a 304 counting as an answer; `stale-if-error` answers once the policy
  // has given up. The type, the JSON and the schema are checked on what the cache answers, as an attempt checks them.
  const runCached = <A, I, R, B, BI, BR>(
    cache: HttpCache.HttpCache,
    built: HttpClientRequest.HttpClientRequest,
    requestOptions: SturdyClient.SturdyClient.RequestOptions<B, BI, BR>,
    attemptOptions: attempt.Checked,
    schema: Schema.Schema<A, I, R> | undefined
  ): Effect.Effect<A | Attempt.Received, Policy.Failure, R | BR> => {
    const sendOnce = (client: Attempt.Client, ready: HttpClientRequest.HttpClientRequest) =>
      attempt.sendBuffered(client, ready, attemptOptions)
    // the cache keys the logical URL (the base URL's origin); each attempt goes to the replica the balancer picks
    const sendOn = replicas === undefined
      ? sendOnce
      : (client: Attempt.Client, ready: HttpClientRequest.HttpClientRequest) =>
        replicasInternal.onReplica(replicas, ready, (sent) => sendOnce(client, sent))
    const upstream = HttpClient.makeWith<never, never, Policy.Failure, never>(
      (requestEffect) =>
        Effect.flatMap(requestEffect, (request) =>
          policy === undefined
            ? sendOn(transformed, request)
            : policyInternal.runAttempts(policy, transformed, request, sendOn, requestOptions.onEvent)),
      Effect.succeed
    )
    const cached = httpCache.withCacheOn(upstream, cache, httpCache.isPolicyOutage)
    // `traced`: the call records the status the cache answered with (a decoded body has none of its own)
    const callFor = (traced: boolean) => {
      const call = Effect.flatMap(setBody(built, requestOptions), (ready) => {
        // the request the cache keys and varies on is the one each attempt sends: `Accept` included
        const request = schema === undefined ? ready : attempt.acceptingJson(ready, attemptOptions.expectedContentTypes)
        return Effect.flatMap(
          cached.execute(request),
          (response) => {
            const answer = attempt.receiveAnswer(request, response, attemptOptions, schema)
            return traced ? Effect.zipRight(telemetryInternal.recordResponse(response.status), answer) : answer
          }
        )
      })
      return replicas === undefined ? call : Balancer.avoidRepeats(call)
    }
    if (policy === undefined) return callFor(false)
    // The call's span and metrics are around the cache, so that a fresh hit is a call (no attempt: `sturdy.attempts`
    // 0) and the cache's `sturdy.cache` lands on the call's span; the policy's call inside it is this one. Traced as
    // the policy traces its calls.
    return Effect.withFiberRuntime((fiber) => {
      const traced = policy.options.telemetry ?? observe.isTracing(fiber)
      if (!traced) return callFor(false)
      const key = policy.options.upstreamKey === undefined
        ? upstreamInternal.upstreamKey(built)
        : policy.options.upstreamKey(built)
      return telemetryInternal.adoptingCall(callFor(true), built, { upstream: key })
    })
  }

  // Base URL and default headers first, as a call's request gets them: the classification (header checks, the URL a
  // failure names) and every middleware of `transformClient` see the request as it is sent. They are applied when the
  // request is executed, so middleware the caller puts on `client` itself still runs before them, as it always has.
  const classified = attempt.classifyChecked(transformed, defaults)
  const classifiedPrepared = HttpClient.makeWith<never, never, HttpFailure.HttpFailure, never>(
    (request) => Effect.flatMap(request, (ready) => classified.execute(prepare(ready))),
    Effect.succeed
  )

  const method = (verb: Idempotency.Method | undefined): SturdyClient.SturdyClient.Method => {
    function call<A, I, R, B = unknown, BI = unknown, BR = never>(
      pathOrRequest: string | HttpClientRequest.HttpClientRequest,
      requestOptions: SturdyClient.SturdyClient.RequestOptions<B, BI, BR> & {
        readonly schema: Schema.Schema<A, I, R>
      }
    ): Effect.Effect<A, Policy.Failure, R | BR>
    function call<B = unknown, BI = unknown, BR = never>(
      pathOrRequest: string | HttpClientRequest.HttpClientRequest,
      requestOptions?: SturdyClient.SturdyClient.RequestOptions<B, BI, BR>
    ): Effect.Effect<Attempt.Received, Policy.Failure, BR>
    function call<A, I, R, B, BI, BR>(
      pathOrRequest: string | HttpClientRequest.HttpClientRequest,
      requestOptions: SturdyClient.SturdyClient.RequestOptions<B, BI, BR> & {
        readonly schema?: Schema.Schema<A, I, R> | undefined
      } = {}
    ): Effect.Effect<A | Attempt.Received, Policy.Failure, R | BR> {
      return run(requestFor(verb, pathOrRequest), requestOptions)
    }
    return call
  }

  return {
    client: classifiedPrepared,
    policy: Option.fromNullable(policy),
    replicas: Option.fromNullable(replicas?.balancer),
    ...methodsOf(method)
  }
}

/** @internal */
export const make = (
  input?: SturdyClient.SturdyClient.Options | null
): Effect.Effect<SturdyClient.SturdyClient.Service, never, HttpClient.HttpClient> => {
  const options: SturdyClient.SturdyClient.Options = input ?? {}
  return Effect.zipWith(
    HttpClient.HttpClient,
    Effect.serviceOption(policyInternal.tag),
    (client, policy) =>
      // an explicit `policy` wins over the one in context; options that are no object go as they are, to be refused
      // (spread, a string or an array would become an object of its characters or items)
      makeWith(
        client,
        options.policy !== undefined || !attempt.isOptionsObject(options)
          ? options
          : { ...options, policy: Option.getOrUndefined(policy) }
      )
  )
}

/** @internal */
export const layerConfig = (
  options: Config.Config.Wrap<SturdyClient.SturdyClient.Options>
): Layer.Layer<SturdyClient.SturdyClient, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.flatMap(Config.unwrap(options), (read) => {
    // a value from the environment that is not valid stops the layer, where a configuration error belongs, rather
    // than failing every call later
    const checked = withCacheChecked(
      withReplicas(attempt.checkOptions(read), read, read.baseUrl === undefined ? undefined : String(read.baseUrl)),
      read
    )
    return checked instanceof attempt.InvalidOptions
      ? Effect.fail(ConfigError.InvalidData([], `SturdyClient options: ${checked.detail}`))
      : Effect.succeed(layer(read))
  }))

/** @internal */
export const layer = (
  options: SturdyClient.SturdyClient.Options = {}
): Layer.Layer<SturdyClient.SturdyClient, never, HttpClient.HttpClient> => Layer.effect(tag, make(options))
