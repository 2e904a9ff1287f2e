/**
 * Peer suite: bolshakov/stoplight (Ruby circuit breaker "lights") against `CircuitBreaker`, `Fallback` for its
 * fallbacks, and `CircuitBreakerStore.make` on `CircuitBreakerRedis.layerStore` (a real redis-server) for its Redis
 * data store.
 *
 * Source: github.com/bolshakov/stoplight, commit 80682cdfe1d867c7c48c38b4d549d55486fe339c: the Cucumber features
 * (`features/stoplight/basic_functionality.feature`, `configuration.feature`, `state_control.feature`,
 * `traffic_control/consecutive_errors.feature`, `traffic_control/error_rate.feature`,
 * `traffic_recovery/consecutive_successes.feature`, with their step definitions), the run strategies'
 * specs (`spec/stoplight/light/{green,yellow,red}_run_strategy_spec.rb`), the traffic control and recovery specs
 * (`spec/stoplight/traffic_control/*_spec.rb`, `spec/stoplight/traffic_recovery/consecutive_successes_spec.rb`), the
 * light's shared examples (`spec/support/light/color.rb`, `state.rb`, through `spec/stoplight/light_spec.rb`) and the
 * properties (`spec/properties/color_spec.rb`, `spec/properties/notifications_spec.rb`). One `it` per scenario or
 * example, named after it.
 *
 * Mapping. `Stoplight(name, **settings)` is `CircuitBreaker.make(name, stoplight(settings))`: `threshold` (3) is
 * `consecutiveFailures` (the default ConsecutiveErrors traffic control, no window); with a `window_size` it is
 * `failureCountThreshold` over `slidingWindow: window_size`; with the ErrorRate traffic control it is
 * `failureRateThreshold` over `slidingWindow: window_size`, with its `min_requests` (10) as `minimumThroughput`.
 * `cool_off_time` (60 s) is `breakDuration`, `recovery_threshold` (1) is `successThreshold`. `tracked_errors`
 * (StandardError) and `skipped_errors` are `isFailure`: an error not tracked, or skipped, counts as a success in both.
 * Colors: green is Closed, yellow HalfOpen, red Open; `Stoplight::Error::RedLight` (its message the light's name) is
 * `CircuitOpen` (its `key` the name). `light.run(fallback) { ... }` is the call through the breaker followed by
 * `Fallback.orElse` of the fallback's value, `while` the failure is a tracked error or `CircuitOpen` (stoplight calls
 * the fallback then, and raises any other error); the answer's `failures` hold the error the fallback was given.
 * `lock(red)` is `isolate`, `unlock` is `reset`. A notifier's `[from, to]` is a transition on `subscribe`. The echo
 * service is a mutable upstream; Timecop is the TestClock.
 *
 * Deliberate differences (each test says which):
 * - in yellow, stoplight lets every call through; Sturdy admits `halfOpenMaxProbes` (1) at once: the calls here are
 *   made one after another, as in the features.
 * - stoplight publishes red → yellow only when a probe's recovery makes it, and a failed probe of a light that never
 *   made it is no transition (its last notification stays green → red); Sturdy publishes every transition:
 *   Open → HalfOpen with the first call after the pause, HalfOpen → Open with a failed probe.
 * - ConsecutiveErrors with a window opens when both the run of errors and the errors in the window reach the
 *   threshold; `failureCountThreshold` counts the window's failures whatever the successes between them.
 * - the ErrorRate traffic control judges the rate when an error is recorded; Sturdy judges it on every recorded call,
 *   so a success that brings the window to `minimumThroughput` may open the breaker.
 * - the red light's fallback is called with nil in stoplight; `Fallback.orElse`'s answer records the `CircuitOpen`.
 * - on Redis, stoplight keeps every count in Redis; Sturdy shares transitions and probe slots only (each process
 *   counts its own calls, documented in `CircuitBreakerStore`), and a process reads another's transition within
 *   `syncInterval`; `cool_off_time` is shortened to 200 ms and waited out for real, as the pause is measured on Redis's
 *   clock.
 *
 * Not ported: "Light can be manually locked to green" and the LOCKED_GREEN examples of `spec/support/light/*.rb` (Sturdy
 * has no forced-closed state, only `isolate` and `reset`); `light_spec.rb`'s `#==`, `#with` and the incorrect-color
 * lock, and `stoplight_spec.rb` (stoplight's configuration objects and their equality); the shared examples'
 * "transitioned to RED / YELLOW" and `Light#run`'s strategy dispatch (they write colors into the store, or stub the
 * strategies);
 * the run strategies' examples that stub `stop_traffic?`, `determine_color` or `transition_to_color` to answer a
 * decision the light would not make itself (the "when does not transition" / "when not switched" branches, and the
 * yellow strategy's unexpected-color example); ConsecutiveErrors#stop_traffic? with a window (the both-counts rule
 * above), `check_compatibility`'s ErrorRate without a window (a Sturdy rate always has a window) and
 * ConsecutiveSuccesses#determine_color (metadata timestamps of stoplight's store); the data store specs
 * (`spec/stoplight/data_store/*`, `spec/support/data_store/*`: stoplight's store API, bucket keys, clock-skew
 * warnings, fail-safe wrappers), the admin UI, notifiers, config and DSL specs (stoplight's own configuration
 * objects); color_spec's "transition to color" (writes colors into the store directly) and the Redis runs of the
 * properties (they travel in time, which Redis's clock does not).
 */
import { describe, expect, it } from "@effect/vitest"
import { CircuitBreaker, Fallback } from "@sturdy/policy"
import * as CircuitBreakerRedis from "@sturdy/policy/CircuitBreakerRedis"
import * as CircuitBreakerStore from "@sturdy/policy/CircuitBreakerStore"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as TestClock from "effect/TestClock"
import { eventually } from "./utils/goBreaker.js"
import { call, failureOf } from "./utils/pybreaker.js"
import { describeWithRedis, freePort, type RedisServer, startRedisServer } from "./utils/redis.js"
import { recordTransitions, settle } from "./utils/transitions.js"

