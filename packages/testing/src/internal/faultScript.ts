import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as FaultScript from "../FaultScript.js"

type Fault = FaultScript.Fault
type Respond = FaultScript.Respond
type ResponseOptions = FaultScript.ResponseOptions

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

// The constructors build only what the `FaultScript` schema accepts: a fault that the schema rejects would fail
// late and differently on each responder (a status of 42 throws inside a FaultServer timer, a rate of 0 trickles on
// one and hangs on the other), so it is refused here, where the caller wrote it.
const invalid = (where: string, what: string, got: unknown): never => {
  throw new RangeError(`FaultScript.${where}: ${what}, got ${String(got)}`)
}

const requireInteger = (where: string, name: string, value: number, min: number): number =>
  Number.isSafeInteger(value) && value >= min ? value : invalid(where, `${name} must be an integer ≥ ${min}`, value)

/**
 * The duration `input` says, or `undefined` for one that is negative or not a duration at all. `Duration.decode` reads
 * a negative number, bigint or pair, `"-5 millis"` and `NaN` as zero (and throws on text it cannot read), so a typo
 * would become a silent 0: the sign is checked before decoding.
 * @internal
 */
export const nonNegativeDuration = (input: unknown): Duration.Duration | undefined => {
  const negative = (typeof input === "number" && !(input >= 0)) ||
    (typeof input === "bigint" && input < BigInt(0)) ||
    (typeof input === "string" && input.trim().startsWith("-")) ||
    (Array.isArray(input) && input.some((part) => !(typeof part === "number" && part >= 0)))
  if (negative) return undefined
  try {
    return Duration.decode(input as Duration.DurationInput)
  } catch {
    return undefined
  }
}

const requireMillis = (where: string, name: string, input: Duration.DurationInput | undefined): number => {
  if (input === undefined) return 0
  const duration = nonNegativeDuration(input)
  return duration === undefined ? invalid(where, `${name} must be a duration ≥ 0`, input) : Duration.toMillis(duration)
}

// A 1xx is informational: Node and undici consume it and wait for the final response, so it cannot end a request.
const requireStatus = (where: string, code: number): number =>
  Number.isInteger(code) && code >= 200 && code <= 599 ?
    code :
    invalid(where, "the status must be an integer from 200 to 599 (a 1xx is informational, not a final response)", code)

// Header fields HTTP cannot carry as written (RFC 9110 §5.1, §5.5): a name must be a token (`node:http` refuses
// anything else), and a value may hold visible ASCII, spaces and tabs only (`node:http` refuses CR, LF and NUL; a value
// beyond ASCII reaches an undici client re-decoded, "café" as "cafÃ©", so no client would see what the script says).
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const invalidHeaderValue = /[^\t\x20-\x7e]/

/** @internal */
export const headerValueProblem = (name: string, value: string): string | undefined =>
  invalidHeaderValue.test(value) ? `header ${name} has a value HTTP cannot carry: ${JSON.stringify(value)}` : undefined

/** @internal */
export const headersProblem = (headers: Readonly<Record<string, string>>): string | undefined => {
  for (const [name, value] of Object.entries(headers)) {
    if (!headerName.test(name)) return `header name ${JSON.stringify(name)} is not an HTTP token`
    const problem = headerValueProblem(name, value)
    if (problem !== undefined) return problem
  }
  return undefined
}

const requireHeaders = (where: string, headers: Readonly<Record<string, string>> | undefined) => {
  const problem = headers === undefined ? undefined : headersProblem(headers)
  if (problem !== undefined) throw new RangeError(`FaultScript.${where}: ${problem}`)
  return headers
}

const requireHeaderValue = (where: string, name: string, value: string): string => {
  const problem = headerValueProblem(name, value)
  if (problem !== undefined) throw new RangeError(`FaultScript.${where}: ${problem}`)
  return value
}

const lowerCaseKeys = (headers: Readonly<Record<string, string>> | undefined): Record<string, string> => {
  const out: Record<string, string> = {}
  if (headers !== undefined) {
    for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value
  }
  return out
}

// a number that is not finite would go out as the header text "NaN" or "Infinity" (a date as "Invalid Date")
const requireFinite = (where: string, name: string, value: number): number =>
  Number.isFinite(value) ? value : invalid(where, `${name} must be a finite number`, value)

const toRetryAfter = (where: string, input: NonNullable<ResponseOptions["retryAfter"]>): FaultScript.RetryAfter => {
  if (typeof input === "number") return String(requireFinite(where, "retryAfter", input))
  if (input instanceof Date) {
    return Number.isFinite(input.getTime())
      ? input.toUTCString()
      : invalid(where, "retryAfter must be a valid date", input)
  }
  if (typeof input === "string") return requireHeaderValue(where, "retry-after", input)
  requireFinite(where, "retryAfter.seconds", input.seconds)
  return input
}

const requireRateLimit = (where: string, rateLimit: FaultScript.RateLimit): FaultScript.RateLimit => {
  requireFinite(where, "rateLimit.limit", rateLimit.limit)
  requireFinite(where, "rateLimit.remaining", rateLimit.remaining)
  requireFinite(where, "rateLimit.reset", rateLimit.reset)
  if (rateLimit.policy !== undefined) requireHeaderValue(where, "ratelimit-policy", rateLimit.policy)
  return rateLimit
}

