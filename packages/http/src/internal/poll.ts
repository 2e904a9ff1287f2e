import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual, identity } from "effect/Function"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Attempt from "../Attempt.js"
import type * as HttpFailure from "../HttpFailure.js"
import type * as Poll from "../Poll.js"
import * as attempt from "./attempt.js"
import { checkDuration, isNaNInput, isNegative, shown } from "./durationInput.js"
import * as paginate from "./paginate.js"
import * as policyOptions from "./policyOptions.js"
import * as redaction from "./redaction.js"
import * as redirect from "./redirect.js"
import * as retryHeaders from "./retryHeaders.js"
import * as telemetry from "./telemetry.js"

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/** @internal */
export type Reason =
  | "Failed"
  | "Canceled"
  | "TimedOut"
  | "CrossOrigin"
  | "Downgrade"
  | "InvalidMonitor"
  | "InvalidOptions"

const describe: Readonly<Record<Reason, string>> = {
  Failed: "the operation failed",
  Canceled: "the operation was canceled",
  TimedOut: "gave up waiting",
  CrossOrigin: "refused a monitor on another origin",
  Downgrade: "refused a monitor over http after https",
  InvalidMonitor: "refused the monitor",
  InvalidOptions: "refused its options"
}

/** @internal */
export class PollError extends Data.TaggedError("PollError")<{
  readonly reason: Reason
  /** What was wrong, in words (URLs in it redacted). */
  readonly detail: string
  /** Polls made before the failure. */
  readonly polls: number
  /** The request polled for (`Poll.operation`), its URL redacted; `undefined` for `Poll.until`. */
  readonly method: string | undefined
  readonly url: string | undefined
  /** The last value polled (`until`), or the monitor's last JSON body (`operation`); never in the message. */
  readonly last: unknown
  /**
   * The server's wait (`Retry-After`, a `Pending` decision's `retryAfter`) that made a `TimedOut` give up before
   * `maxWait`: beyond `maxRetryAfter`, or ending past `maxWait`. `None` for every other failure.
   */
  readonly retryAfter: Option.Option<Duration.Duration>
}> {
  override get message(): string {
    const where = this.method === undefined || this.url === undefined ? "" : `: ${this.method} ${this.url}`
    return `poll ${describe[this.reason]} after ${this.polls} poll${
      this.polls === 1 ? "" : "s"
    } (${this.detail})${where}`
  }
}

// -----------------------------------------------------------------------------
// decisions
// -----------------------------------------------------------------------------

/** @internal */
export const done: Poll.Decision = { _tag: "Done" }

/** @internal */
export const pending = (retryAfter?: Duration.DurationInput): Poll.Decision =>
  retryAfter === undefined ? { _tag: "Pending" } : { _tag: "Pending", retryAfter }

/** @internal */
export const failed = (detail: string): Poll.Decision => ({ _tag: "Failed", detail })

/** @internal */
export const canceled = (detail: string): Poll.Decision => ({ _tag: "Canceled", detail })

/** A decision, or (for a monitor) a body this module cannot read. */
type Decided = Poll.Decision | { readonly _tag: "Invalid"; readonly reason: Reason; readonly detail: string }

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

/** @internal smithy's waiter default (`minDelay`: 2 s). */
export const defaultMinDelay: Duration.Duration = Duration.seconds(2)
/** @internal smithy's waiter default (`maxDelay`: 120 s). */
export const defaultMaxDelay: Duration.Duration = Duration.seconds(120)
/** @internal */
export const defaultMaxWait: Duration.Duration = Duration.minutes(5)
/** @internal `Policy`'s (and `EventStream`'s) `maxRetryAfter` default: 30 s. */
export const defaultMaxRetryAfter: Duration.Duration = policyOptions.defaults.retry.maxRetryAfter

/**
 * @internal smithy's waiter backoff (smithy.io/2.0/additional-specs/waiters.html#waiter-retries): the n-th wait is
 * drawn uniformly from `[minDelay, minDelay * 2^(n-1)]` while `n` is at most `attemptCeiling =
 * log2(maxDelay / minDelay) + 1`, and is `maxDelay` after. The draw uses Effect's `Random`, so a seed fixes it.
 */
