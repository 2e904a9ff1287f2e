/**
 * Model-based property of `Balancer` (packages/policy/src/Balancer.ts) with `strategy: "round-robin"`: outlier
 * ejection and return after Envoy's outlier detection, the panic rule, `avoidRepeats`, and the round-robin order.
 * A balancer of 1 to 5 endpoints, with generated `consecutiveFailures` (1–3), `maxEjectionPercent` (0, 10, 34, 50,
 * 100), `alwaysEjectOne`, `panicThreshold` (0, 50, 100), `baseEjectionTime` 1 s, `maxEjectionTime` 1.5 s and
 * `interval` 4 s (so the cap and the multiplier's fall are reached), is driven by a script of: whole calls ending at
 * once with every outcome (a success, a failure `isFailure` accepts and one it refuses, each kind of defect, a
 * policy's rejection, an interruption); calls held in flight and ended later with any outcome or interrupted from
 * outside; groups of whole calls under one `avoidRepeats`; and moves of the TestClock (also to exactly an ejection's
 * end and 1 ms short of it).
 *
 * The model, written from the module docs only: the candidates are the endpoints in service, or every endpoint when
 * none is or fewer than `panicThreshold` percent are; under `avoidRepeats` those tried in the group are left out
 * unless that leaves none; round-robin takes the first candidate at or after the cursor (wrapping) and moves the
 * cursor just past it. A call's end takes one off `inFlight`; a success or a failure `isFailure` refuses sets the
 * consecutive failures to 0, a failure or defect `isFailure` accepts adds one, and at `consecutiveFailures` the count
 * goes to 0 and the endpoint is ejected if `100 × (ejected + 1) / n ≤ maxEjectionPercent` or (`alwaysEjectOne` and
 * none is ejected): its multiplier (less one per whole `interval` since it last returned) goes up by one unless
 * `multiplier × base ≥ max + base`, and it is out until `now + min(base × multiplier, max)`; interruptions, defects
 * `isFailure` refuses and policy rejections count nothing, and outcomes of an ejected endpoint change no count. An
 * endpoint returns (consecutive failures 0) at the first look at or after its time. After every step the chosen
 * endpoints and every endpoint's `inFlight`, `consecutiveFailures`, `ejectedUntil` and `multiplier` must equal the
 * model's, and at the end the events on `subscribe` must equal the model's.
 *
 * Rules taken from the code: endpoints returning at the same look are published in the order of `endpoints`.
 * Left out: p2c (random; Balancer.test.ts checks its choices statistically and its estimate exactly), latencies, and
 * invalid options (Balancer.test.ts, HostileOptions).
 *
 * Mutants (each run alone on src/internal/balancer.ts; caught by this property with a shrunk counterexample unless
 * said): 1. the percent rule `≤` → `<`;  2. `alwaysEjectOne` ignored;  3. the multiplier not capped (`< max + base`
 * dropped);  4. the ejection time not capped by `maxEjectionTime`;  5. the multiplier's fall per interval left out;
 * 6. a return at `now > until` instead of `≥`;  8. the count reset only when the ejection is allowed;  9. a policy's
 * rejection counted (as a success);  10. a defect `isFailure` refuses counted (as a success);  11. panic with
 * `≤ panicThreshold`;  13. the round-robin cursor left on the chosen endpoint;  14. outcomes of an ejected endpoint
 * counted;  18. `inFlight` given back only for counted outcomes;  21. the ejected endpoints not counted by the
 * percent rule. Not caught here: 7. the consecutive failures not reset at a return (equivalent: the count is 0 from
 * the ejection on, since an ejected endpoint's outcomes are not counted); 12. `avoidRepeats` ignored (with
 * round-robin the cursor already moves past the endpoints a group tried; Balancer.test.ts catches it with p2c);
 * 15–17, 19, 20 (p2c's score, choice and estimate, the span attribute, two distinct draws) are out of this model and
 * caught by Balancer.test.ts.
 *
 * Found and fixed: nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Balancer from "@sturdy/policy/Balancer"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { type ScriptedOutcome, scriptedOutcome } from "./utils/upstream.js"

const BASE = 1_000
const MAX = 1_500
const INTERVAL = 4_000

interface Config {
  readonly n: number
  readonly consecutiveFailures: number
  readonly maxEjectionPercent: number
  readonly alwaysEjectOne: boolean
  readonly panicThreshold: number
}

type Step =
  | { readonly _tag: "Call"; readonly outcome: ScriptedOutcome }
  | { readonly _tag: "Hold" }
  | { readonly _tag: "Release"; readonly which: number; readonly outcome: ScriptedOutcome | "interruptFromOutside" }
  | { readonly _tag: "Avoid"; readonly outcomes: ReadonlyArray<ScriptedOutcome> }
  | { readonly _tag: "Advance"; readonly millis: number }
  | { readonly _tag: "ToReturn"; readonly early: boolean }

const isFailure = (e: unknown) => e === "overloaded"

// ---------------------------------------------------------------------------------------------------------------
// the reference model

interface ModelEndpoint {
  inFlight: number
  consecutiveFailures: number
  ejectedUntil: number | undefined
  multiplier: number
  returnedAt: number | undefined
}

type Event =
  | { readonly _tag: "Ejected"; readonly key: string; readonly at: number; readonly until: number; multiplier: number }
  | { readonly _tag: "Returned"; readonly key: string; readonly at: number }

class Model {
  now = 0
  cursor = 0
  readonly endpoints: Array<ModelEndpoint>
  readonly events: Array<Event> = []
  constructor(readonly config: Config) {
    this.endpoints = Array.from({ length: config.n }, () => ({
      inFlight: 0,
      consecutiveFailures: 0,
      ejectedUntil: undefined,
      multiplier: 0,
      returnedAt: undefined
    }))
  }
  look(): void {
    this.endpoints.forEach((e, i) => {
      if (e.ejectedUntil !== undefined && this.now >= e.ejectedUntil) {
        this.events.push({ _tag: "Returned", key: String(i), at: e.ejectedUntil })
        e.returnedAt = e.ejectedUntil
        e.ejectedUntil = undefined
        e.consecutiveFailures = 0
      }
    })
  }
  multiplier(e: ModelEndpoint): number {
    if (e.ejectedUntil !== undefined || e.returnedAt === undefined) return e.multiplier
    return Math.max(0, e.multiplier - Math.floor((this.now - e.returnedAt) / INTERVAL))
  }
  pick(tried: Set<number> | undefined): number {
    this.look()
    const all = this.endpoints.map((_, i) => i)
    let candidates = all.filter((i) => this.endpoints[i]!.ejectedUntil === undefined)
    if (candidates.length === 0 || (100 * candidates.length) / this.config.n < this.config.panicThreshold) {
      candidates = all
    }
    if (tried !== undefined) {
      const fresh = candidates.filter((i) => !tried.has(i))
      if (fresh.length > 0) candidates = fresh
    }
    const chosen = candidates.find((i) => i >= this.cursor) ?? candidates[0]!
    this.cursor = (chosen + 1) % this.config.n
    tried?.add(chosen)
    this.endpoints[chosen]!.inFlight++
    return chosen
  }
  end(i: number, outcome: ScriptedOutcome | "interruptFromOutside"): void {
    const e = this.endpoints[i]!
    e.inFlight--
    const failed = outcome === "ok" || outcome === "badRequest"
      ? false
      : outcome === "overloaded" || outcome === "dieOverloaded"
      ? true
      : null
    if (failed === null) return
    this.look()
    if (e.ejectedUntil !== undefined) return
    if (!failed) {
      e.consecutiveFailures = 0
      return
    }
    if (++e.consecutiveFailures < this.config.consecutiveFailures) return
    e.consecutiveFailures = 0
    const ejected = this.endpoints.filter((x) => x.ejectedUntil !== undefined).length
    const allowed = (100 * (ejected + 1)) / this.config.n <= this.config.maxEjectionPercent ||
      (this.config.alwaysEjectOne && ejected === 0)
    if (!allowed) return
    let m = this.multiplier(e)
    if (m * BASE < MAX + BASE) m++
    e.multiplier = m
    e.ejectedUntil = this.now + Math.min(BASE * m, MAX)
    this.events.push({ _tag: "Ejected", key: String(i), at: this.now, until: e.ejectedUntil, multiplier: m })
  }
  snapshot() {
    this.look()
    return this.endpoints.map((e) => ({
      inFlight: e.inFlight,
      consecutiveFailures: e.consecutiveFailures,
      ejectedUntil: e.ejectedUntil,
      multiplier: this.multiplier(e)
    }))
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the script

const outcome: FastCheck.Arbitrary<ScriptedOutcome> = FastCheck.oneof(
  { weight: 4, arbitrary: FastCheck.constant("overloaded" as const) },
  { weight: 2, arbitrary: FastCheck.constant("ok" as const) },
  {
    weight: 3,
    arbitrary: FastCheck.constantFrom<ScriptedOutcome>(
      "badRequest",
      "dieOverloaded",
      "dieBug",
      "circuitOpen",
      "interrupt"
    )
  }
)

const step: FastCheck.Arbitrary<Step> = FastCheck.oneof(
  { weight: 8, arbitrary: outcome.map((o) => ({ _tag: "Call" as const, outcome: o })) },
  { weight: 1, arbitrary: FastCheck.constant({ _tag: "Hold" as const }) },
  {
    weight: 1,
    arbitrary: FastCheck.record({
      which: FastCheck.nat(5),
      outcome: FastCheck.oneof(outcome, FastCheck.constant("interruptFromOutside" as const))
    }).map((r) => ({ _tag: "Release" as const, ...r }))
  },
  {
    weight: 1,
    arbitrary: FastCheck.array(outcome, { minLength: 1, maxLength: 6 }).map((outcomes) => ({
      _tag: "Avoid" as const,
      outcomes
    }))
  },
  {
    weight: 2,
    arbitrary: FastCheck.constantFrom(1, 500, 999, 1_000, 1_500, 4_000, 9_000).map((millis) => ({
      _tag: "Advance" as const,
      millis
    }))
  },
  { weight: 3, arbitrary: FastCheck.boolean().map((early) => ({ _tag: "ToReturn" as const, early })) }
)

const config: FastCheck.Arbitrary<Config> = FastCheck.record({
  // small balancers more often: repeated ejections of one endpoint (its multiplier, the caps) need few calls
  n: FastCheck.constantFrom(1, 1, 2, 2, 3, 4, 5),
  consecutiveFailures: FastCheck.integer({ min: 1, max: 3 }),
  maxEjectionPercent: FastCheck.constantFrom(0, 10, 34, 50, 100),
  alwaysEjectOne: FastCheck.boolean(),
  panicThreshold: FastCheck.constantFrom(0, 50, 100)
})

// ---------------------------------------------------------------------------------------------------------------
// the run

interface Held {
  readonly endpoint: number
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
  readonly gate: Deferred.Deferred<ScriptedOutcome>
}

const run = (cfg: Config, script: ReadonlyArray<Step>) =>
  Effect.gen(function*() {
    const model = new Model(cfg)
    const balancer = yield* Balancer.make({
      endpoints: Array.from({ length: cfg.n }, (_, i) => i) as unknown as readonly [number, ...Array<number>],
      strategy: "round-robin",
      outlier: {
        consecutiveFailures: cfg.consecutiveFailures,
        isFailure,
        baseEjectionTime: BASE,
        maxEjectionTime: MAX,
        interval: INTERVAL,
        maxEjectionPercent: cfg.maxEjectionPercent,
        alwaysEjectOne: cfg.alwaysEjectOne,
        panicThreshold: cfg.panicThreshold
      }
    })
    const events = yield* balancer.subscribe
    const published: Array<Balancer.EjectionEvent> = []
    const reader = yield* Effect.fork(Stream.runForEach(events, (e) => Effect.sync(() => published.push(e))))
    let held: Array<Held> = []
    // a whole call: answers the endpoint it went to
    const whole = (o: ScriptedOutcome) =>
      Effect.gen(function*() {
        let chosen = -1
        yield* Effect.exit(Balancer.withEndpoint(balancer, (e: number) => {
          chosen = e
          return scriptedOutcome(o)
        }))
        return chosen
      })
    for (const [index, s] of script.entries()) {
      const label = `step ${index} ${JSON.stringify(s)} at ${model.now}`
      switch (s._tag) {
        case "Call": {
          const chosen = yield* whole(s.outcome)
          const expected = model.pick(undefined)
          model.end(expected, s.outcome)
          expect(chosen, label).toBe(expected)
          break
        }
        case "Hold": {
          const gate = yield* Deferred.make<ScriptedOutcome>()
          const started = yield* Deferred.make<number>()
          const fiber = yield* Effect.fork(Balancer.withEndpoint(balancer, (e: number) =>
            Effect.zipRight(
              Deferred.succeed(started, e),
              Effect.flatMap(Deferred.await(gate), scriptedOutcome)
            )))
          const chosen = yield* Deferred.await(started)
          const expected = model.pick(undefined)
          expect(chosen, label).toBe(expected)
          held.push({ endpoint: chosen, fiber, gate })
          break
        }
        case "Release": {
          if (held.length === 0) break
          const h = held[s.which % held.length]!
          held = held.filter((x) => x !== h)
          if (s.outcome === "interruptFromOutside") yield* Fiber.interrupt(h.fiber)
          else {
            yield* Deferred.succeed(h.gate, s.outcome)
            yield* Fiber.await(h.fiber)
          }
          model.end(h.endpoint, s.outcome)
          break
        }
        case "Avoid": {
          const chosen: Array<number> = []
          yield* Balancer.avoidRepeats(Effect.forEach(s.outcomes, (o) => Effect.map(whole(o), (c) => chosen.push(c))))
          const tried = new Set<number>()
          const expected = s.outcomes.map((o) => {
            const i = model.pick(tried)
            model.end(i, o)
            return i
          })
          expect(chosen, label).toEqual(expected)
          break
        }
        case "Advance": {
          yield* TestClock.adjust(s.millis)
          model.now += s.millis
          break
        }
        case "ToReturn": {
          // to the earliest return (or 1 ms short of it)
          const next = Math.min(...model.endpoints.map((e) => e.ejectedUntil ?? Infinity))
          if (next === Infinity) break
          const millis = next - model.now - (s.early ? 1 : 0)
          if (millis <= 0) break
          yield* TestClock.adjust(millis)
          model.now += millis
          break
        }
      }
      const snapshot = (yield* balancer.snapshot).map((e) => ({
        inFlight: e.inFlight,
        consecutiveFailures: e.consecutiveFailures,
        ejectedUntil: e.ejectedUntil,
        multiplier: e.multiplier
      }))
      expect(snapshot, label).toEqual(model.snapshot())
    }
    for (const h of held) {
      yield* Fiber.interrupt(h.fiber)
      model.end(h.endpoint, "interruptFromOutside")
    }
    expect((yield* balancer.snapshot).map((e) => e.inFlight)).toEqual(model.snapshot().map((e) => e.inFlight))
    for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
    yield* Fiber.interrupt(reader)
    expect(published).toEqual(model.events)
  }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))

describe("model: Balancer", () => {
  it("ejection, return, panic, avoidRepeats and round-robin follow the model", async () => {
    await FastCheck.assert(
      FastCheck.asyncProperty(
        config,
        FastCheck.array(step, { minLength: 1, maxLength: 50 }),
        (cfg, script) => Effect.runPromise(run(cfg, script))
      ),
      { seed: 20261207, numRuns: 300 }
    )
  })
})