// Ruby's StandardError hierarchy, as far as the peer uses it
class StandardError extends Error {}
class KeyError extends StandardError {}

type ErrorClass = new(...args: Array<never>) => Error

interface Settings {
  readonly threshold?: number
  readonly cool_off_time?: number
  readonly window_size?: number
  readonly recovery_threshold?: number
  readonly tracked_errors?: ReadonlyArray<ErrorClass>
  readonly skipped_errors?: ReadonlyArray<ErrorClass>
  readonly traffic_control?: "consecutive_errors" | "error_rate"
}

const tracks = (settings: Settings) => (error: unknown) =>
  (settings.tracked_errors ?? [StandardError]).some((c) => error instanceof c) &&
  !(settings.skipped_errors ?? []).some((c) => error instanceof c)

// `Stoplight(name, **settings)`'s settings, with stoplight's defaults
const stoplight = (settings: Settings = {}): CircuitBreaker.Options => {
  const threshold = settings.threshold ?? 3
  const window = settings.window_size === undefined ? undefined : Duration.seconds(settings.window_size)
  const trafficControl: CircuitBreaker.Options = settings.traffic_control === "error_rate"
    ? { failureRateThreshold: threshold, slidingWindow: window, minimumThroughput: 10 }
    : window === undefined
    ? { consecutiveFailures: threshold }
    : { failureCountThreshold: threshold, slidingWindow: window }
  return {
    ...trafficControl,
    breakDuration: Duration.seconds(settings.cool_off_time ?? 60),
    successThreshold: settings.recovery_threshold ?? 1,
    isFailure: tracks(settings)
  }
}

const light = (name: string, settings: Settings = {}) => CircuitBreaker.make(name, stoplight(settings))

const colorOf = { Closed: "green", HalfOpen: "yellow", Open: "red" } as const
const color = (breaker: CircuitBreaker.CircuitBreaker) => Effect.map(breaker.state, (s) => colorOf[s])

// the features' EchoService: answers "Service says: <message>" or raises the error it was told to
const makeEchoService = () => {
  let exception: Error | undefined
  return {
    failWith: (error: Error) => void (exception = error),
    recover: () => void (exception = undefined),
    call: (message: string) =>
      Effect.suspend(() =>
        exception === undefined ? Effect.succeed(`Service says: ${message}`) : Effect.fail(exception)
      )
  }
}
type EchoService = ReturnType<typeof makeEchoService>

// "I make <n> requests to the service [with "<message>" message]": the last outcome
const makeRequests = (breaker: CircuitBreaker.CircuitBreaker, echo: EchoService, n = 1, message?: string) =>
  Effect.gen(function*() {
    let last: Either.Either<string, unknown> = Either.right("")
    for (let x = 0; x < n; x++) last = yield* call(breaker, echo.call(message ?? `hello ${x}`))
    return last
  })

// "... and fallback "<value>"": `light.run(fallback) { ... }`, the fallback taken for a tracked error or a red light
const runWithFallback = <A, E>(
  breaker: CircuitBreaker.CircuitBreaker,
  body: Effect.Effect<A, E>,
  fallback: string,
  settings: Settings = {}
) =>
  Effect.either(
    CircuitBreaker.withBreaker(body, breaker).pipe(
      Fallback.orElse(Effect.succeed(fallback), {
        while: (e: unknown) => CircuitBreaker.isCircuitOpen(e) || tracks(settings)(e)
      })
    )
  )

// "the light enters the red state"
const entersRed = (breaker: CircuitBreaker.CircuitBreaker, echo: EchoService) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1_000 && (yield* breaker.state) !== "Open"; i++) yield* call(breaker, echo.call("hello"))
    expect(yield* color(breaker)).toBe("red")
  })

// "the light enters the yellow state": red, then a second at a time until yellow
const entersYellow = (breaker: CircuitBreaker.CircuitBreaker, echo: EchoService) =>
  Effect.gen(function*() {
    yield* entersRed(breaker, echo)
    for (let i = 0; i < 100_000 && (yield* breaker.state) !== "HalfOpen"; i++) yield* TestClock.adjust("1 second")
    expect(yield* color(breaker)).toBe("yellow")
  })

// the notifier: `[from, to]` colors of every transition published from now on
const notifications = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(
    recordTransitions(breaker),
    (published) => Effect.map(settle, () => published.map((t) => [colorOf[t.from], colorOf[t.to]]))
  )

const failsWithRedLight = (outcome: Either.Either<unknown, unknown>, name: string) => {
  const failure = failureOf(outcome)
  expect(CircuitBreaker.isCircuitOpen(failure)).toBe(true)
  expect((failure as CircuitBreaker.CircuitOpen).key).toBe(name)
}
const failsWith = (outcome: Either.Either<unknown, unknown>, type: ErrorClass, message: string) => {
  const failure = failureOf(outcome)
  expect(failure).toBeInstanceOf(type)
  expect((failure as Error).message).toBe(message)
}

const connectionTimeout = () => new StandardError("connection-timeout")

