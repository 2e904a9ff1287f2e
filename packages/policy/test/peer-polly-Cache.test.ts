// Ported from Polly v7's cache policy specs (App-vNext/Polly at 173d6d1d2e28a4697f1ac1d22da68f77ff19a0c9,
// test/Polly.Specs/Caching/CacheSpecs.cs and RelativeTtlSpecs.cs; CacheAsyncSpecs.cs holds the same cases, by the
// same names, for async delegates, which are one case each here), one `it` per Polly case, named after it.
// Mapping: Polly's CachePolicy answers from the cache first and runs the delegate on a miss, putting its result; in
// Sturdy that is a Fallback chain over a StaleCache, `Fallback.firstOf({ cache: StaleCache.lookup(cache, key),
// execute: StaleCache.remember(delegate, cache, key) })` (`cacheAside` below). A `RelativeTtl(ttl)` is the cache's
// `maxStaleness` (`TimeSpan.MaxValue` is `Duration.infinity`), counted from the put; the StubCacheProvider's `Put` is
// `cache.set` and its `TryGet` is `cache.get`; the operation key (or a key strategy's result) is the `key` string;
// SystemClock is the TestClock. Polly's hooks are the answer's provenance: onCacheGet is `source` "cache" (with the
// entry's `age`), onCacheMiss a `NoStaleAnswer` (carrying the key) in `failures`, onCachePut the entry then stored,
// onCacheGetError a failure of the cache source in `failures`. Cancellation is interruption.
// Deliberate differences: a zero ttl ("not worth caching") still stores the result, and an answer of age zero is within
// `maxStaleness: 0` (the bound is inclusive), so a lookup at the same instant finds it; one millisecond later it is
// gone. The answer says it came from the cache (`source`, `age`) where Polly returns the bare value.
// Not ported: the configuration cases (null arguments: the types refuse them), the PolicyWrap-with-NoOp cases
// (Effect composition has no NoOp policy to wrap), "Should_always_execute_delegate_if_execution_key_not_set",
// "Should_always_execute_delegate_if_execution_is_void_returning" and "Should_not_execute_oncachemiss_if_dont_query_
// cache_because_cache_key_not_set" (the key is required: there is no unkeyed pass-through), "Should_call_onError_
// delegate_if_cache_put_errors" (a StaleCache's `set` cannot fail: the interface has no error channel for it), and the
// other ttl strategies (AbsoluteTtl, SlidingTtl, ResultTtl, ContextualTtl: a StaleCache has one relative bound, and a
// read does not extend an entry's life).
import { describe, expect, it } from "@effect/vitest"
import { Fallback, StaleCache } from "@sturdy/policy"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const cacheAside = <A, E, R>(cache: StaleCache.StaleCache<A>, key: string, execute: Effect.Effect<A, E, R>) =>
  Fallback.firstOf({ cache: StaleCache.lookup(cache, key), execute: StaleCache.remember(execute, cache, key) })

const OperationKey = "SomeOperationKey"

// A delegate that counts its executions and returns `value`.
const counted = <A>(value: A) => {
  const state = { invocations: 0 }
  return { state, execute: Effect.sync(() => (state.invocations++, value)) }
}

const valueOf = <A>(entry: Option.Option<StaleCache.Entry<A>>) => Option.map(entry, (e) => e.value)

