/**
 * cristalhq/hedgedhttp's `hedged_test.go` (github:cristalhq/hedgedhttp, commit
 * 11ed4a54f41bac686bb24b3ab403e3c551bd58e9), ported to Sturdy's public API: `Policy`'s `hedging` option over
 * `@sturdy/node`'s undici transport against a real node:http server on 127.0.0.1 (`test/utils/retryHarness.ts`), every
 * delay on the TestClock. One `it` per Go test function, named after it. The Go handlers' `time.Sleep(d)` is
 * `tools.later(d)`, so each test checks exact virtual times and winners where the Go tests, on a real clock, bound the
 * elapsed time.
 *
 * Mapping: `NewClient(timeout, upto, ...)` / `Config{Delay, Upto}` is `hedging: { delay: timeout, maxHedges: upto − 1 }`
 * (`upto` counts every copy, the first included); hedgedhttp has no retries, so the ports run with `retry: false`
 * (and `attemptTimeout: false`: nothing but the hedging cuts a copy). `Config.Next` (per-request `upto` and delay) is
 * an `endpoints` entry's `hedging`, which replaces the base one for the requests it matches. The request's context
 * cancelled by the caller is the call interrupted (`Effect.timeout`). A round tripper error is a connection the
 * server cuts (Go's test hijacks and closes it), Sturdy's `ConnectionError`. `Stats` are read from the call's events
 * (`onEvent`): `ActualRoundTrips` = `AttemptStarted`, `FailedRoundTrips` = `AttemptEnded` with outcome `failure`,
 * `CanceledSubRequests` = `AttemptEnded` with outcome `interrupted` (and the requests the server saw aborted),
 * `OriginalRequestWins` / `HedgedRequestWins` = the successful `AttemptEnded`'s `hedge` (0 or more).
 * `IsHedgedRequest(req)` is the `x-retry-count` header (`retryCountHeader: true`): 0 on the first copy, n on the n-th
 * hedge.
 *
 * Deliberate differences (each test says which):
 * - A negative `upto` or delay is refused when the policy is built (`InvalidPolicy` naming the field), also in an
 *   endpoint's override; hedgedhttp refuses them in `New` but lets `Next` return them (a negative upto then sends
 *   one plain request, a negative delay falls back to `Config.Delay`) (TestClientBadNextUpto, TestClientBadNextDelay).
 * - When every copy fails, Sturdy answers the last failure (`hedging.failure: "first"` keeps the earliest);
 *   hedgedhttp joins every copy's error (`errors.Join`) (TestGetFailureAfterAllRetries).
 * - A delay of 0 sends every copy at once; hedgedhttp reads 0 as 1 ns (TestNoTimeout).
 *
 * Not ported: hedged_bench_test.go (benchmarks) and examples_test.go (examples against a public host, with no
 * assertion). The case marked "(Sturdy)" is not the peer's: it checks, over the same loopback server, what the peer's
 * tests leave out (every request there has `http.NoBody`): that each copy carries the request's body. (hedgedhttp's
 * copies are `r.WithContext(ctx)`, which share the caller's one `req.Body`.)
 */
import { HttpBody } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy } from "@sturdy/http"
import { Effect, Exit } from "effect"
import type * as Http from "node:http"
import { abortedRequests, failureOf, type Handler, send, setup, textOf } from "./utils/retryHarness.js"

/** `hedgedhttp.NewClient(delay, upto, nil)`: `upto` copies in all, `delay` apart, no retries */
const hedged = (delay: number, upto: number): Policy.Options => ({
  hedging: { delay: `${delay} millis`, maxHedges: upto - 1 },
  retry: false,
  attemptTimeout: false
})

/** every request answered 200 after `millis` (the Go handler's `time.Sleep`) */
const sleeping = (millis: number): Handler => (_, response, n, tools) =>
  tools.later(millis, () => send(response, 200, {}, `copy ${n}`))

/** the n-th request answered 200 after `sleeps[n − 1]` (the Go tests' `timeoutCh`) */
const sleepsInOrder = (...sleeps: ReadonlyArray<number>): Handler => (_, response, n, tools) =>
  tools.later(sleeps[n - 1] ?? 0, () => send(response, 200, {}, `copy ${n}`))

