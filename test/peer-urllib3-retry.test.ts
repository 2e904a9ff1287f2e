/**
 * urllib3's `test/test_retry.py` (class TestRetry) and the retry cases of
 * `test/with_dummyserver/test_connectionpool.py` (classes TestRetry, TestRetryAfter), ported to Sturdy's public API:
 * `SturdyClient` over `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`), `RetryHeaders.parseRetryAfter` and `Backoff` for urllib3's pure helpers, every wait
 * on the TestClock. One `it` per urllib3 case, named after it.
 *
 * Mapping: `Retry(total=n)` is `retry.maxAttempts: n + 1`; `status_forcelist` is `retry.statuses`; `allowed_methods`
 * is `retry.methods`; `respect_retry_after_header` is `retry.respectRetryAfter`; `RETRY_AFTER_STATUS_CODES` (413, 429,
 * 503) is `retry.retryAfterStatuses`' default; `retry_after_max` is `retry.maxRetryAfter`; `backoff_factor × 2^(n−1)`
 * up to `backoff_max` is `Backoff.exponential({ baseDelay, factor: 2, maxDelay, jitter: "none" })`; `raise_on_status=
 * False` (the last response comes back) is `Policy.withPolicy`, which returns the last response when retries end;
 * `MaxRetryError` is the last failure, which carries `attempts`.
 *
 * Deliberate differences (each test says which): urllib3's first retry waits nothing and backoff starts at the
 * second (0, 0.4, 0.8 s ...), Sturdy's first retry waits `baseDelay` (0.4, 0.8 ... s: the first retry of a failing
 * upstream is the one that most needs spacing); `backoff_jitter` adds up to `jitter` seconds where Sturdy's jitter only
 * shortens a delay within its envelope; a `Retry-After` above `retry_after_max` is clamped and slept by urllib3 but
 * fails the call at once in Sturdy (as ky and got do: a client that waits minutes for one call rarely wants to);
 * Sturdy's default is 3 attempts with a 2 s base delay where urllib3's is `total=10` with no backoff.
 *
 * Not ported: test_string, test_history, test_retry_*_remove_headers_on_redirect, test_respect_retry_after_header_
 * propagated (Python object mechanics: repr, history tuples, `Retry.new`), the per-kind counters (test_retry_both_
 * specified, test_retry_higher_total_loses*, test_retry_total_none, test_retry_default's connect/read counts,
 * test_retry_other, test_retry_read_zero, test_status_counter: Sturdy has one attempt limit for every kind of failure,
 * and `retry.retryOn` per tag for anything finer), the redirect cases (test_backoff_reset_after_redirect,
 * test_max_retry/test_disabled_retry's redirects, test_retry_redirect_history, test_multi_redirect_history,
 * test_redirect_after: redirects are `Redirect.follow`, not the retry stage), TestFileBodiesOnRetryOrRedirect and the
 * pool-size cases (urllib3's connection pool).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy, RetryHeaders } from "@sturdy/http"
import { Backoff } from "@sturdy/policy"
import { Chunk, Duration, Effect, Option, Schedule } from "effect"
import { failureOf, fixture, type Handler, send, setup, textOf } from "./utils/retryHarness.js"

/** answers `status` (with `headers`) until request `okAt`, then 200 `fixture` (urllib3's /successful_retry) */
const untilOk = (okAt: number, status: number, headers: Record<string, string> = {}): Handler => (_, response, n) =>
  n >= okAt ? send(response, 200, {}, fixture) : send(response, status, headers)

const fast = { baseDelay: "10 millis", maxDelay: "1 second", jitter: "none", retryAfterJitter: 0 } as const

// 2019-06-03 11:00:00 UTC, urllib3's mocked `time.time()`
const june3 = Date.UTC(2019, 5, 3, 11)
const seconds = (o: Option.Option<Duration.Duration>) => Option.map(o, Duration.toSeconds)

// the delays a schedule chooses, without sleeping
const delaysOf = (schedule: Schedule.Schedule<Duration.Duration>, count: number) =>
  Effect.map(
    Schedule.run(schedule, 0, Array.from({ length: count }, () => undefined)),
    (out) => Chunk.toReadonlyArray(out).map(Duration.toMillis)
  )

