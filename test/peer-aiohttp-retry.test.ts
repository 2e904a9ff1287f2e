/**
 * aiohttp-retry's `RetryClient`, ported to Sturdy's public API over a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`, every wait on the TestClock). Source: inyutin/aiohttp_retry, `tests/test_client.py`
 * with its server `tests/app.py`, at 4d336bdce20cdd00ba4a08d052af3dc32879d952 (the client: `aiohttp_retry/client.py`,
 * same commit). One `it` per pytest case (per parameter set for the parametrized ones), named after it. The
 * `get_timeout` sequences of `tests/test_retry_options.py` are in `packages/policy/test/peer-aiohttp-retry-Backoff.test.ts`.
 *
 * `App`'s handlers are the server's paths: `/ping` answers 200 "Ok!", `/internal_error` 500, `/not_found_error` 404,
 * `/sometimes_error` 500 but 200 "Ok!" on its third request, `/sometimes_json` text "Ok!" but JSON `{"status": "Ok!"}`
 * on its third, `/check_headers` 406 unless the `correct_headers: True` header came, `/with_auth` 403 unless the Basic
 * credentials `username:password` came; `test_app.counter` is the number of requests the server saw.
 *
 * Mapping (`aiohttp` below): `ExponentialRetry(attempts=n)` (default 3) is `retry.maxAttempts: n` (both count the first
 * attempt), its `start_timeout` (0.1 s), `factor` (2) and `max_timeout` (30 s) are `retry.baseDelay`, the policy's
 * doubling and `retry.maxDelay`, with `jitter: "none"`; `statuses` with `retry_all_server_errors` (the default) is
 * `retry.statuses` listing them and the 5xx Sturdy retries; `retry_all_server_errors=False` with no statuses is
 * `retry.statuses: []`; `methods` is `retry.methods`; `ListRetry(timeouts)` is `retry.delay` reading the list;
 * `evaluate_response_callback` (a response it rejects is retried) is a decoding `schema` with `retry.retryOn` for the
 * decode failures; a per-call `retry_options` is an `endpoints` override; `raise_for_status=True` is `SturdyClient`
 * (a non-2xx fails the call, with its status), `raise_for_status=False` (the default: the last response comes back)
 * is `Policy.withPolicy`; `trace_request_ctx`'s `current_attempt` is the per-call `onEvent`'s `AttemptStarted`.
 *
 * Deliberate differences (each test says which): aiohttp-retry's client passes the 1-based attempt to `get_timeout`,
 * so `ExponentialRetry`'s first retry waits `start_timeout × factor` (0.2 s) and `ListRetry` never uses its first
 * timeout, where Sturdy's first retry waits `baseDelay` and `retry.delay(1)` is the wait after the first attempt;
 * `retry_all_server_errors` retries every 5xx, Sturdy not 501, 505 nor 511 (and its default rules retry 408 and 429
 * too, which aiohttp-retry retries only when listed in `statuses`); aiohttp-retry retries every method by
 * default (POST included) and no exception unless listed in `exceptions`, Sturdy retries only what is safe to repeat
 * and transient transport failures by default; a `RetryClient`'s options are a mutable object changed between calls,
 * Sturdy's `Policy` is immutable (a new limit is a new `Policy`).
 *
 * Not ported: test_hello_with_context, test_hello_awaitable and test_implicit_client (Python's `async with`, `await`
 * and an implicitly created `ClientSession`: a `SturdyClient` is a value built once); test_change_urls_in_request,
 * test_change_urls_as_tuple_in_request, test_pass_bad_urls, test_multiply_urls_by_requests,
 * test_multiply_methods_by_requests and test_change_headers (a list of URLs or request parameters, one per attempt:
 * Sturdy repeats the same request on every attempt and has no per-attempt request list).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { type HttpFailure, Policy } from "@sturdy/http"
import { Effect, Exit, Schema } from "effect"
import { delays, failureOf, gaps, type Handler, type Harness, send, setup, textOf } from "./utils/retryHarness.js"

/** tests/app.py's handlers, by path (n is the request's number, test_app.counter after it) */
const app: Handler = (request, response, n) => {
  const path = request.path.split("?")[0]
  switch (path) {
    case "/internal_error":
      return send(response, 500, {}, "500: Internal Server Error")
    case "/not_found_error":
      return send(response, 404, {}, "404: Not Found")
    case "/sometimes_error":
      return n === 3 ? send(response, 200, {}, "Ok!") : send(response, 500, {}, "500: Internal Server Error")
    case "/sometimes_json":
      return n === 3
        ? send(response, 200, { "content-type": "application/json" }, JSON.stringify({ status: "Ok!" }))
        : send(response, 200, { "content-type": "text/plain" }, "Ok!")
    case "/check_headers":
      return request.headers["correct_headers"] === "True"
        ? send(response, 200, {}, "Ok!")
        : send(response, 406, {}, "406: Not Acceptable")
    case "/with_auth":
      return request.headers.authorization === "Basic dXNlcm5hbWU6cGFzc3dvcmQ="
        ? send(response, 200, {}, "Ok!")
        : send(response, 403, {}, "incorrect auth")
    default:
      return send(response, 200, {}, "Ok!")
  }
}

