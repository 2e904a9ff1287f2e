/**
 * Tesla's (Elixir) `Tesla.Middleware.Retry`, ported to Sturdy's public API over a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`, every wait on the TestClock). Source: elixir-tesla/tesla,
 * `test/tesla/middleware/retry_test.exs` at 556014d132eef1c9e4e38e9d2378a45f0c91b515 (the middleware:
 * `lib/tesla/middleware/retry.ex`, same commit). One `it` per ExUnit test, named after it.
 *
 * Tesla's `LaggyAdapter` answers per path from a counter of calls; here the loopback server does the same from its
 * request count, and the adapter's `{:error, :econnrefused}` / `{:error, :nxdomain}` are connections that fail before
 * anything is sent (`connectFailures`: `ECONNREFUSED` from `connect`, `ENOTFOUND` from `getaddrinfo`). Its
 * "ms_elapsed < 1000" is the virtual time since the first request.
 *
 * Mapping (`tesla` below): `max_retries: n` (default 5) is `retry.maxAttempts: n + 1`; `delay` (default 50 ms) is
 * `retry.baseDelay`, doubled per retry as in Tesla (`delay × 2ⁿ`, the first retry waiting `delay`); `max_delay`
 * (default 5 s) is both `retry.maxDelay` and `retry.maxRetryAfter` (Tesla caps the backoff with it and gives up when
 * a `Retry-After` is longer); the default `should_retry` (connection errors only, never a status) is
 * `retry.statuses: []`; a custom `should_retry` is `retry.retryOn` (its `env.method` is the failure's `method`, its
 * `context.retries` is `attempt − 1`); `use_retry_after_header` (default `false`) is `retry.respectRetryAfter`;
 * `jitter_factor` (default 0.2) on a `Retry-After` wait is `retry.retryAfterJitter` (both only lengthen the server's
 * wait, never past `max_delay`); `env.opts[:retry_count]` is the `retryCountHeader` the server sees. Tesla returns
 * the last response when it stops (`{:ok, env}` with a 500 or 429); `Policy.withPolicy` does the same, so the cases
 * that assert a returned status use it.
 *
 * Deliberate differences (each test says which): Tesla's backoff jitter is `t × (1 − jitter_factor × U)`; Sturdy's
 * modes are `"none"` (factor 0), `"equal"` (factor 0.5) and `"full"`, so a factor of 0.2 or 0.25 is ported as
 * `"equal"` (still only shortening the delay, never below half); Sturdy adds at most 1 s of jitter to a server's wait
 * where Tesla adds up to `jitter_factor` of it; Tesla requires a `delay` ≥ 1 ms and whole milliseconds, Sturdy
 * accepts a zero `baseDelay` (retries at once, as urllib3's `backoff_factor=0`) and a fraction of a millisecond;
 * `retryCountHeader` is sent as `0` on the first attempt where Tesla leaves `:retry_count` unset; Tesla checks
 * `should_retry`'s arity (1 or 3), which a JavaScript function does not declare reliably, so Sturdy checks only that
 * `retryOn` is a predicate or an object of tags.
 *
 * Not ported: nothing; every ExUnit test has its `it`.
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { HttpFailure } from "@sturdy/http"
import { Policy } from "@sturdy/http"
import { Backoff } from "@sturdy/policy"
import { Cause, Duration, Effect, Either, Exit, Option } from "effect"
import {
  connectErrors,
  delays,
  failureOf,
  fixture,
  gaps,
  type Handler,
  type Harness,
  send,
  setup,
  systemError,
  textOf
} from "./utils/retryHarness.js"

interface TeslaOptions {
  readonly delay?: number
  readonly max_retries?: number
  readonly max_delay?: number
  readonly jitter_factor?: number
  readonly use_retry_after_header?: boolean
}

/** Tesla's options (its defaults where unset) as Sturdy's `retry` options; see the header */
const tesla = (options: TeslaOptions = {}): Policy.RetryOptions => {
  const maxDelay = options.max_delay ?? 5000
  const jitterFactor = options.jitter_factor ?? 0.2
  return {
    maxAttempts: (options.max_retries ?? 5) + 1,
    baseDelay: options.delay ?? 50,
    maxDelay,
    jitter: jitterFactor === 0 ? "none" : "equal",
    statuses: [],
    respectRetryAfter: options.use_retry_after_header ?? false,
    maxRetryAfter: maxDelay,
    retryAfterJitter: jitterFactor
  }
}