describe("peer stoplight Feature: Stoplight Basic Functionality", () => {
  const background = Effect.map(light("basic-service"), (breaker) => ({ breaker, echo: makeEchoService() }))

  it.effect("Light allows traffic in green state", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      const outcome = yield* makeRequests(breaker, echo, 1, "Hi! How are you?")
      expect(outcome).toEqual(Either.right("Service says: Hi! How are you?"))
      expect(yield* color(breaker)).toBe("green")
    }).pipe(Effect.scoped))

  it.effect("Light prevents traffic in red state", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      echo.failWith(connectionTimeout())
      yield* entersRed(breaker, echo)
      failsWithRedLight(yield* makeRequests(breaker, echo), "basic-service")
    }).pipe(Effect.scoped))

  it.effect("Light count all failures regardless of time", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      echo.failWith(connectionTimeout())
      yield* makeRequests(breaker, echo)
      expect(yield* color(breaker)).toBe("green")
      yield* TestClock.adjust("10 days")
      yield* makeRequests(breaker, echo)
      expect(yield* color(breaker)).toBe("green")
      yield* TestClock.adjust("10 days")
      yield* makeRequests(breaker, echo)
      expect(yield* color(breaker)).toBe("red")
    }).pipe(Effect.scoped))

  it.effect("Light allows one test probe (unsuccessful) in the red state", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      echo.failWith(connectionTimeout())
      yield* entersYellow(breaker, echo)
      failsWith(yield* makeRequests(breaker, echo), StandardError, "connection-timeout")
      expect(CircuitBreaker.isCircuitOpen(failureOf(yield* makeRequests(breaker, echo)))).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("Light allows one test probe (successful) in the yellow state", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      echo.failWith(connectionTimeout())
      yield* entersYellow(breaker, echo)
      echo.recover()
      expect(yield* makeRequests(breaker, echo, 1, "Hi! How are you?")).toEqual(
        Either.right("Service says: Hi! How are you?")
      )
      expect(yield* makeRequests(breaker, echo, 1, "Are you sure?")).toEqual(
        Either.right("Service says: Are you sure?")
      )
    }).pipe(Effect.scoped))

  it.effect("Light with fallback returns fallback value in red state", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      echo.failWith(connectionTimeout())
      yield* entersRed(breaker, echo)
      const outcome = yield* runWithFallback(
        breaker,
        echo.call("Hi! How are you?"),
        "Service temporarily unavailable"
      )
      expect(Either.map(outcome, (a) => [a.value, a.source])).toEqual(
        Either.right(["Service temporarily unavailable", "fallback"])
      )
    }).pipe(Effect.scoped))

  it.effect("Light with fallback ignores fallback value in green state", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      const outcome = yield* runWithFallback(
        breaker,
        echo.call("Hi! How are you?"),
        "Service temporarily unavailable"
      )
      expect(Either.map(outcome, (a) => [a.value, a.source])).toEqual(
        Either.right(["Service says: Hi! How are you?", "primary"])
      )
    }).pipe(Effect.scoped))

  it.effect("Light with fallback returns fallback value in case of failure in yellow state", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      echo.failWith(connectionTimeout())
      yield* entersYellow(breaker, echo)
      const outcome = yield* runWithFallback(
        breaker,
        echo.call("Hi! How are you?"),
        "Service temporarily unavailable"
      )
      expect(Either.map(outcome, (a) => a.value)).toEqual(Either.right("Service temporarily unavailable"))
      // the failed probe still counts: the light is red again
      expect(yield* color(breaker)).toBe("red")
    }).pipe(Effect.scoped))
})

describe("peer stoplight Feature: Stoplight Custom Configuration", () => {
  it.effect("Light with custom error handler ignores specific errors", () =>
    Effect.gen(function*() {
      const breaker = yield* light("custom-config", { skipped_errors: [KeyError] })
      const echo = makeEchoService()
      echo.failWith(new KeyError("key not found: \"foo\""))
      const outcome = yield* makeRequests(breaker, echo, 3)
      failsWith(outcome, KeyError, "key not found: \"foo\"")
      expect(yield* color(breaker)).toBe("green")
    }).pipe(Effect.scoped))

  it.effect("Light with custom error handler counts not ignored errors", () =>
    Effect.gen(function*() {
      const breaker = yield* light("custom-config", { skipped_errors: [KeyError] })
      const echo = makeEchoService()
      echo.failWith(connectionTimeout())
      yield* makeRequests(breaker, echo, 3)
      expect(yield* color(breaker)).toBe("red")
    }).pipe(Effect.scoped))

  it.effect("Light with custom threshold transitions after specified failures", () =>
    Effect.gen(function*() {
      const breaker = yield* light("custom-config", { threshold: 5 })
      const echo = makeEchoService()
      echo.failWith(connectionTimeout())
      yield* makeRequests(breaker, echo, 4)
      expect(yield* color(breaker)).toBe("green")
      yield* makeRequests(breaker, echo, 1)
      expect(yield* color(breaker)).toBe("red")
    }).pipe(Effect.scoped))

  it.effect("Light with custom recovery threshold recovers after specified successes", () =>
    Effect.gen(function*() {
      const breaker = yield* light("custom-config", { recovery_threshold: 5 })
      const echo = makeEchoService()
      echo.failWith(connectionTimeout())
      yield* entersRed(breaker, echo)
      yield* TestClock.adjust("60 seconds")
      echo.recover()
      yield* makeRequests(breaker, echo, 4)
      expect(yield* color(breaker)).toBe("yellow")
      yield* makeRequests(breaker, echo, 1)
      expect(yield* color(breaker)).toBe("green")
    }).pipe(Effect.scoped))

  it.effect("Light with custom window size only counts recent failures", () =>
    Effect.gen(function*() {
      const breaker = yield* light("custom-config", { window_size: 10 })
      const echo = makeEchoService()
      echo.failWith(connectionTimeout())
      yield* makeRequests(breaker, echo, 2)
      yield* TestClock.adjust("11 seconds")
      yield* makeRequests(breaker, echo, 2)
      expect(yield* color(breaker)).toBe("green")
      yield* makeRequests(breaker, echo, 1)
      expect(yield* color(breaker)).toBe("red")
    }).pipe(Effect.scoped))

  it.effect("Light with custom cool-off time recovers after specified period", () =>
    Effect.gen(function*() {
      const breaker = yield* light("custom-config", { cool_off_time: 5 })
      const echo = makeEchoService()
      echo.failWith(connectionTimeout())
      yield* entersRed(breaker, echo)
      yield* TestClock.adjust("6 seconds")
      expect(yield* color(breaker)).toBe("yellow")
    }).pipe(Effect.scoped))
})

