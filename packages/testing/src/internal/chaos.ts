import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Attempt from "@sturdy/http/Attempt"
import * as Redaction from "@sturdy/http/Redaction"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import type * as Chaos from "../Chaos.js"
import * as FaultScript from "../FaultScript.js"
import { nonNegativeDuration } from "./faultScript.js"
import { play } from "./scriptedClient.js"

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

type Outcome =
  | { readonly _tag: "Fault"; readonly fault: FaultScript.Fault }
  | { readonly _tag: "Latency"; readonly latency: Duration.Duration }

interface Plan {
  readonly rate: number
  /** Each outcome with the running sum of the weights up to and including its own. */
  readonly outcomes: ReadonlyArray<{ readonly outcome: Outcome; readonly upTo: number }>
  readonly enabled: (request: HttpClientRequest.HttpClientRequest) => boolean
  readonly onInject: ((injection: Chaos.Injection) => Effect.Effect<void>) | undefined
}

// As FaultScript's constructors do, a bad option is refused where it is written, with a RangeError that names it.
const invalid = (where: string, what: string, ...got: [unknown?]): never => {
  throw new RangeError(`Chaos.${where}: ${what}${got.length === 0 ? "" : `, got ${show(got[0])}`}`)
}

const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "bigint") return `${value}n`
  if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`
  if (typeof value === "function") return "a function"
  return typeof value === "object" && value !== null && !Duration.isDuration(value) ? "an object" : String(value)
}

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const requireWeight = (where: string, name: string, weight: unknown): number =>
  typeof weight === "number" && Number.isFinite(weight) && weight > 0 ?
    weight :
    invalid(where, `${name} must be a finite number > 0`, weight)

const validateFault = Schema.validateEither(FaultScript.Fault)

const requireFault = (where: string, name: string, fault: unknown): FaultScript.Fault =>
  Either.getOrElse(validateFault(fault), (error) => {
    const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
    const at = issue.path.length === 0 ? "" : `.${issue.path.join(".")}`
    const what = `${name}${at} is not a FaultScript.Fault (${issue.message})`
    // an object is described by the issue; anything else is shown
    return isRecord(fault) ? invalid(where, what) : invalid(where, what, fault)
  })

// FaultScript's reading of a duration, which refuses a negative one rather than reading it as 0; an infinite latency
// would hold every injected request for ever, so it is refused too
const requireLatency = (where: string, name: string, input: unknown): Duration.Duration => {
  const duration = nonNegativeDuration(input)
  return duration !== undefined && Duration.isFinite(duration) ?
    duration :
    invalid(where, `${name} must be a finite duration ≥ 0 (a Duration.DurationInput)`, input)
}

const weighted = (
  where: string,
  options: Chaos.Options
): ReadonlyArray<{ readonly outcome: Outcome; readonly weight: number }> => {
  const out: Array<{ readonly outcome: Outcome; readonly weight: number }> = []
  const faults: unknown = options.faults
  if (faults !== undefined) {
    if (!Array.isArray(faults)) return invalid(where, "faults must be an array of faults", faults)
    if (faults.length === 0) return invalid(where, "faults must hold at least one fault", faults)
    faults.forEach((entry: unknown, index) => {
      const name = `faults[${index}]`
      if (isRecord(entry) && !("_tag" in entry) && "fault" in entry) {
        const fault = requireFault(where, `${name}.fault`, entry.fault)
        out.push({ outcome: { _tag: "Fault", fault }, weight: requireWeight(where, `${name}.weight`, entry.weight) })
      } else {
        out.push({ outcome: { _tag: "Fault", fault: requireFault(where, name, entry) }, weight: 1 })
      }
    })
  }
  const latency: unknown = options.latency
  if (latency !== undefined) {
    if (isRecord(latency) && !Duration.isDuration(latency)) {
      out.push({
        outcome: { _tag: "Latency", latency: requireLatency(where, "latency.latency", latency.latency) },
        weight: requireWeight(where, "latency.weight", latency.weight)
      })
    } else {
      out.push({ outcome: { _tag: "Latency", latency: requireLatency(where, "latency", latency) }, weight: 1 })
    }
  }
  return out.length > 0 ? out : invalid(where, "give faults, latency or both: there is nothing to inject")
}

const always = () => true
const never = () => false

const validate = (where: string, options: Chaos.Options): Plan => {
  if (!isRecord(options)) return invalid(where, "the options must be an object", options)
  const rate: unknown = options.injectionRate
  if (!(typeof rate === "number" && rate >= 0 && rate <= 1)) {
    return invalid(where, "injectionRate must be a number from 0 to 1", rate)
  }
  const enabled: unknown = options.enabled
  if (!(enabled === undefined || typeof enabled === "boolean" || typeof enabled === "function")) {
    return invalid(where, "enabled must be a boolean or a function of the request", enabled)
  }
  const onInject: unknown = options.onInject
  if (!(onInject === undefined || typeof onInject === "function")) {
    return invalid(where, "onInject must be a function", onInject)
  }
  let total = 0
  const outcomes = weighted(where, options).map(({ outcome, weight }) => ({ outcome, upTo: total += weight }))
  return {
    rate,
    outcomes,
    enabled: enabled === undefined || enabled === true
      ? always
      : enabled === false
      ? never
      : options.enabled as Plan["enabled"],
    onInject: options.onInject
  }
}

// -----------------------------------------------------------------------------
// choosing and injecting
// -----------------------------------------------------------------------------

// One draw decides whether to inject; a second, only when there are outcomes to choose from, which one.
const choose = (plan: Plan, request: HttpClientRequest.HttpClientRequest): Effect.Effect<Outcome | undefined> => {
  if (!plan.enabled(request)) return Effect.succeed(undefined)
  return Effect.flatMap(Random.next, (draw) => {
    if (draw >= plan.rate) return Effect.succeed(undefined)
    const outcomes = plan.outcomes
    if (outcomes.length === 1) return Effect.succeed(outcomes[0].outcome)
    return Effect.map(Random.next, (which) => {
      const point = which * outcomes[outcomes.length - 1].upTo
      return (outcomes.find((entry) => point < entry.upTo) ?? outcomes[outcomes.length - 1]).outcome
    })
  })
}

const describeFault = (fault: FaultScript.Fault): string => {
  switch (fault._tag) {
    case "Respond": {
      const body = fault.body._tag === "MalformedJson" ? " malformed JSON" : ""
      const ending = fault.ending._tag === "Complete" ? "" : ` ${fault.ending._tag}`
      return `status ${fault.status}${body}${ending}`
    }
    case "ConnectFailure":
      return `ConnectFailure ${fault.reason}`
    case "StreamReset":
      return `StreamReset ${fault.code}`
    default:
      return fault._tag
  }
}

const describe = (outcome: Outcome): string =>
  outcome._tag === "Fault" ? describeFault(outcome.fault) : `latency ${Duration.format(outcome.latency)}`

// the URL as sent, redacted as Sturdy redacts it everywhere: user info dropped, secret parameters and values hidden
const where = (request: HttpClientRequest.HttpClientRequest): string =>
  Redaction.redactUrlWithParams(request.url, request.urlParams)

const announce = (
  plan: Plan,
  request: HttpClientRequest.HttpClientRequest,
  outcome: Outcome
): Effect.Effect<void> => {
  const injected = describe(outcome)
  const attributes = {
    "sturdy.chaos.outcome": outcome._tag === "Fault" ? "fault" : "latency",
    "sturdy.chaos.injected": injected,
    "http.request.method": request.method
  }
  const event = Effect.withFiberRuntime<void>((fiber) => {
    const span = fiber.currentSpan
    if (span === undefined || span._tag !== "Span") return Effect.void
    return Effect.map(Clock.currentTimeNanos, (nanos) => span.event("sturdy.chaos", nanos, attributes))
  })
  const log = Effect.annotateLogs(
    Effect.logDebug(`chaos: injected ${injected} into ${request.method} ${where(request)}`),
    attributes
  )
  if (plan.onInject === undefined) return Effect.zipRight(event, log)
  const injection: Chaos.Injection = outcome._tag === "Fault" ?
    { _tag: "Fault", request, fault: outcome.fault } :
    { _tag: "Latency", request, latency: outcome.latency }
  return Effect.zipRight(Effect.zipRight(event, log), plan.onInject(injection))
}

// An injected fault is played by a client of its own, so the platform builds the URL, the `http.client` span and the
// abort signal as for any request, and the wrapped client never sees it. The span says it was chaos.
const playFault = (fault: FaultScript.Fault) =>
  HttpClient.make((request, url, signal) =>
    Effect.zipRight(
      Effect.annotateCurrentSpan("sturdy.chaos", describeFault(fault)),
      play(request, url, signal, fault, Effect.forkDaemon)
    )
  )

// Nothing is written while the injected latency runs: a timer raced around the attempt that fires now finds the request
// unsent, as with a connection slow to open. Once the real request starts, its transport says what it wrote.
const delay = <E, R>(
  latency: Duration.Duration,
  send: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>
): Effect.Effect<HttpClientResponse.HttpClientResponse, E, R> =>
  Effect.flatMap(FiberRef.get(Attempt.currentSendProgress), (progress) => {
    const marked = progress !== undefined && progress.requestSent === undefined
    if (marked) progress.requestSent = false
    return Effect.zipRight(
      Effect.sleep(latency),
      Effect.suspend(() => {
        if (marked && progress.requestSent === false) progress.requestSent = undefined
        return send
      })
    )
  })

type Sent<E, R> = Effect.Effect<HttpClientResponse.HttpClientResponse, E | HttpClientError.HttpClientError, R>

const wrap = <E, R>(
  client: HttpClient.HttpClient.With<E, R>,
  plan: Plan
): HttpClient.HttpClient.With<E | HttpClientError.HttpClientError, R> =>
  HttpClient.transform(client, (send, request) =>
    Effect.flatMap(choose(plan, request), (outcome): Sent<E, R> => {
      if (outcome === undefined) return send
      const injected: Sent<E, R> = outcome._tag === "Fault" ?
        playFault(outcome.fault).execute(request) :
        delay(outcome.latency, send)
      return Effect.zipRight(announce(plan, request, outcome), injected)
    }))

/** @internal */
export const transform = dual<
  (
    options: Chaos.Options
  ) => <E, R>(
    self: HttpClient.HttpClient.With<E, R>
  ) => HttpClient.HttpClient.With<E | HttpClientError.HttpClientError, R>,
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    options: Chaos.Options
  ) => HttpClient.HttpClient.With<E | HttpClientError.HttpClientError, R>
>(2, (self, options) => wrap(self, validate("transform", options)))

/** @internal */
export const layer = (options: Chaos.Options): Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient> => {
  const plan = validate("layer", options)
  return Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, (client) => wrap(client, plan)))
}
