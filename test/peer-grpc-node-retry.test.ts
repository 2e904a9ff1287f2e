/**
 * grpc-node's `packages/grpc-js/test/test-retry.ts` and `packages/grpc-js/test/test-retry-config.ts` (grpc/grpc-node,
 * commit 2670b37a25dcd1e7b655609b0dc041060b1d8921), ported to Sturdy's public API: `Policy`'s `retry` and `hedging`
 * options over `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1
 * (`test/utils/retryHarness.ts`), every wait on the TestClock; the config cases against `Policy.make` (the
 * `retryThrottling` ones are in `packages/policy/test/peer-grpc-node-RetryBudget.test.ts`). One `it` per grpc-node
 * case, named after it (under its `describe`).
 *
 * Mapping: grpc-node's echo server fails until `grpc-previous-rpc-attempts` equals the call's
 * `succeed-on-retry-attempt`; here the previous attempts are `retryCountHeader: true` (`x-retry-count`: 0 on the
 * first attempt, n on the n-th retry or hedged copy) and the server fails with the `respond-with-status` header's
 * HTTP status, its body `Failed on retry <n>`. gRPC statuses map to HTTP failures: UNKNOWN (grpc-node's default
 * failure) is 500, UNAVAILABLE (14) is 503, RESOURCE_EXHAUSTED is 429 (without `Retry-After`: no server wait),
 * NOT_FOUND is 404, and the custom code 300 a status of no registry, 599. `retryPolicy { maxAttempts, initialBackoff,
 * maxBackoff, backoffMultiplier, retryableStatusCodes }` is `retry { maxAttempts, delay: initialBackoff ×
 * multiplier^(n−1), maxDelay, statuses }`; `retryThrottling` is the retry budget (`retry.budget: true`; its ratio and
 * floor are `RetryBudget`'s defaults, see `packages/policy/test/peer-grpc-RetryThrottling.test.ts`); `hedgingPolicy
 * { maxAttempts, nonFatalStatusCodes }` is `hedging { delay: 0 (gRPC's default hedgingDelay), maxHedges: maxAttempts
 * − 1 }` with `retry { maxAttempts: 1, statuses: nonFatalStatusCodes }` (a gRPC hedged call is not retried); the
 * channel option `grpc.enable_retries: 0` is `retry: false`.
 *
 * Deliberate differences (each test says which):
 * - A client with no retry policy configured does not retry in grpc-node; Sturdy's default policy retries (3
 *   attempts, 2 s base delay: the `Policy` defaults).
 * - grpc-node caps `maxAttempts` (retry and hedging) at 5 unless the channel option
 *   `grpc-node.retry_max_attempts_limit` raises it; Sturdy has no cap (`retry.maxAttempts` above 10 only with a
 *   deadline, which `totalTimeout` gives by default; `hedging.maxHedges` any integer ≥ 0).
 * - Config validation: Sturdy has defaults where gRPC requires a field (`maxAttempts`, the backoffs, the statuses),
 *   accepts `maxAttempts: 1` (no retry) and `maxHedges: 0` (no hedge) where gRPC requires at least 2, and an empty
 *   `statuses` (no status retries) where gRPC requires a non-empty list; durations are Effect durations, so "a
 *   string without an s" is any string that is not one.
 *
 * Not ported: the `backoffMultiplier` cases (Sturdy's exponential backoff doubles; another growth is `retry.delay`,
 * a function nothing validates beyond its result) and "unknown status code name" (status names are a gRPC notion);
 * the `retryThrottling` cases are in `packages/policy/test/peer-grpc-node-RetryBudget.test.ts`. grpc-node's tests
 * have no case of server pushback (`grpc-retry-pushback-ms`): its HTTP counterpart, `Retry-After`, is covered by
 * `test/peer-grpc-hedging-http.test.ts` (grpc-java's pushback cases) and the retry ports.
 */