describe("peer stoplight Feature: Stoplight State Control", () => {
  const background = Effect.map(light("manual-control", { threshold: 3 }), (breaker) => ({
    breaker,
    echo: makeEchoService()
  }))

  it.effect("Light can be manually locked to red", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      yield* breaker.isolate
      failsWithRedLight(yield* makeRequests(breaker, echo, 1), "manual-control")
      expect(yield* color(breaker)).toBe("red")
    }).pipe(Effect.scoped))

  it.effect("Light can be unlocked to resume normal operation", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      yield* breaker.isolate
      yield* breaker.reset
      expect(yield* makeRequests(breaker, echo, 1, "Hi! How are you?")).toEqual(
        Either.right("Service says: Hi! How are you?")
      )
      expect(yield* color(breaker)).toBe("green")
    }).pipe(Effect.scoped))
})

describe("peer stoplight Feature: Consecutive Errors Traffic Control Strategy", () => {
  const background = Effect.gen(function*() {
    const breaker = yield* light("basic-service")
    return { breaker, echo: makeEchoService(), sent: yield* notifications(breaker) }
  })

  it.effect("Light transitions to red after threshold failures", () =>
    Effect.gen(function*() {
      const { breaker, echo, sent } = yield* background
      echo.failWith(connectionTimeout())
      yield* makeRequests(breaker, echo, 3)
      expect(yield* color(breaker)).toBe("red")
      expect((yield* sent).at(-1)).toEqual(["green", "red"])
    }).pipe(Effect.scoped))

  it.effect("Light remains green below threshold failures", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      echo.failWith(connectionTimeout())
      yield* makeRequests(breaker, echo, 1)
      echo.recover()
      yield* makeRequests(breaker, echo, 1)
      expect(yield* color(breaker)).toBe("green")
    }).pipe(Effect.scoped))

  it.effect("Light transitions to yellow after cool-off period", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      echo.failWith(connectionTimeout())
      yield* entersRed(breaker, echo)
      yield* TestClock.adjust("61 seconds")
      expect(yield* color(breaker)).toBe("yellow")
    }).pipe(Effect.scoped))

  it.effect("Light transitions to green after success in yellow state", () =>
    Effect.gen(function*() {
      const { breaker, echo, sent } = yield* background
      echo.failWith(connectionTimeout())
      yield* entersYellow(breaker, echo)
      echo.recover()
      yield* makeRequests(breaker, echo)
      expect(yield* color(breaker)).toBe("green")
      expect((yield* sent).at(-1)).toEqual(["yellow", "green"])
    }).pipe(Effect.scoped))

  it.effect("Light transitions to red after failure in yellow state", () =>
    Effect.gen(function*() {
      const { breaker, echo, sent } = yield* background
      echo.failWith(connectionTimeout())
      yield* entersYellow(breaker, echo)
      yield* makeRequests(breaker, echo, 1)
      expect(yield* color(breaker)).toBe("red")
      // stoplight's last notification stays green → red (the failed probe's light never made red → yellow); Sturdy
      // publishes the probe's own transitions after it
      expect(yield* sent).toEqual([["green", "red"], ["red", "yellow"], ["yellow", "red"]])
    }).pipe(Effect.scoped))

  it.effect("Light resets failure count after success", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      echo.failWith(connectionTimeout())
      yield* makeRequests(breaker, echo, 2)
      echo.recover()
      yield* makeRequests(breaker, echo)
      echo.failWith(connectionTimeout())
      yield* makeRequests(breaker, echo)
      expect(yield* color(breaker)).toBe("green")
    }).pipe(Effect.scoped))
})

describe("peer stoplight Feature: Error Rate Traffic Control Strategy", () => {
  const background = Effect.gen(function*() {
    const breaker = yield* light("basic-service", {
      threshold: 0.4,
      window_size: 60,
      traffic_control: "error_rate"
    })
    return { breaker, echo: makeEchoService(), sent: yield* notifications(breaker) }
  })

  it.effect("Light transitions to red after threshold failures", () =>
    Effect.gen(function*() {
      const { breaker, echo, sent } = yield* background
      yield* makeRequests(breaker, echo, 6)
      echo.failWith(connectionTimeout())
      yield* makeRequests(breaker, echo, 4)
      expect(yield* color(breaker)).toBe("red")
      expect((yield* sent).at(-1)).toEqual(["green", "red"])
    }).pipe(Effect.scoped))

  it.effect("Light remains green below threshold failures", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      yield* makeRequests(breaker, echo, 7)
      echo.failWith(connectionTimeout())
      yield* makeRequests(breaker, echo, 3)
      expect(yield* color(breaker)).toBe("green")
    }).pipe(Effect.scoped))

  it.effect("Light transitions to yellow after cool-off period", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      echo.failWith(connectionTimeout())
      yield* entersRed(breaker, echo)
      yield* TestClock.adjust("61 seconds")
      expect(yield* color(breaker)).toBe("yellow")
    }).pipe(Effect.scoped))

  it.effect("Light transitions to green after success in yellow state", () =>
    Effect.gen(function*() {
      const { breaker, echo, sent } = yield* background
      echo.failWith(connectionTimeout())
      yield* entersYellow(breaker, echo)
      echo.recover()
      yield* makeRequests(breaker, echo)
      expect(yield* color(breaker)).toBe("green")
      expect((yield* sent).at(-1)).toEqual(["yellow", "green"])
    }).pipe(Effect.scoped))

  it.effect("Light transitions to red after failure in yellow state", () =>
    Effect.gen(function*() {
      const { breaker, echo, sent } = yield* background
      echo.failWith(connectionTimeout())
      yield* entersYellow(breaker, echo)
      yield* makeRequests(breaker, echo, 1)
      expect(yield* color(breaker)).toBe("red")
      // as in the consecutive-errors feature: Sturdy publishes the probe's transitions after green → red
      expect(yield* sent).toEqual([["green", "red"], ["red", "yellow"], ["yellow", "red"]])
    }).pipe(Effect.scoped))

  it.effect("Light does not transition to to red after successful call", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      echo.failWith(connectionTimeout())
      yield* makeRequests(breaker, echo, 9)
      echo.recover()
      yield* makeRequests(breaker, echo, 1)
      // stoplight judges the rate on errors only, and stays green; Sturdy judges it on every recorded call (as
      // resilience4j does: "a success that filled the window", breakDuration's docs), and the success that makes the
      // tenth call finds 9 failures of 10
      const rejected = failureOf(yield* makeRequests(breaker, echo, 1))
      expect(rejected).toMatchObject({ _tag: "CircuitOpen", reason: "FailureRate", failures: 9 })
      echo.failWith(connectionTimeout())
      yield* makeRequests(breaker, echo)
      expect(yield* color(breaker)).toBe("red")
    }).pipe(Effect.scoped))

  it.effect("Light does not evaluate requests before min request count", () =>
    Effect.gen(function*() {
      const { breaker, echo } = yield* background
      echo.failWith(connectionTimeout())
      yield* makeRequests(breaker, echo, 9)
      expect(yield* color(breaker)).toBe("green")
    }).pipe(Effect.scoped))
})