describe("urllib3 test/test_retry.py", () => {
  it.effect("test_backoff", () =>
    Effect.gen(function*() {
      // backoff_factor=0.2: urllib3 waits 0, 0.4, 0.8, 1.6 ... up to DEFAULT_BACKOFF_MAX (120 s); Sturdy's first retry
      // already waits (0.4, 0.8, 1.6 ...), and the cap holds the same way
      const out = yield* delaysOf(
        Backoff.exponential({
          baseDelay: "400 millis",
          factor: 2,
          maxDelay: "120 seconds",
          jitter: "none",
          maxAttempts: Infinity
        }),
        14
      )
      expect(out.slice(0, 3)).toEqual([400, 800, 1600])
      expect(out[out.length - 1]).toBe(120_000)
    }))

  it.effect("test_configurable_backoff_max", () =>
    Effect.gen(function*() {
      const out = yield* delaysOf(
        Backoff.exponential({
          baseDelay: "400 millis",
          factor: 2,
          maxDelay: "1 second",
          jitter: "none",
          maxAttempts: 6
        }),
        5
      )
      expect(out).toEqual([400, 800, 1000, 1000, 1000])
    }))

  it.effect("test_backoff_jitter", () =>
    Effect.gen(function*() {
      // urllib3 adds up to backoff_jitter to the delay; Sturdy's jitter spreads it within its envelope and the cap
      // still holds: 0.4 s, then 0.8 s, then at most backoff_max
      for (const jitter of ["full", "equal"] as const) {
        const out = yield* delaysOf(
          Backoff.exponential({ baseDelay: "400 millis", factor: 2, maxDelay: "1 second", jitter, maxAttempts: 6 }),
          5
        )
        expect(out[0]).toBeLessThanOrEqual(400)
        expect(out[1]).toBeLessThanOrEqual(800)
        for (const d of out.slice(2)) expect(d).toBeLessThanOrEqual(1000)
        if (jitter === "equal") expect(out[1]).toBeGreaterThanOrEqual(400)
      }
    }))

  it.scoped("test_zero_backoff", () =>
    Effect.gen(function*() {
      // a backoff of zero: the retries go at once
      const h = yield* setup(untilOk(3, 503), { retry: { baseDelay: 0, maxDelay: 0 } })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.map((s) => s.at - h.seen[0]!.at)).toEqual([0, 0, 0])
    }))

  it.scoped("test_sleep", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(3, 503), {
        retry: { baseDelay: "1 millis", maxDelay: "1 second", jitter: "none" }
      })
      expect(textOf(yield* h.run(h.api.get("/")))).toBe(fixture)
      expect(h.seen.map((s) => s.at - h.seen[0]!.at)).toEqual([0, 1, 3])
    }))

  it.scoped("test_configurable_retry_after_max", () =>
    Effect.gen(function*() {
      // retry_after_max=1: urllib3 sleeps 1 s for `Retry-After: 2`; Sturdy gives up at once (a longer wait than the
      // caller allows fails the call), with the server's failure
      const h = yield* setup(untilOk(2, 503, { "retry-after": "2" }), { retry: { ...fast, maxRetryAfter: "1 second" } })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 503 })
      expect(h.seen.length).toBe(1)
      expect(h.decisions.map((d) => d.reason)).toEqual(["retry-after-too-long"])
      // a wait within the limit is waited exactly
      const ok = yield* setup(untilOk(2, 503, { "retry-after": "1" }), {
        retry: { ...fast, maxRetryAfter: "1 second" }
      })
      expect(textOf(yield* ok.run(ok.api.get("/")))).toBe(fixture)
      expect(ok.seen[1]!.at - ok.seen[0]!.at).toBe(1000)
    }))

  it.scoped("test_status_forcelist", () =>
    Effect.gen(function*() {
      // status_forcelist=range(500, 600): 500 retries, 400 and 200 do not
      const all5xx = Array.from({ length: 100 }, (_, i) => 500 + i)
      const h500 = yield* setup(untilOk(2, 500), { retry: { ...fast, statuses: all5xx } })
      expect(textOf(yield* h500.run(h500.api.get("/")))).toBe(fixture)
      expect(h500.seen.length).toBe(2)
      const h400 = yield* setup(untilOk(2, 400), { retry: { ...fast, statuses: all5xx } })
      expect(failureOf(yield* h400.run(h400.api.get("/")))).toMatchObject({ status: 400 })
      expect(h400.seen.length).toBe(1)

      // status_forcelist=[418]: 418 retries (a status no default retries), 400 does not
      const h418 = yield* setup(untilOk(2, 418), { retry: { ...fast, maxAttempts: 2, statuses: [418] } })
      expect(textOf(yield* h418.run(h418.api.get("/")))).toBe(fixture)
      const not400 = yield* setup(untilOk(2, 400), { retry: { ...fast, maxAttempts: 2, statuses: [418] } })
      expect(failureOf(yield* not400.run(not400.api.get("/")))).toMatchObject({ status: 400 })
      expect(not400.seen.length).toBe(1)

      // string status codes are not matched
      const strings = yield* setup(untilOk(2, 418), {
        retry: { ...fast, maxAttempts: 2, statuses: ["418"] as unknown as ReadonlyArray<number> }
      })
      const exit = yield* strings.run(strings.api.get("/"))
      expect(strings.seen.length).toBe(1)
      expect(exit._tag).toBe("Failure")
    }).pipe(Effect.catchTag("InvalidPolicy", (e) =>
      // refusing the configuration outright is as good as not matching it
      Effect.sync(() => expect(e.message).toMatch(/statuses/)))))

  it.scoped("test_allowed_methods_with_status_forcelist", () =>
    Effect.gen(function*() {
      // allowed_methods=None retries any method: every method listed
      const anyMethod = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const
      const getAny = yield* setup(untilOk(2, 500), { retry: { ...fast, statuses: [500], methods: anyMethod } })
      expect(textOf(yield* getAny.run(getAny.api.get("/")))).toBe(fixture)
      const postAny = yield* setup(untilOk(2, 500), { retry: { ...fast, statuses: [500], methods: anyMethod } })
      expect(textOf(yield* postAny.run(postAny.api.post("/")))).toBe(fixture)
      expect(postAny.seen.length).toBe(2)

      // allowed_methods and status_forcelist are ANDed
      const get = yield* setup(untilOk(2, 500), { retry: { ...fast, statuses: [500], methods: ["POST"] } })
      expect(failureOf(yield* get.run(get.api.get("/")))).toMatchObject({ status: 500 })
      expect(get.seen.length).toBe(1)
      const post = yield* setup(untilOk(2, 500), { retry: { ...fast, statuses: [500], methods: ["POST"] } })
      expect(textOf(yield* post.run(post.api.post("/")))).toBe(fixture)
    }))

  it.scoped("test_exhausted", () =>
    Effect.gen(function*() {
      // Retry(1): one retry, then the last failure, which says how many attempts were made
      const h = yield* setup(untilOk(5, 503), { retry: { ...fast, maxAttempts: 2 } })
      const failure = failureOf(yield* h.run(h.api.get("/")))
      expect(h.seen.length).toBe(2)
      expect(Policy.attemptsOf(failure)).toBe(2)
    }))

  it.scoped("test_disabled", () =>
    Effect.gen(function*() {
      // Retry(0) and Retry(-1): no retry. `retry: false` and `maxAttempts: 1` both make one attempt
      for (const retry of [false, { maxAttempts: 1 }] as const) {
        const h = yield* setup(untilOk(5, 503), { retry })
        expect(failureOf(yield* h.run(h.api.get("/")))).toMatchObject({ _tag: "ServerError", status: 503 })
        expect(h.seen.length).toBe(1)
      }
      // a negative count is a configuration error, not "no retry"
      const invalid = Policy.validate({ retry: { maxAttempts: -1 } })
      expect(invalid._tag).toBe("Left")
    }))

  it.scoped("test_error_message", () =>
    Effect.gen(function*() {
      // MaxRetryError names the last failure: here the failure itself, with the attempts at the end of its message
      const h = yield* setup(untilOk(5, 500), { retry: { ...fast, maxAttempts: 2 } })
      const failure = failureOf(yield* h.run(h.api.get("/test")))
      expect(failure).toMatchObject({ _tag: "ServerError", status: 500 })
      expect(failure.message).toMatch(/500/)
      expect(failure.message).toMatch(/after 2 attempts/)
      expect(failure.message).not.toMatch(/redirect/i)
    }))

  it.scoped("test_retry_method_not_allowed", () =>
    Effect.gen(function*() {
      // a read timeout of a POST is not retried: it may have been applied
      const h = yield* setup(
        (_, response, __, tools) => tools.later(1000, () => send(response, 200, {}, fixture)),
        { attemptTimeout: "500 millis", retry: fast }
      )
      expect(failureOf(yield* h.run(h.api.post("/")))).toMatchObject({ _tag: "Timeout", phase: "Attempt" })
      expect(h.seen.length).toBe(1)
    }))

  it.each(["-1", "+1", "1.0", "\xb2"])("test_parse_retry_after_invalid %j", (value) => {
    // urllib3 raises InvalidHeader; Sturdy ignores the value (the backoff applies)
    expect(RetryHeaders.parseRetryAfter(value, june3)).toEqual(Option.none())
  })

  it.each([["0", 0], ["1000", 1000], ["\t42 ", 42]] as const)("test_parse_retry_after %j", (value, expected) => {
    expect(seconds(RetryHeaders.parseRetryAfter(value, june3))).toEqual(Option.some(expected))
  })

  it.each(
    [
      ["3600", 3600],
      // an hour from now
      ["Mon, 3 Jun 2019 12:00:00 UTC", 3600],
      // now: no wait
      ["Mon, 3 Jun 2019 11:00:00 UTC", 0],
      // the three formats of RFC 7231 §7.1.1.1
      ["Mon, 03 Jun 2019 11:30:12 GMT", 1812],
      ["Monday, 03-Jun-19 11:30:12 GMT", 1812],
      // asctime has no zone: UTC
      ["Mon Jun  3 11:30:12 2019", 1812]
    ] as const
  )("test_respect_retry_after_header_sleep %j", (value, expected) => {
    expect(seconds(RetryHeaders.parseRetryAfter(value, june3))).toEqual(Option.some(expected))
  })

  it.scoped("test_respect_retry_after_header_sleep (respect_retry_after_header False and True over HTTP)", () =>
    Effect.gen(function*() {
      // respected: the wait is the server's (3600 s, within a maxRetryAfter that allows it)
      const respected = yield* setup(untilOk(2, 503, { "retry-after": "3600" }), {
        totalTimeout: "2 hours",
        attemptTimeout: "10 seconds",
        retry: { ...fast, maxRetryAfter: "2 hours" }
      })
      expect(textOf(yield* respected.run(respected.api.get("/")))).toBe(fixture)
      expect(respected.seen[1]!.at - respected.seen[0]!.at).toBe(3_600_000)
      // not respected: the backoff applies (10 ms)
      const ignored = yield* setup(untilOk(2, 503, { "retry-after": "3600" }), {
        retry: { ...fast, respectRetryAfter: false }
      })
      expect(textOf(yield* ignored.run(ignored.api.get("/")))).toBe(fixture)
      expect(ignored.seen[1]!.at - ignored.seen[0]!.at).toBe(10)
      // a date in the past: no wait
      const past = yield* setup(
        (_, response, n) =>
          n >= 2
            ? send(response, 200, {}, fixture)
            : send(response, 503, { "retry-after": new Date(Date.now() - 3_600_000).toUTCString() }),
        { retry: fast }
      )
      expect(textOf(yield* past.run(past.api.get("/")))).toBe(fixture)
      expect(past.seen[1]!.at - past.seen[0]!.at).toBe(0)
    }))
})