export const smithyBackoff = (
  minDelay: Duration.DurationInput,
  maxDelay: Duration.DurationInput
): Schedule.Schedule<number> => {
  const min = Duration.toMillis(Duration.decode(minDelay))
  const max = Duration.toMillis(Duration.decode(maxDelay))
  const ceiling = Math.log(max / min) / Math.log(2) + 1
  return Schedule.addDelayEffect(Schedule.forever, (n) => {
    const attemptNumber = n + 1
    if (attemptNumber > ceiling) return Effect.succeed(Duration.millis(max))
    const upper = Math.min(max, min * 2 ** (attemptNumber - 1))
    // whole milliseconds, as smithy's waiters draw whole seconds
    return Effect.map(Random.next, (r) => Duration.millis(Math.round(min + r * (upper - min))))
  })
}

interface Checked {
  readonly schedule: Schedule.Schedule<unknown, unknown>
  readonly maxWaitMillis: number
  readonly maxRetryAfterMillis: number
}

const positive = { allowZero: false, infinite: "refuse" } as const

/** The options shared by `until` and `operation`, read once (a getter runs once), with the problems found. */
const checkCommon = (input: Poll.Options, problems: Array<string>): Checked => {
  const schedule = input.schedule
  const minDelayInput = input.minDelay
  const maxDelayInput = input.maxDelay
  const minDelay = minDelayInput === undefined
    ? defaultMinDelay
    : checkDuration("minDelay", minDelayInput, positive, problems)
  const maxDelay = maxDelayInput === undefined
    ? defaultMaxDelay
    : checkDuration("maxDelay", maxDelayInput, positive, problems)
  if (minDelay !== undefined && maxDelay !== undefined && Duration.greaterThan(minDelay, maxDelay)) {
    problems.push(
      `minDelay (${Duration.format(minDelay)}) must be at most maxDelay (${Duration.format(maxDelay)})`
    )
  }
  if (schedule !== undefined) {
    if (!Schedule.isSchedule(schedule)) problems.push(`schedule must be a Schedule${shown(schedule)}`)
    if (minDelayInput !== undefined || maxDelayInput !== undefined) {
      problems.push("minDelay and maxDelay shape the default schedule: give them or a schedule, not both")
    }
  }
  const maxWait = input.maxWait === undefined
    ? defaultMaxWait
    : checkDuration("maxWait", input.maxWait, positive, problems)
  const maxRetryAfter = input.maxRetryAfter === undefined
    ? defaultMaxRetryAfter
    // as `Policy`'s `retry.maxRetryAfter` and `EventStream`'s: zero and an infinite duration (no limit) are accepted
    : checkDuration("maxRetryAfter", input.maxRetryAfter, { allowZero: true, infinite: "accept" }, problems)
  return {
    schedule: schedule !== undefined && Schedule.isSchedule(schedule)
      ? schedule as Schedule.Schedule<unknown, unknown>
      : smithyBackoff(minDelay ?? defaultMinDelay, maxDelay ?? defaultMaxDelay),
    maxWaitMillis: Duration.toMillis(maxWait ?? defaultMaxWait),
    maxRetryAfterMillis: Duration.toMillis(maxRetryAfter ?? defaultMaxRetryAfter)
  }
}

const finalStates: ReadonlyArray<string> = ["location", "azure-async-operation", "original-uri"]
const initialModes: ReadonlyArray<string> = ["202", "any"]

// -----------------------------------------------------------------------------
// the loop
// -----------------------------------------------------------------------------

const retryAfterMillis = (input: Duration.DurationInput | undefined): number => {
  if (input === undefined || isNegative(input) || isNaNInput(input)) return 0
  const decoded = Option.getOrUndefined(Duration.decodeUnknown(input))
  return decoded === undefined ? 0 : Duration.toMillis(decoded)
}

const format = (millis: number): string => millis === Infinity ? "forever" : Duration.format(Duration.millis(millis))

interface Context {
  readonly method: string | undefined
  readonly url: string | undefined
  readonly observer: telemetry.PollObserver
}

const makeError = (
  context: Context,
  reason: Reason,
  detail: string,
  last: unknown,
  retryAfter: Option.Option<Duration.Duration> = Option.none()
): PollError =>
  new PollError({
    reason,
    detail,
    polls: context.observer.polls,
    method: context.method,
    url: context.url,
    last,
    retryAfter
  })

