import { afterAll, expect, it } from "@effect/vitest"
import type { Policy } from "@sturdy/http"
import { Effect } from "effect"
import { describeWithRedis } from "../packages/policy/test/utils/redis.js"
import { removeBundle, runFleet, startRedis } from "./utils/fleet.js"
import type { Config } from "./utils/fleetProcess.js"
import * as Loopback from "./utils/loopbackServer.js"

// Several processes, each with its own Sturdy runtime, call one loopback upstream; Redis on 127.0.0.1 shares the
// retry budget and the breakers' transitions between them (test/utils/fleetProcess.ts is one process).

const budget = { ratio: 0.2, minRetries: 10, window: "60 seconds" } as const

const unavailable: Loopback.Handler = (_, response) => {
  response.writeHead(503, { "content-type": "application/json" }).end("{}")
}
const ok: Loopback.Handler = (_, response) => {
  response.writeHead(200, { "content-type": "application/json" }).end("{}")
}

const hitTimes = (server: Loopback.LoopbackServer, path: string, times: Map<number, number>) =>
  server.requests.flatMap((request, i) => request.url === path ? [times.get(i) ?? 0] : [])

describeWithRedis("fleet: a retry budget and breaker state shared through Redis", () => {
  afterAll(removeBundle)

  it.live("3 processes, a failing upstream: the shared budget keeps the load at one process's bound", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const server = yield* Loopback.start({ "/local": unavailable, "/shared": unavailable })
      const processes = 3
      const calls = 10
      const policy: Policy.Options = {
        totalTimeout: "10 seconds",
        attemptTimeout: "2 seconds",
        retry: { maxAttempts: 5, baseDelay: "1 millis", maxDelay: "2 millis" },
        circuitBreaker: false
      }
      const config = (path: string, shared: boolean): Config => ({
        upstream: server.url,
        path,
        calls,
        pauseMillis: 0,
        policy,
        budget,
        // generous, so that a slow round trip on a loaded machine does not switch a process to its local budget
        timeout: "1 second",
        redis: shared ? { host: redis.host, port: redis.port, prefix: "fleet-budget:" } : undefined
      })
      const fleet = yield* runFleet([
        ...Array.from({ length: processes }, () => config("/local", false)),
        ...Array.from({ length: processes }, () => config("/shared", true))
      ])
      const results = yield* Effect.forEach(fleet, (p) => p.result, { concurrency: "unbounded" })
      // every call ran and failed with the upstream's answer, none with anything else
      for (const result of results) expect(result.outcomes).toEqual(Array(calls).fill("ServerError"))
      // and Redis answered every time (no process fell back to its local budget)
      for (const p of fleet) expect(p.logs).toEqual([])

      const logical = processes * calls
      const singleProcessBound = logical + budget.minRetries + budget.ratio * logical // 46
      const local = server.hits("/local")
      const shared = server.hits("/shared")
      // per-process budgets: every process has its own floor, the load multiplies with the fleet's size
      expect(local).toBe(processes * (calls + budget.minRetries + budget.ratio * calls)) // 66
      // one shared budget: no more than one process with the fleet's traffic would send
      expect(shared).toBeLessThanOrEqual(singleProcessBound)
      expect(shared).toBeGreaterThanOrEqual(logical + budget.minRetries)
      expect(local / logical).toBeGreaterThan(singleProcessBound / logical)
    }).pipe(Effect.scoped))

  it.live("one process's open breaker stops the others within syncInterval + 2 × timeout", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      const arrivals = new Map<number, number>()
      const stamp = (handler: Loopback.Handler): Loopback.Handler => (request, response, body) => {
        arrivals.set(server.requests.length - 1, Date.now())
        handler(request, response, body)
      }
      const server: Loopback.LoopbackServer = yield* Loopback.start({
        "/fail": stamp(unavailable),
        "/ok": stamp(ok),
        "/alone": stamp(ok)
      })
      const policy: Policy.Options = {
        totalTimeout: "2 seconds",
        attemptTimeout: "1 second",
        retry: { maxAttempts: 1 },
        circuitBreaker: { consecutiveFailures: 3, breakDuration: "10 seconds" }
      }
      const base = { upstream: server.url, durationMillis: 3_000, pauseMillis: 20, policy, budget }
      const shared = { redis: { host: redis.host, port: redis.port, prefix: "fleet-breaker:" } }
      const [opener, follower, loner] = yield* runFleet([
        { ...base, ...shared, path: "/fail", durationMillis: undefined, calls: 6 },
        { ...base, ...shared, path: "/ok" },
        // a process with its own breaker only: it never hears of the others
        { ...base, path: "/alone" }
      ])
      const [opened, followed, alone] = yield* Effect.forEach(
        [opener!, follower!, loner!],
        (p) => p.result,
        { concurrency: "unbounded" }
      )
      // the opener's breaker opened after 3 failures and stopped its own calls
      expect(server.hits("/fail")).toBe(3)
      expect(opened!.outcomes.slice(0, 3)).toEqual(["ServerError", "ServerError", "ServerError"])
      const openedAt = hitTimes(server, "/fail", arrivals)[2]!
      // the followers saw Open within the stated delay (syncInterval 250 ms + 2 × timeout 100 ms), plus 700 ms for
      // the processes' scheduling on a loaded 2-core machine; no request of theirs reached the upstream after that
      const bound = 250 + 2 * 100 + 700
      expect(followed!.outcomes).toContain("CircuitOpen")
      const firstRejected = followed!.endedAt[followed!.outcomes.indexOf("CircuitOpen")]!
      expect(firstRejected - openedAt).toBeLessThanOrEqual(bound)
      // and the upstream saw none of the fleet's requests after the delay, while the lone process went on calling
      expect(hitTimes(server, "/ok", arrivals).filter((t) => t - openedAt > bound)).toEqual([])
      expect(alone!.outcomes.every((o) => o === "Success")).toBe(true)
      expect(hitTimes(server, "/alone", arrivals).filter((t) => t - openedAt > bound).length).toBeGreaterThan(0)
    }).pipe(Effect.scoped))

  it.live("3 processes × 8 calls, 4 at once each, on a slow upstream: a shared bulkhead of 2 is the fleet's limit", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      let inFlight = 0
      let most = 0
      const slow: Loopback.Handler = (_, response) => {
        inFlight++
        most = Math.max(most, inFlight)
        setTimeout(() => {
          inFlight--
          response.writeHead(200, { "content-type": "application/json" }).end("{}")
        }, 100)
      }
      const server = yield* Loopback.start({ "/slow": slow })
      const calls = 8
      const policy: Policy.Options = {
        totalTimeout: "20 seconds",
        attemptTimeout: "5 seconds",
        retry: { maxAttempts: 1 },
        circuitBreaker: false,
        bulkhead: { maxConcurrent: 2, maxQueued: 100, maxWait: "15 seconds" }
      }
      const config: Config = {
        upstream: server.url,
        path: "/slow",
        calls,
        concurrency: 4,
        pauseMillis: 0,
        policy,
        budget,
        redis: { host: redis.host, port: redis.port, prefix: "fleet-bulkhead:" },
        sharedBulkhead: true
      }
      const fleet = yield* runFleet([config, config, config])
      const results = yield* Effect.forEach(fleet, (p) => p.result, { concurrency: "unbounded" })
      // every call waited its turn and ran
      for (const result of results) expect(result.outcomes).toEqual(Array(calls).fill("Success"))
      for (const p of fleet) expect(p.logs).toEqual([])
      expect(server.hits("/slow")).toBe(3 * calls)
      // 12 calls wanted to run at once; the upstream never saw more than the fleet's 2
      expect(most).toBe(2)
    }).pipe(Effect.scoped))

  it.live("killing redis-server mid-run loses no call: the fleet falls back to local state and resumes", () =>
    Effect.gen(function*() {
      const redis = yield* startRedis
      let n = 0
      const server = yield* Loopback.start({
        // one request in four fails
        "/flaky": (request, response, body) => (n++ % 4 === 3 ? unavailable : ok)(request, response, body)
      })
      const policy: Policy.Options = {
        totalTimeout: "3 seconds",
        attemptTimeout: "1 second",
        retry: { maxAttempts: 3, baseDelay: "5 millis", maxDelay: "10 millis" },
        circuitBreaker: { consecutiveFailures: 10, failureRateThreshold: 0.9 }
      }
      const config: Config = {
        upstream: server.url,
        path: "/flaky",
        durationMillis: 3_000,
        pauseMillis: 10,
        policy,
        budget,
        redis: { host: redis.host, port: redis.port, prefix: "fleet-kill:" }
      }
      const fleet = yield* runFleet([config, config, config])
      yield* Effect.sleep("500 millis")
      yield* redis.kill
      yield* Effect.sleep("700 millis")
      yield* redis.restart
      const results = yield* Effect.forEach(fleet, (p) => p.result, { concurrency: "unbounded" })
      for (const [i, result] of results.entries()) {
        // every call ended with the upstream's answer: none failed or hung because of Redis
        expect(result.outcomes.length).toBeGreaterThanOrEqual(5)
        expect(result.outcomes.filter((o) => o !== "Success" && o !== "ServerError")).toEqual([])
        // no call ran into its deadline waiting for the dead server
        expect(result.maxCallMillis).toBeLessThan(3_000)
        const logs = fleet[i]!.logs
        // each outage reported once per component (one line when it starts, one when it ends: a slow round trip on
        // a loaded machine may add a short one), and sharing resumed once Redis was back
        for (const component of ["retry_budget", "circuit_breaker"]) {
          const lines = logs.filter((l) => l.includes(`shared ${component} store`))
          expect(lines.length).toBeGreaterThanOrEqual(2)
          lines.forEach((line, i) => expect(line).toContain(i % 2 === 0 ? "store failed" : "answers again"))
          expect(lines.some((line) => line.includes("answers again"))).toBe(true)
        }
      }
    }).pipe(Effect.scoped))
})