/** `Client`: delay 10, max_retries 10, jitter_factor 0.25 */
const client = tesla({ delay: 10, max_retries: 10, jitter_factor: 0.25 })

/** `ClientWithShouldRetryFunction`'s `should_retry`, clause by clause */
const shouldRetry: Policy.RetryOn = (failure, attempt) => {
  const status = "status" in failure ? failure.status : undefined
  // {:ok, %{status: status}} when status in [400, 500] -> true; {:ok, _} -> false
  if (status !== undefined) return status === 400 || status === 500
  // {:error, _}, %Tesla.Env{method: :post} -> false
  if (failure.method === "POST") return false
  // {:error, _}, %Tesla.Env{method: :put}, %{retries: 2} -> false
  if (failure.method === "PUT" && attempt - 1 === 2) return false
  return true
}
const withShouldRetry: Policy.RetryOptions = {
  ...tesla({ delay: 10, max_retries: 10 }),
  statuses: undefined,
  retryOn: shouldRetry
}

/** `ClientUsingRetryAfterHeader`: delay 10, max_retries 10, use_retry_after_header, should_retry on 429 only */
const usingRetryAfter = (options: TeslaOptions = {}): Policy.RetryOptions => ({
  ...tesla({ delay: 10, max_retries: 10, use_retry_after_header: true, ...options }),
  statuses: [429]
})

/** LaggyAdapter's `/maybe`: refused, refused, nxdomain, refused, refused, then through */
const maybe = (): ReadonlyArray<Error> => [
  ...connectErrors(2, "ECONNREFUSED"),
  systemError("ENOTFOUND", "getaddrinfo", "127.0.0.1"),
  ...connectErrors(2, "ECONNREFUSED")
]

const ok: Handler = (_, response) => send(response, 200, {}, fixture)

/** `status` until request `okAt`, then 200 (the adapter's `when retries < 5`) */
const untilOk = (okAt: number, status: number, headers: Record<string, string> = {}): Handler => (_, response, n) =>
  n >= okAt ? send(response, 200, {}, fixture) : send(response, status, headers)

/** a 429 carrying `retryAfter(firstAt)` while less than 1 s (virtual) has passed since the first request, then 200 */
const laggyRetryAfter = (retryAfter: (firstAt: number) => string): Handler => {
  let firstAt: number | undefined
  return (request, response) => {
    firstAt ??= request.at
    if (request.at - firstAt < 1000) send(response, 429, { "retry-after": retryAfter(firstAt) })
    else send(response, 200, {}, fixture)
  }
}

/** Elixir's `Calendar.strftime(start_time + 2 s, pattern)` for the HTTP-date cases, with a part made invalid */
const laggyDate =
  (mangle: (parts: { day: string; month: string; year: string; time: string }) => string) => (firstAt: number) => {
    const [weekday, day, month, year, time] = new Date(firstAt + 2000).toUTCString().split(" ")
    return `${weekday} ${mangle({ day: day!, month: month!, year: year!, time: time! })} GMT`
  }

/** GET `path` through `Policy.withPolicy`, which returns the last response when retries end, as Tesla does */
const statusOfGet = (h: Harness, path: string) =>
  Effect.map(
    h.run(Policy.withPolicy(h.platform, h.policy).execute(HttpClientRequest.get(`${h.url}${path}`))),
    (exit) => Exit.isSuccess(exit) ? exit.value.status : failureOf(exit)
  )

const invalidFields = (options: Policy.Options) =>
  Either.match(Policy.validate(options), {
    onLeft: (invalid) => invalid.problems.map((problem) => problem.field),
    onRight: () => []
  })

/** within Sturdy's `"equal"` envelope for retry n (0-based) of `delay` doubling up to `max_delay` */
const expectEqualJitter = (out: ReadonlyArray<number>, base: number, maxDelay: number) =>
  out.forEach((millis, n) => {
    const { lower, upper } = Backoff.envelope({ baseDelay: base, maxDelay, jitter: "equal" }, n)
    expect(millis).toBeGreaterThanOrEqual(Duration.toMillis(lower))
    expect(millis).toBeLessThanOrEqual(Duration.toMillis(upper))
  })