/**
 * Polls `poll` as `decide` says, with `Effect.repeat`: the schedule is the caller's (or smithy's backoff), held to
 * the poll's `Retry-After` as a floor and to what is left of `maxWait` as a ceiling (so the last poll happens at
 * `maxWait`, not after it). A `Retry-After` that does not fit (beyond `maxRetryAfter`, or past `maxWait`) ends it at
 * once, without waiting.
 */
const run = <A, E, R>(
  poll: Effect.Effect<A, E, R>,
  decide: (value: A, nowMillis: number) => Decided,
  lastOf: (value: A) => unknown,
  checked: Checked,
  context: Context
): Effect.Effect<A, E | PollError, R> =>
  Effect.flatMap(Clock.currentTimeMillis, (start) => {
    const deadline = start + checked.maxWaitMillis
    let result: Option.Option<A> = Option.none()
    let last: unknown = undefined
    let floor = 0
    const fail = (reason: Reason, detail: string, retryAfter?: number) =>
      Effect.fail(
        makeError(
          context,
          reason,
          detail,
          last,
          retryAfter === undefined ? Option.none() : Option.some(Duration.millis(retryAfter))
        )
      )
    const step: Effect.Effect<boolean, E | PollError, R> = Effect.flatMap(
      poll,
      (value) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          last = lastOf(value)
          const decision = decide(value, now)
          switch (decision._tag) {
            case "Done": {
              result = Option.some(value)
              return Effect.succeed(false)
            }
            case "Failed":
              return fail("Failed", decision.detail)
            case "Canceled":
              return fail("Canceled", decision.detail)
            case "Invalid":
              return fail(decision.reason, decision.detail)
            case "Pending": {
              const wait = retryAfterMillis(decision.retryAfter)
              if (wait > checked.maxRetryAfterMillis) {
                return fail(
                  "TimedOut",
                  `the server asked to wait ${format(wait)}, longer than maxRetryAfter (${
                    format(checked.maxRetryAfterMillis)
                  })`,
                  wait
                )
              }
              // whole milliseconds: a clock that reads fractions must not leave a sliver of a wait to repeat
              const remaining = Math.floor(deadline - now)
              if (remaining < 1 || wait > remaining) {
                return fail(
                  "TimedOut",
                  `still pending after maxWait (${format(checked.maxWaitMillis)})${
                    remaining > 0 ? `: the server asked to wait ${format(wait)}, past it` : ""
                  }`,
                  remaining > 0 ? wait : undefined
                )
              }
              floor = wait
              return Effect.succeed(true)
            }
          }
        })
    )
    const schedule = checked.schedule.pipe(
      Schedule.intersect(Schedule.recurWhile<boolean>(identity)),
      Schedule.modifyDelayEffect((_, delay) =>
        Effect.map(
          Clock.currentTimeMillis,
          (now) =>
            Duration.millis(
              Math.min(Math.max(Duration.toMillis(delay), floor), Math.max(0, Math.floor(deadline - now)))
            )
        )
      )
    )
    return Effect.flatMap(
      Effect.repeat(step, schedule),
      () =>
        Option.isSome(result)
          ? Effect.succeed(result.value)
          : fail("TimedOut", `the schedule ended with the operation still pending`)
    )
  })

const refused = (context: Context, problems: ReadonlyArray<string>): Effect.Effect<never, PollError> =>
  Effect.fail(makeError(context, "InvalidOptions", problems.join("; "), undefined))

/** @internal */
export const until = dual<
  <A>(options: Poll.UntilOptions<A>) => <E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | PollError, R>,
  <A, E, R>(self: Effect.Effect<A, E, R>, options: Poll.UntilOptions<A>) => Effect.Effect<A, E | PollError, R>
>(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, options: Poll.UntilOptions<A>) =>
    telemetry.observePoll(undefined, (observer) => {
      const context: Context = { method: undefined, url: undefined, observer }
      const problems: Array<string> = [...paginate.checkObject(options)]
      if (problems.length > 0 || options === undefined || options === null) {
        return refused(context, problems.length > 0 ? problems : ["options are required (decide)"])
      }
      const decide = options.decide
      if (typeof decide !== "function") {
        problems.push(`decide must be a function${decide === undefined ? " (it is required)" : shown(decide)}`)
      }
      const checked = checkCommon(options, problems)
      if (problems.length > 0) return refused(context, problems)
      const counted = Effect.tap(self, () => {
        observer.polls++
      })
      return run(counted, (value) => decide(value), identity, checked, context)
    })
)