const requireBody = (where: string, body: FaultScript.Body): FaultScript.Body => {
  if (body._tag === "Text") requireHeaderValue(where, "content-type", body.contentType)
  return body
}

const respond = (
  where: string,
  status: number,
  body: FaultScript.Body,
  options: ResponseOptions | undefined
): Respond => ({
  _tag: "Respond",
  status: requireStatus(where, options?.status ?? status),
  headers: lowerCaseKeys(requireHeaders(where, options?.headers)),
  ...(options?.retryAfter !== undefined ? { retryAfter: toRetryAfter(where, options.retryAfter) } : {}),
  ...(options?.rateLimit !== undefined ? { rateLimit: requireRateLimit(where, options.rateLimit) } : {}),
  body: requireBody(where, body),
  latencyMillis: requireMillis(where, "latency", options?.latency),
  ending: { _tag: "Complete" }
})

/** @internal */
export const status = (code: number, options?: Omit<ResponseOptions, "status">): Respond =>
  respond("status", code, { _tag: "Empty" }, options)

/** @internal */
export const json = (value: unknown, options?: ResponseOptions): Respond =>
  respond("json", 200, { _tag: "Json", value }, options)

const jsonFor = (where: string, value: unknown, options: ResponseOptions | undefined): Respond =>
  respond(where, 200, { _tag: "Json", value }, options)

/** @internal */
export const text = (body: string, options?: ResponseOptions & { readonly contentType?: string }): Respond =>
  respond(
    "text",
    200,
    { _tag: "Text", text: body, contentType: options?.contentType ?? "text/plain; charset=utf-8" },
    options
  )

/** @internal */
export const malformedJson = (options?: ResponseOptions & { readonly text?: string }): Respond =>
  respond("malformedJson", 200, { _tag: "MalformedJson", text: options?.text ?? "{\"items\": [1, 2," }, options)

/** @internal */
export const oversized = (bytes: number, options?: ResponseOptions): Respond =>
  respond("oversized", 200, { _tag: "Oversized", bytes: requireInteger("oversized", "bytes", bytes, 1) }, options)

/** @internal */
export const reset: {
  (when: "beforeHeaders", options?: { readonly latency?: Duration.DurationInput | undefined }): FaultScript.Reset
  (when: "midBody", options?: ResponseOptions & { readonly afterBytes?: number; readonly body?: unknown }): Respond
} = ((
  when: "beforeHeaders" | "midBody",
  options?: ResponseOptions & { readonly afterBytes?: number; readonly body?: unknown }
): Fault =>
  when === "beforeHeaders" ?
    { _tag: "Reset", latencyMillis: requireMillis("reset", "latency", options?.latency) } :
    withEnding(jsonFor("reset", options?.body ?? { items: ["a", "b", "c", "d"] }, options), {
      _tag: "ResetMidBody",
      afterBytes: requireInteger("reset", "afterBytes", options?.afterBytes ?? 8, 0)
    })) as typeof reset

/** @internal */
export const truncated = (
  options?: ResponseOptions & { readonly missingBytes?: number; readonly body?: unknown }
): Respond =>
  withEnding(jsonFor("truncated", options?.body ?? { items: ["a", "b", "c", "d"] }, options), {
    _tag: "Truncated",
    missingBytes: requireInteger("truncated", "missingBytes", options?.missingBytes ?? 16, 1)
  })

/** @internal */
export const hang: FaultScript.Hang = { _tag: "Hang" }

/** @internal */
export const connectFailureReasons = ["Refused", "DnsNotFound", "DnsTemporary", "ConnectTimeout", "Tls"] as const

/** @internal */
export const reasonProblem = (actual: unknown): string =>
  `reason ${JSON.stringify(actual)} is not one of ${connectFailureReasons.join(", ")}`

const makeConnectFailure = (
  where: string,
  reason: FaultScript.ConnectFailureReason,
  options: FaultScript.ConnectOptions | undefined
): FaultScript.ConnectFailure => ({
  _tag: "ConnectFailure",
  reason: (connectFailureReasons as ReadonlyArray<string>).includes(reason) ?
    reason :
    invalid(where, `the reason must be one of ${connectFailureReasons.join(", ")}`, JSON.stringify(reason)),
  latencyMillis: requireMillis(where, "latency", options?.latency)
})

/** @internal */
export const connectFailure = (
  reason: FaultScript.ConnectFailureReason,
  options?: FaultScript.ConnectOptions
): FaultScript.ConnectFailure => makeConnectFailure("connectFailure", reason, options)

/** @internal */
export const refused = (options?: FaultScript.ConnectOptions): FaultScript.ConnectFailure =>
  makeConnectFailure("refused", "Refused", options)

/** @internal */
export const dnsFailure = (
  kind: "notFound" | "temporary" = "notFound",
  options?: FaultScript.ConnectOptions
): FaultScript.ConnectFailure =>
  makeConnectFailure(
    "dnsFailure",
    kind === "notFound" ?
      "DnsNotFound" :
      kind === "temporary" ?
      "DnsTemporary" :
      invalid("dnsFailure", "the kind must be \"notFound\" or \"temporary\"", JSON.stringify(kind)),
    options
  )

/** @internal */
export const connectTimeout = (options?: FaultScript.ConnectOptions): FaultScript.ConnectFailure =>
  makeConnectFailure("connectTimeout", "ConnectTimeout", options)