import { describe, expect, it } from "@effect/vitest"
import { Policy } from "@sturdy/http"
import { Duration, Effect, Exit } from "effect"
import { failureOf, type Handler, send, setup, statusOf, textOf } from "./utils/retryHarness.js"

const UNKNOWN = 500
const UNAVAILABLE = 503
const RESOURCE_EXHAUSTED = 429
const NOT_FOUND = 404
/** the test's custom status 300 (outside every list) */
const CUSTOM = 599
const echo = "test value"

/** grpc-node's serviceImpl.echo: fails with `respond-with-status` until the previous attempts reach the wanted one */
const echoServer: Handler = (request, response) => {
  const previous = Number(request.headers["x-retry-count"] ?? "0")
  const succeedOn = request.headers["succeed-on-retry-attempt"]
  if (succeedOn === undefined || String(previous) === succeedOn) return send(response, 200, {}, echo)
  const status = request.headers["respond-with-status"]
  send(response, status === undefined ? UNKNOWN : Number(status), {}, `Failed on retry ${previous}`)
}

/** the call's metadata: `succeed-on-retry-attempt` and `respond-with-status` */
const metadata = (succeedOn: number, status?: number) => ({
  headers: {
    "succeed-on-retry-attempt": String(succeedOn),
    ...(status === undefined ? {} : { "respond-with-status": String(status) })
  }
})

/** the previous attempts (`grpc-previous-rpc-attempts`) of each request the server saw */
const previousAttempts = (seen: ReadonlyArray<{ readonly headers: Record<string, unknown> }>) =>
  seen.map((s) => Number(s.headers["x-retry-count"]))

/** retryPolicy { maxAttempts, initialBackoff: 0.1s, maxBackoff: 10s, backoffMultiplier: 1.2, codes [14, 8] } */
const retryPolicy = (maxAttempts: number): Policy.Options => ({
  retryCountHeader: true,
  retry: {
    maxAttempts,
    delay: (attempt) => 100 * 1.2 ** (attempt - 1),
    maxDelay: "10 seconds",
    statuses: [UNAVAILABLE, RESOURCE_EXHAUSTED],
    budget: true
  }
})

/** hedgingPolicy { maxAttempts, nonFatalStatusCodes: [14, 'RESOURCE_EXHAUSTED'] }, no hedgingDelay (0 s) */
const hedgingPolicy = (maxAttempts: number): Policy.Options => ({
  retryCountHeader: true,
  hedging: { delay: 0, maxHedges: maxAttempts - 1 },
  retry: { maxAttempts: 1, statuses: [UNAVAILABLE, RESOURCE_EXHAUSTED] },
  attemptTimeout: false
})

