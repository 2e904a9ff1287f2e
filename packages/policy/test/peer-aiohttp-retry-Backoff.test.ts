// Ported from aiohttp-retry's retry-option tests (inyutin/aiohttp_retry, commit
// 4d336bdce20cdd00ba4a08d052af3dc32879d952, tests/test_retry_options.py; the options: aiohttp_retry/retry_options.py),
// one `it` per pytest case, named after it. The client cases (tests/test_client.py) are in the repository's
// `test/peer-aiohttp-retry.test.ts`.
//
// Mapping: `get_timeout(x)` for x = 0, 1, ... is the (x + 1)-th delay the schedule chooses (`stepDelays`), in
// milliseconds where aiohttp-retry has seconds. `ExponentialRetry(start_timeout, factor, max_timeout)` is
// `Backoff.exponential({ baseDelay, factor, maxDelay, jitter: "none" })`; `RandomRetry(min_timeout, max_timeout)` is
// a fixed 1 s spacing scaled at random into [min, max] (`Schedule.jitteredWith`), bounded with `Backoff.bounded`;
// `ListRetry(timeouts)` is `Backoff.fromDelay` reading the list; `FibonacciRetry(multiplier, max_timeout)` is
// `Backoff.bounded(Schedule.fibonacci(multiplier), { maxDelay })`; `JitterRetry` is `ExponentialRetry` with a jitter
// mode; `attempts` (the first included) is `maxAttempts`. Python's `random.Random(0)` / `random.seed(10)` is Effect's
// `Random` service, seeded.
//
// Deliberate differences (each test says which): Sturdy's jitter only shortens a delay within its envelope and never
// passes `maxDelay`, where `JitterRetry` adds `uniform(0, 2) ** factor` seconds on top of the exponential delay (its
// expected 30.4 s is above its own `max_timeout` of 30 s); `Schedule.fibonacci(m)` starts m, m, 2m, 3m ..., where
// `FibonacciRetry` starts at the third term (2m, 3m, 5m ...); a different generator than Python's Mersenne Twister, so
// the random cases assert the range and the seeded reproducibility, not Python's numbers.
//
// Not ported: nothing; every case has its `it`.
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import { stepDelays } from "./utils/stepDelays.js"

/** the first `count` delays (ms) a schedule chooses: `[get_timeout(x) for x in range(count)]` */
const timeouts = (schedule: Schedule.Schedule<unknown>, count: number, seed = 0) =>
  stepDelays(schedule, Array.from({ length: count }, () => undefined), 0, seed)

describe("peer aiohttp-retry tests/test_retry_options.py", () => {
  it("test_exponential_retry", () => {
    // ExponentialRetry(attempts=10): 0.1 s doubling, capped at 30 s
    const retry = Backoff.exponential({
      baseDelay: "100 millis",
      factor: 2,
      maxDelay: "30 seconds",
      jitter: "none",
      maxAttempts: 11
    })
    expect(timeouts(retry, 10)).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000])
    // attempts=10 is ten attempts in all: nine delays
    expect(timeouts(Backoff.exponential({ baseDelay: 100, jitter: "none", maxDelay: 30_000, maxAttempts: 10 }), 10))
      .toHaveLength(9)
  })

  it("test_random_retry", () => {
    // RandomRetry(min_timeout=0.1, max_timeout=3.0): each delay at random in [0.1 s, 3 s], reproducible from the seed
    // (aiohttp-retry's random.Random(0) gives 2.55, 2.3, 1.32, ... s; Effect's generator gives other numbers)
    const retry = Backoff.bounded(Schedule.spaced("1 second").pipe(Schedule.jitteredWith({ min: 0.1, max: 3 })), {
      maxAttempts: 11
    })
    const out = timeouts(retry, 10)
    expect(out).toHaveLength(10)
    for (const d of out) {
      expect(d).toBeGreaterThanOrEqual(100)
      expect(d).toBeLessThanOrEqual(3000)
    }
    expect(new Set(out).size).toBeGreaterThan(5)
    expect(timeouts(retry, 10)).toEqual(out)
  })

  it("test_list_retry", () => {
    const expected = [1.2, 2.1, 3.4, 4.3, 4.5, 5.4, 5.6, 6.5, 6.7, 7.6]
    const retry = Backoff.bounded(Backoff.fromDelay((retry) => expected[retry - 1]! * 1000), {
      maxAttempts: expected.length + 1
    })
    expect(timeouts(retry, 10)).toEqual(expected.map((s) => Math.round(s * 1000)))
  })

  it("test_fibonacci_retry", () => {
    // FibonacciRetry(attempts=10, multiplier=2, max_timeout=60): 4, 6, 10, 16, 26, 42, then 60 s. Effect's fibonacci
    // schedule starts two terms earlier (2, 2, then the same sequence)
    const retry = Backoff.bounded(Schedule.fibonacci("2 seconds"), { maxDelay: "60 seconds", maxAttempts: 13 })
    const out = timeouts(retry, 12)
    expect(out.slice(0, 2)).toEqual([2000, 2000])
    expect(out.slice(2)).toEqual([4, 6, 10, 16, 26, 42, 60, 60, 60, 60].map((s) => s * 1000))
  })

  it("test_jitter_retry", () => {
    // JitterRetry(attempts=10): 0.1 s doubling up to 30 s, plus uniform(0, 2) ** 2 s, so up to 4 s more (its last
    // expected delay, 30.4 s, is above max_timeout). Sturdy's jitter keeps each delay in its envelope, under maxDelay
    for (const jitter of ["full", "equal"] as const) {
      const options = { baseDelay: "100 millis", factor: 2, maxDelay: "30 seconds", jitter, maxAttempts: 11 } as const
      const out = timeouts(Backoff.exponential(options), 10, 10)
      expect(out).toHaveLength(10)
      out.forEach((d, n) => {
        const { lower, upper } = Backoff.envelope(options, n)
        expect(d).toBeGreaterThanOrEqual(Duration.toMillis(lower))
        expect(d).toBeLessThanOrEqual(Duration.toMillis(upper))
        expect(d).toBeLessThanOrEqual(30_000)
      })
      // random.seed(10): the same seed, the same delays
      expect(timeouts(Backoff.exponential(options), 10, 10)).toEqual(out)
    }
  })
})