/** @internal */
export const tlsFailure = (options?: FaultScript.ConnectOptions): FaultScript.ConnectFailure =>
  makeConnectFailure("tlsFailure", "Tls", options)

/**
 * The error codes of RFC 9113 §7, in the order of their values (0x0 to 0xd): the names a RST_STREAM can carry.
 * @internal
 */
export const http2ErrorCodes = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED"
] as const

/** @internal */
export const http2CodeProblem = (actual: unknown): string =>
  `code ${JSON.stringify(actual)} is not an RFC 9113 error code name (${http2ErrorCodes.join(", ")})`

const makeStreamReset = (
  where: string,
  code: FaultScript.Http2ErrorCode,
  options: { readonly latency?: Duration.DurationInput | undefined } | undefined
): FaultScript.StreamReset => ({
  _tag: "StreamReset",
  code: (http2ErrorCodes as ReadonlyArray<string>).includes(code) ?
    code :
    invalid(
      where,
      `the code must be an RFC 9113 error code name (${http2ErrorCodes.join(", ")})`,
      JSON.stringify(code)
    ),
  latencyMillis: requireMillis(where, "latency", options?.latency)
})

/** @internal */
export const refusedStream = (
  options?: { readonly latency?: Duration.DurationInput | undefined }
): FaultScript.StreamReset => makeStreamReset("refusedStream", "REFUSED_STREAM", options)

/** @internal */
export const streamReset = (
  code: FaultScript.Http2ErrorCode = "INTERNAL_ERROR",
  options?: { readonly latency?: Duration.DurationInput | undefined }
): FaultScript.StreamReset => makeStreamReset("streamReset", code, options)

// An event's id may not hold NULL (a client ignores such an id) nor a line end; its type may not hold a line end:
// either would change what the client parses.
/** @internal */
export const eventFieldProblem = (field: "id" | "event", value: string): string | undefined =>
  (field === "id" ? /[\0\r\n]/ : /[\r\n]/).test(value) ?
    `an event's ${field} ${JSON.stringify(value)} holds ${field === "id" ? "NULL, CR or LF" : "CR or LF"}` :
    undefined

/** @internal */
export const duplicateIdProblem = (events: ReadonlyArray<FaultScript.ServerEvent>): string | undefined => {
  const seen = new Set<string>()
  for (const event of events) {
    if (event.id === undefined) continue
    if (seen.has(event.id)) return `events hold the id ${JSON.stringify(event.id)} twice (a resume would be ambiguous)`
    seen.add(event.id)
  }
  return undefined
}

const requireEvents = (
  where: string,
  events: ReadonlyArray<FaultScript.ServerEvent>
): ReadonlyArray<FaultScript.ServerEvent> => {
  if (!Array.isArray(events)) return invalid(where, "events must be an array of events", events)
  const out = events.map((event, index): FaultScript.ServerEvent => {
    const name = `events[${index}]`
    if (typeof event !== "object" || event === null) return invalid(where, `${name} must be an event`, event)
    if (typeof event.data !== "string") return invalid(where, `${name}.data must be a string`, event.data)
    for (const field of ["id", "event"] as const) {
      const value = event[field]
      if (value === undefined) continue
      if (typeof value !== "string") return invalid(where, `${name}.${field} must be a string`, value)
      const problem = eventFieldProblem(field, value)
      if (problem !== undefined) return invalid(where, `${name}.${field}: ${problem}`, JSON.stringify(value))
    }
    return {
      ...(event.id !== undefined ? { id: event.id } : {}),
      ...(event.event !== undefined ? { event: event.event } : {}),
      data: event.data,
      ...(event.retry !== undefined ? { retry: requireInteger(where, `${name}.retry`, event.retry, 0) } : {})
    }
  })
  const duplicate = duplicateIdProblem(out)
  return duplicate === undefined ? out : invalid(where, duplicate, "events")
}

/** @internal */
export const eventStream = (
  events: ReadonlyArray<FaultScript.ServerEvent>,
  options?: FaultScript.EventStreamOptions
): FaultScript.EventStream => {
  const where = "eventStream"
  const end = options?.end ?? "close"
  const heartbeat = options?.heartbeatEvery === undefined ?
    undefined :
    requireMillis(where, "heartbeatEvery", options.heartbeatEvery)
  return {
    _tag: "EventStream",
    events: requireEvents(where, events),
    ...(options?.dropAfter !== undefined ?
      { dropAfter: requireInteger(where, "dropAfter", options.dropAfter, 0) } :
      {}),
    ...(heartbeat !== undefined ?
      {
        heartbeatMillis: heartbeat > 0 && Number.isFinite(heartbeat) ?
          heartbeat :
          invalid(where, "heartbeatEvery must be a finite duration > 0", options?.heartbeatEvery)
      } :
      {}),
    end: end === "close" || end === "hang" ? end : invalid(where, "end must be \"close\" or \"hang\"", end),
    latencyMillis: requireMillis(where, "latency", options?.latency),
    // heartbeats are sent only while the stream hangs: asked for otherwise, they would silently never come
    ...(heartbeat !== undefined && end !== "hang" ?
      invalid(where, "heartbeatEvery needs end: \"hang\" (heartbeats are sent while the stream hangs)", end) :
      {}),
    ...(heartbeat !== undefined && options?.dropAfter !== undefined ?
      invalid(
        where,
        "heartbeatEvery and dropAfter exclude each other (the connection drops before it hangs)",
        "dropAfter"
      ) :
      {})
  }
}