// -----------------------------------------------------------------------------
// operation: the HTTP 202 pattern
// -----------------------------------------------------------------------------

/** A status monitor, a `Location` monitor, or the request's own URL read for `provisioningState` (ARM's PUT/PATCH). */
type Mode = "OperationLocation" | "ResourceLocation" | "Body"

const headerOf = (received: Attempt.Received, name: string): string | undefined => {
  const value = received.headers[name]
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined
}

/** Where to poll: `Operation-Location`, else `Azure-AsyncOperation` (a status monitor), else `Location`. */
const monitorOf = (received: Attempt.Received): { readonly mode: Mode; readonly uri: string } | undefined => {
  const operation = headerOf(received, "operation-location") ?? headerOf(received, "azure-asyncoperation")
  if (operation !== undefined) return { mode: "OperationLocation", uri: operation }
  const location = headerOf(received, "location")
  return location === undefined ? undefined : { mode: "ResourceLocation", uri: location }
}

const parseBody = (received: Attempt.Received): unknown => {
  if (received.body.length === 0) return undefined
  try {
    return JSON.parse(received.text)
  } catch {
    return undefined
  }
}

const fieldOf = (body: unknown, name: string): unknown =>
  typeof body === "object" && body !== null && !Array.isArray(body)
    ? (body as Readonly<Record<string, unknown>>)[name]
    : undefined

/** An Azure `error.code` shown in a message when it looks like one (a short identifier), never free text. */
const errorCode = (body: unknown): string => {
  const code = fieldOf(fieldOf(body, "error"), "code")
  return typeof code === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? `, error code ${code}` : ""
}

/** ARM's `properties.provisioningState`, else a top-level `provisioningState`, as @azure/core-lro reads it. */
const provisioningStateOf = (body: unknown): unknown =>
  fieldOf(fieldOf(body, "properties"), "provisioningState") ?? fieldOf(body, "provisioningState")

/**
 * @internal What a monitor's response says, as @azure/core-lro reads it (sdk/core/core-lro/src/http/operation.ts):
 * a `status` field (`provisioningState` for body polling), case-insensitive: `succeeded` is done, `failed` failed,
 * `canceled` / `cancelled` canceled, any other string pending; one that is not a string is refused; none: a 202 is
 * pending and another 2xx done. A `Location` monitor has no status field: a 202 is pending, another 2xx is the result.
 */
export const decideMonitor = (mode: Mode, received: Attempt.Received, nowMillis: number): Decided => {
  const retryAfter = Option.getOrUndefined(retryHeaders.retryAfter(received.headers, nowMillis))
  const stillPending = pending(retryAfter)
  if (mode === "ResourceLocation") return received.status === 202 ? stillPending : done
  const body = parseBody(received)
  const field = mode === "Body" ? "provisioningState" : "status"
  const status = mode === "Body" ? provisioningStateOf(body) : fieldOf(body, "status")
  if (status === undefined || status === null) return received.status === 202 ? stillPending : done
  if (typeof status !== "string") {
    return {
      _tag: "Invalid",
      reason: "InvalidMonitor",
      detail: `the ${mode === "Body" ? "resource" : "monitor"}'s ${field} is a ${typeof status}, not a string`
    }
  }
  switch (status.toLowerCase()) {
    case "succeeded":
      return done
    case "failed":
      return failed(`the operation's ${field} is "Failed"${errorCode(body)}`)
    case "canceled":
    case "cancelled":
      return canceled(`the operation's ${field} is "Canceled"${errorCode(body)}`)
    default:
      return stillPending
  }
}

/**
 * @internal The URL of the final resource, as @azure/core-lro's `findResourceLocation`
 * (sdk/core/core-lro/src/http/operation.ts): PUT the request's URL; DELETE none; PATCH `finalStateVia`'s, else the
 * request's; others `finalStateVia`'s (`location`, the default: the first response's `Location`;
 * `azure-async-operation`: none; `original-uri`: the request's). `undefined`: the monitor's last response is the
 * result.
 */