describe("peer stoplight Feature: Consecutive Successes Traffic Recovery Strategy", () => {
  // Background: recovery threshold 3, cool-off 60, the light red, 60 seconds elapsed
  const background = Effect.gen(function*() {
    const breaker = yield* light("basic-service", { recovery_threshold: 3, cool_off_time: 60 })
    const echo = makeEchoService()
    echo.failWith(connectionTimeout())
    yield* entersRed(breaker, echo)
    const sent = yield* notifications(breaker)
    yield* TestClock.adjust("60 seconds")
    return { breaker, echo, sent }
  })

  it.effect("Light transitions to green after recover threshold successes", () =>
    Effect.gen(function*() {
      const { breaker, echo, sent } = yield* background
      echo.recover()
      yield* makeRequests(breaker, echo, 3)
      expect(yield* color(breaker)).toBe("green")
      expect((yield* sent).at(-1)).toEqual(["yellow", "green"])
    }).pipe(Effect.scoped))

  it.effect("Light remains yellow below recovery threshold successes", () =>
    Effect.gen(function*() {
      const { breaker, echo, sent } = yield* background
      echo.recover()
      yield* makeRequests(breaker, echo, 2)
      expect(yield* color(breaker)).toBe("yellow")
      expect((yield* sent).at(-1)).toEqual(["red", "yellow"])
    }).pipe(Effect.scoped))

  it.effect("Light returns to red after failure in yellow state", () =>
    Effect.gen(function*() {
      const { breaker, echo, sent } = yield* background
      echo.recover()
      yield* makeRequests(breaker, echo, 1)
      echo.failWith(connectionTimeout())
      expect(yield* color(breaker)).toBe("yellow")
      yield* makeRequests(breaker, echo, 1)
      expect(yield* color(breaker)).toBe("red")
      expect((yield* sent).at(-1)).toEqual(["yellow", "red"])
    }).pipe(Effect.scoped))
})

describe("peer stoplight Stoplight::Light with memory data store (spec/support/light/color.rb, state.rb)", () => {
  it.effect("Stoplight::Light#color is initially GREEN", () =>
    Effect.gen(function*() {
      expect(yield* color(yield* light("k"))).toBe("green")
    }).pipe(Effect.scoped))

  it.effect("Stoplight::Light#color when its locked RED is RED", () =>
    Effect.gen(function*() {
      const breaker = yield* light("k")
      yield* breaker.isolate
      expect(yield* color(breaker)).toBe("red")
    }).pipe(Effect.scoped))

  it.effect("Stoplight::Light#state is initially unlocked", () =>
    Effect.gen(function*() {
      expect((yield* (yield* light("k")).snapshot).isolated).toBe(false)
    }).pipe(Effect.scoped))

  it.effect("Stoplight::Light#state when its locked red is locked red", () =>
    Effect.gen(function*() {
      const breaker = yield* light("k")
      yield* breaker.isolate
      // locked: red whatever the time (stoplight's lock has no cool-off)
      yield* TestClock.adjust("1 day")
      expect(yield* breaker.snapshot).toMatchObject({ isolated: true, state: "Open" })
      expect(Duration.isFinite((yield* breaker.snapshot).retryAfter)).toBe(false)
    }).pipe(Effect.scoped))

  it.effect("Stoplight::Light#unlock with locked red light unlocks light", () =>
    Effect.gen(function*() {
      const breaker = yield* light("k")
      yield* breaker.isolate
      yield* breaker.reset
      expect(yield* breaker.snapshot).toMatchObject({ isolated: false, state: "Closed" })
    }).pipe(Effect.scoped))
})