describe("tesla test/tesla/middleware/retry_test.exs", () => {
  it.scoped("pass on successful request", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: client })
      expect(textOf(yield* h.run(h.api.get("/ok")))).toBe(fixture)
      expect(h.seen.map((s) => [s.method, s.path])).toEqual([["GET", "/ok"]])
      expect(h.decisions).toEqual([])
    }))

  it.scoped("finally pass on laggy request", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: client }, { connectFailures: maybe() })
      expect(textOf(yield* h.run(h.api.get("/maybe")))).toBe(fixture)
      // five connections failed (one a DNS failure), the sixth attempt got through
      expect(h.decisions.map((d) => [d.attempt, (d.failure as HttpFailure.ConnectionError).reason])).toEqual([
        [2, "Refused"],
        [3, "Refused"],
        [4, "DnsLookup"],
        [5, "Refused"],
        [6, "Refused"]
      ])
      expect(h.seen.map((s) => s.path)).toEqual(["/maybe"])
      // Tesla's jitter_factor 0.25 keeps 75–100 % of 10, 20, 40, 80, 160 ms; Sturdy's "equal" keeps 50–100 %
      expectEqualJitter(delays(h), 10, 5000)
    }))

  it.scoped("pass retry_count opt", () =>
    Effect.gen(function*() {
      const h = yield* setup(ok, { retry: client, retryCountHeader: true }, { connectFailures: maybe() })
      expect(textOf(yield* h.run(h.api.get("/maybe")))).toBe(fixture)
      // env.opts[:retry_count] == 5: the attempt that got through was the fifth retry
      expect(h.seen.map((s) => s.headers["x-retry-count"])).toEqual(["5"])

      // Tesla leaves :retry_count unset on a first attempt; Sturdy's header says 0
      const first = yield* setup(ok, { retry: client, retryCountHeader: true })
      expect(textOf(yield* first.run(first.api.get("/ok")))).toBe(fixture)
      expect(first.seen.map((s) => s.headers["x-retry-count"])).toEqual(["0"])
    }))

  it.scoped("raise if max_retries is exceeded", () =>
    Effect.gen(function*() {
      // /nope refuses every connection: 1 + max_retries (10) attempts, then the last error
      const h = yield* setup(ok, { retry: client }, { connectFailures: connectErrors(11, "ECONNREFUSED") })
      const failure = failureOf(yield* h.run(h.api.get("/nope")))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Refused", attempts: 11 })
      expect(h.seen).toEqual([])
      expect(h.decisions.filter((d) => d.retrying).length).toBe(10)
      expect(h.decisions.at(-1)).toMatchObject({ retrying: false, reason: "exhausted" })
    }))

  it.scoped("use default retry determination function", () =>
    Effect.gen(function*() {
      // the default should_retry retries {:error, _} only: a 500 is an answer, returned as is
      const h = yield* setup(untilOk(6, 500), { retry: client })
      expect(yield* statusOfGet(h, "/retry_status")).toBe(500)
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("use custom retry determination function", () =>
    Effect.gen(function*() {
      // 500 on the first five requests, then 200: should_retry says yes to 400 and 500
      const h = yield* setup(untilOk(6, 500), { retry: withShouldRetry })
      expect(textOf(yield* h.run(h.api.get("/retry_status")))).toBe(fixture)
      expect(h.seen.length).toBe(6)
    }))

  it.scoped("use custom retry determination function matching on env", () =>
    Effect.gen(function*() {
      // a POST after a refused connection: should_retry says no for :post (Sturdy alone would repeat it, nothing
      // having been sent: retryUnsent)
      const h = yield* setup(ok, { retry: withShouldRetry }, { connectFailures: maybe() })
      const failure = failureOf(yield* h.run(h.api.post("/maybe", { body: "payload" })))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "Refused", method: "POST", attempts: 1 })
      expect(h.seen).toEqual([])
    }))

  it.scoped("use custom retry determination function matching on context", () =>
    Effect.gen(function*() {
      // a PUT: refused, refused, then nxdomain on the third attempt (retries == 2), where should_retry says no
      const h = yield* setup(ok, { retry: withShouldRetry }, { connectFailures: maybe() })
      const failure = failureOf(yield* h.run(h.api.put("/maybe", { body: "payload" })))
      expect(failure).toMatchObject({ _tag: "ConnectionError", reason: "DnsLookup", method: "PUT", attempts: 3 })
      expect(h.seen).toEqual([])
    }))

  it.scoped("use Retry-After header when it is a integer number of seconds", () =>
    Effect.gen(function*() {
      const h = yield* setup(laggyRetryAfter(() => "2"), { retry: usingRetryAfter() })
      expect(textOf(yield* h.run(h.api.get("/retry_after_seconds")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
      // 2 s, plus up to jitter_factor (0.2) of it, never past max_delay (5 s)
      const [gap] = gaps(h)
      expect(gap).toBeGreaterThanOrEqual(2000)
      expect(gap).toBeLessThanOrEqual(2400)
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after"])
    }))

  it.scoped("use Retry-After header when it is a HTTP Date string", () =>
    Effect.gen(function*() {
      const h = yield* setup(laggyRetryAfter(laggyDate((p) => `${p.day} ${p.month} ${p.year} ${p.time}`)), {
        retry: usingRetryAfter()
      })
      expect(textOf(yield* h.run(h.api.get("/retry_after_date")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
      // the date is the first request's time + 2 s, in whole seconds: the retry comes at or after it
      const named = Math.floor((h.seen[0]!.at + 2000) / 1000) * 1000
      expect(h.seen[1]!.at).toBeGreaterThanOrEqual(named)
      expect(h.seen[1]!.at - h.seen[0]!.at).toBeLessThanOrEqual(2400)
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after"])
    }))

  // an unreadable Retry-After is ignored: the 429 is retried on the backoff, 5 times, then the 200
  const ignoresRetryAfter = (path: string, value: (firstAt: number) => string) =>
    Effect.gen(function*() {
      let firstAt: number | undefined
      const h = yield* setup((request, response, n) => {
        firstAt ??= request.at
        return untilOk(6, 429, { "retry-after": value(firstAt) })(request, response, n, { later: () => {} })
      }, { retry: usingRetryAfter() })
      expect(textOf(yield* h.run(h.api.get(path)))).toBe(fixture)
      expect(h.seen.length).toBe(6)
      expect(h.decisions.map((d) => d.reason)).toEqual(Array(5).fill("backoff"))
      expectEqualJitter(delays(h), 10, 5000)
    })

  it.scoped("ignore Retry-After header if it is not in an expected format", () =>
    ignoresRetryAfter("/retry_after_invalid_format", () => "foo"))

  it.scoped("ignore Retry-After header if it has an invalid month", () =>
    ignoresRetryAfter("/retry_after_invalid_month", laggyDate((p) => `${p.day} Foo ${p.year} ${p.time}`)))

  it.scoped("ignore Retry-After header if it has an invalid day", () =>
    ignoresRetryAfter("/retry_after_invalid_day", laggyDate((p) => `Foo ${p.month} ${p.year} ${p.time}`)))

  it.scoped("ignore Retry-After header if it has an invalid year", () =>
    ignoresRetryAfter("/retry_after_invalid_year", laggyDate((p) => `${p.day} ${p.month} Foo ${p.time}`)))

  it.scoped("ignore Retry-After header if it has an invalid time", () =>
    ignoresRetryAfter(
      "/retry_after_invalid_time",
      laggyDate((p) => `${p.day} ${p.month} ${p.year} Foo:Bar:${p.time.slice(-2)}`)
    ))

  it.scoped("do not retry if Retry-After delay exceeds max delay", () =>
    Effect.gen(function*() {
      // max_delay 500 ms, Retry-After 2 s: the 429 comes back at once
      const h = yield* setup(laggyRetryAfter(() => "2"), { retry: usingRetryAfter({ max_delay: 500 }) })
      expect(yield* statusOfGet(h, "/retry_after_seconds")).toBe(429)
      expect(h.seen.length).toBe(1)
      expect(h.decisions).toMatchObject([{ retrying: false, reason: "retry-after-too-long" }])
    }))

  it.scoped(
    "jitter doesn't allow delay to be shorter than specified by Retry-After header or larger than max delay",
    () =>
      Effect.gen(function*() {
        const h = yield* setup(laggyRetryAfter(() => "2"), {
          retry: usingRetryAfter({ max_delay: 2001, max_retries: 1, jitter_factor: 0.9999 })
        })
        expect(textOf(yield* h.run(h.api.get("/retry_after_seconds")))).toBe(fixture)
        expect(h.seen.length).toBe(2)
        const [gap] = gaps(h)
        expect(gap).toBeGreaterThanOrEqual(2000)
        expect(gap).toBeLessThanOrEqual(2001)
      })
  )

  it.scoped("raise in case or unexpected error", () =>
    Effect.gen(function*() {
      // DefunctClient (Tesla's defaults) over an adapter that raises: the exception comes out, not retried
      const h = yield* setup(ok, { retry: tesla() })
      let calls = 0
      const exit = yield* h.run(Policy.run(HttpClientRequest.get(`${h.url}/blow`), () => {
        calls++
        throw new Error("runtime-error")
      }))
      expect(Exit.isFailure(exit) && Option.getOrUndefined(Cause.dieOption(exit.cause))).toMatchObject({
        message: "runtime-error"
      })
      expect(calls).toBe(1)

      // the same from an attempt that dies inside Effect
      let died = 0
      const dies = yield* h.run(Policy.run(HttpClientRequest.get(`${h.url}/blow`), () => {
        died++
        return Effect.die(new Error("runtime-error"))
      }))
      expect(Exit.isFailure(dies) && Option.getOrUndefined(Cause.dieOption(dies.cause))).toMatchObject({
        message: "runtime-error"
      })
      expect(died).toBe(1)
    }))

  it.scoped("ensures delay option is positive", () =>
    Effect.gen(function*() {
      // Tesla refuses delay: 0; Sturdy reads a zero baseDelay as "retry at once" (urllib3's backoff_factor=0)
      expect(invalidFields({ retry: tesla({ delay: 0 }) })).toEqual([])
      const h = yield* setup(ok, { retry: tesla({ delay: 0, jitter_factor: 0 }) }, {
        connectFailures: connectErrors(2, "ECONNREFUSED")
      })
      expect(textOf(yield* h.run(h.api.get("/ok")))).toBe(fixture)
      expect(h.decisions.map((d) => [d.retrying, Duration.toMillis(d.delay)])).toEqual([[true, 0], [true, 0]])
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("ensures delay option is an integer", () =>
    Effect.gen(function*() {
      // Tesla refuses delay: 0.25; Sturdy takes a fraction of a millisecond, and its backoff's delays are whole
      // milliseconds rounded down (Backoff's documented rule): 0.25, 0.5 ms wait nothing, 1 ms waits 1 ms
      expect(invalidFields({ retry: tesla({ delay: 0.25 }) })).toEqual([])
      const h = yield* setup(ok, { retry: tesla({ delay: 0.25, jitter_factor: 0 }) }, {
        connectFailures: connectErrors(3, "ECONNREFUSED")
      })
      expect(textOf(yield* h.run(h.api.get("/ok")))).toBe(fixture)
      expect(h.decisions.map((d) => Duration.toMillis(d.delay))).toEqual([0, 0, 1])
    }))

  it("ensures max_delay option is positive", () => {
    // max_delay is both the backoff's cap and the longest Retry-After honoured: each refuses -1
    expect(invalidFields({ retry: tesla({ max_delay: -1, delay: 0 }) })).toEqual([
      "retry.maxDelay",
      "retry.maxRetryAfter"
    ])
  })

  it("ensures max_delay option is an integer", () => {
    // max_delay: "500" (a string Effect cannot read as a duration; it does not type-check either)
    const options = { retry: { ...tesla(), maxDelay: "500" } } as unknown as Policy.Options
    expect(invalidFields(options)).toEqual(["retry.maxDelay"])
  })

  it("ensures max_retries option is not negative", () => {
    // max_retries: -1 is maxAttempts 0
    expect(invalidFields({ retry: tesla({ max_retries: -1 }) })).toEqual(["retry.maxAttempts"])
    expect(invalidFields({ retry: tesla({ max_retries: 0 }) })).toEqual([])
  })

  it("ensures jitter_factor option is a float between 0 and 1", () => {
    expect(invalidFields({ retry: tesla({ jitter_factor: -0.1 }) })).toEqual(["retry.retryAfterJitter"])
    expect(invalidFields({ retry: tesla({ jitter_factor: 1.1 }) })).toEqual(["retry.retryAfterJitter"])
    expect(invalidFields({ retry: tesla({ jitter_factor: 0 }) })).toEqual([])
    expect(invalidFields({ retry: tesla({ jitter_factor: 1 }) })).toEqual([])
  })

  it("ensures should_retry option is a function with arity of 1 or 3", () => {
    // JavaScript cannot hold a predicate to an arity (a function may ignore or read `arguments`): a function of any
    // arity is accepted, and what is not a predicate nor an object of tags is refused
    const notAPredicate = { retry: { ...tesla(), retryOn: "yes" } } as unknown as Policy.Options
    expect(invalidFields(notAPredicate)).toEqual(["retry.retryOn"])
    expect(invalidFields({ retry: { ...tesla(), retryOn: () => true } })).toEqual([])
  })

  it("ensures use_retry_after_header is a boolean", () => {
    const one = { retry: { ...tesla(), respectRetryAfter: 1 } } as unknown as Policy.Options
    expect(invalidFields(one)).toEqual(["retry.respectRetryAfter"])
  })
})