/** the 5xx statuses Sturdy retries (all but 501, 505 and 511), for `retry_all_server_errors` with `statuses` */
const serverErrors = Array.from({ length: 100 }, (_, i) => 500 + i).filter((s) => ![501, 505, 511].includes(s))

interface ExponentialRetry {
  readonly attempts?: number
  readonly statuses?: ReadonlyArray<number>
  readonly retry_all_server_errors?: boolean
  readonly methods?: Policy.RetryOptions["methods"]
}

/** `ExponentialRetry(...)` (its defaults where unset) as Sturdy's `retry` options; see the header */
const aiohttp = (options: ExponentialRetry = {}): Policy.RetryOptions => {
  const all = options.retry_all_server_errors ?? true
  return {
    maxAttempts: options.attempts ?? 3,
    baseDelay: "100 millis",
    maxDelay: "30 seconds",
    jitter: "none",
    // unset with retry_all_server_errors: Sturdy's default status rules
    statuses: options.statuses === undefined && all
      ? undefined
      : [...(options.statuses ?? []), ...(all ? serverErrors : [])],
    methods: options.methods
  }
}

/** `ListRetry(timeouts)` (seconds): as many attempts as timeouts, the wait after attempt n read from the list */
const listRetry = (timeouts: ReadonlyArray<number>, statuses?: ReadonlyArray<number>): Policy.RetryOptions => ({
  ...aiohttp({ attempts: timeouts.length, ...(statuses === undefined ? {} : { statuses }) }),
  delay: (attempt) => timeouts[attempt - 1]! * 1000
})

/** a GET through `Policy.withPolicy` (raise_for_status=False: the last response comes back): status and text */
const getRaw = (h: Harness, request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const exit = yield* h.run(
      Effect.flatMap(
        Policy.withPolicy(h.platform, h.policy).execute(request),
        (response) => Effect.map(response.text, (text) => ({ status: response.status, text }))
      )
    )
    if (Exit.isFailure(exit)) return failureOf(exit)
    return exit.value
  })
const rawGet = (h: Harness, path: string) => getRaw(h, HttpClientRequest.get(`${h.url}${path}`))