/** @internal */
export const resource = (body: string, options?: FaultScript.ResourceOptions): FaultScript.Resource => {
  const where = "resource"
  if (typeof body !== "string") return invalid(where, "body must be a string", body)
  const cutAt = options?.cutAt ?? []
  if (!Array.isArray(cutAt)) return invalid(where, "cutAt must be an array of byte offsets", cutAt)
  const lastModified = options?.lastModified
  return {
    _tag: "Resource",
    body,
    contentType: requireHeaderValue(where, "content-type", options?.contentType ?? "application/octet-stream"),
    ...(options?.etag !== undefined ? { etag: requireHeaderValue(where, "etag", options.etag) } : {}),
    ...(lastModified !== undefined ?
      {
        lastModified: lastModified instanceof Date ?
          (Number.isFinite(lastModified.getTime()) ?
            lastModified.toUTCString() :
            invalid(where, "lastModified must be a valid date", lastModified)) :
          requireHeaderValue(where, "last-modified", lastModified)
      } :
      {}),
    acceptRanges: options?.acceptRanges ?? true,
    cutAt: cutAt.map((offset, index) => requireInteger(where, `cutAt[${index}]`, offset, 0)),
    latencyMillis: requireMillis(where, "latency", options?.latency)
  }
}

// -----------------------------------------------------------------------------
// combinators
// -----------------------------------------------------------------------------

/** @internal */
export const withLatency = dual<
  (latency: Duration.DurationInput) => <F extends Fault>(self: F) => F,
  <F extends Fault>(self: F, latency: Duration.DurationInput) => F
>(
  2,
  <F extends Fault>(self: F, latency: Duration.DurationInput): F =>
    self._tag === "Hang" ? self : { ...self, latencyMillis: requireMillis("withLatency", "latency", latency) }
)

/** @internal */
export const withSlowBody = dual<
  (bytesPerSecond: number) => (self: Respond) => Respond,
  (self: Respond, bytesPerSecond: number) => Respond
>(2, (self, bytesPerSecond) => ({
  ...self,
  bytesPerSecond: bytesPerSecond > 0 ? bytesPerSecond : invalid("withSlowBody", "the rate must be > 0", bytesPerSecond)
}))

/** @internal */
export const withHeaders = dual<
  (headers: Readonly<Record<string, string>>) => (self: Respond) => Respond,
  (self: Respond, headers: Readonly<Record<string, string>>) => Respond
>(
  2,
  (self, headers) => ({
    ...self,
    headers: { ...self.headers, ...lowerCaseKeys(requireHeaders("withHeaders", headers)) }
  })
)

/** @internal */
export const withEnding = dual<
  (ending: FaultScript.Ending) => (self: Respond) => Respond,
  (self: Respond, ending: FaultScript.Ending) => Respond
>(2, (self, ending) => ({ ...self, ending }))

// -----------------------------------------------------------------------------
// scripts
// -----------------------------------------------------------------------------

/** @internal */
export const sequence = (...steps: readonly [Fault, ...Array<Fault>]): FaultScript.Sequence => ({
  _tag: "Sequence",
  steps: requireSteps("sequence", steps),
  afterLast: "repeatLast"
})

/** @internal */
export const cycle = (...steps: readonly [Fault, ...Array<Fault>]): FaultScript.Sequence => ({
  _tag: "Sequence",
  steps: requireSteps("cycle", steps),
  afterLast: "cycle"
})

// The type asks for one step at least, but a spread of an empty array gets past it.
const requireSteps = (where: string, steps: readonly [Fault, ...Array<Fault>]) =>
  steps.length > 0 ? steps : invalid(where, "at least one step is needed", "none")

/** @internal */
export const always = (fault: Fault): FaultScript.Sequence => sequence(fault)

/** @internal */
export const random = (options: {
  readonly seed: number
  readonly choices: ReadonlyArray<readonly [probability: number, fault: Fault]>
  readonly otherwise: Fault
}): FaultScript.Random => ({
  _tag: "Random",
  seed: Number.isSafeInteger(options.seed)
    ? options.seed
    : invalid("random", "the seed must be an integer", options.seed),
  choices: options.choices.map(([probability, fault]) => ({
    probability: probability >= 0 && probability <= 1 ?
      probability :
      invalid("random", "a probability must be from 0 to 1", probability),
    fault
  })),
  otherwise: options.otherwise
})

/**
 * A uniform draw in [0, 1) that depends on `(seed, attempt)` only (one mulberry32 step over a mixed state), so the
 * n-th request on a route gets the same fault however requests on other routes interleave.
 * @internal
 */
export const draw = (seed: number, attempt: number): number => {
  let state = (Math.imul(seed | 0, 0x85ebca6b) ^ Math.imul(attempt + 1, 0x9e3779b9)) + 0x6d2b79f5
  state = Math.imul(state ^ (state >>> 15), state | 1)
  state ^= state + Math.imul(state ^ (state >>> 7), state | 61)
  return ((state ^ (state >>> 14)) >>> 0) / 4294967296
}