describe("peer Polly CacheSpecs", () => {
  it.effect("Should_return_value_from_cache_and_not_execute_delegate_if_cache_holds_value", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: Duration.infinity })
      yield* cache.set(OperationKey, "valueToReturnFromCache")
      const delegate = counted("valueToReturnFromExecution")
      const answer = yield* cacheAside(cache, OperationKey, delegate.execute)
      expect(answer.value).toBe("valueToReturnFromCache")
      expect(answer.source).toBe("cache")
      expect(delegate.state.invocations).toBe(0)
    }))

  it.effect("Should_execute_delegate_and_put_value_in_cache_if_cache_does_not_hold_value", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: Duration.infinity })
      expect(yield* cache.get(OperationKey)).toEqual(Option.none())
      const answer = yield* cacheAside(cache, OperationKey, Effect.succeed("valueToReturn"))
      expect(answer.value).toBe("valueToReturn")
      expect(answer.source).toBe("execute")
      expect(valueOf(yield* cache.get(OperationKey))).toEqual(Option.some("valueToReturn"))
    }))

  it.effect("Should_execute_delegate_and_put_value_in_cache_but_when_it_expires_execute_delegate_again", () =>
    Effect.gen(function*() {
      const ttl = Duration.minutes(30)
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: ttl })
      expect(yield* cache.get(OperationKey)).toEqual(Option.none())
      const delegate = counted("valueToReturn")
      const call = cacheAside(cache, OperationKey, delegate.execute)

      // First execution should execute delegate and put result in the cache.
      expect((yield* call).value).toBe("valueToReturn")
      expect(delegate.state.invocations).toBe(1)
      expect(valueOf(yield* cache.get(OperationKey))).toEqual(Option.some("valueToReturn"))

      // Second execution (just before the cache expires) gets it from the cache.
      yield* TestClock.adjust(Duration.subtract(ttl, Duration.seconds(1)))
      const cached = yield* call
      expect(cached.value).toBe("valueToReturn")
      expect(cached.age).toEqual(Option.some(Duration.subtract(ttl, Duration.seconds(1))))
      expect(delegate.state.invocations).toBe(1)

      // Third execution (cache expired) executes the delegate again.
      yield* TestClock.adjust(Duration.seconds(2))
      const fresh = yield* call
      expect(fresh.source).toBe("execute")
      expect(delegate.state.invocations).toBe(2)
    }))

  it.effect(
    "Should_execute_delegate_but_not_put_value_in_cache_if_cache_does_not_hold_value_but_ttl_indicates_not_worth_caching",
    () =>
      Effect.gen(function*() {
        const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: Duration.zero })
        expect(yield* cache.get(OperationKey)).toEqual(Option.none())
        expect((yield* cacheAside(cache, OperationKey, Effect.succeed("valueToReturn"))).value).toBe("valueToReturn")
        // deliberate difference: stored, and found at the same instant (age 0 is within a zero bound); Polly does not
        // put it at all
        expect(Option.map(yield* cache.get(OperationKey), (e) => e.age)).toEqual(Option.some(Duration.zero))
        yield* TestClock.adjust("1 millis")
        expect(yield* cache.get(OperationKey)).toEqual(Option.none())
      })
  )

  it.effect("Should_return_value_from_cache_and_not_execute_delegate_if_prior_execution_has_cached", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: Duration.infinity })
      const delegate = counted("valueToReturn")
      for (let i = 0; i < 3; i++) {
        expect((yield* cacheAside(cache, OperationKey, delegate.execute)).value).toBe("valueToReturn")
        expect(delegate.state.invocations).toBe(1)
      }
    }))

  // Polly's key strategy: context => context.OperationKey + context["id"].
  const personKey = (context: { readonly operationKey: string; readonly id: string }) =>
    context.operationKey + context.id

  it.effect("Should_allow_custom_FuncCacheKeyStrategy", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<object>({ maxEntries: 10, maxStaleness: Duration.infinity })
      const person1 = {}
      const person2 = {}
      yield* cache.set("person1", person1)
      yield* cache.set("person2", person2)
      let funcExecuted = false
      const func = Effect.sync(() => (funcExecuted = true, {}))
      const first = yield* cacheAside(cache, personKey({ operationKey: "person", id: "1" }), func)
      expect(first.value).toBe(person1)
      const second = yield* cacheAside(cache, personKey({ operationKey: "person", id: "2" }), func)
      expect(second.value).toBe(person2)
      expect(funcExecuted).toBe(false)
    }))

  it.effect("Should_allow_custom_ICacheKeyStrategy", () =>
    Effect.gen(function*() {
      // an ICacheKeyStrategy is an object with a GetCacheKey method
      const cacheKeyStrategy = { getCacheKey: personKey }
      const cache = yield* StaleCache.make<object>({ maxEntries: 10, maxStaleness: Duration.infinity })
      const person1 = {}
      const person2 = {}
      yield* cache.set("person1", person1)
      yield* cache.set("person2", person2)
      let funcExecuted = false
      const func = Effect.sync(() => (funcExecuted = true, {}))
      const key = (id: string) => cacheKeyStrategy.getCacheKey({ operationKey: "person", id })
      expect((yield* cacheAside(cache, key("1"), func)).value).toBe(person1)
      expect((yield* cacheAside(cache, key("2"), func)).value).toBe(person2)
      expect(funcExecuted).toBe(false)
    }))

  // default(TResult): null for a reference type, 0 (the first enum member) for a value type. Both are answers that
  // are stored and served like any other.
  it.effect("Should_execute_delegate_and_put_value_in_cache_if_cache_does_not_hold_value__default_for_reference_type", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<object | null>({ maxEntries: 10, maxStaleness: Duration.infinity })
      expect(yield* cache.get(OperationKey)).toEqual(Option.none())
      expect((yield* cacheAside(cache, OperationKey, Effect.succeed(null))).value).toBeNull()
      expect(valueOf(yield* cache.get(OperationKey))).toEqual(Option.some(null))
    }))

  it.effect(
    "Should_return_value_from_cache_and_not_execute_delegate_if_cache_holds_value__default_for_reference_type",
    () =>
      Effect.gen(function*() {
        const cache = yield* StaleCache.make<{ readonly result: string } | null>({
          maxEntries: 10,
          maxStaleness: Duration.infinity
        })
        yield* cache.set(OperationKey, null)
        const delegate = counted({ result: "Good" })
        const answer = yield* cacheAside(cache, OperationKey, delegate.execute)
        expect(answer.value).toBeNull()
        expect(answer.source).toBe("cache")
        expect(delegate.state.invocations).toBe(0)
      })
  )

  it.effect("Should_execute_delegate_and_put_value_in_cache_if_cache_does_not_hold_value__default_for_value_type", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: Duration.infinity })
      expect(yield* cache.get(OperationKey)).toEqual(Option.none())
      expect((yield* cacheAside(cache, OperationKey, Effect.succeed(0))).value).toBe(0)
      expect(valueOf(yield* cache.get(OperationKey))).toEqual(Option.some(0))
    }))

  it.effect("Should_return_value_from_cache_and_not_execute_delegate_if_cache_holds_value__default_for_value_type", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<number>({ maxEntries: 10, maxStaleness: Duration.infinity })
      yield* cache.set(OperationKey, 0)
      const delegate = counted(1)
      const answer = yield* cacheAside(cache, OperationKey, delegate.execute)
      expect(answer.value).toBe(0)
      expect(answer.source).toBe("cache")
      expect(delegate.state.invocations).toBe(0)
    }))

  it.effect("Should_honour_cancellation_even_if_prior_execution_has_cached", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: Duration.infinity })
      const delegate = counted("valueToReturn")
      expect((yield* cacheAside(cache, OperationKey, delegate.execute)).value).toBe("valueToReturn")
      expect(delegate.state.invocations).toBe(1)
      // the caller is interrupted before the call: no answer, even though one is cached
      const exit = yield* Effect.exit(
        Effect.zipRight(Effect.interrupt, cacheAside(cache, OperationKey, delegate.execute))
      )
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(delegate.state.invocations).toBe(1)
    }))

  it.effect("Should_honour_cancellation_during_delegate_execution_and_not_put_to_cache", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: Duration.infinity })
      // the delegate is interrupted while it runs
      const exit = yield* Effect.exit(cacheAside(cache, OperationKey, Effect.as(Effect.interrupt, "valueToReturn")))
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(yield* cache.get(OperationKey)).toEqual(Option.none())
      expect(yield* cache.size).toBe(0)
    }))

  it.effect("Should_call_onError_delegate_if_cache_get_errors", () =>
    Effect.gen(function*() {
      // a cache read that fails (a remote cache down) is a typed failure of the cache source: the delegate answers,
      // and the failure is in the answer's provenance (Polly's onError)
      class CacheGetError extends Data.TaggedError("CacheGetError")<{}> {}
      const ex = new CacheGetError()
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: Duration.infinity })
      yield* cache.set(OperationKey, "valueToReturnFromCache")
      const erroringGet = Effect.zipRight(Effect.fail(ex), StaleCache.lookup(cache, OperationKey))
      const delegate = counted("valueToReturnFromExecution")
      const answer = yield* Fallback.firstOf({
        cache: erroringGet,
        execute: StaleCache.remember(delegate.execute, cache, OperationKey)
      })
      expect(answer.value).toBe("valueToReturnFromExecution")
      expect(delegate.state.invocations).toBe(1)
      expect(answer.failures).toEqual([{ source: "cache", error: ex }])
      expect(answer.failures[0].error).toBe(ex)
    }))

  it.effect("Should_execute_oncacheget_after_got_from_cache", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: Duration.infinity })
      yield* cache.set(OperationKey, "valueToReturnFromCache")
      yield* TestClock.adjust("5 seconds")
      const delegate = counted("valueToReturnFromExecution")
      const answer = yield* cacheAside(cache, OperationKey, delegate.execute)
      expect(answer).toEqual({
        value: "valueToReturnFromCache",
        source: "cache",
        failures: [],
        age: Option.some(Duration.seconds(5))
      })
      expect(delegate.state.invocations).toBe(0)
    }))

  it.effect("Should_execute_oncachemiss_and_oncacheput_if_cache_does_not_hold_value_and_put", () =>
    Effect.gen(function*() {
      const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: Duration.infinity })
      expect(yield* cache.get(OperationKey)).toEqual(Option.none())
      const answer = yield* cacheAside(cache, OperationKey, Effect.succeed("valueToReturn"))
      expect(answer.value).toBe("valueToReturn")
      // onCacheMiss, with the key
      expect(answer.failures).toEqual([
        { source: "cache", error: new StaleCache.NoStaleAnswer({ key: OperationKey, reason: "Missing" }) }
      ])
      // onCachePut
      expect(valueOf(yield* cache.get(OperationKey))).toEqual(Option.some("valueToReturn"))
    }))

  it.effect(
    "Should_execute_oncachemiss_but_not_oncacheput_if_cache_does_not_hold_value_and_returned_value_not_worth_caching",
    () =>
      Effect.gen(function*() {
        const cache = yield* StaleCache.make<string>({ maxEntries: 10, maxStaleness: Duration.zero })
        const answer = yield* cacheAside(cache, OperationKey, Effect.succeed("valueToReturn"))
        expect(answer.value).toBe("valueToReturn")
        expect(answer.failures).toEqual([
          { source: "cache", error: new StaleCache.NoStaleAnswer({ key: OperationKey, reason: "Missing" }) }
        ])
        // deliberate difference: the put happens (a zero bound is not "not worth caching"); the entry lives for no
        // time at all
        expect(yield* cache.size).toBe(1)
        yield* TestClock.adjust("1 millis")
        expect((yield* Effect.flip(StaleCache.lookup(cache, OperationKey))).reason).toBe("TooOld")
      })
  )
})