export const finalUri = (
  method: string,
  finalStateVia: Poll.FinalStateVia | undefined,
  location: string | undefined,
  original: string
): string | undefined => {
  const byOption = finalStateVia === "azure-async-operation"
    ? undefined
    : finalStateVia === "original-uri"
    ? original
    : location
  switch (method) {
    case "PUT":
      return original
    case "DELETE":
      return undefined
    case "PATCH":
      return byOption ?? original
    default:
      return byOption
  }
}

type UrlCheck = URL | { readonly reason: Reason; readonly detail: string }

/**
 * A monitor or final URL resolved against the request's, held to `Paginate.links`' rules for a next link: http(s),
 * no credentials, no downgrade from https, the request's origin or one of `allowedOrigins`.
 */
const checkUrl = (
  what: string,
  uri: string,
  start: URL,
  allowed: ReadonlySet<string>
): UrlCheck => {
  const base = new URL(start)
  base.username = ""
  base.password = ""
  const to = paginate.resolve(uri, base)
  if (to === undefined) {
    return { reason: "InvalidMonitor", detail: `the ${what} does not parse: ${redaction.redactUrl(uri)}` }
  }
  to.hash = ""
  const shownTo = redaction.redactUrl(to)
  if (to.protocol !== "http:" && to.protocol !== "https:") {
    return { reason: "InvalidMonitor", detail: `the ${what}'s scheme ${to.protocol} is not http(s): ${shownTo}` }
  }
  if (to.username !== "" || to.password !== "") {
    return { reason: "InvalidMonitor", detail: `the ${what} carries credentials: ${shownTo}` }
  }
  if (start.protocol === "https:" && to.protocol === "http:") {
    return { reason: "Downgrade", detail: `the ${what} is http after https: ${shownTo}` }
  }
  const origin = paginate.originOf(to)
  if (origin !== paginate.originOf(start) && !allowed.has(origin)) {
    return { reason: "CrossOrigin", detail: `the ${what} is on ${origin}, not in allowedOrigins: ${shownTo}` }
  }
  return to
}

/** @internal */
export const operation = <E, R>(
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<Attempt.Received, E, R>,
  options?: Poll.OperationOptions
): Effect.Effect<Attempt.Received, E | PollError, R> => operate(request, send, options, () => {})

/**
 * @internal `operation`, then the result decoded with `schema` as `Attempt.decodeJson` decodes it; `maxJsonDepth` is
 * checked with the other options, before anything is sent.
 */
export const operationJson = <A, I, RS, E, R>(
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<Attempt.Received, E, R>,
  schema: Schema.Schema<A, I, RS>,
  options?: Poll.OperationJsonOptions
): Effect.Effect<A, E | PollError | HttpFailure.InvalidJson | HttpFailure.SchemaMismatch, R | RS> =>
  Effect.suspend(() => {
    let maxJsonDepth: number | undefined
    return Effect.flatMap(
      operate(request, send, options, (input: Poll.OperationJsonOptions, problems) => {
        const depth: unknown = input.maxJsonDepth
        if (depth === undefined) return
        // as `Attempt`'s `maxJsonDepth`: an integer ≥ 0 (0: no array or object)
        if (typeof depth === "number" && Number.isSafeInteger(depth) && depth >= 0) maxJsonDepth = depth
        else problems.push(`maxJsonDepth must be an integer ≥ 0${shown(depth)}`)
      }),
      (received) => attempt.decodeJson(received, schema, maxJsonDepth === undefined ? undefined : { maxJsonDepth })
    )
  })