/** @internal */
export const faultAt = (script: FaultScript.Script, attempt: number): Fault => {
  switch (script._tag) {
    case "Sequence": {
      const steps = script.steps
      const index = script.afterLast === "cycle" ? attempt % steps.length : Math.min(attempt, steps.length - 1)
      return steps[index]
    }
    case "Random": {
      const u = draw(script.seed, attempt)
      let cumulative = 0
      for (const choice of script.choices) {
        cumulative += choice.probability
        if (u < cumulative) return choice.fault
      }
      return script.otherwise
    }
  }
}

const isScript = (input: FaultScript.Script | Fault): input is FaultScript.Script =>
  input._tag === "Sequence" || input._tag === "Random"

const toScript = (input: FaultScript.Script | Fault): FaultScript.Script => isScript(input) ? input : always(input)

const parseKey = (key: string): { readonly method: string; readonly path: string } => {
  const trimmed = key.trim()
  const space = trimmed.indexOf(" ")
  if (space === -1) return { method: "*", path: trimmed }
  return { method: trimmed.slice(0, space).toUpperCase(), path: trimmed.slice(space + 1).trim() }
}

/** @internal */
export const route = (key: string, script: FaultScript.Script | Fault): FaultScript.Route => ({
  ...parseKey(key),
  script: toScript(script)
})

/** @internal */
export const outage = (options: {
  readonly from: Duration.DurationInput
  readonly to: Duration.DurationInput
  readonly fault: Fault
}): FaultScript.Outage => ({
  fromMillis: requireMillis("outage", "from", options.from),
  toMillis: requireMillis("outage", "to", options.to),
  fault: options.fault
})

/** @internal */
export const routes = (
  input: Readonly<Record<string, FaultScript.Script | Fault>> | ReadonlyArray<FaultScript.Route>,
  options?: { readonly outages?: ReadonlyArray<FaultScript.Outage> | undefined; readonly notFound?: Fault | undefined }
): FaultScript.Routes => ({
  routes: isRouteArray(input) ? input : Object.entries(input).map(([key, script]) => route(key, script)),
  outages: options?.outages ?? [],
  notFound: options?.notFound ?? status(404)
})

const isRouteArray = (
  input: Readonly<Record<string, FaultScript.Script | Fault>> | ReadonlyArray<FaultScript.Route>
): input is ReadonlyArray<FaultScript.Route> => Array.isArray(input)

const routeKey = (route: FaultScript.Route): string => `${route.method} ${route.path}`

const matches = (route: FaultScript.Route, method: string, pathname: string): boolean =>
  (route.method === "*" || route.method === method.toUpperCase()) &&
  (route.path.endsWith("*") ? pathname.startsWith(route.path.slice(0, -1)) : route.path === pathname)

// -----------------------------------------------------------------------------
// engine: routing, counters and the request log shared by both responders
// -----------------------------------------------------------------------------

/** @internal */
export interface Decision {
  readonly fault: Fault
  readonly route: string | undefined
  readonly attempt: number
  readonly outage: boolean
}

type MutableEntry = {
  -readonly [K in keyof FaultScript.LoggedRequest]: FaultScript.LoggedRequest[K]
}

/** @internal */
export interface Entry {
  /** Marks the request finished by the responder (idempotent; ignored once closed). */
  readonly finish: () => void
  /** Marks the request closed; `aborted` when the responder had not finished. */
  readonly close: () => void
  readonly decision: Decision
}

/** @internal */
export class Engine {
  private routes: Array<FaultScript.Route>
  private readonly counters = new Map<string, number>()
  private log: Array<MutableEntry> = []
  private current = 0
  private max = 0
  private idleWaiters: Array<() => void> = []

  constructor(private readonly spec: FaultScript.Routes, readonly startMillis: number) {
    this.routes = [...spec.routes]
  }

  decide(method: string, pathname: string, sinceStart: number): Decision {
    for (const window of this.spec.outages) {
      if (sinceStart >= window.fromMillis && sinceStart < window.toMillis) {
        const matched = this.routes.find((route) => matches(route, method, pathname))
        return {
          fault: window.fault,
          route: matched === undefined ? undefined : routeKey(matched),
          attempt: -1,
          outage: true
        }
      }
    }
    const matched = this.routes.find((route) => matches(route, method, pathname))
    if (matched === undefined) return { fault: this.spec.notFound, route: undefined, attempt: -1, outage: false }
    const key = routeKey(matched)
    const attempt = this.counters.get(key) ?? 0
    this.counters.set(key, attempt + 1)
    return { fault: faultAt(matched.script, attempt), route: key, attempt, outage: false }
  }

  arrive(request: {
    readonly method: string
    readonly path: string
    readonly headers: Readonly<Record<string, string>>
    readonly nowMillis: number
  }): Entry {
    const pathname = request.path.split("?")[0]
    const sinceStart = request.nowMillis - this.startMillis
    const decision = this.decide(request.method, pathname, sinceStart)
    const entry: MutableEntry = {
      method: request.method.toUpperCase(),
      path: request.path,
      headers: request.headers,
      idempotencyKey: request.headers["idempotency-key"],
      arrivedAt: request.nowMillis,
      sinceStart,
      route: decision.route,
      attempt: decision.attempt,
      outage: decision.outage,
      fault: decision.fault,
      aborted: false,
      finished: false
    }
    this.log.push(entry)
    this.current++
    this.max = Math.max(this.max, this.current)
    let closed = false
    return {
      decision,
      finish: () => {
        if (!closed) entry.finished = true
      },
      close: () => {
        if (closed) return
        closed = true
        if (!entry.finished) entry.aborted = true
        this.current--
        if (this.current === 0) {
          const waiters = this.idleWaiters
          this.idleWaiters = []
          for (const wake of waiters) wake()
        }
      }
    }
  }

