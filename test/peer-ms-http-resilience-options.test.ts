/**
 * Microsoft.Extensions.Http.Resilience's tests of the standard resilience and standard hedging handlers' options: their
 * defaults and their validation (dotnet/extensions, commit 5862342c9a100ca33f5d1f2bd58c511bde1e8f40,
 * test/Libraries/Microsoft.Extensions.Http.Resilience.Tests: Resilience/HttpStandardResilienceOptionsCustomValidatorTests.cs,
 * Hedging/HttpStandardHedgingResilienceOptionsCustomValidatorTests.cs, Hedging/HttpStandardHedgingResilienceOptionsTests.cs,
 * Polly/HttpCircuitBreakerStrategyOptionsTests.cs (Ctor_Defaults), Polly/HttpTimeoutStrategyOptionsTests.cs,
 * Polly/HttpRateLimiterStrategyOptionsTests.cs, Resilience/HttpClientBuilderExtensionsTests.Standard.cs, .BySelector.cs and
 * .Resilience.cs (`AddResilienceHandler_EnsureErrorType`), and
 * Hedging/StandardHedgingTests.cs (the validation, configuration and pipeline cases)), ported to `@sturdy/http`'s
 * `Policy`, Sturdy's standard pipeline. One `it` per peer case ([Theory] rows in one `it`), named after it.
 *
 * Mapping: `HttpStandardResilienceOptions` / `HttpStandardHedgingResilienceOptions` are `Policy.Options`;
 * `TotalRequestTimeout.Timeout` is `totalTimeout`, `AttemptTimeout.Timeout` (hedging: `Endpoint.Timeout.Timeout`) is
 * `attemptTimeout`, `CircuitBreaker.SamplingDuration` is `circuitBreaker.slidingWindow`, `FailureRatio` is
 * `failureRateThreshold`, `Retry.MaxRetryAttempts` n is `retry.maxAttempts` n + 1 (Sturdy counts the first attempt),
 * `Hedging.MaxHedgedAttempts` / `Delay` are `hedging.maxHedges` / `delay`; the standard handler's rate limiter (a
 * concurrency limiter: 1,000 permits, no queue) is Sturdy's `bulkhead` (`maxConcurrent` 1,000, `maxQueued` 0); the
 * options validators (`OptionsValidationException`) are `Policy.validate` / `Policy.make`'s `InvalidPolicy`, which
 * lists every problem (the validator's `Failures`); `IConfigurationSection` binding is `Policy.config` over a
 * `ConfigProvider`; the pipeline descriptor is `Policy.describe`; `SelectPipelineByAuthority` is the default upstream
 * key (written `scheme://host:port`, the port always filled in, where the peer keeps the URL's authority as written),
 * and `SelectPipelineBy` is `upstreamKey`.
 *
 * Deliberate differences (the tests assert Sturdy's documented behaviour and name the peer's):
 * - an unset `attemptTimeout` is derived to fit a short `totalTimeout` (`totalTimeout ÷ maxAttempts` under 10 s),
 *   where the standard handler keeps 10 s and then refuses the options; the peer's cases are also run with the
 *   attempt timeout set explicitly to its 10 s default, which Sturdy refuses as the peer does;
 * - hedging's cumulative delay (`maxHedges × delay`) may exceed `totalTimeout`: a failed copy starts the next one at
 *   once, so such a policy still hedges on failures (the standard hedging validator refuses it);
 * - the breaker's failure ratio is 0.5 (the standard handler's 0.1); the client-side rate limiter is off by default;
 * - options are not reloaded in place (`DynamicReloads_Ok`): a new `Policy` is built with the new options;
 * - an infinite hedging delay (the peer's `Timeout.InfiniteTimeSpan`, hedge on failures only) is refused as
 *   longer than a timer can hold; an hour stands for it.
 *
 * Not ported: null-argument cases (`..._Null..._Throws`, TypeScript's types), the pipelines' names ("Standard-Retry",
 * ...), DI registration and `Configure(..., serviceProvider)` overloads, `RoutingStrategyBuilder_EnsureExpectedName`
 * and `ActionGenerator_Ok` (routing and request snapshots: Sturdy hedges the one request to its one URL), the empty
 * configuration section cases (`Policy.config` reads every field as optional: an empty section is the defaults), the
 * typo'd configuration key cases (`..._ConfigurationPropertyWithTypo_Throws`, `Configure_InvalidConfigurationSection_
 * ShouldThrow`: Effect's `Config` reads the keys it knows and ignores others),
 * `Configure_ValidConfigurationSection_ShouldInitialize` (hedging is not read from `Policy.config`), the BySelector
 * file's `SelectPipelineByAuthority_EnsureResiliencePipelineProviderCall` (a mocked pipeline provider), and the rest of
 * the Resilience file (DI registration, registry options, handler removal, pipeline disposal). Not ported from the
 * suite at all: Resilience/ResilienceHandlerTest.cs, HttpResilienceContextExtensionsTests.cs, RequestMessageSnapshot*,
 * HttpResilienceMetricsEnricherTests.cs, PipelineNameHelperTest.cs, UriExtensionsTests.cs, Internal/RandomizerTest.cs
 * (Polly's `ResilienceContext`, request snapshots, pipeline names and helpers: no counterpart in Sturdy), Routing/*
 * (no routing strategies in Sturdy) and GrpcResilienceTests.cs / BuildTransitive (gRPC and MSBuild).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy } from "@sturdy/http"
import { TestTracer } from "@sturdy/testing"
import { ConfigProvider, Duration, Effect, Either, Exit, Option } from "effect"
import { failureOf, send, setup } from "./utils/retryHarness.js"

/** the field of every problem `Policy.validate` finds, or `[]` when the options are valid */
const problems = (options: Policy.Options): ReadonlyArray<string> => {
  const checked = Policy.validate(options)
  return Either.isLeft(checked) ? checked.left.problems.map((problem) => problem.field) : []
}