const operate = <E, R>(
  request: HttpClientRequest.HttpClientRequest,
  send: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<Attempt.Received, E, R>,
  options: Poll.OperationOptions | undefined,
  checkMore: (input: Poll.OperationJsonOptions, problems: Array<string>) => void
): Effect.Effect<Attempt.Received, E | PollError, R> =>
  telemetry.observePoll(request, (observer) => {
    const info = attempt.requestInfo(request)
    const context: Context = { method: info.method, url: info.url, observer }
    const problems: Array<string> = [...paginate.checkObject(options)]
    if (problems.length > 0) return refused(context, problems)
    const input: Poll.OperationJsonOptions = options ?? {}
    const checked = checkCommon(input, problems)
    checkMore(input, problems)
    const allowed = paginate.checkOrigins(input.allowedOrigins, problems)
    const finalStateVia = input.finalStateVia
    if (finalStateVia !== undefined && !finalStates.includes(finalStateVia)) {
      problems.push(`finalStateVia must be one of ${finalStates.join(", ")}${shown(finalStateVia)}`)
    }
    const initialMode = input.initial
    if (initialMode !== undefined && !initialModes.includes(initialMode)) {
      problems.push(`initial must be "202" or "any"${shown(initialMode)}`)
    }
    const anyInitial = initialMode === "any"
    const start = paginate.targetOf(request)
    if (start === undefined || (start.protocol !== "http:" && start.protocol !== "https:")) {
      problems.push("the request's URL must be an absolute http(s) URL (monitor URLs are resolved against it)")
    }
    if (problems.length > 0 || start === undefined) return refused(context, problems)
    const refuse = (check: Exclude<UrlCheck, URL>, last: unknown) =>
      Effect.fail(makeError(context, check.reason, check.detail, last))
    const getRequest = (to: URL) => redirect.nextRequest(request, 303, new URL(start), to)
    return Effect.flatMap(send(request), (initial) => {
      // a 202 without a monitor is the result, as @azure/core-lro takes it (no operation location: succeeded); with
      // `initial: "any"`, any 2xx is read by @azure/core-lro's `inferLroMode`: a monitor header, else (PUT, PATCH)
      // the request's own URL, read for its `provisioningState`
      const polled = initial.status === 202 || (anyInitial && initial.status >= 200 && initial.status < 300)
      const monitor = polled
        ? monitorOf(initial) ??
          (anyInitial && (request.method === "PUT" || request.method === "PATCH")
            ? { mode: "Body" as const, uri: start.href }
            : undefined)
        : undefined
      if (monitor === undefined) return Effect.succeed(initial)
      const monitorUrl = checkUrl("monitor URL", monitor.uri, start, allowed)
      if (!(monitorUrl instanceof URL)) return refuse(monitorUrl, parseBody(initial))
      let monitorRequest = getRequest(monitorUrl)
      // the first "poll" is the 202 itself: its Retry-After is the first wait's floor
      let first: Attempt.Received | undefined = initial
      const pollOnce: Effect.Effect<Attempt.Received, E, R> = Effect.suspend(() => {
        const given = first
        first = undefined
        if (given !== undefined) return Effect.succeed(given)
        return Effect.tap(send(monitorRequest), () => {
          observer.polls++
        })
      })
      const decide = (received: Attempt.Received, now: number): Decided => {
        if (received === initial) {
          // body polling: the first answer's provisioningState may already be terminal (@azure/core-lro's
          // `getStatusFromInitialResponse`); a monitor's first answer is pending
          if (monitor.mode === "Body") return decideMonitor("Body", initial, now)
          return pending(Option.getOrUndefined(retryHeaders.retryAfter(initial.headers, now)))
        }
        const decided = decideMonitor(monitor.mode, received, now)
        if (decided._tag !== "Pending") return decided
        // a pending answer may move the monitor (a new `Location`, `Operation-Location`), as @azure/core-lro follows
        const moved = monitorOf(received)
        if (moved === undefined || moved.mode !== monitor.mode) return decided
        const to = checkUrl("monitor URL", moved.uri, start, allowed)
        if (!(to instanceof URL)) return { _tag: "Invalid", ...to }
        monitorRequest = getRequest(to)
        return decided
      }
      return Effect.flatMap(
        run(pollOnce, decide, parseBody, checked, context),
        (last): Effect.Effect<Attempt.Received, E | PollError, R> => {
          // a `Location` monitor that answered other than 202 is the result itself, as is the resource polled for its
          // provisioningState (@azure/core-lro: no final GET)
          if (monitor.mode !== "OperationLocation") return Effect.succeed(last)
          const body = parseBody(last)
          const resourceLocation = fieldOf(body, "resourceLocation")
          const uri = typeof resourceLocation === "string" && resourceLocation !== ""
            ? resourceLocation
            : finalUri(request.method, finalStateVia, headerOf(initial, "location"), start.href)
          if (uri === undefined) return Effect.succeed(last)
          const finalUrl = checkUrl("final resource URL", uri, start, allowed)
          if (!(finalUrl instanceof URL)) return refuse(finalUrl, body)
          return send(getRequest(finalUrl))
        }
      )
    })
  })