  setScript(key: string, script: FaultScript.Script | Fault): void {
    const next = route(key, script)
    const nextKey = routeKey(next)
    const index = this.routes.findIndex((existing) => routeKey(existing) === nextKey)
    if (index === -1) this.routes.push(next)
    else this.routes[index] = next
    this.counters.delete(nextKey)
  }

  service(): FaultScript.FaultLog.Service {
    return {
      requests: Effect.sync(() => this.log.map((entry) => ({ ...entry }))),
      inFlight: Effect.sync(() => ({ current: this.current, max: this.max })),
      awaitIdle: Effect.async<void>((resume) => {
        if (this.current === 0) return resume(Effect.void)
        const wake = () => resume(Effect.void)
        this.idleWaiters.push(wake)
        return Effect.sync(() => {
          this.idleWaiters = this.idleWaiters.filter((waiter) => waiter !== wake)
        })
      }),
      setScript: (key, script) => Effect.sync(() => this.setScript(key, script)),
      reset: Effect.sync(() => {
        this.log = []
        this.counters.clear()
        this.max = this.current
      })
    }
  }
}

// -----------------------------------------------------------------------------
// rendering a Respond into bytes and a delivery plan
// -----------------------------------------------------------------------------

const encoder = new TextEncoder()

// A valid JSON document of exactly `bytes` bytes (ASCII, so characters are bytes): an object with padding when there
// is room for its 11 bytes of framing ({"data":""}), else a string, else a one-digit number.
const oversizedJson = (bytes: number): string => {
  if (bytes >= 11) return `{"data":"${"x".repeat(bytes - 11)}"}`
  if (bytes >= 2) return `"${"x".repeat(bytes - 2)}"`
  return bytes === 1 ? "0" : ""
}

/** @internal */
export const bodyBytes = (body: FaultScript.Body): { readonly bytes: Uint8Array; readonly contentType?: string } => {
  switch (body._tag) {
    case "Empty":
      return { bytes: new Uint8Array(0) }
    case "Json":
      return { bytes: encoder.encode(JSON.stringify(body.value) ?? "null"), contentType: "application/json" }
    case "Text":
      return { bytes: encoder.encode(body.text), contentType: body.contentType }
    case "MalformedJson":
      return { bytes: encoder.encode(body.text), contentType: "application/json" }
    case "Oversized":
      return { bytes: encoder.encode(oversizedJson(body.bytes)), contentType: "application/json" }
  }
}

/** @internal */
export interface Plan {
  readonly status: number
  readonly headers: Record<string, string>
  /** Chunks to send, each after waiting `delayMillis`. */
  readonly chunks: ReadonlyArray<{ readonly delayMillis: number; readonly bytes: Uint8Array }>
  readonly ending: "complete" | "reset" | "truncated" | "hang"
  /** While the response hangs after its chunks: these bytes every `everyMillis` (an event stream's heartbeat). */
  readonly heartbeat?: { readonly everyMillis: number; readonly bytes: Uint8Array } | undefined
}

// A fault written as a literal (neither built by the constructors nor decoded by the schema) can still carry what HTTP
// cannot send. Both responders answer it with the same 500 that says why, rather than one throwing (inside a timer,
// where it would crash the test process) and the other sending it.
const unsendable = (fault: Respond): string | undefined => {
  if (!(Number.isInteger(fault.status) && fault.status >= 100 && fault.status <= 599)) {
    return `status ${fault.status} is not an integer from 100 to 599`
  }
  if (fault.status < 200) {
    return `status ${fault.status} is informational (1xx), not a final response`
  }
  if (fault.bytesPerSecond !== undefined && !(fault.bytesPerSecond > 0)) {
    return `bytesPerSecond ${fault.bytesPerSecond} is not > 0`
  }
  return undefined
}

// a 500 that says why the fault was not played, so the test sees it at once
const notPlayed = (error: string, text: string): Respond => ({
  _tag: "Respond",
  status: 500,
  headers: { "x-fault-script-error": error },
  body: { _tag: "Text", text, contentType: "text/plain; charset=utf-8" },
  latencyMillis: 0,
  ending: { _tag: "Complete" }
})

/** @internal */
export const invalidFault = (reason: string): Respond => notPlayed("invalid fault", `invalid fault script: ${reason}`)

/**
 * What `FaultServer` answers a fault it cannot play: a connection that never opened (a `ConnectFailure`: its
 * connection is already open) or an HTTP/2 stream reset (a `StreamReset`: it speaks HTTP/1.1); a 500 that says why,
 * as for an invalid fault.
 * @internal
 */
export const unplayableFault = (fault: FaultScript.ConnectFailure | FaultScript.StreamReset): Respond =>
  fault._tag === "ConnectFailure" ?
    notPlayed(
      "cannot play",
      `FaultServer cannot play ConnectFailure (${fault.reason}): the connection is already open. ` +
        "Use ScriptedClient, or FaultServer.refusedUrl for a connection that is refused."
    ) :
    notPlayed(
      "cannot play",
      `FaultServer cannot play StreamReset (${fault.code}): it speaks HTTP/1.1, which has no streams. ` +
        "Use ScriptedClient, or Chaos around an HTTP/2 client."
    )