/** the standard hedging handler's hedging defaults: `Delay` 2 s, `MaxHedgedAttempts` 1 */
const standardHedging = { delay: "2 seconds", maxHedges: 1 } as const

const millis = (duration: Option.Option<Duration.Duration>) => Option.map(duration, Duration.toMillis)
const request = HttpClientRequest.get("https://key:80/discarded")

// -----------------------------------------------------------------------------
// Resilience/HttpStandardResilienceOptionsCustomValidatorTests.cs
// -----------------------------------------------------------------------------

describe("peer dotnet HttpStandardResilienceOptionsCustomValidatorTests", () => {
  // SamplingDuration 1 s and TotalRequestTimeout 1 s, with the 10 s attempt timeout: two failures. Sturdy derives an
  // unset attempt timeout to fit (1 s ÷ 3), so the same options are valid; with the attempt timeout set to 10 s, both
  // problems are listed at once, as the peer's validator lists both failures.
  it("Validate_InvalidOptions_EnsureValidationErrors", () => {
    expect(problems({ totalTimeout: "1 second", circuitBreaker: { slidingWindow: "1 second" } })).toEqual([])
    expect(
      problems({
        totalTimeout: "1 second",
        attemptTimeout: "10 seconds",
        circuitBreaker: { slidingWindow: "1 second" }
      })
    ).toEqual(["attemptTimeout", "circuitBreaker.slidingWindow"])
  })

  it("Validate_ValidOptions_NoValidationErrors", () => {
    expect(problems({})).toEqual([])
    expect(Either.isRight(Policy.validate({}))).toBe(true)
  })

  it("Validate_ValidOptions_EnsureNoErrors", () => {
    // the attempt timeout equal to the total one, the window exactly twice it
    expect(problems({ attemptTimeout: "30 seconds", circuitBreaker: { slidingWindow: "60 seconds" } })).toEqual([])
    // ... and 10 ms more
    expect(problems({ attemptTimeout: "30 seconds", circuitBreaker: { slidingWindow: 60_010 } })).toEqual([])
    // one retry (MaxRetryAttempts 1: two attempts) whose linear delay is the whole total timeout
    expect(problems({ retry: { maxAttempts: 2, baseDelay: "30 seconds", jitter: "none" } })).toEqual([])
  })

  it("Validate_InvalidOptions_EnsureErrors", () => {
    // the attempt timeout longer than the total one
    expect(problems({ totalTimeout: "2 seconds", attemptTimeout: "3 seconds" })).toEqual(["attemptTimeout"])
    // TotalRequestTimeout 2 s under the 10 s attempt timeout: Sturdy derives the unset attempt timeout (2 s ÷ 3), and
    // refuses the 10 s one when it is set
    expect(problems({ totalTimeout: "2 seconds" })).toEqual([])
    expect(problems({ totalTimeout: "2 seconds", attemptTimeout: "10 seconds" })).toEqual(["attemptTimeout"])
    // the window half the attempt timeout
    expect(problems({ attemptTimeout: "30 seconds", circuitBreaker: { slidingWindow: "15 seconds" } })).toEqual([
      "circuitBreaker.slidingWindow"
    ])
  })
})