describe("aiohttp-retry tests/test_client.py", () => {
  it.scoped("test_hello", () =>
    Effect.gen(function*() {
      const h = yield* setup(app, { retry: aiohttp() })
      expect(yield* rawGet(h, "/ping")).toEqual({ status: 200, text: "Ok!" })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("test_hello_by_request", () =>
    Effect.gen(function*() {
      const h = yield* setup(app, { retry: aiohttp() })
      const received = yield* h.run(h.api.execute(HttpClientRequest.make("GET")("/ping")))
      expect(Exit.isSuccess(received) && received.value.status).toBe(200)
      expect(textOf(received)).toBe("Ok!")
      expect(h.seen.map((s) => s.method)).toEqual(["GET"])
    }))

  it.scoped("test_internal_error", () =>
    Effect.gen(function*() {
      const h = yield* setup(app, { retry: aiohttp({ attempts: 5 }) })
      expect(yield* rawGet(h, "/internal_error")).toMatchObject({ status: 500 })
      expect(h.seen.length).toBe(5)
      // aiohttp-retry waits 0.2, 0.4, 0.8, 1.6 s (get_timeout(1..4)); Sturdy's first retry waits start_timeout
      expect(delays(h)).toEqual([100, 200, 400, 800])
    }))

  it.scoped("test_not_found_error", () =>
    Effect.gen(function*() {
      const h = yield* setup(app, { retry: aiohttp({ attempts: 5, statuses: [404] }) })
      expect(yield* rawGet(h, "/not_found_error")).toMatchObject({ status: 404 })
      expect(h.seen.length).toBe(5)
    }))

  it.scoped("test_sometimes_error", () =>
    Effect.gen(function*() {
      const h = yield* setup(app, { retry: aiohttp({ attempts: 5 }) })
      expect(yield* rawGet(h, "/sometimes_error")).toEqual({ status: 200, text: "Ok!" })
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("test_sometimes_error_with_raise_for_status", () =>
    Effect.gen(function*() {
      // raise_for_status=True: SturdyClient, which fails on a non-2xx; the 500s are retried before that
      const h = yield* setup(app, { retry: aiohttp({ attempts: 5 }) })
      expect(textOf(yield* h.run(h.api.get("/sometimes_error")))).toBe("Ok!")
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("test_override_options", () =>
    Effect.gen(function*() {
      // the client's options say 1 attempt; the call's say 5 (an endpoint override)
      const h = yield* setup(app, {
        retry: aiohttp({ attempts: 1 }),
        endpoints: { "GET /sometimes_error": { retry: aiohttp({ attempts: 5 }) } }
      })
      expect(yield* rawGet(h, "/sometimes_error")).toEqual({ status: 200, text: "Ok!" })
      expect(h.seen.length).toBe(3)
    }))

  it.scoped("test_add_trace_request_ctx", () =>
    Effect.gen(function*() {
      // trace_request_ctx={"foo": "bar"} plus current_attempt per attempt: the call's own hook, its own context
      const contexts: Array<{ readonly foo: string; readonly current_attempt: number }> = []
      const h = yield* setup(app, { retry: aiohttp() })
      const exit = yield* h.run(h.api.get("/sometimes_error", {
        onEvent: (event) =>
          Effect.sync(() => {
            if (event._tag === "AttemptStarted") contexts.push({ foo: "bar", current_attempt: event.attempt })
          })
      }))
      expect(textOf(exit)).toBe("Ok!")
      expect(h.seen.length).toBe(3)
      expect(contexts).toEqual([1, 2, 3].map((i) => ({ foo: "bar", current_attempt: i })))
    }))

  for (
    const [url, method] of [
      ["/options_handler", "options"],
      ["/head_handler", "head"],
      ["/post_handler", "post"],
      ["/put_handler", "put"],
      ["/patch_handler", "patch"],
      ["/delete_handler", "delete"]
    ] as const
  ) {
    it.scoped(`test_methods[${url}-${method}]`, () =>
      Effect.gen(function*() {
        const h = yield* setup(app, { retry: aiohttp() })
        const call = method === "delete" ? h.api.del(url) : h.api[method](url)
        const exit = yield* h.run(call)
        expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
        // response.method.lower() == method: the request went out with it
        expect(h.seen.map((s) => s.method.toLowerCase())).toEqual([method])
      }))
  }

  it.scoped("test_not_found_error_with_retry_client_raise_for_status", () =>
    Effect.gen(function*() {
      // the client raises for status; the call overriding raise_for_status=False gets the 404 back instead
      const h = yield* setup(app, { retry: aiohttp({ attempts: 5, statuses: [404] }) })
      const failure = failureOf(yield* h.run(h.api.get("/not_found_error"))) as HttpFailure.ClientError
      expect(failure).toMatchObject({ _tag: "ClientError", status: 404, attempts: 5 })
      expect(h.seen.length).toBe(5)

      expect(yield* rawGet(h, "/not_found_error")).toMatchObject({ status: 404 })
      expect(h.seen.length).toBe(10)
    }))

  it.scoped("test_request", () =>
    Effect.gen(function*() {
      const h = yield* setup(app, { retry: aiohttp() })
      expect(textOf(yield* h.run(h.api.execute(HttpClientRequest.make("GET")("/ping"))))).toBe("Ok!")
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("test_url_as_yarl", () =>
    Effect.gen(function*() {
      // a URL object rather than a string
      const h = yield* setup(app, { retry: aiohttp() })
      expect(textOf(yield* h.run(h.api.get(HttpClientRequest.get(new URL("/ping", h.url)))))).toBe("Ok!")
      expect(h.seen.map((s) => s.path)).toEqual(["/ping"])
    }))

  it.scoped("test_change_client_retry_options", () =>
    Effect.gen(function*() {
      // first with 5 attempts: the third request succeeds
      const five = yield* setup(app, { retry: aiohttp({ attempts: 5 }) })
      expect(yield* rawGet(five, "/sometimes_error")).toEqual({ status: 200, text: "Ok!" })
      expect(five.seen.length).toBe(3)

      // then with 2 (aiohttp-retry mutates retry_options.attempts; a Policy is immutable, so a new one): the 500
      const two = yield* setup(app, { retry: aiohttp({ attempts: 2 }) })
      expect(yield* rawGet(two, "/sometimes_error")).toMatchObject({ status: 500 })
      expect(two.seen.length).toBe(2)
    }))

  it.scoped("test_not_retry_server_errors", () =>
    Effect.gen(function*() {
      const h = yield* setup(app, { retry: aiohttp({ retry_all_server_errors: false }) })
      expect(yield* rawGet(h, "/internal_error")).toMatchObject({ status: 500 })
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("test_list_retry_works_for_multiple_attempts", () =>
    Effect.gen(function*() {
      const h = yield* setup(app, { retry: listRetry([0, 0, 0]) })
      expect(yield* rawGet(h, "/internal_error")).toMatchObject({ status: 500 })
      expect(h.seen.length).toBe(3)
      expect(gaps(h)).toEqual([0, 0])
    }))

  it.scoped("test_dont_retry_if_not_in_retry_methods", () =>
    Effect.gen(function*() {
      // every method retries by default (for a GET, Sturdy's default too)
      const all = yield* setup(app, { retry: aiohttp() })
      expect(yield* rawGet(all, "/internal_error")).toMatchObject({ status: 500 })
      expect(all.seen.length).toBe(3)

      // methods={"POST"}: a GET is not retried
      const post = yield* setup(app, { retry: aiohttp({ methods: ["POST"] }) })
      expect(yield* rawGet(post, "/internal_error")).toMatchObject({ status: 500 })
      expect(post.seen.length).toBe(1)
    }))

  it.scoped("test_evaluate_response_callback", () =>
    Effect.gen(function*() {
      // the callback's response.json() refuses a text/plain body: retried until the JSON comes (the third)
      const h = yield* setup(app, {
        retry: { ...aiohttp({ attempts: 5 }), retryOn: { UnexpectedContentType: true, InvalidJson: true } }
      })
      const body = yield* h.run(h.api.get("/sometimes_json", { schema: Schema.Struct({ status: Schema.String }) }))
      expect(Exit.isSuccess(body) && body.value).toEqual({ status: "Ok!" })
      expect(h.seen.length).toBe(3)
      expect(h.decisions.filter((d) => d.retrying).map((d) => d.failure._tag)).toEqual([
        "UnexpectedContentType",
        "UnexpectedContentType"
      ])
    }))

  it.scoped("test_additional_params", () =>
    Effect.gen(function*() {
      // auth=BasicAuth("username", "password") goes with the request
      const h = yield* setup(app, { retry: aiohttp() })
      const request = HttpClientRequest.get("/with_auth").pipe(HttpClientRequest.basicAuth("username", "password"))
      expect(textOf(yield* h.run(h.api.execute(request)))).toBe("Ok!")
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("test_request_headers", () =>
    Effect.gen(function*() {
      const h = yield* setup(app, { retry: aiohttp() })
      expect(textOf(yield* h.run(h.api.get("/check_headers", { headers: { correct_headers: "True" } })))).toBe("Ok!")
      expect(h.seen.length).toBe(1)
    }))

  it.scoped("test_list_retry_all_failed", () =>
    Effect.gen(function*() {
      // ListRetry([1] * 3, statuses={403}) and a callback that rejects every response: three attempts, a second
      // apart, then the 403 comes back
      const h = yield* setup(app, { retry: listRetry([1, 1, 1], [403]) })
      expect(yield* rawGet(h, "/with_auth")).toEqual({ status: 403, text: "incorrect auth" })
      expect(h.seen.length).toBe(3)
      expect(gaps(h)).toEqual([1000, 1000])
    }))
})
