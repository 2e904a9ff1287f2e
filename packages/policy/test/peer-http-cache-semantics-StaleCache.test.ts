// Ported from kornelski/http-cache-semantics at f01112e954b83cfa8765b633ba880e5e980aa54c: test/okhttptest.js,
// test/updatetest.js and test/responsetest.js, the cases about serving a stored response when the origin fails
// (stale-if-error, RFC 5861), the stale-while-revalidate and max-stale bounds, and what counts as an error. One `it`
// per peer case, named after it.
// Mapping: StaleCache has no freshness lifetime (it always asks the upstream first and answers from the cache only
// when the upstream fails), so a response's `max-age=M` with `stale-if-error=S` is a cache made with
// `maxStaleness: M + S` (the peer's `_useStaleIfError()`: age < M + S); `stale-while-revalidate=W` likewise bounds a
// stale answer at M + W, and a request's `max-stale=X` at M + X (`max-stale` without a value: `Duration.infinity`).
// A response's `age: N` header is `TestClock.adjust(N seconds)` after the answer was stored. `revalidatedPolicy(req,
// response)` keeping the old policy is `serve` answering `"stale"`. The peer's `isErrorResponse` (no response at all,
// i.e. a network failure, or status 500, 502, 503 or 504) is `serve`'s `while`; `must-revalidate` (never serve
// stale) is a `while` that rejects every failure.
// Deliberate differences: the bound is inclusive in Sturdy (`maxStaleness` is the oldest answer that may be served;
// RFC 9111's max-stale says "by no more than", RFC 5861 "the upper limit"), where the peer serves only strictly
// inside it (`maxAge + staleIfError > age`, `max-stale > age - maxAge`): the tests check both sides of the edge.
// Sturdy's cache never answers as fresh: every cached answer carries its age and `Fallback.isDegraded` is true, which
// is the peer's "does not satisfy without revalidation"; there is no background revalidation (StaleCache asks the
// upstream on every call).
// Not ported: freshness (max-age, s-maxage, Expires, heuristic freshness, min-fresh, request max-age, immutable),
// Vary, validators and revalidation headers (ETag, Last-Modified, 304 merging), storability rules (no-store, private,
// methods, cookies) and header rewriting: StaleCache stores every success and has no HTTP semantics. Of "response
// caching by response code" only the 5xx rows are ported (a 2xx-4xx response is an answer or a typed failure of the
// caller's own choosing); its 501 row, cacheable in the peer, is a failure here and is not stored.
import { describe, expect, it } from "@effect/vitest"
import { Fallback, StaleCache } from "@sturdy/policy"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

// A response with a non-2xx status, and no response at all.
class HttpStatus extends Data.TaggedError("HttpStatus")<{ readonly status: number }> {}
class NetworkFailure extends Data.TaggedError("NetworkFailure")<{}> {}
type OriginFailure = HttpStatus | NetworkFailure

// The peer's isErrorResponse: a missing response or one of errorStatusCodes.
const isErrorResponse = (e: OriginFailure): boolean =>
  e._tag === "NetworkFailure" || [500, 502, 503, 504].includes(e.status)

const origin = (answer: string | OriginFailure): Effect.Effect<string, OriginFailure> =>
  typeof answer === "string" ? Effect.succeed(answer) : Effect.fail(answer)

const seconds = (n: number) => Duration.seconds(n)

// Stores "cached" under "page" (a 200 with the given bound), then lets `age` seconds pass.
const stored = (maxStaleness: Duration.DurationInput, age: number) =>
  Effect.gen(function*() {
    const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness })
    expect((yield* origin("cached").pipe(StaleCache.serve(cache, "page"))).source).toBe("upstream")
    yield* TestClock.adjust(seconds(age))
    return cache
  })