// -----------------------------------------------------------------------------
// Hedging/HttpStandardHedgingResilienceOptionsCustomValidatorTests.cs
// -----------------------------------------------------------------------------

describe("peer dotnet HttpStandardHedgingResilienceOptionsCustomValidatorTests", () => {
  // Three failures in the peer: the attempt timeout, the window, and the cumulative hedging delay (1 × 2 s) beyond the
  // 1 s total. Sturdy lists the first two; a hedging delay past the deadline is no problem (a failed copy starts the
  // next one at once).
  it("Validate_InvalidOptions_EnsureValidationErrors", () => {
    const options: Policy.Options = {
      totalTimeout: "1 second",
      attemptTimeout: "10 seconds",
      circuitBreaker: { slidingWindow: "1 second" },
      hedging: standardHedging
    }
    expect(problems(options)).toEqual(["attemptTimeout", "circuitBreaker.slidingWindow"])
    const checked = Policy.validate(options)
    expect(Either.isLeft(checked) && checked.left._tag).toBe("InvalidPolicy")
    expect(problems({ totalTimeout: "1 second", hedging: standardHedging })).toEqual([])
  })

  it("Validate_ValidOptions_NoValidationErrors", () => {
    expect(problems({ hedging: standardHedging })).toEqual([])
  })

  it("Validate_ValidOptions_EnsureNoErrors", () => {
    expect(
      problems({
        attemptTimeout: "30 seconds",
        circuitBreaker: { slidingWindow: "60 seconds" },
        hedging: standardHedging
      })
    ).toEqual([])
    expect(
      problems({ attemptTimeout: "30 seconds", circuitBreaker: { slidingWindow: 60_010 }, hedging: standardHedging })
    ).toEqual([])
    // one hedge whose delay is the whole total timeout
    expect(problems({ hedging: { delay: "30 seconds", maxHedges: 1 } })).toEqual([])
    // a day's delay (the peer's with a DelayGenerator, which its validator does not check)
    expect(problems({ hedging: { delay: "1 day", maxHedges: 1 } })).toEqual([])
  })

  it("Validate_InvalidOptions_EnsureErrors", () => {
    expect(problems({ totalTimeout: "2 seconds", attemptTimeout: "3 seconds", hedging: standardHedging })).toEqual([
      "attemptTimeout"
    ])
    // derived when unset (see the resilience validator's case), refused when set to the peer's 10 s default
    expect(problems({ totalTimeout: "2 seconds", hedging: standardHedging })).toEqual([])
    expect(problems({ totalTimeout: "2 seconds", attemptTimeout: "10 seconds", hedging: standardHedging })).toEqual([
      "attemptTimeout"
    ])
    expect(
      problems({
        attemptTimeout: "30 seconds",
        circuitBreaker: { slidingWindow: "15 seconds" },
        hedging: standardHedging
      })
    ).toEqual(["circuitBreaker.slidingWindow"])
  })
})

// -----------------------------------------------------------------------------
// option defaults: Hedging/HttpStandardHedgingResilienceOptionsTests.cs, Polly/HttpCircuitBreakerStrategyOptionsTests.cs,
// Polly/HttpTimeoutStrategyOptionsTests.cs, Polly/HttpRateLimiterStrategyOptionsTests.cs
// -----------------------------------------------------------------------------

