// Ported from cats-retry (cb372/cats-retry, commit 35fe1cf506ab98825c6b95a95262c10b97fe526b),
// modules/core/shared/src/test/scala/retry/RetryPolicySuite.scala and RetryPolicyLawsSuite.scala, one `it` per munit
// `test`/`property` (the discipline `checkAll` is one `it`), named after it, against Sturdy's schedules as Sturdy
// composes them: `Backoff` schedules combined by Effect's `Schedule` combinators.
//
// Mapping: cats-retry's `join` (and `|+|`, the `BoundedSemilattice` combine: give up if either gives up, else the
// longer delay) is `Schedule.intersect`; `meet` (give up if both give up, else the shorter delay) is `Schedule.union`;
// `alwaysGiveUp` is `Backoff.bounded(..., { maxAttempts: 1 })`; the monoid's `empty`, `constantDelay(0)`, is
// `Backoff.exponential({ baseDelay: 0, factor: 1 })` without limits; `mapDelay(f)` is `Schedule.modifyDelay`,
// `flatMapDelay(f)` is `Schedule.modifyDelayEffect`, `followedBy` is `Schedule.andThen`. cats-retry's arbitrary policy
// (an arbitrary function of the status) is a table of decisions (`decisions`, consulted afresh at every retry as
// cats-retry's function is), or one of Sturdy's: `Backoff.bounded(Backoff.fromDelay(table), limits)` or an unjittered
// `Backoff.exponential`, with `maxAttempts`, `maxDelay` and `maxElapsed`. Its `Eq` (the decisions at seven statuses)
// is the delays of the first eight retries up to the first give-up, as a retry driver sees them. ScalaCheck's
// `forAll` is fast-check with a fixed seed; delays are 0 to 2^31 − 1 ms (cats-retry's are 0 to Long.MaxValue ns).
//
// Deliberate differences: a retry driver stops at the first give-up, so a policy that gives up and would retry again
// later is compared up to the give-up (cats-retry compares all seven statuses). cats-retry's `followedBy` is a
// fallback consulted at every retry (the first policy's decision unless it quits); Effect's `andThen` runs the second
// schedule after the first is done, from its start: the laws hold for both. Jittered schedules are left out of the
// arbitrary policies: the laws are over deterministic (`Id`) policies, and `p.meet(p)` steps a random `p` twice.
//
// Not ported: "mapK identity" (a `Schedule` has no effect type parameter to change), and the discipline laws of
// `BoundedSemilattice` about `combineAll`/`combineN`/`isEmpty` (Scala collection helpers).
import { describe, expect, it } from "@effect/vitest"
import * as Backoff from "@sturdy/policy/Backoff"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Schedule from "effect/Schedule"
import { alwaysGiveUp, constantDelay, decisionAt, decisions, delaysOf, maxTimerMillis } from "./utils/retryPolicies.js"

type Policy = Schedule.Schedule<unknown, unknown>

const steps = 8
const delayArb = FastCheck.integer({ min: 0, max: maxTimerMillis })
/** a counterexample reads as the policy's construction, not as the schedule's code */
const labelled = (schedule: Policy, label: string): Policy =>
  Object.assign(schedule, { [FastCheck.toStringMethod]: () => label })
const policyArb: FastCheck.Arbitrary<Policy> = FastCheck.oneof(
  // cats-retry's arbitrary `(Any, RetryStatus) => PolicyDecision`
  FastCheck.array(FastCheck.option(delayArb, { nil: null }), { minLength: steps, maxLength: steps })
    .map((table) => labelled(decisions(table), `decisions(${JSON.stringify(table)})`)),
  // Sturdy's delay function, bounded (its attempts, delays or elapsed time)
  FastCheck.tuple(
    FastCheck.array(delayArb, { minLength: steps, maxLength: steps }),
    FastCheck.record({
      maxAttempts: FastCheck.integer({ min: 1, max: 9 }),
      maxDelay: delayArb,
      maxElapsed: FastCheck.integer({ min: 0, max: 4 * maxTimerMillis })
    }, { requiredKeys: ["maxAttempts"] })
  ).map(([table, limits]) =>
    labelled(
      Backoff.bounded(Backoff.fromDelay((retry) => table[retry - 1]!), limits),
      `bounded(fromDelay(${JSON.stringify(table)}), ${JSON.stringify(limits)})`
    )
  ),
  // Sturdy's exponential backoff, unjittered, with its limits (maxElapsed included: the laws hold over time limits)
  FastCheck.record({
    baseDelay: FastCheck.integer({ min: 0, max: 100_000 }),
    factor: FastCheck.integer({ min: 1, max: 4 }),
    maxAttempts: FastCheck.integer({ min: 1, max: 9 }),
    maxDelay: delayArb,
    maxElapsed: FastCheck.integer({ min: 0, max: 10_000_000 })
  }, { requiredKeys: ["baseDelay", "factor", "maxAttempts", "maxDelay"] })
    .map((options) =>
      labelled(Backoff.exponential({ ...options, jitter: "none" }), `exponential(${JSON.stringify(options)})`)
    )
)
const delayFnArb = FastCheck.func<[number], number>(delayArb)

/** cats-retry's `Eq[RetryPolicy]`: the same decisions, here the same delays up to the first give-up */
const eqv = (left: Policy, right: Policy): void => {
  expect(delaysOf(left, steps)).toEqual(delaysOf(right, steps))
}

