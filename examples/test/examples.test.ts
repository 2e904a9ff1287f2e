/**
 * Smoke tests: every example runs against its own loopback FaultServer, finishes, and prints what it promises.
 * Each example exports its program as `main`; its output is captured from `console`.
 */
import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as Path from "node:path"
import { promisify } from "node:util"
import { describeWithRedis } from "../../packages/policy/test/utils/redis.js"
import * as AuthExample from "../auth.js"
import * as CircuitBreakerExample from "../circuit-breaker.js"
import * as DownloadResumeExample from "../download-resume.js"
import * as EventStreamExample from "../event-stream.js"
import * as FallbackExample from "../fallback-layers.js"
import * as GameDayExample from "../game-day.js"
import * as HedgingExample from "../hedging.js"
import * as JsonLinesExample from "../json-lines.js"
import * as PaginateExample from "../paginate.js"
import * as PollExample from "../poll.js"
import * as PromiseHandlerExample from "../promise-handler.js"
import * as ReplicasExample from "../replicas.js"
import * as RetryAfterExample from "../retry-after.js"
import * as ScheduleExample from "../schedule-property-test.js"
import * as TelemetryExample from "../telemetry.js"
import * as TypedErrorsExample from "../typed-errors.js"

const run = async <E>(main: Effect.Effect<void, E>): Promise<string> => {
  const lines: Array<string> = []
  const record = (...args: ReadonlyArray<unknown>) => {
    lines.push(args.map(String).join(" "))
  }
  vi.spyOn(console, "log").mockImplementation(record)
  vi.spyOn(console, "error").mockImplementation(record)
  await Effect.runPromise(main)
  return lines.join("\n")
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("examples", () => {
  it("typed-errors: one tag per failure kind", async () => {
    const out = await run(TypedErrorsExample.main)
    expect(out).toMatch(/GET \/users\/1 +ok: Ada/)
    expect(out).toMatch(/ClientError 404: no such user/)
    expect(out).toMatch(/SchemaMismatch at \$\.id/)
    expect(out).toMatch(/InvalidJson/)
    expect(out).toMatch(/ServerError 503, retry after 2s/)
    expect(out).toMatch(/RateLimited, retry after 7s/)
    expect(out).toMatch(/UnexpectedContentType "text\/html"/)
    expect(out).toMatch(/ConnectionError \(Reset\)/)
    expect(out).toMatch(/Timeout \(Attempt, after 300ms\)/)
    expect(out).toMatch(/BodyTruncated/)
    expect(out).toMatch(/ConnectionError \(Refused\) +transient=yes {2}reached server=no/)
    expect(out).toMatch(/InvalidRequest \(InvalidHeader\)/)
    expect(out).toMatch(/api_key=<redacted>/)
    expect(out).not.toMatch(/s3cret/)
  })

  it("retry-after: backoff, then the server's Retry-After, then give up on a too-long one", async () => {
    const out = await run(RetryAfterExample.main)
    expect(out).toMatch(/attempt 1 failed: ServerError -> retry #2 in \d+ms \(backoff\)/)
    expect(out).toMatch(/attempt 2 failed: RateLimited -> retry #3 in 1s \d+ms \(retry-after\)/)
    expect(out).toMatch(/-> order 42, total 99.5/)
    expect(out).toMatch(/give up \(retry-after-too-long\)/)
    // the third request arrived at least one second after the second
    const arrivals = [...out.matchAll(/\+ *(\d+) ms {2}GET \/orders\/42/g)].map((m) => Number(m[1]))
    expect(arrivals).toHaveLength(3)
    expect(arrivals[2]! - arrivals[1]!).toBeGreaterThanOrEqual(1000)
  })

  it("download-resume: a download cut twice resumes with Range and arrives whole", async () => {
    const out = await run(DownloadResumeExample.main)
    expect(out).toMatch(/GET \(whole file\) -> 200, cut at byte 419430/)
    expect(out).toMatch(/GET bytes=419430- -> 206, cut at byte 943718/)
    expect(out).toMatch(/GET bytes=943718- -> 206\n/)
    expect(out).toMatch(/received 1048576 of 1048576 bytes; SHA-256 matches/)
  })

  it("event-stream: a dropped connection resumes from the Last-Event-ID, every event once", async () => {
    const out = await run(EventStreamExample.main)
    const ids = [...out.matchAll(/#(\d) price: ACME/g)].map((m) => m[1])
    expect(ids).toEqual(["1", "2", "3", "4", "5", "6"])
    expect(out).toMatch(/\(no Last-Event-ID\)\n {2}Last-Event-ID: 3\n {2}Last-Event-ID: 6/)
  })

  it("paginate: Link-header pages through the policy, page 2 retried alone, take(3) one page, another origin refused", async () => {
    const out = await run(PaginateExample.main)
    expect(out).toContain("all: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12")
    expect(out).toMatch(
      /GET \/repos -> 200\n {2}GET \/repos\?page=2 -> 503\n {2}GET \/repos\?page=2 -> 200\n {2}GET \/repos\?page=3 -> 200/
    )
    expect(out).toContain("first 3: repo-1, repo-2, repo-3\nrequests for them: 1")
    expect(out).toMatch(/another origin: CrossOrigin: .*not in allowedOrigins/)
    expect(out).not.toContain("demo-token")
  })

  it("poll: a 202 operation polled through the policy, a 503 retried, the result fetched; another origin refused", async () => {
    const out = await run(PollExample.main)
    expect(out).toContain("export: export-1, 1200 rows")
    expect(out).toMatch(
      /POST \/exports -> 202\n {2}GET \/operations\/1 -> 200\n {2}GET \/operations\/1 -> 200\n {2}GET \/operations\/1 -> 503\n {2}GET \/operations\/1 -> 200\n {2}GET \/exports\/1 -> 200/
    )
    expect(out).toMatch(/another origin: CrossOrigin: .*not in allowedOrigins/)
    expect(out).not.toContain("demo-token")
  })

  it("json-lines: a 503 retried by the policy, the tokens once each; a bad line fails typed with its number", async () => {
    const out = await run(JsonLinesExample.main)
    expect(out).toContain("generated: Résilient streams.")
    expect(out).toContain("requests to /generate: 2")
    expect(out).toContain("broken: 2 items, then InvalidJson at line 3")
  })

  it("promise-handler: an async route handler runs Policy.json through a Runner", async () => {
    const out = await run(PromiseHandlerExample.main)
    expect(out).toContain(`GET /quote/apple -> 200 {"sku":"apple","cents":45}`)
    // the 503 was retried inside the handler's one call
    expect(out).toContain(`GET /quote/pear  -> 200 {"sku":"pear","cents":60}`)
    expect(out).toContain(`GET /quote/plum  -> 404 {"error":"no such sku"}`)
    expect(out).toContain(`GET /quote/fig   -> 502 {"error":"upstream sent a bad price"}`)
    // four calls, one of them retried once; the calls came one at a time, so one worker served them all
    expect(out).toContain("upstream saw 5 requests; 1 worker fiber(s) parked, 0 busy")
  })

  it("game-day: chaos in front of a healthy upstream, and every caller still gets its price", async () => {
    const out = await run(GameDayExample.main)
    expect(out).toContain("callers that got their price: 20 of 20")
    // coalescing: 20 callers, one request per price; chaos's failures were retried without reaching the server
    expect(out).toContain("requests the upstream saw: 5 for 5 prices and 20 callers")
    const injected = [...out.matchAll(/^ {2}(status 503|reset|refused|latency 300ms \(attempt timed out\)) +(\d+)$/gm)]
    expect(injected.length).toBeGreaterThan(0)
    const failed = injected.reduce((sum, match) => sum + Number(match[2]), 0)
    expect(out).toContain(`attempts: ${failed + 5} (${failed} failed by chaos, 5 reached the upstream)`)
  })

  it("replicas: round-robin over three replicas, retries elsewhere, the broken one ejected", async () => {
    const out = await run(ReplicasExample.main)
    expect(out).toMatch(/replica 2: 5 requests/)
    expect(out).toMatch(/: ejected/)
    expect(out).toMatch(/15 calls, 15 succeeded/)
  })

  it("circuit-breaker: opens, rejects without calling, probes, closes", async () => {
    const out = await run(CircuitBreakerExample.main)
    expect(out).toMatch(/breaker prices: Closed -> Open/)
    expect(out).toMatch(/CircuitOpen \(probe in/)
    expect(out).toMatch(/breaker prices: HalfOpen -> Open/)
    expect(out).toMatch(/breaker prices: HalfOpen -> Closed/)
    const summary = out.match(/16 calls, (\d+) reached the server; breaker is (\w+)/)
    expect(summary?.[2]).toBe("Closed")
    expect(Number(summary?.[1])).toBeLessThan(16)
  })

  it("hedging: hedges win the slow searches and the losers are aborted", async () => {
    const out = await run(HedgingExample.main)
    expect(out).toMatch(/hedge #1 sent after \d+ms \(delay\)/)
    expect(out).toMatch(/won by hedge #\d/)
    const max = (label: string) => Number(out.match(new RegExp(`${label} +p50 +\\d+ ms +max +(\\d+) ms`))?.[1])
    expect(max("plain")).toBeGreaterThanOrEqual(600)
    expect(max("hedged")).toBeLessThan(600)
    expect(out).toMatch(/hedged: \d+ requests, [1-9]\d* slow copies aborted/)
  })

  it("schedule-property-test: Backoff passes, jitter-after-cap is caught", async () => {
    const out = await run(ScheduleExample.main)
    expect(out).toMatch(/300 cases passed/)
    expect(out).toMatch(/capHolds.*above the cap of 2000ms/)
    expect(out).toMatch(/max +\S+ 1\.\d+s/)
  })

  it("fallback-layers: each answer names its source, the failures before it, and its age", async () => {
    const out = await run(FallbackExample.main)
    expect(out).toMatch(/A-1: 1999 cents from primary {2}\(fresh\)/)
    expect(out).toMatch(
      /A-1: 1999 cents from cache, \d+ms old {2}\(degraded; tried primary ServerError, primary ServerError, replica ServerError\)/
    )
    expect(out).toMatch(/B-2: 450 cents from replica/)
    expect(out).toMatch(/C-3: 0 cents from default .*cache NoStaleAnswer/)
    expect(out).toMatch(/Z-9: failed with ClientError/)
    // the 404 stopped the plan: the replica was never asked for Z-9
    expect(out).not.toMatch(/\/replica\/prices\/Z-9/)
  })

  it("auth: one token shared, refreshed on 401 and replayed; secrets never in messages", async () => {
    const out = await run(AuthExample.main)
    expect(out).toMatch(/reports: q1, q2; archive: 2025/)
    expect(out).toMatch(/GET \/reports +authorization: Bearer <token #1> +-> 401/)
    expect(out).toMatch(/GET \/reports +authorization: Bearer <token #2> +-> 200/)
    expect(out).toMatch(/GET \/reports\/archive +authorization: Bearer <token #2> +-> 200/)
    expect(out.match(/POST \/oauth\/token/g)).toHaveLength(2)
    expect(out).toMatch(/api_key=<redacted>/)
    expect(out).toMatch(/secret in the error\? no/)
    expect(out).not.toMatch(/s3cret/)
  })

  it("telemetry: a span per call with attempt children and retry events, and Sturdy's metrics", async () => {
    const out = await run(TelemetryExample.main)
    expect(out).toMatch(/GET \/inventory\/A-1: stock 4/)
    expect(out).toMatch(/GET \/inventory\/B-2: CircuitOpen/)
    expect(out).toMatch(
      /http\.client\.request GET \(\d+ms\)\n +url\.full=\S+\/inventory\/A-1\?api_key=<redacted> sturdy\.outcome=success sturdy\.attempts=2/
    )
    expect(out).toMatch(/event retry: retry\.attempt=2 retry\.delay_ms=\d+ retry\.reason=backoff/)
    expect(out).toMatch(/event retry\.stop: .*retry\.reason=exhausted/)
    expect(out).toMatch(
      / {4}http\.client\.attempt GET \(\d+ms\)\n +url\.full=.*sturdy\.attempt=2 sturdy\.delay_ms=\d+ sturdy\.delay_reason=backoff/
    )
    expect(out).toMatch(/sturdy_circuit_breaker_transitions_total\{upstream=inventory,from=closed,to=open\} 1/)
    expect(out).toMatch(/sturdy_http_client_requests_total\{.*outcome=rejected,failure_tag=CircuitOpen\} 1/)
    expect(out).toMatch(/sturdy_http_client_retries_total\{.*reason=backoff\} 3/)
    expect(out).not.toMatch(/s3cret/)
  })

  it("main (pnpm start): the flagship runs as a script, shows progress on stderr and a report on stdout", async () => {
    const root = Path.resolve(import.meta.dirname, "..", "..")
    const { stderr, stdout } = await promisify(execFile)(
      Path.join(root, "node_modules", ".bin", "tsx"),
      ["--conditions=@sturdy/source", Path.join(root, "examples", "main.ts")],
      { cwd: root, timeout: 60_000 }
    )
    // progress: attempts, retry decisions, hedges, breaker transitions, fallbacks
    expect(stderr).toMatch(/users +attempt 1: 503 ServerError/)
    expect(stderr).toMatch(/users +retry: attempt 2 in \d+ms \(backoff\)/)
    expect(stderr).toMatch(/orders +retry: attempt 2 in 1s \d+ms \(retry-after\)/)
    expect(stderr).toMatch(/recommendations +attempt \d \(hedge #1\): ok/)
    expect(stderr).toMatch(/recommendations +breaker Closed -> Open/)
    expect(stderr).toMatch(/pricing +answered by cache, .* old/)
    // the report: one row per load, then one block per API
    expect(stdout).toMatch(/^1 +\S+ +ok after 3 attempts +ok after 2 attempts +ok, hedge #1 won +ok/m)
    expect(stdout).toMatch(/^2 .*fallback: popular +fallback: cache, /m)
    expect(stdout).toMatch(/^4 +\S+ +ok +ok +ok +fallback: cache, /m)
    expect(stdout).toMatch(/retries +load 1: #2 after \d+ms \(backoff\), #3 after \d+ms \(backoff\)/)
    expect(stdout).toMatch(/retries +load 1: #2 after 1s \d+ms \(retry-after\)/)
    expect(stdout).toMatch(/breaker +Closed -> Open at \S+, Open -> HalfOpen at \S+, HalfOpen -> Closed at/)
    expect(stdout).toMatch(/breaker +Closed -> Open at \S+, Open -> HalfOpen at \S+, HalfOpen -> Open at/)
    expect(stdout).toMatch(/answers +2x upstream, 2x popular \(after upstream: CircuitOpen\)/)
    const total = Number(stdout.match(/total time ([\d.]+)s/)?.[1])
    expect(total).toBeGreaterThan(2)
    expect(total).toBeLessThan(10)
  }, 90_000)
})

describeWithRedis("examples with Redis", () => {
  it("fleet: three processes send fewer requests with the budget and breaker shared on Redis", async () => {
    const root = Path.resolve(import.meta.dirname, "..", "..")
    const { stdout } = await promisify(execFile)(
      Path.join(root, "node_modules", ".bin", "tsx"),
      ["--conditions=@sturdy/source", Path.join(root, "examples", "fleet.ts")],
      { cwd: root, timeout: 120_000 }
    )
    const run = (name: string) => {
      const found = stdout.match(
        new RegExp(
          `${name} +budget: +(\\d+) requests for 60 calls \\([\\d.]+x\\) +breaker: +(\\d+) requests for 60 calls`
        )
      )
      expect(found, `a "${name}" line in:\n${stdout}`).not.toBeNull()
      return { budget: Number(found![1]), breaker: Number(found![2]) }
    }
    const local = run("per-process budget and breaker:")
    const shared = run("shared on Redis:")
    // each process spends its own floor of 10 retries plus 20 % of its 20 calls: 3 × (20 + 14)
    expect(local.budget).toBe(102)
    // the fleet spends one floor: 60 calls + 10 + 20 % of 60 at the most
    expect(shared.budget).toBeGreaterThanOrEqual(60)
    expect(shared.budget).toBeLessThanOrEqual(82)
    // each process needs its own 5 failures to open its breaker; shared, the busy one's open breaker stops the others
    expect(local.breaker).toBe(15)
    expect(shared.breaker).toBeLessThan(local.breaker)
    expect(stdout).toMatch(/one process making all 60 calls would send at most 82 requests under the budget/)
  }, 150_000)
})