describe("peer dotnet HttpStandardHedgingResilienceOptionsTests", () => {
  it.scoped("Ctor_EnsureDefaults", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make({ hedging: standardHedging })
      const described = policy.describe(request)
      expect(millis(described.totalTimeout)).toEqual(Option.some(30_000))
      expect(millis(described.attemptTimeout)).toEqual(Option.some(10_000))
      expect(described.hedging).toBe(true)
      expect(described.circuitBreaker).toBe(true)
      // the endpoint's rate limiter (a concurrency limiter) is Sturdy's bulkhead
      expect(described.bulkhead).toBe(true)
    }))
})

describe("peer dotnet HttpCircuitBreakerStrategyOptionsTests", () => {
  it("Ctor_Defaults", () => {
    expect(Duration.toMillis(Policy.defaults.circuitBreaker.breakDuration)).toBe(5_000)
    // the standard handler's FailureRatio is 0.1; Sturdy's is 0.5 (a breaker for an upstream that is down, not one
    // whose errors the retries absorb: Policy's defaults)
    expect(Policy.defaults.circuitBreaker.failureRateThreshold).toBe(0.5)
    expect(Duration.toMillis(Policy.defaults.circuitBreaker.slidingWindow)).toBe(30_000)
    expect(Policy.defaults.circuitBreaker.minimumThroughput).toBe(100)
  })
})

describe("peer dotnet HttpTimeoutStrategyOptionsTests", () => {
  // a timeout strategy's default, 30 s, is the standard pipeline's total timeout (its attempt timeout is 10 s)
  it("Ctor_Defaults", () => {
    expect(Duration.toMillis(Policy.defaults.totalTimeout)).toBe(30_000)
    expect(Duration.toMillis(Policy.defaults.attemptTimeout)).toBe(10_000)
  })
})

describe("peer dotnet HttpRateLimiterStrategyOptionsTests", () => {
  // PermitLimit 1000, QueueLimit 0 (a concurrency limiter) are Sturdy's bulkhead defaults
  it.scoped("Ctor_Defaults", () =>
    Effect.gen(function*() {
      expect(Policy.defaults.bulkhead.maxConcurrent).toBe(1000)
      expect(Policy.defaults.bulkhead.maxQueued).toBe(0)
      const described = (yield* Policy.make()).describe(request)
      expect(described.bulkhead).toBe(true)
      expect(described.rateLimit).toBe(false)
    }))
})

// -----------------------------------------------------------------------------
// Resilience/HttpClientBuilderExtensionsTests.Standard.cs
// -----------------------------------------------------------------------------

