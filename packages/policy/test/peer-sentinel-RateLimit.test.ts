// Ported from alibaba/Sentinel's sentinel-core/src/test/java/com/alibaba/csp/sentinel/slots/block/flow/controller/
// ThrottlingControllerTest.java (commit d75a6687b82711f8611ef91f6a56e993d24f57c5; the leaky-bucket controller of
// CONTROL_BEHAVIOR_RATE_LIMITER, formerly RateLimiterController), one `it` per Sentinel case, named after it.
// Mapping: `new ThrottlingController(maxQueueingTimeMs, count)` lets one call through every `1000 / count` ms, each
// waiting in line for its turn unless that wait would be above `maxQueueingTimeMs`: a token bucket of one token
// refilled every `1000 / count` ms (no burst) in mode "delay" with `maxWait: maxQueueingTimeMs`, i.e.
// `RateLimit.make({ limit: 1, window: 1000 / count ms, maxWait })` over the memory store. `canPass(node, 1)` true is
// a `consume` that succeeds (after its wait), false a `RateLimitExceeded`; Sentinel's threads are fibers, its real
// sleeps TestClock time.
// Deliberate differences (each test says which): a rate of 0 and a request of 0 tokens are refused as `RangeError`
// defects, where Sentinel blocks every call at a count of 0 and lets a request of 0 tokens through.
// Not ported: WarmUpRateLimiterControllerTest and WarmUpControllerTest (Sturdy has no warm-up), DefaultControllerTest
// (Sentinel's QPS/thread counters on a node), tokenbucket/TokenBucketTest (buckets that refill fewer tokens than they
// hold and may start empty: a Sturdy bucket refills `limit` per `window` and starts full).
import { describe, expect, it } from "@effect/vitest"
import { RateLimit } from "@sturdy/policy"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { advanceToDone } from "./utils/advance.js"

const memory = Effect.provide(RateLimit.layerStoreMemory)

const throttlingController = (maxQueueingTimeMs: number, count: number) =>
  RateLimit.make({ limit: 1, window: Duration.millis(1000 / count), maxWait: Duration.millis(maxQueueingTimeMs) })

describe("peer sentinel ThrottlingControllerTest", () => {
  it.effect("testThrottlingControllerNormal", () =>
    Effect.gen(function*() {
      const paceController = yield* throttlingController(500, 10)
      const start = yield* Clock.currentTimeMillis
      for (let i = 0; i < 6; i++) {
        expect(Exit.isSuccess(yield* advanceToDone(paceController.consume("node", 1)))).toBe(true)
      }
      const end = yield* Clock.currentTimeMillis
      expect(end - start).toBeGreaterThan(400)
      // one call every 100 ms, the first at once
      expect(end - start).toBe(500)
    }).pipe(memory))

  it.effect("testThrottlingControllerQueueTimeout", () =>
    Effect.gen(function*() {
      const paceController = yield* throttlingController(500, 10)
      // ten threads at once
      const outcomes = yield* advanceToDone(
        Effect.forEach(
          Array.from({ length: 10 }),
          () => Effect.exit(paceController.consume("node", 1)),
          { concurrency: "unbounded" }
        )
      )
      const exits = Exit.isSuccess(outcomes) ? outcomes.value : []
      const passCount = exits.filter(Exit.isSuccess).length
      const blockCount = exits.filter((e) =>
        Exit.isFailure(e) && e.cause._tag === "Fail" && RateLimit.isRateLimitExceeded(e.cause.error)
      ).length
      expect(blockCount).toBeGreaterThan(0)
      // the calls due at 0, 100, ..., 500 ms wait at most 500 ms and pass; the four due later are turned away at once
      expect({ passCount, blockCount }).toEqual({ passCount: 6, blockCount: 4 })
    }).pipe(memory))

  it.effect("testThrottlingControllerZeroThreshold", () =>
    Effect.gen(function*() {
      // Sentinel: a count of 0 blocks every call (and a request of 0 tokens passes); Sturdy refuses a limit that
      // could never grant a call, and a request of no tokens, as defects
      // (a count of 0 is one call per infinite window; as Sturdy's calls per window, a limit of 0)
      const zero = yield* Effect.exit(throttlingController(500, 0))
      expect(zero).toEqual(Exit.die(new RangeError("RateLimit: window must be a finite, positive duration")))
      const none = yield* Effect.exit(RateLimit.make({ limit: 0, window: "1 second", maxWait: "500 millis" }))
      expect(none).toEqual(Exit.die(new RangeError("RateLimit: limit (0) must be an integer of at least 1")))
      const paceController = yield* throttlingController(500, 10)
      for (let i = 0; i < 2; i++) {
        const noTokens = yield* Effect.exit(paceController.consume("node", 0))
        expect(noTokens).toEqual(
          Exit.die(new RangeError("RateLimit: tokens (0) must be an integer from 1 to the limit (1)"))
        )
      }
    }).pipe(memory))
})