describe("peer http-cache-semantics stale-if-error / stale-while-revalidate", () => {
  it.effect("response caching by response code", () =>
    Effect.gen(function*() {
      // the 5xx rows: 500, 502, 503, 504, 505, 506 are not stored; 501 is stored by the peer (deliberate
      // difference: every failure is a failure here, and only a success is stored)
      for (const status of [500, 501, 502, 503, 504, 505, 506]) {
        const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: "1 hour" })
        const exit = yield* Effect.exit(origin(new HttpStatus({ status })).pipe(StaleCache.serve(cache, "page")))
        expect(exit).toStrictEqual(Exit.fail(new HttpStatus({ status })))
        expect(yield* cache.size).toBe(0)
      }
    }))

  it.effect("stale-if-error timetolive", () =>
    Effect.gen(function*() {
      // max-age=60, stale-if-error=200: kept for 260 s
      const cache = yield* stored(seconds(60 + 200), 0)
      expect(Duration.toMillis(cache.maxStaleness)).toBe(260000)
      const failing = origin(new HttpStatus({ status: 503 })).pipe(
        StaleCache.serve(cache, "page", { while: isErrorResponse })
      )
      yield* TestClock.adjust("259999 millis")
      expect(yield* failing).toMatchObject({
        value: "cached",
        source: "stale",
        age: Option.some(Duration.millis(259999))
      })
      // the edge itself: served here (inclusive bound), not by the peer (strict)
      yield* TestClock.adjust("1 millis")
      expect((yield* failing).age).toEqual(Option.some(seconds(260)))
      yield* TestClock.adjust("1 millis")
      expect(yield* Effect.exit(failing)).toStrictEqual(Exit.fail(new HttpStatus({ status: 503 })))
      expect(yield* cache.size).toBe(0)
    }))

  it.effect("stale-while-revalidate timetolive", () =>
    Effect.gen(function*() {
      // max-age=60, stale-while-revalidate=200: a stale answer may be used for 260 s after it was stored
      const cache = yield* stored(seconds(60 + 200), 0)
      yield* TestClock.adjust("259999 millis")
      expect(Option.map(yield* cache.get("page"), (e) => e.age)).toEqual(Option.some(Duration.millis(259999)))
      yield* TestClock.adjust("2 millis")
      expect(yield* cache.get("page")).toEqual(Option.none())
    }))

  it.effect("stale-while-revalidate does not satisfy when stale because it requires revalidation", () =>
    Effect.gen(function*() {
      // age: 120, max-age=60, stale-while-revalidate=200: usable (120 < 260) but never as a fresh answer
      const cache = yield* stored(seconds(60 + 200), 120)
      const answer = yield* Fallback.firstOf({ cache: StaleCache.lookup(cache, "page") })
      expect(answer.value).toBe("cached")
      expect(answer.age).toEqual(Option.some(seconds(120)))
      expect(Fallback.isDegraded(answer)).toBe(true)
    }))

  it.effect(
    "stale-while-revalidate does not satisfy when stale and must-revalidate because it requires revalidation",
    () =>
      Effect.gen(function*() {
        // must-revalidate: no failure may be answered from the cache, however young the answer
        const cache = yield* stored(seconds(60 + 200), 120)
        for (const failure of [new HttpStatus({ status: 503 }), new NetworkFailure()]) {
          const exit = yield* Effect.exit(origin(failure).pipe(StaleCache.serve(cache, "page", { while: () => false })))
          expect(exit).toStrictEqual(Exit.fail(failure))
        }
        // the answer is still stored: must-revalidate concerns serving, not storing
        expect(Option.isSome(yield* cache.get("page"))).toBe(true)
      })
  )

  it.effect("stale-while-revalidate work with max-stale", () =>
    Effect.gen(function*() {
      // age: 100, max-age=60. Request max-stale (no value): any age
      const unbounded = yield* stored(Duration.infinity, 100)
      expect((yield* origin(new NetworkFailure()).pipe(StaleCache.serve(unbounded, "page"))).source).toBe("stale")
      // max-stale=40: stale by 40 s exactly. The peer refuses (40 > 40 is false); Sturdy's bound is inclusive
      // (RFC 9111: "exceeded its freshness lifetime by no more than" 40 s), so the edge is served and 1 ms more is not
      const bounded = yield* stored(seconds(60 + 40), 100)
      const failing = origin(new NetworkFailure()).pipe(StaleCache.serve(bounded, "page"))
      expect((yield* failing).age).toEqual(Option.some(seconds(100)))
      yield* TestClock.adjust("1 millis")
      expect(yield* Effect.exit(failing)).toStrictEqual(Exit.fail(new NetworkFailure()))
    }))

  it.effect("stale-while-revalidate not satisfies when stale and expired", () =>
    Effect.gen(function*() {
      // age: 260, max-age=60, stale-while-revalidate=200: the peer refuses at the edge (strict), Sturdy past it
      const cache = yield* stored(seconds(60 + 200), 260)
      yield* TestClock.adjust("1 millis")
      const missing = yield* Effect.flip(StaleCache.lookup(cache, "page"))
      expect(missing).toEqual(new StaleCache.NoStaleAnswer({ key: "page", reason: "TooOld" }))
    }))

  it.effect("request max stale", () =>
    Effect.gen(function*() {
      // max-age=120, age: 240 (stale by 120 s)
      const answerFrom = (maxStaleness: Duration.DurationInput) =>
        Effect.flatMap(stored(maxStaleness, 4 * 60), (cache) =>
          Effect.exit(origin(new HttpStatus({ status: 502 })).pipe(StaleCache.serve(cache, "page"))))
      // max-stale=180
      const within = yield* answerFrom(seconds(120 + 180))
      expect(Exit.isSuccess(within) && within.value.value).toBe("cached")
      // max-stale
      const any = yield* answerFrom(Duration.infinity)
      expect(Exit.isSuccess(any) && any.value.age).toEqual(Option.some(seconds(240)))
      // max-stale=10
      expect(yield* answerFrom(seconds(120 + 10))).toStrictEqual(Exit.fail(new HttpStatus({ status: 502 })))
    }))

  it.effect("request max stale not honored with must revalidate", () =>
    Effect.gen(function*() {
      // max-age=120, must-revalidate, age: 360; max-stale=180 and max-stale: nothing stale is served
      for (const maxStaleness of [seconds(120 + 180), Duration.infinity]) {
        const cache = yield* stored(maxStaleness, 360)
        const exit = yield* Effect.exit(
          origin(new HttpStatus({ status: 503 })).pipe(StaleCache.serve(cache, "page", { while: () => false }))
        )
        expect(exit).toStrictEqual(Exit.fail(new HttpStatus({ status: 503 })))
      }
    }))

  it.effect("uncacheable 503", () =>
    Effect.gen(function*() {
      // a 503 (even with max-age=1000) is not stored: a later failure finds nothing to serve
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: "1000 seconds" })
      const unavailable = origin(new HttpStatus({ status: 503 })).pipe(StaleCache.serve(cache, "page"))
      expect(yield* Effect.exit(unavailable)).toStrictEqual(Exit.fail(new HttpStatus({ status: 503 })))
      expect(yield* cache.size).toBe(0)
      expect((yield* Effect.flip(StaleCache.lookup(cache, "page"))).reason).toBe("Missing")
    }))

  it.effect("staleIfError revalidate, no response", () =>
    Effect.gen(function*() {
      // max-age=200, stale-if-error=300; the revalidation gets no response (a network failure): the old answer stays
      const cache = yield* stored(seconds(200 + 300), 0)
      const answer = yield* origin(new NetworkFailure()).pipe(
        StaleCache.serve(cache, "page", { while: isErrorResponse })
      )
      expect(answer).toEqual({
        value: "cached",
        source: "stale",
        failures: [{ source: "upstream", error: new NetworkFailure() }],
        age: Option.some(Duration.zero)
      })
      // the entry is unchanged (still the one stored at the start)
      expect(Option.map(yield* cache.get("page"), (e) => e.storedAt)).toEqual(Option.some(0))
    }))

  it.effect("staleIfError revalidate, server error", () =>
    Effect.gen(function*() {
      const cache = yield* stored(seconds(200 + 300), 0)
      const answer = yield* origin(new HttpStatus({ status: 500 })).pipe(
        StaleCache.serve(cache, "page", { while: isErrorResponse })
      )
      expect(answer.source).toBe("stale")
      expect(answer.value).toBe("cached")
      expect(answer.failures).toEqual([{ source: "upstream", error: new HttpStatus({ status: 500 }) }])
      // what counts as an error (the peer's errorStatusCodes in index.js, not a case of its tests): 500, 502, 503, 504
      // and no response are answered from the cache; another status (a 404, or a 501) is returned as it is
      for (const status of [502, 503, 504]) {
        const stale = yield* origin(new HttpStatus({ status })).pipe(
          StaleCache.serve(cache, "page", { while: isErrorResponse })
        )
        expect(stale.source).toBe("stale")
      }
      for (const status of [404, 501]) {
        const exit = yield* Effect.exit(
          origin(new HttpStatus({ status })).pipe(StaleCache.serve(cache, "page", { while: isErrorResponse }))
        )
        expect(exit).toStrictEqual(Exit.fail(new HttpStatus({ status })))
      }
    }))
})