describe("peer dotnet HttpClientBuilderExtensionsTests (standard)", () => {
  // rate limiter → total timeout → retry → circuit breaker → attempt timeout (Sturdy's client-side rate limiter is off
  // unless configured; its bulkhead stands for the standard handler's concurrency limiter)
  it.scoped("AddStandardResilienceHandler_EnsureCorrectStrategies", () =>
    Effect.gen(function*() {
      const described = (yield* Policy.make()).describe(request)
      expect(described).toMatchObject({
        rateLimit: false,
        bulkhead: true,
        maxAttempts: 3,
        circuitBreaker: true,
        hedging: false
      })
      expect(millis(described.totalTimeout)).toEqual(Option.some(30_000))
      expect(millis(described.attemptTimeout)).toEqual(Option.some(10_000))
    }))

  it.scoped("AddStandardResilienceHandler_EnsureValidated", () =>
    Effect.gen(function*() {
      // wholePipeline: TotalRequestTimeout 1 s, AttemptTimeout 2 s
      const whole = yield* Effect.exit(Policy.make({ totalTimeout: "1 second", attemptTimeout: "2 seconds" }))
      expect(failureOf(whole)).toMatchObject({ _tag: "InvalidPolicy", field: "attemptTimeout" })
      // MaxRetryAttempts -3 (maxAttempts -2)
      const retry = yield* Effect.exit(Policy.make({ retry: { maxAttempts: -2 } }))
      expect(failureOf(retry)).toMatchObject({ _tag: "InvalidPolicy", field: "retry.maxAttempts" })
    }))

  // Configured from options, from a configuration section, or both: the section's values apply.
  it.scoped("AddStandardResilienceHandler_EnsureConfigured", () =>
    Effect.gen(function*() {
      const section = {
        circuitBreaker: { failureRateThreshold: 0.1 },
        attemptTimeout: "5 seconds",
        totalTimeout: "20 seconds"
      }
      const fromConfig = yield* Effect.withConfigProvider(Policy.config, ConfigProvider.fromJson(section))
      for (const options of [{}, fromConfig, section as Policy.Options]) {
        const policy = yield* Policy.make(options)
        expect(policy.describe(request).circuitBreaker).toBe(true)
      }
      const described = (yield* Policy.make(fromConfig)).describe(request)
      expect(millis(described.attemptTimeout)).toEqual(Option.some(5_000))
      expect(millis(described.totalTimeout)).toEqual(Option.some(20_000))
      expect(fromConfig.circuitBreaker).toMatchObject({ failureRateThreshold: 0.1 })
    }))

  // MaxRetryAttempts 6 with no delay: 7 requests; reloaded to 10: 11. Sturdy does not reload a policy in place: the
  // new options make a new policy.
  it.scoped("DynamicReloads_Ok", () =>
    Effect.gen(function*() {
      for (const [maxAttempts, expected] of [[7, 7], [11, 11]] as const) {
        const h = yield* setup((_, response) => send(response, 500), { retry: { maxAttempts, delay: () => 0 } })
        expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ServerError", status: 500 })
        expect(h.seen.length).toBe(expected)
      }
    }))

  // The standard handler turns HttpClient.Timeout off so that its own timeouts apply. A SturdyClient has no timeout of
  // its own unless given one: the policy's attempt timeout (10 s) bounds the attempt.
  it.scoped("AddStandardResilienceHandler_EnsureHttpClientTimeoutDisabled", () =>
    Effect.gen(function*() {
      const h = yield* setup(() => {}, { retry: false })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(Duration.toMillis((failure as { readonly timeout: Duration.Duration }).timeout)).toBe(10_000)
      expect(h.seen.length).toBe(1)
    }))
})

// -----------------------------------------------------------------------------
// Hedging/StandardHedgingTests.cs: validation, configuration and pipeline
// -----------------------------------------------------------------------------

describe("peer dotnet StandardHedgingTests (options)", () => {
  const hedging = { delay: "5 millis", maxHedges: 2 } as const

  it.scoped("EnsureValidated_BasicValidation", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Policy.make({ hedging: { ...hedging, maxHedges: -1 } }))
      expect(failureOf(exit)).toMatchObject({ _tag: "InvalidPolicy", field: "hedging.maxHedges" })
    }))

  // TotalRequestTimeout 1 s under the 10 s endpoint timeout: refused when the attempt timeout is set to 10 s (derived
  // to fit when unset)
  it.scoped("EnsureValidated_AdvancedValidation", () =>
    Effect.gen(function*() {
      const set = yield* Effect.exit(Policy.make({ hedging, totalTimeout: "1 second", attemptTimeout: "10 seconds" }))
      expect(failureOf(set)).toMatchObject({ _tag: "InvalidPolicy", field: "attemptTimeout" })
      const derived = yield* Effect.exit(Policy.make({ hedging, totalTimeout: "1 second" }))
      expect(Exit.isSuccess(derived)).toBe(true)
    }))

  it.scoped("Configure_Callback_Ok", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make({ hedging: { ...hedging, maxHedges: 8 } })
      expect(policy.options.hedging).toMatchObject({ maxHedges: 8 })
    }))

  // outer: total timeout → hedging; each copy: rate limiter (Sturdy's bulkhead) → circuit breaker → attempt timeout
  it.scoped("VerifyPipeline", () =>
    Effect.gen(function*() {
      const described = (yield* Policy.make({ hedging })).describe(request)
      expect(described).toMatchObject({ hedging: true, bulkhead: true, circuitBreaker: true })
      expect(millis(described.totalTimeout)).toEqual(Option.some(30_000))
      expect(millis(described.attemptTimeout)).toEqual(Option.some(10_000))
      // a POST without an Idempotency-Key is never hedged
      expect((yield* Policy.make({ hedging })).describe(HttpClientRequest.post("https://key:80/")).hedging).toBe(false)
    }))

  // SelectPipelineByAuthority keys the endpoint pipeline by "https://key:80"; SelectPipelineBy a custom key
  it.scoped("VerifyPipelineSelection", () =>
    Effect.gen(function*() {
      expect((yield* Policy.make({ hedging })).describe(request).key).toBe("https://key:80")
      expect(Policy.upstreamKey(request)).toBe("https://key:80")
      const custom = yield* Policy.make({ hedging, upstreamKey: () => "custom-key" })
      expect(custom.describe(request).key).toBe("custom-key")
    }))
})

