// Ported from Finagle's finagle-core/src/test/scala/com/twitter/finagle/client/BackupRequestFilterTest.scala
// (twitter/finagle, commit 4feb34cb949918c572a6152327212e062527bd62), one `it` per Finagle test, named after it.
// Mapping: a BackupRequestFilter is `Hedge.hedge` with `maxHedges: 1` (one backup) and a `Hedge.percentile` delay:
// Finagle's `maxExtraLoad` (the share of requests that may get a backup) is the quantile `1 − maxExtraLoad` the
// backup is sent after (1 % → p99, 50 % → p50), read from a `LatencyTracker` (Finagle's WindowedPercentileHistogram)
// once `minSamples` latencies were seen (the test warms the filter with 100 requests of 1 s; here one sample is
// enough, and the warm-up records into the tracker directly). Finagle's backup-request RetryBudget (30 s, 10/s, 1 %)
// is a `RetryBudget` (window 30 s, `minRetries` 300, ratio 0.01) under `budgetKey`: each call deposits one request,
// each backup withdraws one. Finagle's "global retry budget", which backups also spend, is the budget key a `Retry`
// of the same upstream withdraws from (`deposit: false` on the hedge, the retry deposits). A Finagle `Promise` the
// test completes is a copy answered by the test (`utils/hedgeCopies.ts`); its classifier's "failure" response and
// exceptions are typed failures, which `while` lets the backup answer instead.
// Deliberate differences:
// - Sturdy records one latency per successful call, from its first copy's start to the winning answer (the backup's
//   own, shorter time would make backups ever earlier: `Hedge.percentile`'s docs); Finagle records each request's own
//   latency, the backup's too, and a timed-out request's. A failed copy records nothing in either.
// - A copy that fails before the delay sends the backup at once (gRFC A6 hedging); Finagle returns the failure and
//   sends no backup (its retry filter, not the backup filter, would try again).
// - The losing copy is always interrupted (Finagle's `sendInterrupts = true`); Sturdy has no `sendInterrupts = false`.
// Not ported: the Tunable cases ("Uses 0.0 for maxExtraLoad if Tunable ...", "RetryBudget is empty if `maxExtraLoad`
// Tunable is changed to 0.0 dynamically", "if maxExtraLoad remains at the same value, no new RetryBudget is
// created"; Sturdy's options are fixed values, and a budget of 0 refusing a backup is "Don't send backup ... if cannot
// withdraw"), the `sendInterrupts=false` variants (see above), stats and registry entries ("Params get threaded
// through module", "SupersededRequestFailureToString hasn't changed", the two Registry tests), resource closing
// ("Filter closes WindowedPercentileHistogram when closed", "Factory closes Filter ...", "filterService ...",
// "Service returned by filterService ...": a tracker holds no resource).
import { describe, expect, it } from "@effect/vitest"
import * as Hedge from "@sturdy/policy/Hedge"
import * as Retry from "@sturdy/policy/Retry"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { makeCopies, settle } from "./utils/hedgeCopies.js"

class Failed extends Data.TaggedError("Failed")<{ readonly why: string }> {}

const key = "client"
const WarmupRequestLatency = 1000

const setupFilter = (maxExtraLoad: number, options: { readonly min?: Duration.DurationInput } = {}) => {
  const tracker = Hedge.unsafeMakeLatencyTracker()
  const delay = Hedge.percentile({
    tracker,
    key,
    quantile: 1 - maxExtraLoad,
    fallback: "1 hour",
    minSamples: 1,
    ...options
  })
  const budget = RetryBudget.unsafeMake({ window: "30 seconds", minRetries: 300, ratio: 0.01 })
  const c = makeCopies<string, Failed>()
  const backups: Array<Hedge.HedgeEvent> = []
  const service = c.call.pipe(
    Hedge.hedge({
      delay,
      maxHedges: 1,
      budgetKey: "backups",
      onHedge: (event) => Effect.sync(() => backups.push(event))
    }),
    Effect.provideService(RetryBudget.RetryBudget, budget)
  )
  const latency = (quantile: number) => Effect.map(tracker.quantile(key, quantile), Option.map(Duration.toMillis))
  return { tracker, delay, budget, c, backups, service, latency }
}

type Filter = ReturnType<typeof setupFilter>

// the filter's warm-up: 100 requests of `requestLatency`
const warmFilterForBackup = (filter: Filter, requestLatency: number) =>
  Effect.repeatN(filter.tracker.record(key, Duration.millis(requestLatency)), 99)

const start = <A, E>(effect: Effect.Effect<A, E>) => Effect.tap(Effect.fork(effect), () => settle)
const advance = (millis: number) => Effect.zipRight(TestClock.adjust(millis), settle)