const join = (a: Policy, b: Policy): Policy => Schedule.intersect(a, b)
const meet = (a: Policy, b: Policy): Policy => Schedule.union(a, b)
const followedBy = (a: Policy, b: Policy): Policy => Schedule.andThen(a, b)
const mapDelay = (p: Policy, f: (millis: number) => number): Policy =>
  Schedule.modifyDelay(p, (_, delay) => f(Duration.toMillis(delay)))
const flatMapDelay = (p: Policy, f: (millis: number) => number): Policy =>
  Schedule.modifyDelayEffect(p, (_, delay) => Effect.succeed(f(Duration.toMillis(delay))))
const empty: Policy = constantDelay(0)

const property = { seed: 20261205, numRuns: 200 }
const forAll1 = (law: (p: Policy) => void) => FastCheck.assert(FastCheck.property(policyArb, law), property)
const forAll2 = (law: (p1: Policy, p2: Policy) => void) =>
  FastCheck.assert(FastCheck.property(policyArb, policyArb, law), property)
const forAll3 = (law: (p1: Policy, p2: Policy, p3: Policy) => void) =>
  FastCheck.assert(FastCheck.property(policyArb, policyArb, policyArb, law), property)

describe("peer cats-retry RetryPolicySuite", () => {
  it("BoundedSemilattice append - gives up if either of the composed policies decides to give up", () => {
    const alwaysRetry = constantDelay("1 second")
    expect(decisionAt(join(alwaysGiveUp, alwaysRetry), 0)).toBe("GiveUp")
    expect(decisionAt(join(alwaysRetry, alwaysGiveUp), 0)).toBe("GiveUp")
  })

  it(
    "BoundedSemilattice append - chooses the maximum of the delays if both of the composed policies decides to retry",
    () => {
      const delayOneSecond = Backoff.fromDelay(() => "1 second")
      const delayTwoSeconds = Backoff.fromDelay(() => "2 seconds")
      expect(decisionAt(join(delayOneSecond, delayTwoSeconds), 0)).toBe(2000)
      expect(decisionAt(join(delayTwoSeconds, delayOneSecond), 0)).toBe(2000)
    }
  )
})

describe("peer cats-retry RetryPolicyLawsSuite", () => {
  it("meet associativity", () => forAll3((p1, p2, p3) => eqv(meet(p1, meet(p2, p3)), meet(meet(p1, p2), p3))))

  it("meet commutativity", () => forAll2((p1, p2) => eqv(meet(p1, p2), meet(p2, p1))))

  it("meet idempotence", () => forAll1((p) => eqv(meet(p, p), p)))

  it("meet identity", () => forAll1((p) => eqv(meet(p, alwaysGiveUp), p)))

  it("join meet absorption", () => forAll2((p1, p2) => eqv(meet(p1, join(p1, p2)), p1)))

  it("meet join absorption", () => forAll2((p1, p2) => eqv(join(p1, meet(p1, p2)), p1)))

  it("meet absorption", () => forAll1((p) => eqv(meet(p, empty), empty)))

  it("join absorption", () => forAll1((p) => eqv(join(p, alwaysGiveUp), alwaysGiveUp)))

  it("join meet distributivity", () =>
    forAll3((p1, p2, p3) => eqv(meet(p1, join(p2, p3)), join(meet(p1, p2), meet(p1, p3)))))

  it("meet join distributivity", () =>
    forAll3((p1, p2, p3) => eqv(join(p1, meet(p2, p3)), meet(join(p1, p2), join(p1, p3)))))

  it("mapDelay identity", () => forAll1((p) => eqv(mapDelay(p, (d) => d), p)))

  it("mapDelay composition", () =>
    FastCheck.assert(
      FastCheck.property(policyArb, delayFnArb, delayFnArb, (p, f, g) =>
        eqv(
          mapDelay(mapDelay(p, f), g),
          mapDelay(p, (d) => g(f(d)))
        )),
      property
    ))

  it("flatMapDelay identity", () => forAll1((p) => eqv(flatMapDelay(p, (d) => d), p)))

  it("flatMapDelay composition", () =>
    FastCheck.assert(
      FastCheck.property(policyArb, delayFnArb, delayFnArb, (p, f, g) =>
        eqv(
          flatMapDelay(flatMapDelay(p, f), g),
          flatMapDelay(p, (d) => g(f(d)))
        )),
      property
    ))

  it("followedBy associativity", () =>
    forAll3((p1, p2, p3) => eqv(followedBy(p1, followedBy(p2, p3)), followedBy(followedBy(p1, p2), p3))))

  it("followedBy left identity", () => forAll1((p) => eqv(followedBy(alwaysGiveUp, p), p)))

  it("followedBy right identity", () => forAll1((p) => eqv(followedBy(p, alwaysGiveUp), p)))

  it("BoundedSemilattice[RetryPolicy]", () => {
    // associative, commutative, idempotent, with `constantDelay(0)` as identity on both sides
    forAll3((x, y, z) => eqv(join(x, join(y, z)), join(join(x, y), z)))
    forAll2((x, y) => eqv(join(x, y), join(y, x)))
    forAll1((x) => eqv(join(x, x), x))
    forAll1((x) => eqv(join(empty, x), x))
    forAll1((x) => eqv(join(x, empty), x))
  })
})