describe("urllib3 test/with_dummyserver/test_connectionpool.py TestRetry", () => {
  it.scoped("test_read_retries", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 418), { retry: { ...fast, maxAttempts: 2, statuses: [418] } })
      expect(textOf(yield* h.run(h.api.get("/successful_retry")))).toBe(fixture)
    }))

  it.scoped("test_read_total_retries", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 418), { retry: { ...fast, maxAttempts: 2, statuses: [418] } })
      expect(textOf(yield* h.run(h.api.get("/successful_retry")))).toBe(fixture)
      expect(h.seen.length).toBe(2)
    }))

  it.scoped("test_retries_wrong_forcelist", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 418), { retry: { ...fast, maxAttempts: 2, statuses: [202] } })
      expect(failureOf(yield* h.run(h.api.get("/successful_retry")))).toMatchObject({
        _tag: "ClientError",
        status: 418
      })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("test_default_method_forcelist_retried", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 418), { retry: { ...fast, maxAttempts: 2, statuses: [418] } })
      const exit = yield* h.run(h.api.options("/successful_retry"))
      expect(exit._tag).toBe("Success")
      expect(h.seen.map((s) => s.method)).toEqual(["OPTIONS", "OPTIONS"])
    }))

  it.scoped("test_retries_wrong_method_list", () =>
    Effect.gen(function*() {
      const h = yield* setup(untilOk(2, 418), {
        retry: { ...fast, maxAttempts: 2, statuses: [418], methods: ["POST"] }
      })
      expect(failureOf(yield* h.run(h.api.get("/successful_retry")))).toMatchObject({ status: 418 })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("test_read_retries_unsuccessful", () =>
    Effect.gen(function*() {
      // retries=1 with no forcelist: a 418 is an answer, not retried; with raise_on_status off (withPolicy) the
      // response itself comes back
      const h = yield* setup(untilOk(2, 418), { retry: { ...fast, maxAttempts: 2 } })
      expect(failureOf(yield* h.run(h.api.get("/successful_retry")))).toMatchObject({ status: 418 })
      expect(h.seen.length).toBe(1)

      const raw = yield* setup(untilOk(2, 418), { retry: { ...fast, maxAttempts: 2 } })
      const client = Policy.withPolicy(raw.platform, raw.policy)
      const response = yield* raw.run(client.execute(HttpClientRequest.get(`${raw.url}/successful_retry`)))
      expect(response._tag === "Success" && response.value.status).toBe(418)
      expect(raw.seen.length).toBe(1)
    }))

  it.scoped("test_retry_reuse_safe", () =>
    Effect.gen(function*() {
      // one policy, two calls: each call has its own attempts
      const h = yield* setup((_, response, n) => n % 2 === 0 ? send(response, 200, {}, fixture) : send(response, 418), {
        retry: { ...fast, maxAttempts: 2, statuses: [418] }
      })
      expect(textOf(yield* h.run(h.api.get("/successful_retry")))).toBe(fixture)
      expect(textOf(yield* h.run(h.api.get("/successful_retry")))).toBe(fixture)
      expect(h.seen.length).toBe(4)
    }))

  it.scoped("test_retry_return_in_response", () =>
    Effect.gen(function*() {
      // Retry(total=2): one retry was used (the decision log plays the part of `resp.retries.history`)
      const h = yield* setup(untilOk(2, 418), { retry: { ...fast, maxAttempts: 3, statuses: [418] } })
      expect(textOf(yield* h.run(h.api.get("/successful_retry")))).toBe(fixture)
      expect(h.decisions.map((d) => [d.attempt, d.retrying])).toEqual([[2, true]])
    }))
})

describe("urllib3 test/with_dummyserver/test_connectionpool.py TestRetryAfter", () => {
  it.scoped("test_retry_after", () =>
    Effect.gen(function*() {
      // the dummy server answers the status with `Retry-After: 1` when asked twice within a second
      const retryAfter = (status: number): Handler => (_, response, n) =>
        n === 1 ? send(response, status, { "retry-after": "1" }) : send(response, 200, {}, fixture)

      // retries=False: the 429 and the 503 themselves
      for (const status of [429, 503]) {
        const off = yield* setup(retryAfter(status), { retry: false })
        expect(failureOf(yield* off.run(off.api.get("/retry_after")))).toMatchObject({ status })
      }
      // retries=True: waited out (1 s exactly), then 200
      for (const status of [429, 503]) {
        const on = yield* setup(retryAfter(status), { retry: fast })
        expect(textOf(yield* on.run(on.api.get("/retry_after")))).toBe(fixture)
        expect(on.seen[1]!.at - on.seen[0]!.at).toBe(1000)
      }
      // Retry-After on a status outside RETRY_AFTER_STATUS_CODES: ignored, and 418 is not retried
      const teapot = yield* setup(retryAfter(418), { retry: fast })
      expect(failureOf(yield* teapot.run(teapot.api.get("/retry_after")))).toMatchObject({ status: 418 })
      expect(teapot.seen.length).toBe(1)
      // ... and when 418 is retried (forcelist), its Retry-After is still not the wait: the backoff is
      const forced = yield* setup(retryAfter(418), { retry: { ...fast, statuses: [418] } })
      expect(textOf(yield* forced.run(forced.api.get("/retry_after")))).toBe(fixture)
      expect(forced.seen[1]!.at - forced.seen[0]!.at).toBe(10)
    }))
})