describe("peer grpc-node test-retry.ts", () => {
  describe("Client with retries disabled", () => {
    const disabled: Policy.Options = { retryCountHeader: true, retry: false }

    it.scoped("Should be able to make a basic request", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, disabled)
        expect(textOf(yield* h.run(h.api.get("/echo")))).toBe(echo)
        expect(h.seen).toHaveLength(1)
      }))

    it.scoped("Should fail if the server fails the first request", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, disabled)
        const failure = failureOf(yield* h.run(h.api.get("/echo", metadata(1))))
        // "Failed on retry 0": the first attempt's failure, not retried
        expect(statusOf(failure)).toBe(UNKNOWN)
        expect(previousAttempts(h.seen)).toEqual([0])
      }))
  })

  describe("Client with retries enabled but not configured", () => {
    const defaults: Policy.Options = { retryCountHeader: true }

    it.scoped("Should be able to make a basic request", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, defaults)
        expect(textOf(yield* h.run(h.api.get("/echo")))).toBe(echo)
        expect(h.seen).toHaveLength(1)
      }))

    it.scoped("Should fail if the server fails the first request", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, defaults)
        const exit = yield* h.run(h.api.get("/echo", metadata(1)))
        // grpc-node: no retry policy, no retry, "Failed on retry 0". Sturdy (deliberate difference): the default
        // policy retries a 500 after its 2 s base delay (full jitter), and the retry succeeds
        expect(textOf(exit)).toBe(echo)
        expect(previousAttempts(h.seen)).toEqual([0, 1])
        expect(h.decisions.map((d) => d.retrying)).toEqual([true])
      }))
  })

  describe("Client with retries configured", () => {
    it.scoped("Should be able to make a basic request", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, retryPolicy(3))
        expect(textOf(yield* h.run(h.api.get("/echo")))).toBe(echo)
        expect(h.seen).toHaveLength(1)
      }))

    it.scoped("Should succeed with few required attempts", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, retryPolicy(3))
        const exit = yield* h.run(h.api.get("/echo", metadata(2, RESOURCE_EXHAUSTED)))
        expect(textOf(exit)).toBe(echo)
        expect(previousAttempts(h.seen)).toEqual([0, 1, 2])
        // initialBackoff 0.1 s, then × 1.2 (each at most that: full jitter)
        const waits = h.decisions.map((d) => Duration.toMillis(d.delay))
        expect(waits).toHaveLength(2)
        expect(waits[0]).toBeLessThanOrEqual(100)
        expect(waits[1]).toBeLessThanOrEqual(120)
      }))

    it.scoped("Should fail with many required attempts", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, retryPolicy(3))
        const failure = failureOf(yield* h.run(h.api.get("/echo", metadata(4, RESOURCE_EXHAUSTED))))
        // "Failed on retry 2": the third attempt's failure is the call's
        expect(statusOf(failure)).toBe(RESOURCE_EXHAUSTED)
        expect(previousAttempts(h.seen)).toEqual([0, 1, 2])
        expect(Policy.attemptsOf(failure)).toBe(3)
      }))

    it.scoped("Should fail with a fatal status code", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, retryPolicy(3))
        const failure = failureOf(yield* h.run(h.api.get("/echo", metadata(2, NOT_FOUND))))
        // "Failed on retry 0": NOT_FOUND is not in retryableStatusCodes
        expect(statusOf(failure)).toBe(NOT_FOUND)
        expect(previousAttempts(h.seen)).toEqual([0])
      }))

    it.scoped("Should not be able to make more than 5 attempts", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, retryPolicy(10))
        const exit = yield* h.run(h.api.get("/echo", metadata(6, RESOURCE_EXHAUSTED)))
        // grpc-node caps maxAttempts 10 at 5: "Failed on retry 4". Sturdy (deliberate difference) has no cap: the
        // seventh attempt (six before it) succeeds
        expect(textOf(exit)).toBe(echo)
        expect(previousAttempts(h.seen)).toEqual([0, 1, 2, 3, 4, 5, 6])
      }))

    it.scoped("Should be able to make more than 5 attempts with a channel argument", () =>
      Effect.gen(function*() {
        // maxAttempts 10 under grpc-node.retry_max_attempts_limit 8: 8 attempts, as `retry.maxAttempts: 8`
        const h = yield* setup(echoServer, retryPolicy(8))
        const exit = yield* h.run(h.api.get("/echo", metadata(7, RESOURCE_EXHAUSTED)))
        expect(textOf(exit)).toBe(echo)
        expect(previousAttempts(h.seen)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
      }))

    it.scoped("Should not retry on custom error code", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, retryPolicy(3))
        const failure = failureOf(yield* h.run(h.api.get("/echo", metadata(2, CUSTOM))))
        // the status outside the list comes back as the server sent it, not retried
        expect(statusOf(failure)).toBe(CUSTOM)
        expect(previousAttempts(h.seen)).toEqual([0])
      }))
  })

  describe("Client with hedging configured", () => {
    it.scoped("Should be able to make a basic request", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, hedgingPolicy(3))
        expect(textOf(yield* h.run(h.api.get("/echo")))).toBe(echo)
        // hedgingDelay 0: every copy may be sent at once, and the first answer wins
        expect(h.seen.length).toBeGreaterThanOrEqual(1)
        expect(h.seen.length).toBeLessThanOrEqual(3)
      }))

    it.scoped("Should succeed with few required attempts", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, hedgingPolicy(3))
        const exit = yield* h.run(h.api.get("/echo", metadata(2, RESOURCE_EXHAUSTED)))
        // the copies before the third fail with a non-fatal status; the third succeeds
        expect(textOf(exit)).toBe(echo)
        expect(previousAttempts(h.seen).sort()).toEqual([0, 1, 2])
        expect(h.decisions).toEqual([])
      }))

    it.scoped("Should fail with many required attempts", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, hedgingPolicy(3))
        const failure = failureOf(yield* h.run(h.api.get("/echo", metadata(4, RESOURCE_EXHAUSTED))))
        // "Failed on retry …": all three copies fail, and the call answers with a failure of theirs (Sturdy: the last)
        expect(statusOf(failure)).toBe(RESOURCE_EXHAUSTED)
        expect(previousAttempts(h.seen).sort()).toEqual([0, 1, 2])
      }))

    it.scoped("Should fail with a fatal status code", () =>
      Effect.gen(function*() {
        // the copy that would succeed answers 1 ms (virtual) late, so that the fatal status is the first answer on
        // every run (the copies are sent at once, and grpc-node's server answers them in the same instant)
        const h = yield* setup((request, response, n, tools) =>
          request.headers["x-retry-count"] === "2"
            ? tools.later(1, () => echoServer(request, response, n, tools))
            : echoServer(request, response, n, tools), hedgingPolicy(3))
        const failure = failureOf(yield* h.run(h.api.get("/echo", metadata(2, NOT_FOUND))))
        // a fatal status ends the call: no copy succeeds (the copy that would have is never sent, or is cancelled)
        expect(statusOf(failure)).toBe(NOT_FOUND)
        expect(h.seen.length).toBeGreaterThanOrEqual(1)
        expect(h.seen.length).toBeLessThanOrEqual(3)
      }))

    it.scoped("Should not be able to make more than 5 attempts", () =>
      Effect.gen(function*() {
        const h = yield* setup(echoServer, hedgingPolicy(10))
        const exit = yield* h.run(h.api.get("/echo", metadata(6, RESOURCE_EXHAUSTED)))
        // grpc-node caps hedging's maxAttempts 10 at 5 and the call fails. Sturdy (deliberate difference) has no cap:
        // the seventh copy succeeds
        expect(textOf(exit)).toBe(echo)
        expect(previousAttempts(h.seen)).toContain(6)
      }))
  })
})