describe("peer stoplight Stoplight::Light::GreenRunStrategy (memory data store)", () => {
  const testError = () => new StandardError("Test error")

  it.effect("when code executes successfully: returns result", () =>
    Effect.gen(function*() {
      const breaker = yield* light("foo")
      expect(yield* call(breaker, Effect.succeed("Success"))).toEqual(Either.right("Success"))
      // record_success
      expect(yield* breaker.snapshot).toMatchObject({ calls: 1, failures: 0 })
    }).pipe(Effect.scoped))

  it.effect("when error is tracked, no fallback, threshold is breached, transitions to red: records failure, notify and raises the error", () =>
    Effect.gen(function*() {
      // the threshold breached by this failure: the third in a row
      const breaker = yield* light("foo")
      yield* call(breaker, Effect.fail(testError()))
      yield* call(breaker, Effect.fail(testError()))
      const sent = yield* notifications(breaker)
      const error = testError()
      expect(failureOf(yield* call(breaker, Effect.fail(error)))).toBe(error)
      expect(yield* sent).toEqual([["green", "red"]])
    }).pipe(Effect.scoped))

  it.effect("when error is tracked, no fallback, threshold is not breached: records failure and raises the error without a notification", () =>
    Effect.gen(function*() {
      const breaker = yield* light("foo")
      const sent = yield* notifications(breaker)
      const error = testError()
      expect(failureOf(yield* call(breaker, Effect.fail(error)))).toBe(error)
      expect(yield* breaker.snapshot).toMatchObject({ consecutiveFailures: 1, failures: 1 })
      expect(yield* sent).toEqual([])
    }).pipe(Effect.scoped))

  it.effect("when error is tracked, fallback is provided: records failure, notify and returns the fallback", () =>
    Effect.gen(function*() {
      const breaker = yield* light("foo")
      yield* call(breaker, Effect.fail(testError()))
      yield* call(breaker, Effect.fail(testError()))
      const sent = yield* notifications(breaker)
      const error = testError()
      const outcome = yield* runWithFallback(breaker, Effect.fail(error), "Fallback")
      expect(Either.map(outcome, (a) => a.value)).toEqual(Either.right("Fallback"))
      // the fallback was given the error (`@error == error`): the answer's provenance names it
      expect(Either.map(outcome, (a) => a.failures.map((f) => f.error))).toEqual(Either.right([error]))
      expect(yield* sent).toEqual([["green", "red"]])
    }).pipe(Effect.scoped))

  it.effect("when error is not tracked: raises the error", () =>
    Effect.gen(function*() {
      const breaker = yield* light("foo", { skipped_errors: [StandardError] })
      failsWith(yield* call(breaker, Effect.fail(testError())), StandardError, "Test error")
      // record_success
      expect(yield* breaker.snapshot).toMatchObject({ calls: 1, failures: 0 })
    }).pipe(Effect.scoped))
})

describe("peer stoplight Stoplight::Light::RedRunStrategy (memory data store)", () => {
  const red = Effect.gen(function*() {
    const breaker = yield* light("foo")
    const echo = makeEchoService()
    echo.failWith(connectionTimeout())
    yield* entersRed(breaker, echo)
    return breaker
  })

  it.effect("when fallback is provided: returns fallback", () =>
    Effect.gen(function*() {
      const breaker = yield* red
      let ran = false
      const outcome = yield* runWithFallback(breaker, Effect.sync(() => (ran = true, 42)), "Fallback")
      expect(Either.map(outcome, (a) => a.value)).toEqual(Either.right("Fallback"))
      expect(ran).toBe(false)
      // stoplight gives the fallback nil; Sturdy's answer records the rejection
      expect(Either.map(outcome, (a) => a.failures.map((f) => CircuitBreaker.isCircuitOpen(f.error)))).toEqual(
        Either.right([true])
      )
    }).pipe(Effect.scoped))

  it.effect("when fallback is not provided: records and raises the error", () =>
    Effect.gen(function*() {
      const breaker = yield* red
      failsWithRedLight(yield* call(breaker, Effect.succeed(42)), "foo")
    }).pipe(Effect.scoped))
})

describe("peer stoplight Stoplight::Light::YellowRunStrategy (memory data store)", () => {
  const yellow = (settings: Settings = {}) =>
    Effect.gen(function*() {
      const breaker = yield* light("foo", settings)
      const echo = makeEchoService()
      echo.failWith(connectionTimeout())
      yield* entersYellow(breaker, echo)
      return { breaker, sent: yield* notifications(breaker) }
    })
  const testError = () => new StandardError("Test error")

  it.effect("when code executes successfully, recovery strategy returns GREEN: records success, notify and returns result", () =>
    Effect.gen(function*() {
      const { breaker, sent } = yield* yellow()
      expect(yield* call(breaker, Effect.succeed("Success"))).toEqual(Either.right("Success"))
      expect((yield* sent).at(-1)).toEqual(["yellow", "green"])
    }).pipe(Effect.scoped))

  it.effect("when code executes successfully, recovery strategy returns YELLOW: records success, stays yellow", () =>
    Effect.gen(function*() {
      // the recovery threshold not met yet
      const { breaker, sent } = yield* yellow({ recovery_threshold: 2 })
      expect(yield* call(breaker, Effect.succeed("Success"))).toEqual(Either.right("Success"))
      expect(yield* color(breaker)).toBe("yellow")
      expect((yield* sent).at(-1)).toEqual(["red", "yellow"])
    }).pipe(Effect.scoped))

  it.effect("when error is tracked, no fallback, recovery strategy returns RED: records failure, notify and raises an exception", () =>
    Effect.gen(function*() {
      const { breaker, sent } = yield* yellow()
      const error = testError()
      expect(failureOf(yield* call(breaker, Effect.fail(error)))).toBe(error)
      expect((yield* sent).at(-1)).toEqual(["yellow", "red"])
    }).pipe(Effect.scoped))

  it.effect("when error is tracked, fallback is provided: records a failed recovery probe and returns fallback", () =>
    Effect.gen(function*() {
      const { breaker } = yield* yellow()
      const error = testError()
      const outcome = yield* runWithFallback(breaker, Effect.fail(error), "Fallback")
      expect(Either.map(outcome, (a) => [a.value, a.failures.map((f) => f.error)])).toEqual(
        Either.right(["Fallback", [error]])
      )
      expect(yield* color(breaker)).toBe("red")
    }).pipe(Effect.scoped))

  it.effect("when error is not tracked: recovery success", () =>
    Effect.gen(function*() {
      // `skipped_errors: [error]`: the probe's error is skipped (a KeyError here, the light having gone red on the
      // connection timeouts it tracks)
      const { breaker, sent } = yield* yellow({ skipped_errors: [KeyError] })
      failsWith(yield* call(breaker, Effect.fail(new KeyError("Test error"))), KeyError, "Test error")
      expect(yield* color(breaker)).toBe("green")
      expect((yield* sent).at(-1)).toEqual(["yellow", "green"])
    }).pipe(Effect.scoped))
})