// Finagle's `sendBackup`: maxExtraLoad 50 %, warmed with 1 s requests; the original is sent, and the backup after
// sendBackupAfter (1 s), not before
const sendBackup = (filter: Filter) =>
  Effect.gen(function*() {
    yield* warmFilterForBackup(filter, WarmupRequestLatency)
    const fiber = yield* start(filter.service)
    expect(filter.c.copies).toHaveLength(1)
    yield* advance(WarmupRequestLatency / 2)
    expect(filter.c.copies).toHaveLength(1)
    yield* advance(WarmupRequestLatency / 2)
    expect(filter.c.starts()).toEqual([[0, 0], [1, WarmupRequestLatency]])
    return fiber
  })

describe("peer Finagle BackupRequestFilterTest", () => {
  // Finagle rejects a maxExtraLoad outside [0, 1]; its quantile 1 − maxExtraLoad is then outside [0, 1]
  it("extra load must be non-negative", () => {
    const tracker = Hedge.unsafeMakeLatencyTracker()
    expect(() => Hedge.percentile({ tracker, key, quantile: 1 - -5, fallback: "1 second" })).toThrow(RangeError)
  })

  it("extra load must be <= 1.0", () => {
    const tracker = Hedge.unsafeMakeLatencyTracker()
    expect(() => Hedge.percentile({ tracker, key, quantile: 1 - 2, fallback: "1 second" })).toThrow(RangeError)
  })

  it.effect("adds latency to windowedPercentile", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.01)
      expect(yield* f.latency(0.5)).toEqual(Option.none())
      const fiber = yield* start(f.service)
      yield* advance(100)
      yield* f.c.succeed(0, "ok back")
      expect(yield* Fiber.join(fiber)).toBe("ok back")
      expect(yield* f.latency(0.5)).toEqual(Option.some(100))
    }))

  // Finagle's send_backup_after stat is the delay the next backup is sent after
  it.effect("stat for send_backup_after", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.01)
      const first = yield* start(f.service)
      yield* advance(100)
      yield* f.c.succeed(0, "ok back")
      yield* Fiber.join(first)

      const second = yield* start(f.service)
      yield* advance(100)
      expect(f.backups.map((b) => [b.index, Duration.toMillis(b.elapsed)])).toEqual([[1, 100]])
      yield* f.c.succeed(2, "backup")
      expect(yield* Fiber.join(second)).toBe("backup")
    }))

  it.effect("Original request completes successfully before timer fires", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.01)
      yield* warmFilterForBackup(f, WarmupRequestLatency)
      const fiber = yield* start(f.service)
      yield* advance(WarmupRequestLatency / 2)
      yield* f.c.succeed(0, "orig")
      // ensure result of original request returned, latency recorded, and no backup sent, then or later
      expect(yield* Fiber.join(fiber)).toBe("orig")
      expect(yield* f.latency(0)).toEqual(Option.some(WarmupRequestLatency / 2))
      expect(yield* f.tracker.count(key)).toBe(101)
      yield* advance(10 * WarmupRequestLatency)
      expect(f.c.copies).toHaveLength(1)
      expect(f.backups).toEqual([])
    }))

  it.effect("Original request completes unsuccessfully before timer fires", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.01)
      yield* warmFilterForBackup(f, WarmupRequestLatency)
      const fiber = yield* start(f.service)
      yield* advance(WarmupRequestLatency / 2)
      yield* f.c.fail(0, new Failed({ why: "boom" }))
      // ensure latency *not* recorded (because request failed fast)
      expect(yield* f.tracker.count(key)).toBe(100)
      expect(yield* f.latency(0)).toEqual(Option.some(WarmupRequestLatency))
      // Finagle returns the failure and sends no backup; Sturdy sends the backup at once (gRFC A6)
      expect(f.backups.map((b) => [b.trigger, Duration.toMillis(b.elapsed)])).toEqual([["failure", 500]])
      yield* f.c.fail(1, new Failed({ why: "boom again" }))
      expect(yield* Fiber.await(fiber)).toEqual(Exit.fail(new Failed({ why: "boom again" })))
      expect(yield* f.tracker.count(key)).toBe(100)
    }))

  it.effect("Backup request completes successfully first, sendInterrupts=true", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.5)
      const fiber = yield* sendBackup(f)
      expect(yield* f.latency(0.5)).toEqual(Option.some(WarmupRequestLatency))
      yield* advance(1000)
      yield* f.c.succeed(1, "backup")
      // ensure result of backup request returned, and the original interrupted
      expect(yield* Fiber.join(fiber)).toBe("backup")
      expect(f.c.ends()).toEqual([[0, "interrupted"], [1, "done"]])
      // Finagle records the backup's own 1 s, then the original's 2 s; Sturdy records the call's 2 s once
      expect(yield* f.tracker.count(key)).toBe(101)
      expect(yield* f.latency(1)).toEqual(Option.some(WarmupRequestLatency + 1000))
      expect(f.backups).toHaveLength(1)
    }))

  it.effect("Original request completes successfully first, sendInterrupts=true", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.5)
      const fiber = yield* sendBackup(f)
      yield* advance(1000)
      yield* f.c.succeed(0, "orig")
      // ensure result of the original returned and latency recorded; the backup is interrupted
      expect(yield* Fiber.join(fiber)).toBe("orig")
      expect(f.c.ends()).toEqual([[0, "done"], [1, "interrupted"]])
      expect(yield* f.tracker.count(key)).toBe(101)
      expect(yield* f.latency(1)).toEqual(Option.some(WarmupRequestLatency + 1000))
    }))

  it.effect("Original request completes unsuccessfully first", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.5)
      const fiber = yield* sendBackup(f)
      yield* advance(1000)
      yield* f.c.fail(0, new Failed({ why: "failure" }))
      // ensure latency *not* recorded, and result of the original *not* returned
      expect(yield* f.tracker.count(key)).toBe(100)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* f.c.succeed(1, "backup")
      // ensure result of backup request returned
      expect(yield* Fiber.join(fiber)).toBe("backup")
      expect(f.backups).toHaveLength(1)
    }))

  it.effect("Backup request completes unsuccessfully first", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.5)
      const fiber = yield* sendBackup(f)
      yield* advance(1000)
      yield* f.c.fail(1, new Failed({ why: "failure" }))
      // ensure latency *not* recorded, and result of the backup *not* returned
      expect(yield* f.tracker.count(key)).toBe(100)
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* f.c.succeed(0, "orig")
      // ensure result of orig request returned, and its latency recorded
      expect(yield* Fiber.join(fiber)).toBe("orig")
      expect(yield* f.latency(1)).toEqual(Option.some(WarmupRequestLatency + 1000))
    }))

  it.effect("Deposits into local RetryBudget only", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.01)
      expect(yield* f.budget.stats("backups")).toEqual({ requests: 0, retries: 0, available: 300 })
      for (let i = 0; i < 100; i++) {
        const fiber = yield* start(f.service)
        yield* f.c.succeed(i, "ok")
        yield* Fiber.join(fiber)
      }
      // 100 requests at 1 % are one more backup; the client's retry budget (another key) is untouched
      expect(yield* f.budget.stats("backups")).toEqual({ requests: 100, retries: 0, available: 301 })
      expect(yield* f.budget.stats("retries")).toEqual({ requests: 0, retries: 0, available: 300 })
    }))

  // Finagle: backups also withdraw from the client's retry budget, which its retries spend. Sturdy: the hedge draws on
  // the key its `Retry` deposits to and withdraws from (`deposit: false`, the retry deposits the call).
  it.effect("Don't send backup when backup timer fires if cannot withdraw from global retry budget", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.01)
      const budget = RetryBudget.unsafeMake({ window: "5 seconds", minRetries: 50, ratio: 0.2 })
      yield* warmFilterForBackup(f, WarmupRequestLatency)
      const call = f.c.call.pipe(
        Hedge.hedge({ delay: f.delay, maxHedges: 1, budgetKey: "client", deposit: false }),
        Retry.retry({ schedule: Schedule.recurs(1), budgetKey: "client" }),
        Effect.provideService(RetryBudget.RetryBudget, budget)
      )
      const fiber = yield* start(call)
      // the client's retries take everything the budget had
      while (yield* budget.withdraw("client")) {
        // spent
      }
      yield* advance(WarmupRequestLatency)
      expect(f.c.copies).toHaveLength(1)
      yield* f.c.succeed(0, "orig")
      expect(yield* Fiber.join(fiber)).toBe("orig")
    }))

  it.effect("Don't send backup when backup timer fires if cannot withdraw from backup request retry budget", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.01)
      yield* warmFilterForBackup(f, WarmupRequestLatency)
      const fiber = yield* start(f.service)
      expect(f.c.copies).toHaveLength(1)
      // Finagle's budget holds 300 after this request's 1 % deposit, in tokens; Sturdy rounds a fraction of a retry
      // up (`RetryBudget`'s docs), so 301 are allowed before a refusal
      let withdrawn = 0
      while (yield* f.budget.withdraw("backups")) withdrawn++
      expect(withdrawn).toBe(301)
      yield* advance(WarmupRequestLatency)
      expect(f.c.copies).toHaveLength(1)
      yield* f.c.succeed(0, "orig")
      expect(yield* Fiber.join(fiber)).toBe("orig")
      expect(f.backups).toEqual([])
    }))

  it.effect("record latency on timeout", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.5)
      const fiber = yield* sendBackup(f)
      yield* advance(1000)
      yield* f.c.fail(0, new Failed({ why: "IndividualRequestTimeoutException(2.seconds)" }))
      // Finagle records the timed-out request's 2 s; Sturdy records a latency only for the call's answer
      expect(yield* f.tracker.count(key)).toBe(100)
      yield* advance(500)
      yield* f.c.succeed(1, "backup")
      expect(yield* Fiber.join(fiber)).toBe("backup")
      expect(yield* f.latency(1)).toEqual(Option.some(WarmupRequestLatency + 1500))
    }))

  // 90 requests of 50 ms and 10 of 100 ms: at 1 % extra load the backup goes after 100 ms (p99), at 10 % after 50 ms
  // (p90). (Finagle's budget of the new load, 10 %, is a `RetryBudget` of ratio 0.1.)
  it.effect("sendBackupAfter percentile and RetryBudget changed when maxExtraLoad Tunable is changed", () =>
    Effect.gen(function*() {
      for (const [maxExtraLoad, sendBackupAfter] of [[0.01, 100], [0.1, 50]] as const) {
        const tracker = Hedge.unsafeMakeLatencyTracker()
        for (let i = 0; i < 90; i++) yield* tracker.record(key, "50 millis")
        for (let i = 0; i < 10; i++) yield* tracker.record(key, "100 millis")
        const c = makeCopies<string, Failed>()
        const backups: Array<number> = []
        const delay = Hedge.percentile({ tracker, key, quantile: 1 - maxExtraLoad, fallback: "1 hour" })
        const fiber = yield* start(Hedge.hedge(c.call, {
          delay,
          onHedge: (event) => Effect.sync(() => backups.push(Duration.toMillis(event.elapsed)))
        }))
        yield* advance(sendBackupAfter - 1)
        expect(backups).toEqual([])
        yield* advance(1)
        expect(backups).toEqual([sendBackupAfter])
        yield* c.succeed(1, "backup")
        yield* Fiber.join(fiber)
      }
    }))

  it.effect("Minimum sendBackupAfter of 1ms", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.01)
      // 100 requests answered in no time
      for (let i = 0; i < 100; i++) {
        const fiber = yield* start(f.service)
        yield* f.c.succeed(i, "ok")
        yield* Fiber.join(fiber)
      }
      expect(yield* f.latency(0.99)).toEqual(Option.some(0))
      // no backup was sent, and the next one waits 1 ms
      expect(f.backups).toEqual([])
      const fiber = yield* start(f.service)
      expect(f.backups).toEqual([])
      yield* advance(1)
      expect(f.backups.map((b) => Duration.toMillis(b.elapsed))).toEqual([1])
      yield* f.c.succeed(101, "backup")
      expect(yield* Fiber.join(fiber)).toBe("backup")
    }))

  it.effect("Minimum sendBackupAfter can be overwritten", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.01, { min: "10 millis" })
      for (let i = 0; i < 100; i++) {
        const fiber = yield* start(f.service)
        yield* f.c.succeed(i, "ok")
        yield* Fiber.join(fiber)
      }
      expect(f.backups).toEqual([])
      const fiber = yield* start(f.service)
      yield* advance(9)
      expect(f.backups).toEqual([])
      yield* advance(1)
      expect(f.backups.map((b) => Duration.toMillis(b.elapsed))).toEqual([10])
      yield* f.c.succeed(101, "backup")
      expect(yield* Fiber.join(fiber)).toBe("backup")
    }))

  // Finagle: a percentile beyond what its histogram can measure schedules no backup. Sturdy: a quantile read longer
  // than a timer can hold (2^31 − 1 ms) is a sleep that would never wake on the live clock; on the TestClock, the
  // original answering at half of it sends no backup, and its latency is recorded.
  it.effect("Percentile latency exceeds measurable latency", () =>
    Effect.gen(function*() {
      const f = setupFilter(0.01)
      const highest = 2 ** 31
      yield* warmFilterForBackup(f, highest)
      const fiber = yield* start(f.service)
      yield* advance(highest / 2)
      yield* f.c.succeed(0, "orig")
      expect(yield* Fiber.join(fiber)).toBe("orig")
      expect(yield* f.latency(0)).toEqual(Option.some(highest / 2))
      expect(f.backups).toEqual([])
      expect(f.c.copies).toHaveLength(1)
    }))
})