// -----------------------------------------------------------------------------
// Resilience/HttpClientBuilderExtensionsTests.BySelector.cs
// -----------------------------------------------------------------------------

describe("peer dotnet HttpClientBuilderExtensionsTests (by selector)", () => {
  // [url, the peer's key, Sturdy's key]: the authority, which Sturdy writes with its port always (the peer writes the
  // URL's own: "https://dummy"), so that "https://dummy" and "https://dummy:443" share one breaker
  it.scoped("SelectPipelineByAuthority_Ok", () =>
    Effect.gen(function*() {
      const rows = [["https://dummy:21/path", "https://dummy:21", "https://dummy:21"], [
        "https://dummy",
        "https://dummy",
        "https://dummy:443"
      ]] as const
      for (const standard of [true, false]) {
        const policy = yield* Policy.make(
          standard ? {} : { retry: false, circuitBreaker: false, attemptTimeout: "1 second" }
        )
        for (const [url, , key] of rows) {
          expect([url, policy.describe(HttpClientRequest.head(url)).key]).toEqual([url, key])
          expect(Policy.upstreamKey(HttpClientRequest.head(url))).toBe(key)
        }
      }
    }))

  // a request with no URL: the peer's key selector throws. Sturdy sends nothing: the call fails with a typed
  // `InvalidRequest` (reason `MalformedUrl`), which the retry does not repeat
  it.scoped("SelectPipelineByAuthority_Ok_NullURL_Throws", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 200), {})
      const exit = yield* h.run(Policy.send(h.platform, HttpClientRequest.head("")))
      expect(failureOf(exit)).toMatchObject({ _tag: "InvalidRequest", reason: "MalformedUrl" })
      expect(h.decisions.filter((decision) => decision.retrying)).toEqual([])
      expect(h.seen.length).toBe(0)
    }))

  // a custom selector (the URL's scheme): every request of the scheme shares one key
  it.scoped("SelectPipelineBy_Ok", () =>
    Effect.gen(function*() {
      const upstreamKey = (request: HttpClientRequest.HttpClientRequest) => `${new URL(request.url).protocol}//`
      for (const standard of [true, false]) {
        const policy = yield* Policy.make(
          standard ? { upstreamKey } : { upstreamKey, retry: false, circuitBreaker: false, attemptTimeout: "1 second" }
        )
        for (const url of ["https://dummy:21/path", "https://dummy"]) {
          expect(policy.describe(HttpClientRequest.head(url)).key).toBe("https://")
        }
      }
    }))
})

// -----------------------------------------------------------------------------
// Resilience/HttpClientBuilderExtensionsTests.Resilience.cs
// -----------------------------------------------------------------------------

describe("peer dotnet HttpClientBuilderExtensionsTests (resilience)", () => {
  // every outcome handled, one retry with no delay, a server answering 500: the call's `error.type` is "500" (the
  // peer's metering enricher; here the logical call's span, and each attempt's)
  it.scoped("AddResilienceHandler_EnsureErrorType", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 500), {
        retry: { retryOn: () => true, maxAttempts: 2, delay: () => 0 }
      })
      const { spans, tracer } = TestTracer.make()
      const exit = yield* h.run(h.api.get("/").pipe(Effect.withTracer(tracer)))
      expect(failureOf(exit)).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(h.seen.length).toBe(2)
      expect(spans.map((span) => [span.name, span.attributes.get("error.type")])).toEqual([
        ["http.client.request GET", "500"],
        ["http.client.attempt GET", "500"],
        ["http.client.attempt GET", "500"]
      ])
    }))
})