/** Go's `conn.Close()` on a hijacked connection: the client sees the connection cut before any answer */
const cut = (response: Http.ServerResponse) => response.socket?.destroy()

/** hedgedhttp's `Stats`, read from one call's events */
const stats = () => {
  const events: Array<Policy.Event> = []
  const onEvent = (event: Policy.Event) => Effect.sync(() => void events.push(event))
  const ended = () => events.filter((e): e is Policy.AttemptEnded => e._tag === "AttemptEnded")
  return {
    events,
    onEvent,
    actualRoundTrips: () => events.filter((e) => e._tag === "AttemptStarted").length,
    failedRoundTrips: () => ended().filter((e) => e.outcome === "failure").length,
    canceledSubRequests: () => ended().filter((e) => e.outcome === "interrupted").length,
    originalRequestWins: () => ended().filter((e) => e.outcome === "success" && e.hedge === 0).length,
    hedgedRequestWins: () => ended().filter((e) => e.outcome === "success" && e.hedge > 0).length,
    hedges: () => events.filter((e): e is Policy.HedgeStarted => e._tag === "HedgeStarted")
  }
}

/** the virtual times (ms after the first) at which the server saw each request */
const arrivals = (seen: ReadonlyArray<{ readonly at: number }>) => seen.map((s) => s.at - seen[0]!.at)

const problems = (options: Policy.Options) => {
  const checked = Policy.validate(options)
  return checked._tag === "Left" ? checked.left.problems.map((p) => p.field) : []
}