const rejects = (options: Policy.Options, field: string) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Effect.scoped(Policy.make(options)))
    expect(Exit.isFailure(exit)).toBe(true)
    const failure = failureOf(exit)
    expect(failure.problems.map((p) => p.field)).toContain(field)
  })

const accepts = (options: Policy.Options) =>
  Effect.gen(function*() {
    expect(Exit.isSuccess(yield* Effect.exit(Effect.scoped(Policy.make(options))))).toBe(true)
  })

/** test-retry-config.ts's validRetryConfig: maxAttempts 2, backoffs 1 s, multiplier 1, codes [14, 8] */
const validRetry: Policy.RetryOptions = {
  maxAttempts: 2,
  baseDelay: "1 second",
  maxDelay: "1 second",
  statuses: [UNAVAILABLE, RESOURCE_EXHAUSTED]
}

describe("peer grpc-node test-retry-config.ts", () => {
  describe("Retry", () => {
    it.effect("Should accept a valid config", () => accepts({ retry: validRetry }))

    it.effect("Should reject omitted maxAttempts", () =>
      // Sturdy (deliberate difference): omitted is the default, 3
      accepts({ retry: { ...validRetry, maxAttempts: undefined } }))

    it.effect("Should reject a low maxAttempts", () =>
      Effect.gen(function*() {
        // Sturdy (deliberate difference): 1 is "no retry"; below 1 is rejected
        yield* accepts({ retry: { ...validRetry, maxAttempts: 1 } })
        yield* rejects({ retry: { ...validRetry, maxAttempts: 0 } }, "retry.maxAttempts")
      }))

    it.effect("Should reject omitted initialBackoff", () =>
      // Sturdy (deliberate difference): omitted is the default, 2 s, which this maxDelay of 1 s is below: the problem
      // names the field the user set
      rejects({ retry: { ...validRetry, baseDelay: undefined } }, "retry.maxDelay"))

    it.effect("Should reject a non-numeric initialBackoff", () =>
      rejects({ retry: { ...validRetry, baseDelay: "abcs" as never } }, "retry.baseDelay"))

    it.effect("Should reject an initialBackoff without an s", () =>
      rejects({ retry: { ...validRetry, baseDelay: "123" as never } }, "retry.baseDelay"))

    it.effect("Should reject omitted maxBackoff", () =>
      // Sturdy (deliberate difference): the default, 30 s
      accepts({ retry: { ...validRetry, maxDelay: undefined } }))

    it.effect("Should reject a non-numeric maxBackoff", () =>
      rejects({ retry: { ...validRetry, maxDelay: "abcs" as never } }, "retry.maxDelay"))

    it.effect("Should reject an maxBackoff without an s", () =>
      rejects({ retry: { ...validRetry, maxDelay: "123" as never } }, "retry.maxDelay"))

    it.effect("Should reject omitted retryableStatusCodes", () =>
      // Sturdy (deliberate difference): omitted is the default rules
      accepts({ retry: { ...validRetry, statuses: undefined } }))

    it.effect("Should reject empty retryableStatusCodes", () =>
      // Sturdy (deliberate difference): an empty list retries no status (failures without one keep the default)
      accepts({ retry: { ...validRetry, statuses: [] } }))

    it.effect("Should reject out of range status code number", () =>
      rejects({ retry: { ...validRetry, statuses: [12345] } }, "retry.statuses"))
  })

  describe("Hedging", () => {
    it.effect("Should accept valid configs", () =>
      Effect.gen(function*() {
        yield* accepts({ hedging: { delay: 0, maxHedges: 1 } })
        yield* accepts({ hedging: { delay: "1 second", maxHedges: 1 } })
        yield* accepts({ hedging: { delay: 0, maxHedges: 1 }, retry: { statuses: [UNAVAILABLE, RESOURCE_EXHAUSTED] } })
      }))

    it.effect("Should reject omitted maxAttempts", () =>
      // Sturdy (deliberate difference): omitted is the default, one hedge
      accepts({ hedging: { delay: 0 } }))

    it.effect("Should reject a low maxAttempts", () =>
      Effect.gen(function*() {
        // Sturdy (deliberate difference): maxHedges 0 (maxAttempts 1) turns hedging off; below 0 is rejected
        yield* accepts({ hedging: { delay: 0, maxHedges: 0 } })
        yield* rejects({ hedging: { delay: 0, maxHedges: -1 } }, "hedging.maxHedges")
      }))

    it.effect("Should reject a non-numeric hedgingDelay", () =>
      rejects({ hedging: { delay: "abcs" as never, maxHedges: 1 } }, "hedging.delay"))

    it.effect("Should reject a hedgingDelay without an s", () =>
      rejects({ hedging: { delay: "123" as never, maxHedges: 1 } }, "hedging.delay"))

    it.effect("Should reject out of range status code number", () =>
      // nonFatalStatusCodes are `retry.statuses` (hedging reads the retry rule)
      rejects({ hedging: { delay: 0, maxHedges: 1 }, retry: { statuses: [12345] } }, "retry.statuses"))
  })
})