describe("peer stoplight TrafficControl and TrafficRecovery", () => {
  const refused = (options: CircuitBreaker.Options, field: string) =>
    expect(() => Effect.runSync(Effect.scoped(CircuitBreaker.make("k", options)))).toThrow(
      new RegExp(`CircuitBreaker: ${field} `)
    )
  const accepted = (options: CircuitBreaker.Options) =>
    expect(Effect.runSync(Effect.scoped(Effect.flatMap(CircuitBreaker.make("k", options), (b) => b.state)))).toBe(
      "Closed"
    )

  describe("ConsecutiveErrors#check_compatibility", () => {
    it("when stoplight tracks running window: is compatible", () =>
      accepted(stoplight({ threshold: 42, window_size: 600 })))
    it("when stoplight does not track running window: is compatible", () => accepted(stoplight({ threshold: 42 })))
    it("when threshold is less then 1: is incompatible", () => {
      refused(stoplight({ threshold: 0 }), "consecutiveFailures")
      refused(stoplight({ threshold: 0, window_size: 600 }), "failureCountThreshold")
    })
    it("when threshold is not an integer: is incompatible", () => {
      refused(stoplight({ threshold: 14.87 }), "consecutiveFailures")
    })
  })

  describe("ConsecutiveErrors#stop_traffic? when the window size is not sent", () => {
    // `threshold: 2`; `consecutive_errors` failures in a row
    const stopsAfter = (consecutiveErrors: number) =>
      Effect.gen(function*() {
        const breaker = yield* light("k", { threshold: 2 })
        for (let i = 0; i < consecutiveErrors; i++) yield* call(breaker, Effect.fail(new StandardError()))
        return (yield* breaker.state) === "Open"
      }).pipe(Effect.scoped)

    it.effect("when the number of consecutive errors is greater than the threshold", () =>
      Effect.map(stopsAfter(3), (stopped) => expect(stopped).toBe(true)))
    it.effect("when the number of consecutive errors is equal to the threshold", () =>
      Effect.map(stopsAfter(2), (stopped) => expect(stopped).toBe(true)))
    it.effect("when the number of consecutive errors is less then the threshold", () =>
      Effect.map(stopsAfter(1), (stopped) => expect(stopped).toBe(false)))
  })

  describe("ErrorRate#check_compatibility", () => {
    const errorRate = (threshold: number) => stoplight({ threshold, window_size: 600, traffic_control: "error_rate" })
    it("when stoplight tracks running window: is compatible", () => accepted(errorRate(0.1)))
    it("when threshold is bigger then 1: is incompatible", () => refused(errorRate(1.1), "failureRateThreshold"))
    it("when threshold is less then 0: is incompatible", () => refused(errorRate(-1), "failureRateThreshold"))
    it("when threshold is slightly bigger then 0: is compatible", () => accepted(errorRate(0.01)))
    it("when threshold is slightly less then 1: is compatible", () => accepted(errorRate(0.99)))
  })

  describe("ErrorRate#stop_traffic?", () => {
    // window_size 300, threshold 0.6: `successes` successes then `errors` errors; the light stops traffic if it
    // opened on the last error (or earlier: an error rate judged on every error of the run)
    const stops = (successes: number, errors: number) =>
      Effect.gen(function*() {
        const breaker = yield* light("k", { window_size: 300, threshold: 0.6, traffic_control: "error_rate" })
        for (let i = 0; i < successes; i++) yield* call(breaker, Effect.succeed(true))
        let opened = false
        for (let i = 0; i < errors && !opened; i++) {
          yield* call(breaker, Effect.fail(new StandardError()))
          opened = (yield* breaker.state) === "Open"
        }
        return opened
      }).pipe(Effect.scoped)

    it.effect("when there are no requests: does not stop traffic", () =>
      Effect.map(stops(0, 0), (s) => expect(s).toBe(false)))
    it.effect("when there is not enough requests: does not stop traffic", () =>
      Effect.map(stops(0, 9), (s) => expect(s).toBe(false)))
    it.effect("when there is enough requests, when threshold is reached: stops traffic", () =>
      Effect.map(stops(40, 60), (s) => expect(s).toBe(true)))
    it.effect("when there is enough requests, when threshold is exceeded: stops traffic", () =>
      Effect.map(stops(30, 70), (s) => expect(s).toBe(true)))
    it.effect("when there is enough requests, when threshold is not reached: does not stop traffic", () =>
      Effect.map(stops(41, 59), (s) => expect(s).toBe(false)))
  })

  describe("ConsecutiveSuccesses#check_compatibility", () => {
    it("when recovery threshold is less then 1: is incompatible", () =>
      refused(stoplight({ recovery_threshold: 0 }), "successThreshold"))
    it("when recovery threshold is not an integer: is incompatible", () =>
      refused(stoplight({ recovery_threshold: 14.87 }), "successThreshold"))
  })
})