// HTTP gives these responses no body, whatever the fault says: a 204 or 304 has none (sent without Content-Length),
// and the answer to a HEAD has the headers a GET would get but no body. Without a body there is nothing to pace, cut
// or reset mid-way: the response ends complete on both responders (a Node server would drop the body's bytes anyway,
// and undici rejects a 204 or 304 whose Content-Length promises any).
const statusWithoutBody = (status: number): boolean => status === 204 || status === 304

/** @internal */
export const plan = (fault: Respond, nowMillis: number, method = "GET"): Plan => {
  const problem = unsendable(fault)
  if (problem !== undefined) return plan(invalidFault(problem), nowMillis, method)
  const noStatusBody = statusWithoutBody(fault.status)
  const { bytes, contentType } = noStatusBody ? bodyBytes({ _tag: "Empty" }) : bodyBytes(fault.body)
  const headers: Record<string, string> = {}
  if (contentType !== undefined) headers["content-type"] = contentType
  if (fault.retryAfter !== undefined) {
    headers["retry-after"] = typeof fault.retryAfter === "string" ?
      fault.retryAfter :
      new Date(nowMillis + fault.retryAfter.seconds * 1000).toUTCString()
  }
  if (fault.rateLimit !== undefined) {
    headers["ratelimit-limit"] = String(fault.rateLimit.limit)
    headers["ratelimit-remaining"] = String(fault.rateLimit.remaining)
    headers["ratelimit-reset"] = String(fault.rateLimit.reset)
    if (fault.rateLimit.policy !== undefined) headers["ratelimit-policy"] = fault.rateLimit.policy
  }
  Object.assign(headers, lowerCaseKeys(fault.headers))
  // the constructors and the schema refuse these; a hand-written literal gets both responders' same 500
  const badHeader = headersProblem(headers)
  if (badHeader !== undefined) return plan(invalidFault(badHeader), nowMillis, method)
  // spaces and tabs around a field value are not part of it (RFC 9110 §5.5): a client never sees them
  for (const [name, value] of Object.entries(headers)) headers[name] = value.replace(/^[\t ]+|[\t ]+$/g, "")
  if (noStatusBody) {
    delete headers["content-length"]
    return { status: fault.status, headers, chunks: [], ending: "complete" }
  }
  const ending = fault.ending
  const sent = ending._tag === "ResetMidBody" ? bytes.subarray(0, Math.min(ending.afterBytes, bytes.length)) : bytes
  headers["content-length"] = String(bytes.length + (ending._tag === "Truncated" ? ending.missingBytes : 0))
  if (method.toUpperCase() === "HEAD") return { status: fault.status, headers, chunks: [], ending: "complete" }
  const chunks: Array<{ delayMillis: number; bytes: Uint8Array }> = []
  if (fault.bytesPerSecond === undefined) {
    if (sent.length > 0) chunks.push({ delayMillis: 0, bytes: sent })
  } else {
    const size = Math.max(1, Math.ceil(fault.bytesPerSecond / 20))
    for (let offset = 0; offset < sent.length; offset += size) {
      const piece = sent.subarray(offset, offset + size)
      chunks.push({ delayMillis: (piece.length / fault.bytesPerSecond) * 1000, bytes: piece })
    }
  }
  return {
    status: fault.status,
    headers,
    chunks,
    ending: ending._tag === "Complete" ? "complete" : ending._tag === "ResetMidBody" ? "reset" : "truncated"
  }
}

// -----------------------------------------------------------------------------
// event streams and ranged resources: answers that depend on the request's headers
// -----------------------------------------------------------------------------

/** The faults both responders answer with a response: a `Respond`, an event stream, a resource. @internal */
export type Answer = Respond | FaultScript.EventStream | FaultScript.Resource