describe("peer Polly RelativeTtlSpecs", () => {
  it("Should_throw_when_timespan_is_less_than_zero", () => {
    for (const maxStaleness of [-1, "-1 millis", BigInt(-1), [-1, 0]] as const) {
      expect(() => StaleCache.unsafeMake({ maxEntries: 1, maxStaleness })).toThrow(
        /StaleCache: maxStaleness .* must not be negative/
      )
    }
  })

  it("Should_not_throw_when_timespan_is_zero", () => {
    expect(() => StaleCache.unsafeMake({ maxEntries: 1, maxStaleness: Duration.zero })).not.toThrow()
    expect(() => StaleCache.unsafeMake({ maxEntries: 1, maxStaleness: 0 })).not.toThrow()
  })

  it("Should_allow_timespan_max_value", () => {
    expect(() => StaleCache.unsafeMake({ maxEntries: 1, maxStaleness: Duration.infinity })).not.toThrow()
  })

  it("Should_return_configured_timespan", () => {
    const cache = StaleCache.unsafeMake({ maxEntries: 1, maxStaleness: "30 seconds" })
    expect(cache.maxStaleness).toEqual(Duration.seconds(30))
  })

  it.effect("Should_return_configured_timespan_from_time_requested", () =>
    Effect.gen(function*() {
      // the bound counts from the put, not from when the cache was made
      const cache = StaleCache.unsafeMake<string>({ maxEntries: 1, maxStaleness: "30 seconds" })
      yield* TestClock.adjust("5 seconds")
      yield* cache.set(OperationKey, "v")
      yield* TestClock.adjust("30 seconds")
      expect(Option.map(yield* cache.get(OperationKey), (e) => e.age)).toEqual(Option.some(Duration.seconds(30)))
      yield* TestClock.adjust("1 millis")
      expect(yield* cache.get(OperationKey)).toEqual(Option.none())
    }))
})