describe("peer stoplight properties (memory data store)", () => {
  // `array(20) { [choose(true, false), range(1, 10)] }`, 25 sequences from a fixed seed
  const sequences = FastCheck.sample(
    FastCheck.array(FastCheck.tuple(FastCheck.boolean(), FastCheck.integer({ min: 1, max: 10 })), {
      minLength: 20,
      maxLength: 20
    }),
    { seed: 20251205, numRuns: 25 }
  )

  const allowed: Record<string, ReadonlyArray<string>> = {
    green: ["green", "red"],
    red: ["red", "yellow"],
    yellow: ["yellow", "green", "red"]
  }

  it.effect("Stoplight::Light#color state machine: performs allowed transitions", () =>
    Effect.gen(function*() {
      const seen = new Set<string>()
      for (const sequence of sequences) {
        const breaker = yield* light(`light-${sequences.indexOf(sequence)}`, {
          cool_off_time: 5,
          recovery_threshold: 2
        })
        const transitions: Array<string> = []
        for (const [shouldFail, gap] of sequence) {
          yield* TestClock.adjust(Duration.seconds(gap))
          yield* call(breaker, shouldFail ? Effect.fail(new StandardError()) : Effect.void)
          transitions.push(yield* color(breaker))
          seen.add(transitions.at(-1)!)
        }
        for (let i = 1; i < transitions.length; i++) {
          expect(allowed[transitions[i - 1]], `from ${transitions[i - 1]} to ${transitions[i]}`).toContain(
            transitions[i]
          )
        }
      }
      // the sequences drive the light through every color
      expect([...seen].sort()).toEqual(["green", "red", "yellow"])
    }).pipe(Effect.scoped))

  it.effect("Notifications: notify about state changes", () =>
    Effect.gen(function*() {
      let totalChanges = 0
      for (const sequence of sequences) {
        const breaker = yield* light(`light-${sequences.indexOf(sequence)}`, {
          cool_off_time: 3,
          recovery_threshold: 2
        })
        const sent = yield* notifications(breaker)
        let colorBefore: string = yield* color(breaker)
        let changes = 0
        let countBefore = (yield* sent).length
        for (const [shouldFail, gap] of sequence) {
          yield* TestClock.adjust(Duration.seconds(gap))
          yield* call(breaker, shouldFail ? Effect.fail(new StandardError()) : Effect.void)
          const colorAfter = yield* color(breaker)
          const now = yield* sent
          if (colorBefore !== colorAfter) {
            changes++
            // a notification when transitioning from colorBefore to colorAfter
            expect(now.length).toBe(countBefore + 1)
            expect(now.at(-1)).toEqual([colorBefore, colorAfter])
          }
          colorBefore = colorAfter
          countBefore = now.length
        }
        totalChanges += changes
      }
      expect(totalChanges).toBeGreaterThan(0)
    }).pipe(Effect.scoped))
})

describeWithRedis("peer stoplight with redis data store", () => {
  const syncInterval = "20 millis"
  const coolOff = 0.2

  // one "process": its own connection to the shared server, and its own light `name`
  const lightOn = (server: RedisServer, name: string, settings: Settings = {}) =>
    Layer.build(CircuitBreakerRedis.layerStore({ host: server.host, port: server.port, prefix: "stoplight:" })).pipe(
      Effect.flatMap((context) =>
        Effect.provide(
          CircuitBreakerStore.make(name, { ...stoplight(settings), syncInterval, timeout: "500 millis" }),
          context
        )
      )
    )

  it.live("Feature: Basic Functionality, Light prevents traffic in red state", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const breaker = yield* lightOn(server, "basic-service")
      const other = yield* lightOn(server, "basic-service")
      expect(yield* color(other)).toBe("green")
      const echo = makeEchoService()
      echo.failWith(connectionTimeout())
      yield* entersRed(breaker, echo)
      failsWithRedLight(yield* makeRequests(breaker, echo), "basic-service")
      // the light is red for another process on the same Redis too, within syncInterval
      expect(yield* eventually(other, "Open")).toBe("Open")
      let ran = 0
      failsWithRedLight(yield* call(other, Effect.sync(() => ran++)), "basic-service")
      expect(ran).toBe(0)
    }).pipe(Effect.scoped))

  it.live("Feature: Consecutive Errors, Light transitions to green after success in yellow state", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const breaker = yield* lightOn(server, "basic-service", { cool_off_time: coolOff })
      const other = yield* lightOn(server, "basic-service", { cool_off_time: coolOff })
      yield* color(other)
      const echo = makeEchoService()
      echo.failWith(connectionTimeout())
      yield* entersRed(breaker, echo)
      expect(yield* eventually(other, "Open")).toBe("Open")
      // the cool-off, on the live clock
      yield* Effect.sleep("250 millis")
      expect(yield* color(breaker)).toBe("yellow")
      echo.recover()
      yield* makeRequests(breaker, echo)
      expect(yield* color(breaker)).toBe("green")
      expect(yield* eventually(other, "Closed")).toBe("Closed")
    }).pipe(Effect.scoped))

  it.live("Feature: Basic Functionality, Light allows one test probe (unsuccessful) in the red state", () =>
    Effect.gen(function*() {
      const server = yield* startRedisServer
      const breaker = yield* lightOn(server, "basic-service", { cool_off_time: coolOff })
      const other = yield* lightOn(server, "basic-service", { cool_off_time: coolOff })
      yield* color(other)
      const echo = makeEchoService()
      echo.failWith(connectionTimeout())
      yield* entersRed(breaker, echo)
      yield* Effect.sleep("250 millis")
      failsWith(yield* makeRequests(breaker, echo), StandardError, "connection-timeout")
      expect(CircuitBreaker.isCircuitOpen(failureOf(yield* makeRequests(breaker, echo)))).toBe(true)
      // the failed probe reopened the light for the fleet: the other process turns calls away
      expect(yield* eventually(other, "Open")).toBe("Open")
      expect(CircuitBreaker.isCircuitOpen(failureOf(yield* makeRequests(other, echo)))).toBe(true)
    }).pipe(Effect.scoped))

  it.live("GreenRunStrategy when redis is unreachable, when code fails with fallback: returns fallback", () =>
    Effect.gen(function*() {
      // nothing listens on the port: the light goes on alone on its local state
      const port = yield* freePort
      const breaker = yield* Layer.build(
        CircuitBreakerRedis.layerStore({ host: "127.0.0.1", port, connectTimeout: 200 })
      ).pipe(
        Effect.flatMap((context) =>
          Effect.provide(CircuitBreakerStore.make("foo", { ...stoplight(), syncInterval }), context)
        )
      )
      const outcome = yield* runWithFallback(breaker, Effect.fail(new StandardError("Test error")), "whoops")
      expect(Either.map(outcome, (a) => a.value)).toEqual(Either.right("whoops"))
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.None)))
})