const serializeEvent = (event: FaultScript.ServerEvent): string => {
  let out = ""
  if (event.id !== undefined) out += `id: ${event.id}\n`
  if (event.event !== undefined) out += `event: ${event.event}\n`
  if (event.retry !== undefined) out += `retry: ${event.retry}\n`
  for (const line of event.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`
  return out + "\n"
}

/**
 * The index of the first event to send: the one after the event whose id is the request's `Last-Event-ID`, or the
 * first when the request names none or an id no event has.
 * @internal
 */
export const resumeIndex = (
  events: ReadonlyArray<FaultScript.ServerEvent>,
  requestHeaders: Readonly<Record<string, string>>
): number => {
  const last = requestHeaders["last-event-id"]
  if (last === undefined) return 0
  const index = events.findIndex((event) => event.id === last)
  return index === -1 ? 0 : index + 1
}

const eventStreamPlan = (
  fault: FaultScript.EventStream,
  method: string,
  requestHeaders: Readonly<Record<string, string>>
): Plan => {
  const headers: Record<string, string> = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store"
  }
  if (method.toUpperCase() === "HEAD") return { status: 200, headers, chunks: [], ending: "complete" }
  const start = resumeIndex(fault.events, requestHeaders)
  const rest = fault.events.slice(start)
  const sent = fault.dropAfter === undefined ? rest : rest.slice(0, fault.dropAfter)
  const chunks = sent.map((event) => ({ delayMillis: 0, bytes: encoder.encode(serializeEvent(event)) }))
  if (fault.dropAfter !== undefined) return { status: 200, headers, chunks, ending: "reset" }
  if (fault.end === "close") return { status: 200, headers, chunks, ending: "complete" }
  return {
    status: 200,
    headers,
    chunks,
    ending: "hang",
    heartbeat: fault.heartbeatMillis === undefined ?
      undefined :
      { everyMillis: fault.heartbeatMillis, bytes: encoder.encode(": heartbeat\n") }
  }
}

// one range, `bytes=N-` or `bytes=N-M` (RFC 9110 §14.1.2); any other form is ignored, as a server may ignore Range
const parseRange = (value: string): { readonly first: number; readonly last: number | undefined } | undefined => {
  const match = /^bytes=(\d+)-(\d*)$/i.exec(value.trim())
  if (match === null) return undefined
  const first = Number(match[1])
  const last = match[2] === "" ? undefined : Number(match[2])
  if (!Number.isSafeInteger(first) || (last !== undefined && !(Number.isSafeInteger(last) && last >= first))) {
    return undefined
  }
  return { first, last }
}

// RFC 9110 §13.1.5: an entity tag matches by the strong comparison (never a weak one), a date matches a
// Last-Modified that is the same
const ifRangeMatches = (fault: FaultScript.Resource, ifRange: string | undefined): boolean => {
  if (ifRange === undefined) return true
  const value = ifRange.trim()
  if (value.startsWith("\"") || value.startsWith("W/")) {
    return fault.etag !== undefined && !fault.etag.startsWith("W/") && !value.startsWith("W/") &&
      value === fault.etag.trim()
  }
  return fault.lastModified !== undefined && value === fault.lastModified.trim()
}

const resourcePlan = (
  fault: FaultScript.Resource,
  nowMillis: number,
  method: string,
  requestHeaders: Readonly<Record<string, string>>
): Plan => {
  const bytes = encoder.encode(fault.body)
  const total = bytes.length
  const headers: Record<string, string> = {
    "content-type": fault.contentType,
    "accept-ranges": fault.acceptRanges ? "bytes" : "none",
    "date": new Date(nowMillis).toUTCString()
  }
  if (fault.etag !== undefined) headers["etag"] = fault.etag
  if (fault.lastModified !== undefined) headers["last-modified"] = fault.lastModified
  // the constructors and the schema refuse these; a hand-written literal gets both responders' same 500
  const badHeader = headersProblem(headers)
  if (badHeader !== undefined) return plan(invalidFault(badHeader), nowMillis, method)
  const rangeHeader = requestHeaders["range"]
  const range = fault.acceptRanges && rangeHeader !== undefined && ifRangeMatches(fault, requestHeaders["if-range"]) ?
    parseRange(rangeHeader) :
    undefined
  let status = 200
  let start = 0
  let part = bytes
  if (range !== undefined) {
    if (range.first >= total) {
      headers["content-range"] = `bytes */${total}`
      headers["content-length"] = "0"
      return { status: 416, headers, chunks: [], ending: "complete" }
    }
    const last = Math.min(range.last ?? total - 1, total - 1)
    status = 206
    start = range.first
    part = bytes.subarray(range.first, last + 1)
    headers["content-range"] = `bytes ${range.first}-${last}/${total}`
  }
  headers["content-length"] = String(part.length)
  if (method.toUpperCase() === "HEAD") return { status, headers, chunks: [], ending: "complete" }
  // the first offset inside this part, past its start: a resume from an offset is not cut by it again
  const cuts = fault.cutAt.filter((offset) => offset > start && offset < start + part.length)
  const cut = cuts.length === 0 ? undefined : Math.min(...cuts)
  const sent = cut === undefined ? part : part.subarray(0, cut - start)
  return {
    status,
    headers,
    chunks: sent.length === 0 ? [] : [{ delayMillis: 0, bytes: sent }],
    ending: cut === undefined ? "complete" : "reset"
  }
}

/**
 * The plan both responders play for an answer to a request with `requestHeaders` (lower-case names).
 * @internal
 */
export const planAnswer = (
  fault: Answer,
  nowMillis: number,
  method: string,
  requestHeaders: Readonly<Record<string, string>>
): Plan => {
  switch (fault._tag) {
    case "Respond":
      return plan(fault, nowMillis, method)
    case "EventStream":
      return eventStreamPlan(fault, method, requestHeaders)
    case "Resource":
      return resourcePlan(fault, nowMillis, method, requestHeaders)
  }
}

// -----------------------------------------------------------------------------
// accessors
// -----------------------------------------------------------------------------

type Tag = Context.Tag<FaultScript.FaultLog, FaultScript.FaultLog.Service>

/** @internal */
export const requests = (tag: Tag) => Effect.flatMap(tag, (log) => log.requests)

/** @internal */
export const inFlight = (tag: Tag) => Effect.flatMap(tag, (log) => log.inFlight)

/** @internal */
export const awaitIdle = (tag: Tag) => Effect.flatMap(tag, (log) => log.awaitIdle)

/** @internal */
export const setScript = (tag: Tag) => (key: string, script: FaultScript.Script | Fault) =>
  Effect.flatMap(tag, (log) => log.setScript(key, script))

/** @internal */
export const resetLog = (tag: Tag) => Effect.flatMap(tag, (log) => log.reset)