describe("peer hedgedhttp hedged_test.go", () => {
  it.scoped("TestClient", () =>
    Effect.gen(function*() {
      // Config{Upto: 3, Delay: 50ms, Next: () => (5, 10ms)}: Next wins, so 5 copies 10 ms apart; each takes 100 ms
      const h = yield* setup(sleeping(100), {
        ...hedged(50, 3),
        endpoints: { "GET /": { hedging: { delay: "10 millis", maxHedges: 4 } } }
      })
      const s = stats()
      const exit = yield* h.run(h.api.get("/", { onEvent: s.onEvent }))
      // the original answers first, at 100 ms (the peer: within [100, 110) ms)
      expect(textOf(exit)).toBe("copy 1")
      expect(arrivals(h.seen)).toEqual([0, 10, 20, 30, 40])
      expect(s.actualRoundTrips()).toBe(5)
      expect(s.originalRequestWins()).toBe(1)
      expect(s.hedgedRequestWins()).toBe(0)
      // the four hedges still out were cancelled before the call returned
      expect(s.canceledSubRequests()).toBe(4)
      expect(yield* abortedRequests(h, 4)).toEqual([2, 3, 4, 5])
    }))

  it("TestClientBadNextUpto", () => {
    // Next returning upto −1: hedgedhttp sends one plain request. Sturdy (deliberate difference) refuses a negative
    // maxHedges when the policy is built, in an endpoint's override as in the base options
    expect(problems({ ...hedged(50, 2), endpoints: { "GET /": { hedging: { delay: "10 millis", maxHedges: -2 } } } }))
      .toEqual(["endpoints[\"GET /\"].hedging.maxHedges"])
    // what "no hedging" is in Sturdy: maxHedges 0 (upto 1), or `hedging: false` in the override
    expect(problems({ ...hedged(50, 2), endpoints: { "GET /": { hedging: { delay: "10 millis", maxHedges: 0 } } } }))
      .toEqual([])
  })

  it.scoped("TestClientBadNextDelay", () =>
    Effect.gen(function*() {
      // Next returning a delay of −10 ms: hedgedhttp falls back to Config.Delay (150 ms). Sturdy (deliberate
      // difference) refuses a negative delay when the policy is built, in an endpoint's override too
      expect(
        problems({ ...hedged(150, 2), endpoints: { "GET /": { hedging: { delay: "-10 millis", maxHedges: 1 } } } })
      )
        .toEqual(["endpoints[\"GET /\"].hedging.delay"])
      // the peer's outcome with the base delay: the 100 ms answer comes before the 150 ms hedge is due
      const h = yield* setup(sleeping(100), hedged(150, 2))
      const s = stats()
      expect(textOf(yield* h.run(h.api.get("/", { onEvent: s.onEvent })))).toBe("copy 1")
      expect(s.actualRoundTrips()).toBe(1)
      expect(h.seen).toHaveLength(1)
    }))

  it("TestValidateInput", () => {
    // a negative delay, a negative upto: refused, every problem named at once
    expect(problems({ hedging: { delay: "-1 second" } })).toEqual(["hedging.delay"])
    expect(problems({ hedging: { delay: "1 second", maxHedges: -2 } })).toEqual(["hedging.maxHedges"])
    expect(problems({ hedging: { delay: "-1 second", maxHedges: -2 } })).toEqual(["hedging.maxHedges", "hedging.delay"])
  })

  it.scoped("TestUpto", () =>
    Effect.gen(function*() {
      const h = yield* setup(sleeping(100), hedged(10, 7))
      expect(textOf(yield* h.run(h.api.get("/")))).toBe("copy 1")
      // upto 7: the server got 7 requests, 10 ms apart
      expect(arrivals(h.seen)).toEqual([0, 10, 20, 30, 40, 50, 60])
    }))

  it.scoped("TestUptoWithInstrumentation", () =>
    Effect.gen(function*() {
      const h = yield* setup(sleeping(100), hedged(10, 7))
      const s = stats()
      expect(s.events).toEqual([])
      expect(textOf(yield* h.run(h.api.get("/", { onEvent: s.onEvent })))).toBe("copy 1")
      expect(h.seen).toHaveLength(7)
      expect(s.actualRoundTrips()).toBe(7)
      expect(s.hedges().map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6])
      expect(s.failedRoundTrips()).toBe(0)
      // the peer: CanceledSubRequests ≤ upto. Here exactly the six hedges still out, each aborted under the server
      expect(s.canceledSubRequests()).toBe(6)
      expect(yield* abortedRequests(h, 6)).toEqual([2, 3, 4, 5, 6, 7])
    }))

  it.scoped("TestNoTimeout", () =>
    Effect.gen(function*() {
      // a delay of 0: hedgedhttp reads it as 1 ns; Sturdy (deliberate difference) sends every copy at once
      const h = yield* setup(sleeping(10), hedged(0, 10))
      const s = stats()
      const exit = yield* h.run(h.api.get("/", { onEvent: s.onEvent }))
      expect(exit._tag).toBe("Success")
      expect(h.seen).toHaveLength(10)
      expect(arrivals(h.seen)).toEqual(Array.from({ length: 10 }, () => 0))
      expect(s.actualRoundTrips()).toBe(10)
      expect(s.failedRoundTrips()).toBe(0)
      // one winner; the nine others cancelled
      expect(s.originalRequestWins() + s.hedgedRequestWins()).toBe(1)
      expect(s.canceledSubRequests()).toBe(9)
    }))

  it.scoped("TestFirstIsOK", () =>
    Effect.gen(function*() {
      const h = yield* setup((_, response) => send(response, 200, {}, "ok"), hedged(10, 10))
      const s = stats()
      expect(textOf(yield* h.run(h.api.get("/", { onEvent: s.onEvent })))).toBe("ok")
      expect(h.seen).toHaveLength(1)
      expect(s.actualRoundTrips()).toBe(1)
      expect(s.originalRequestWins()).toBe(1)
      expect(s.failedRoundTrips()).toBe(0)
      expect(s.canceledSubRequests()).toBe(0)
      expect(s.hedges()).toEqual([])
      expect(h.aborted).toEqual([])
    }))

  it.scoped("TestBestResponse", () =>
    Effect.gen(function*() {
      const shortest = 20
      const h = yield* setup(sleepsInOrder(30 * shortest, 5 * shortest, shortest, shortest, shortest), hedged(10, 5))
      const s = stats()
      const exit = yield* h.run(h.api.get("/", { onEvent: s.onEvent }))
      // copies at 0, 10, 20, 30 (and 40): the third answers at 40 ms, the peer's bound being 2.5 × 20 ms
      expect(textOf(exit)).toBe("copy 3")
      const n = h.seen.length
      expect(n === 4 || n === 5).toBe(true)
      expect(arrivals(h.seen).slice(0, 4)).toEqual([0, 10, 20, 30])
      expect(s.hedgedRequestWins()).toBe(1)
      expect(s.failedRoundTrips()).toBe(0)
      expect(s.canceledSubRequests()).toBe(n - 1)
      expect(yield* abortedRequests(h, n - 1)).toEqual([1, 2, 4, 5].slice(0, n - 1))
    }))

  it.scoped("TestOriginalResponseWins", () =>
    Effect.gen(function*() {
      const shortest = 20
      const h = yield* setup(
        sleepsInOrder(shortest, 30 * shortest, 5 * shortest, shortest, shortest, shortest),
        hedged(10, 5)
      )
      const s = stats()
      const exit = yield* h.run(h.api.get("/", { onEvent: s.onEvent }))
      // the original answers at 20 ms, when the third copy is due (sent or not: the peer allows ≤ 3 round trips)
      expect(textOf(exit)).toBe("copy 1")
      expect(h.seen.length).toBeLessThanOrEqual(3)
      expect(s.actualRoundTrips()).toBeLessThanOrEqual(3)
      expect(s.originalRequestWins()).toBe(1)
      expect(s.hedgedRequestWins()).toBe(0)
      expect(s.failedRoundTrips()).toBe(0)
      // the peer: CanceledSubRequests < upto. Every copy but the original is cancelled, none left running
      const n = h.seen.length
      expect(s.canceledSubRequests()).toBe(n - 1)
      expect(yield* abortedRequests(h, n - 1)).toEqual([2, 3].slice(0, n - 1))
    }))

  it.scoped("TestHedgedResponseWins", () =>
    Effect.gen(function*() {
      const shortest = 20
      const h = yield* setup(sleepsInOrder(30 * shortest, 5 * shortest, shortest, shortest, shortest), hedged(5, 5))
      const s = stats()
      const exit = yield* h.run(h.api.get("/", { onEvent: s.onEvent }))
      // copies at 0, 5, 10, 15, 20: the third answers first, at 30 ms
      expect(textOf(exit)).toBe("copy 3")
      expect(arrivals(h.seen)).toEqual([0, 5, 10, 15, 20])
      expect(s.actualRoundTrips()).toBe(5)
      expect(s.originalRequestWins()).toBe(0)
      expect(s.hedgedRequestWins()).toBe(1)
      expect(s.failedRoundTrips()).toBe(0)
      expect(s.canceledSubRequests()).toBe(4)
      expect(yield* abortedRequests(h, 4)).toEqual([1, 2, 4, 5])
    }))

  it.scoped("TestGetSuccessEvenWithErrorsPresent", () =>
    Effect.gen(function*() {
      const upto = 5
      // the first four requests have their connection cut; the fifth is answered "success"
      const h = yield* setup(
        (_, response, n) => n === upto ? send(response, 200, {}, "success") : cut(response),
        hedged(10, upto)
      )
      const s = stats()
      const exit = yield* h.run(h.api.get("/", { onEvent: s.onEvent }))
      expect(textOf(exit)).toBe("success")
      expect(h.seen).toHaveLength(upto)
      expect(s.actualRoundTrips()).toBe(upto)
      expect(s.failedRoundTrips()).toBe(upto - 1)
      expect(s.hedgedRequestWins()).toBe(1)
      // each cut connection sends the next copy at once, as hedgedhttp's loop does on an error
      expect(s.hedges().map((e) => e.trigger)).toEqual(["failure", "failure", "failure", "failure"])
    }))

  it.scoped("TestGetFailureAfterAllRetries", () =>
    Effect.gen(function*() {
      const upto = 5
      const h = yield* setup((_, response) => cut(response), hedged(1, upto))
      const s = stats()
      const exit = yield* h.run(h.api.get("/", { onEvent: s.onEvent }))
      // hedgedhttp: an error joining the five copies' EOFs. Sturdy (deliberate difference): the last copy's failure,
      // typed: the connection was cut
      const failure = failureOf(exit)
      expect(failure._tag).toBe("ConnectionError")
      expect(h.seen).toHaveLength(upto)
      expect(s.actualRoundTrips()).toBe(upto)
      expect(s.failedRoundTrips()).toBe(upto)
      expect(s.canceledSubRequests()).toBe(0)
      const last = s.events.filter((e): e is Policy.AttemptEnded => e._tag === "AttemptEnded").at(-1)!
      expect(failure).toBe(last.failure)
    }))

  it.scoped("TestHangAllExceptLast", () =>
    Effect.gen(function*() {
      const upto = 5
      // the first four requests never answer; the fifth answers after 100 ms
      const h = yield* setup((_, response, n, tools) => {
        if (n === upto) tools.later(100, () => send(response, 200, {}, "last"))
      }, hedged(10, upto))
      const s = stats()
      const exit = yield* h.run(h.api.get("/", { onEvent: s.onEvent }))
      expect(textOf(exit)).toBe("last")
      expect(arrivals(h.seen)).toEqual([0, 10, 20, 30, 40])
      expect(s.actualRoundTrips()).toBe(upto)
      expect(s.failedRoundTrips()).toBe(0)
      expect(s.hedgedRequestWins()).toBe(1)
      // the four hanging copies are cancelled, not left running
      expect(s.canceledSubRequests()).toBe(4)
      expect(yield* abortedRequests(h, 4)).toEqual([1, 2, 3, 4])
    }))

  it.scoped("TestCancelByClient", () =>
    Effect.gen(function*() {
      const upto = 5
      // the server never answers; the caller gives up after 50 ms (Go cancels the request's context)
      const h = yield* setup(() => {}, hedged(10, upto))
      const s = stats()
      const exit = yield* h.run(Effect.timeout(h.api.get("/", { onEvent: s.onEvent }), "50 millis"))
      expect(failureOf(exit)._tag).toBe("TimeoutException")
      // every copy was sent (at 0 .. 40 ms), none failed on its own, and all five were cancelled with the call
      expect(arrivals(h.seen)).toEqual([0, 10, 20, 30, 40])
      expect(s.actualRoundTrips()).toBe(upto)
      expect(s.failedRoundTrips()).toBe(0)
      expect(s.canceledSubRequests()).toBe(upto)
      expect(yield* abortedRequests(h, upto)).toEqual([1, 2, 3, 4, 5])
    }))

  it.scoped("TestIsHedged", () =>
    Effect.gen(function*() {
      const upto = 7
      // every copy fails ("just an error": the connection is cut); the first copy is not a hedge, the others are
      const h = yield* setup((_, response) => cut(response), { ...hedged(10, upto), retryCountHeader: true })
      const s = stats()
      const exit = yield* h.run(h.api.get("/", { onEvent: s.onEvent }))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(h.seen).toHaveLength(upto)
      expect(h.seen.map((r) => r.headers["x-retry-count"])).toEqual(["0", "1", "2", "3", "4", "5", "6"])
      const started = s.events.filter((e): e is Policy.AttemptStarted => e._tag === "AttemptStarted")
      expect(started.map((e) => e.hedge)).toEqual([0, 1, 2, 3, 4, 5, 6])
    }))

  it.scoped("(Sturdy) every copy carries the request's body, byte for byte", () =>
    Effect.gen(function*() {
      // Sturdy sends an in-memory body again with each copy (a body read once is never hedged: Policy's docs). A JSON
      // body, and bytes that are a view into a larger buffer
      const h = yield* setup(sleeping(100), hedged(10, 3))
      const json = yield* h.run(h.api.put("/json", { body: { name: "Ada", tags: ["a", "b"] } }))
      expect(textOf(json)).toBe("copy 1")
      const whole = Buffer.from("xxhedgedyy")
      const view = whole.subarray(2, 8)
      const bytes = yield* h.run(h.api.put("/bytes", { body: HttpBody.uint8Array(view, "application/octet-stream") }))
      expect(textOf(bytes)).toBe("copy 4")
      const sent = (path: string) => h.seen.filter((s) => s.path === path)
      expect(sent("/json").map((s) => s.body)).toEqual(Array(3).fill(JSON.stringify({ name: "Ada", tags: ["a", "b"] })))
      expect(sent("/json").map((s) => s.headers["content-type"])).toEqual(Array(3).fill("application/json"))
      expect(sent("/bytes").map((s) => s.bytes.toString("latin1"))).toEqual(["hedged", "hedged", "hedged"])
      expect(sent("/bytes").map((s) => s.headers["content-length"])).toEqual(["6", "6", "6"])
    }))
})
