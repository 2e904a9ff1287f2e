import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Balancer from "@sturdy/policy/Balancer"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import * as HttpFailure from "../HttpFailure.js"
import type * as SturdyClient from "../SturdyClient.js"
import type * as Telemetry from "../Telemetry.js"
import type * as attempt from "./attempt.js"
import * as policyClassification from "./policyClassification.js"
import * as telemetry from "./telemetry.js"

// the scheme and authority of an absolute URL: what a replica's origin replaces
const schemeAndAuthority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i

/** @internal The replicas of a client: its balancer over their origins, and the base URL's origin they stand for. */
export interface Replicas {
  readonly balancer: Balancer.Balancer<string>
  readonly origin: string
}

const originOf = (url: string): string | undefined => {
  try {
    const parsed = new URL(url)
    return parsed.origin === "null" ? undefined : parsed.origin
  } catch {
    return undefined
  }
}

// What counts toward ejecting a replica: what counts against an upstream for the breaker, and also a name that does
// not resolve or a TLS handshake that fails. The breaker says nothing of those (every request of a logical upstream
// would fail alike); a replica's own name or certificate is that replica's fault, and the others may still work.
const replicaAtFault = (failure: unknown): boolean =>
  policyClassification.countsAgainstUpstream(failure) ||
  (HttpFailure.isHttpFailure(failure) && failure._tag === "ConnectionError" &&
    (failure.reason === "DnsLookup" || failure.reason === "Tls"))

const omitUrls = (
  { urls: _urls, ...rest }: SturdyClient.SturdyClient.ReplicaOptions
): Omit<SturdyClient.SturdyClient.ReplicaOptions, "urls"> => rest

/**
 * Checks `replicas` and builds their balancer; every problem goes to `problems` (an option of the balancer out of its
 * domain as the `RangeError` `Balancer` throws names it), and then there is no balancer.
 * @internal
 */
export const make = (
  input: SturdyClient.SturdyClient.Replicas | undefined,
  baseUrl: string | undefined,
  problems: Array<attempt.OptionProblem>
): Replicas | undefined => {
  if (input === undefined) return undefined
  const before = problems.length
  const list: unknown = Array.isArray(input)
    ? input
    : typeof input === "object" && input !== null
    ? (input as { readonly urls?: unknown }).urls
    : undefined
  if (!Array.isArray(list)) {
    problems.push({ field: "replicas", detail: "must be an array of origins or an object with `urls`" })
    return undefined
  }
  if (list.length === 0) problems.push({ field: "replicas", detail: "must name at least one origin" })
  const origin = baseUrl === undefined ? undefined : originOf(baseUrl)
  if (origin === undefined) {
    problems.push({ field: "replicas", detail: "needs a `baseUrl` with an origin (scheme://host:port) to stand for" })
  }
  const origins: Array<string> = []
  list.forEach((replica: unknown, index) => {
    const field = `replicas[${index}]`
    if (typeof replica !== "string" && !(replica instanceof URL)) {
      problems.push({ field, detail: `(a value of type ${typeof replica}) must be a URL string or a URL` })
      return
    }
    let parsed: URL
    try {
      parsed = new URL(String(replica))
    } catch {
      // the value is not shown: it may hold credentials
      problems.push({ field, detail: "is not a URL" })
      return
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      problems.push({ field, detail: `must be an http: or https: origin (got scheme ${parsed.protocol})` })
    } else if (parsed.username !== "" || parsed.password !== "") {
      problems.push({ field, detail: "must be an origin (scheme://host:port) without credentials" })
    } else if (parsed.pathname !== "/" || parsed.search !== "" || parsed.hash !== "") {
      problems.push({ field, detail: "must be an origin (scheme://host:port) without a path, query or fragment" })
    } else if (origins.includes(parsed.origin)) {
      problems.push({ field, detail: `repeats the origin ${parsed.origin}` })
    } else {
      origins.push(parsed.origin)
    }
  })
  if (problems.length > before || origin === undefined || origins.length === 0) return undefined
  const balancerOptions: Omit<SturdyClient.SturdyClient.ReplicaOptions, "urls"> = Array.isArray(input)
    ? {}
    : omitUrls(input as SturdyClient.SturdyClient.ReplicaOptions)
  const outlier = balancerOptions.outlier
  try {
    const balancer = Balancer.unsafeMake<string>({
      ...balancerOptions,
      endpoints: [origins[0], ...origins.slice(1)],
      // outlier options that are no object go as they are, for Balancer to refuse
      outlier: outlier === undefined || (typeof outlier === "object" && outlier !== null)
        ? { ...outlier, isFailure: outlier?.isFailure ?? replicaAtFault }
        : outlier
    })
    return { balancer, origin }
  } catch (error) {
    problems.push({
      field: "replicas",
      detail: error instanceof RangeError ? error.message : "options were refused by Balancer"
    })
    return undefined
  }
}

/**
 * Sends one attempt on a replica that the balancer picks, when the request is for the base URL's origin: the
 * replica's origin replaces the request's scheme and authority (credentials in it kept). Other requests go as they are.
 * @internal
 */
export const onReplica = <A, E, R>(
  replicas: Replicas,
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  const prefix = schemeAndAuthority.exec(request.url)?.[0]
  if (prefix === undefined || originOf(prefix) !== replicas.origin) return send(request)
  const at = prefix.lastIndexOf("@")
  const userinfo = at === -1 ? "" : prefix.slice(prefix.indexOf("//") + 2, at + 1)
  const rest = request.url.slice(prefix.length)
  return Balancer.withEndpoint(replicas.balancer, (replica) => {
    const schemeEnd = replica.indexOf("//") + 2
    const sent = HttpClientRequest.setUrl(
      request,
      `${replica.slice(0, schemeEnd)}${userinfo}${replica.slice(schemeEnd)}${rest}`
    )
    return Effect.withFiberRuntime((fiber) => {
      // a traced call's attempt span (the current span here) was opened on the base URL: it shows the replica sent to
      if (fiber.getFiberRef(telemetry.currentCall) === undefined) return send(sent)
      return Effect.flatMap(Effect.option(Effect.currentSpan), (span) => {
        if (Option.isSome(span)) annotate(span.value, telemetry.target(sent))
        return send(sent)
      })
    })
  })
}

const annotate = (span: Tracer.AnySpan, target: Telemetry.Target): void => {
  // an external span (a parent from another tracer) takes no attributes
  if (span._tag !== "Span") return
  span.attribute("server.address", target.serverAddress)
  if (target.serverPort !== undefined) span.attribute("server.port", target.serverPort)
  span.attribute("url.full", target.url)
}
