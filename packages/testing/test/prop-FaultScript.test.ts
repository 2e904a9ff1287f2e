// Properties of `@sturdy/testing`'s `FaultScript` engine over time, on `ScriptedClient` under the TestClock: what
// prop-Parity.test.ts (same outcomes on FaultServer and ScriptedClient) leaves out.
//
// Model (from the FaultScript docs): a router keeps the routes in order (`setScript` replaces a route with the same
// "METHOD /path" in place or adds it last, and restarts its counter), gives a request the first matching route's
// `faultAt(script, counter)` and advances that counter, except inside an outage window `[from, to)` measured from the
// responder's start on its clock, which answers every request with its fault and advances no counter; `notFound`
// otherwise. The request log records route, attempt (−1 in an outage or without a route), outage, fault, arrival time
// and time since start; `resetLog` clears it and the counters and sets `max` in-flight to the current count. A request
// is open from its arrival until its responder is done: a response after its latency plus its paced body (chunks of
// `bytesPerSecond / 20` bytes, 50 ms each here), a reset, a connection that never opened (`ConnectFailure`, logged
// and counted like any other fault) or an HTTP/2 stream reset (`StreamReset`) after its latency, a hang never (until
// the client goes: then `aborted`). A stream reset fails with the cause code its RFC 9113 code gives, marked
// `requestSent: false` exactly when it is `REFUSED_STREAM`.
// `awaitIdle` completes exactly when the last open request closes.
// Commands, generated: send (GET/POST on matching and unmatched paths), advance the clock (by some milliseconds, or
// to the next outage edge exactly), `setScript` on an existing or a new route, `resetLog`, `awaitIdle`; after each,
// the log, `inFlight` (current and max) and the finished flags are compared with the model.
//
// `faultAt` on its own: a sequence repeats its last step, a cycle starts over, a random script picks only its faults,
// is a function of (seed, attempt) alone, never answers `otherwise` when its probabilities reach 1, and never picks
// a fault of probability 0.
//
// Rules taken from the code: the chunk size `ceil(bytesPerSecond / 20)` (chosen here so that every chunk takes 50 ms).
//
// Mutation checks (each on a copy, seen to fail with a counterexample, then restored): the outage window's end
// made inclusive; counters advanced during an outage; `setScript` not restarting the counter; `reset` not setting
// `max` to the current count; the paced body's chunk delay halved; a cycle's index shifted by one. Outage edges are
// reached exactly (a command advances to the next one), so an inclusive end shows.
//
// Left out: FaultServer (real time), request bodies, HEAD and bodiless statuses (prop-Parity covers them).
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import { FaultScript, ScriptedClient } from "@sturdy/testing"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"

// -----------------------------------------------------------------------------
// generators
// -----------------------------------------------------------------------------

const latencyArb = fc.integer({ min: 1, max: 40 })

// a body of k chunks of bytesPerSecond / 20 bytes: k × 50 ms of pacing
const respondArb: fc.Arbitrary<FaultScript.Fault> = fc.tuple(
  fc.constantFrom(200, 201, 503, 429),
  latencyArb,
  fc.option(fc.tuple(fc.constantFrom(20, 100, 1_000), fc.integer({ min: 0, max: 4 })), { nil: undefined })
).map(([status, latency, slow]) =>
  slow === undefined
    ? FaultScript.status(status, { latency })
    : FaultScript.withSlowBody(FaultScript.text("x".repeat(slow[1] * slow[0] / 20), { status, latency }), slow[0])
)

// a connection that never opened, for any reason, failing after its latency
const connectFailureArb: fc.Arbitrary<FaultScript.Fault> = fc.tuple(
  fc.constantFrom(...FaultScript.ConnectFailureReason.literals),
  latencyArb
).map(([reason, latency]) => FaultScript.connectFailure(reason, { latency }))

// an HTTP/2 stream the server resets, with any RFC 9113 code, after its latency
const streamResetArb: fc.Arbitrary<FaultScript.Fault> = fc.tuple(
  fc.constantFrom(...FaultScript.Http2ErrorCode.literals),
  latencyArb
).map(([code, latency]) => FaultScript.streamReset(code, { latency }))

const faultArb: fc.Arbitrary<FaultScript.Fault> = fc.oneof(
  { arbitrary: respondArb, weight: 6 },
  { arbitrary: latencyArb.map((latency) => FaultScript.reset("beforeHeaders", { latency })), weight: 2 },
  { arbitrary: fc.constant(FaultScript.hang), weight: 1 },
  { arbitrary: connectFailureArb, weight: 2 },
  { arbitrary: streamResetArb, weight: 1 }
)

const stepsArb = fc.array(faultArb, { minLength: 1, maxLength: 4 }) as fc.Arbitrary<
  [FaultScript.Fault, ...Array<FaultScript.Fault>]
>

const scriptArb: fc.Arbitrary<FaultScript.Script> = fc.oneof(
  stepsArb.map((steps) => FaultScript.sequence(...steps)),
  stepsArb.map((steps) => FaultScript.cycle(...steps)),
  faultArb.map(FaultScript.always),
  fc.record({
    seed: fc.integer({ min: -1_000_000, max: 1_000_000 }),
    choices: fc.array(fc.tuple(fc.double({ min: 0, max: 0.6, noNaN: true }), faultArb), { maxLength: 3 }),
    otherwise: faultArb
  }).map(FaultScript.random)
)

const routeKeys = ["GET /a", "/b", "POST /a", "/p*", "GET /p/x"] as const

const windowArb = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), faultArb).map((
  [from, length, fault]
) => FaultScript.outage({ from, to: from + length, fault }))

const routesArb = fc.record({
  routes: fc.uniqueArray(fc.tuple(fc.constantFrom(...routeKeys), scriptArb), {
    minLength: 1,
    maxLength: 3,
    selector: ([key]) => key
  }),
  outages: fc.oneof({ arbitrary: fc.constant([]), weight: 1 }, {
    arbitrary: fc.array(windowArb, { minLength: 1, maxLength: 2 }),
    weight: 3
  }),
  notFound: fc.option(faultArb, { nil: undefined })
}).map(({ notFound, outages, routes }) =>
  FaultScript.routes(routes.map(([key, script]) => FaultScript.route(key, script)), { outages, notFound })
)

type Command =
  | { readonly _tag: "Send"; readonly method: "GET" | "POST"; readonly path: string }
  | { readonly _tag: "Advance"; readonly millis: number }
  /** To the next edge of an outage window, exactly (1 ms when there is none ahead). */
  | { readonly _tag: "AdvanceToEdge" }
  | { readonly _tag: "SetScript"; readonly key: string; readonly script: FaultScript.Script }
  | { readonly _tag: "ResetLog" }
  | { readonly _tag: "AwaitIdle" }

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      _tag: fc.constant("Send" as const),
      method: fc.constantFrom("GET" as const, "POST" as const),
      path: fc.constantFrom("/a", "/b", "/p/x", "/p/y?q=1", "/zzz")
    }),
    weight: 6
  },
  { arbitrary: fc.integer({ min: 1, max: 60 }).map((millis) => ({ _tag: "Advance" as const, millis })), weight: 3 },
  { arbitrary: fc.constant({ _tag: "AdvanceToEdge" as const }), weight: 2 },
  {
    arbitrary: fc.record({
      _tag: fc.constant("SetScript" as const),
      key: fc.constantFrom(...routeKeys, "DELETE /a", "/a"),
      script: scriptArb
    }),
    weight: 1
  },
  { arbitrary: fc.constant({ _tag: "ResetLog" as const }), weight: 1 },
  { arbitrary: fc.constant({ _tag: "AwaitIdle" as const }), weight: 1 }
)

// -----------------------------------------------------------------------------
// the model
// -----------------------------------------------------------------------------

interface Entry {
  readonly method: string
  readonly path: string
  readonly route: string | undefined
  readonly attempt: number
  readonly outage: boolean
  readonly fault: FaultScript.Fault
  readonly arrivedAt: number
  readonly closesAt: number
}

const pacedMillis = (fault: FaultScript.Respond): number => {
  if (fault.bytesPerSecond === undefined || fault.body._tag !== "Text") return 0
  return fault.body.text.length / fault.bytesPerSecond * 1_000
}

const closesAt = (fault: FaultScript.Fault, now: number): number => {
  switch (fault._tag) {
    case "Hang":
      return Infinity
    case "Reset":
    case "ConnectFailure":
    case "StreamReset":
      return now + fault.latencyMillis
    case "Respond":
      return now + fault.latencyMillis + pacedMillis(fault)
    case "EventStream":
      return fault.end === "hang" && fault.dropAfter === undefined ? Infinity : now + fault.latencyMillis
    case "Resource":
      return now + fault.latencyMillis
  }
}

const parseKey = (key: string) => {
  const [first, ...rest] = key.split(" ")
  return rest.length === 0 ? { method: "*", path: first } : { method: first.toUpperCase(), path: rest.join(" ") }
}

class Model {
  routes: Array<FaultScript.Route>
  counters = new Map<string, number>()
  log: Array<Entry> = []
  /** Every request not yet closed, across resets. */
  open: Array<Entry> = []
  max = 0
  now = 0

  constructor(readonly spec: FaultScript.Routes) {
    this.routes = [...spec.routes]
  }

  settle() {
    this.open = this.open.filter((entry) => entry.closesAt > this.now)
  }

  send(method: string, path: string) {
    const pathname = path.split("?")[0]
    const matched = this.routes.find((route) =>
      (route.method === "*" || route.method === method) &&
      (route.path.endsWith("*") ? pathname.startsWith(route.path.slice(0, -1)) : route.path === pathname)
    )
    const key = matched === undefined ? undefined : `${matched.method} ${matched.path}`
    const window = this.spec.outages.find((outage) => this.now >= outage.fromMillis && this.now < outage.toMillis)
    let decision: Pick<Entry, "route" | "attempt" | "outage" | "fault">
    if (window !== undefined) decision = { route: key, attempt: -1, outage: true, fault: window.fault }
    else if (matched === undefined || key === undefined) {
      decision = { route: undefined, attempt: -1, outage: false, fault: this.spec.notFound }
    } else {
      const attempt = this.counters.get(key) ?? 0
      this.counters.set(key, attempt + 1)
      decision = { route: key, attempt, outage: false, fault: FaultScript.faultAt(matched.script, attempt) }
    }
    const entry: Entry = {
      method,
      path,
      ...decision,
      arrivedAt: this.now,
      closesAt: closesAt(decision.fault, this.now)
    }
    this.log.push(entry)
    this.open.push(entry)
    this.max = Math.max(this.max, this.open.length)
  }

  setScript(key: string, script: FaultScript.Script) {
    const { method, path } = parseKey(key)
    const next: FaultScript.Route = { method, path, script }
    const index = this.routes.findIndex((route) => route.method === method && route.path === path)
    if (index === -1) this.routes.push(next)
    else this.routes[index] = next
    this.counters.delete(`${method} ${path}`)
  }

  reset() {
    this.log = []
    this.counters.clear()
    this.max = this.open.length
  }
}

// -----------------------------------------------------------------------------
// running the commands
// -----------------------------------------------------------------------------

const settle = Effect.repeatN(Effect.yieldNow(), 20)

const play = (spec: FaultScript.Routes, commands: ReadonlyArray<Command>) =>
  Effect.gen(function*() {
    const scripted = yield* ScriptedClient.make(spec)
    const model = new Model(spec)
    const fibers: Array<Fiber.RuntimeFiber<unknown>> = []

    const check = Effect.gen(function*() {
      yield* settle
      model.settle()
      const log = yield* scripted.requests
      expect(log.map((entry) => ({
        method: entry.method,
        path: entry.path,
        route: entry.route,
        attempt: entry.attempt,
        outage: entry.outage,
        fault: entry.fault,
        arrivedAt: entry.arrivedAt,
        sinceStart: entry.sinceStart,
        finished: entry.finished,
        aborted: entry.aborted
      }))).toEqual(model.log.map((entry) => ({
        method: entry.method,
        path: entry.path,
        route: entry.route,
        attempt: entry.attempt,
        outage: entry.outage,
        fault: entry.fault,
        arrivedAt: entry.arrivedAt,
        sinceStart: entry.arrivedAt,
        finished: entry.closesAt <= model.now,
        aborted: false
      })))
      expect(yield* scripted.inFlight).toEqual({ current: model.open.length, max: model.max })
    })

    const advance = (millis: number) =>
      Effect.gen(function*() {
        yield* TestClock.adjust(millis)
        model.now += millis
      })

    for (const command of commands) {
      switch (command._tag) {
        case "Send": {
          const request = HttpClientRequest.make(command.method)(`http://scripted.test${command.path}`)
          fibers.push(
            yield* Effect.fork(
              scripted.client.execute(request).pipe(
                Effect.flatMap((response) => response.text),
                Effect.scoped,
                Effect.ignore
              )
            )
          )
          model.send(command.method, command.path)
          break
        }
        case "Advance":
          yield* advance(command.millis)
          break
        case "AdvanceToEdge": {
          const edges = spec.outages.flatMap((outage) => [outage.fromMillis, outage.toMillis])
            .filter((edge) => edge > model.now)
          yield* advance(edges.length === 0 ? 1 : Math.min(...edges) - model.now)
          break
        }
        case "SetScript":
          yield* scripted.setScript(command.key, command.script)
          model.setScript(command.key, command.script)
          break
        case "ResetLog":
          yield* settle
          model.settle()
          yield* scripted.reset
          model.reset()
          break
        case "AwaitIdle": {
          yield* settle
          model.settle()
          const last = Math.max(model.now, ...model.open.map((entry) => entry.closesAt))
          if (last === Infinity) break
          const idle = yield* Effect.fork(scripted.awaitIdle)
          if (last > model.now + 1) {
            yield* advance(last - model.now - 1)
            yield* settle
            expect(idle.unsafePoll()).toBeNull()
          }
          if (last > model.now) yield* advance(last - model.now)
          yield* settle
          expect(idle.unsafePoll()).not.toBeNull()
          break
        }
      }
      yield* check
    }

    // everything but the hangs finishes; then the clients go, and the hangs are aborted
    yield* advance(10_000)
    yield* check
    yield* Fiber.interruptAll(fibers)
    yield* scripted.awaitIdle
    const log = yield* scripted.requests
    expect(log.map((entry) => [entry.finished, entry.aborted])).toEqual(
      model.log.map((entry) => entry.fault._tag === "Hang" ? [false, true] : [true, false])
    )
    expect((yield* scripted.inFlight).current).toBe(0)
  }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))

describe("ScriptedClient follows the router model over virtual time", () => {
  it("outage windows, counters, setScript and resetLog mid-run, paced bodies, inFlight and awaitIdle", async () => {
    await fc.assert(
      fc.asyncProperty(routesArb, fc.array(commandArb, { minLength: 10, maxLength: 30 }), async (spec, commands) => {
        await Effect.runPromise(play(spec, commands))
      }),
      { seed: 20261206, numRuns: 80 }
    )
  })

  it("the client sees the answer the model gives: status, or the failure to connect or of the stream, when due", async () => {
    // the cause each reason gives (the classification against the real transports is checked in ScriptedClient.test.ts)
    const codes: Record<FaultScript.ConnectFailureReason, string> = {
      Refused: "ECONNREFUSED",
      DnsNotFound: "ENOTFOUND",
      DnsTemporary: "EAI_AGAIN",
      ConnectTimeout: "UND_ERR_CONNECT_TIMEOUT",
      Tls: "DEPTH_ZERO_SELF_SIGNED_CERT"
    }
    // undici reports NO_ERROR and CANCEL without the code; `@sturdy/node` names the others it reads
    const streamCode = (code: FaultScript.Http2ErrorCode): string =>
      code === "NO_ERROR" || code === "CANCEL"
        ? "UND_ERR_INFO"
        : `NGHTTP2_${code}`
    await fc.assert(
      fc.asyncProperty(fc.oneof(respondArb, connectFailureArb, streamResetArb), latencyArb, async (fault, wait) => {
        const outcome = await Effect.runPromise(
          Effect.gen(function*() {
            const scripted = yield* ScriptedClient.make(FaultScript.routes({ "GET /a": fault }))
            const fiber = yield* Effect.fork(
              HttpClient.get("http://scripted.test/a").pipe(
                Effect.flatMap((response) => Effect.map(response.text, (text) => [response.status, text] as const)),
                Effect.scoped,
                Effect.either,
                Effect.provideService(HttpClient.HttpClient, scripted.client)
              )
            )
            const due = closesAt(fault, 0)
            yield* TestClock.adjust(Math.min(wait, due - 1))
            yield* settle
            const early = fiber.unsafePoll()
            yield* TestClock.adjust(due)
            return { early, late: yield* Fiber.join(fiber), log: yield* scripted.requests }
          }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext))
        )
        expect(outcome.early).toBeNull()
        expect(outcome.log.map((entry) => [entry.attempt, entry.fault, entry.finished])).toEqual([[0, fault, true]])
        if (fault._tag === "Respond") {
          expect(outcome.late).toEqual(
            Either.right([fault.status, fault.body._tag === "Text" ? fault.body.text : ""])
          )
        } else if (fault._tag === "ConnectFailure") {
          expect(Either.isLeft(outcome.late)).toBe(true)
          if (Either.isLeft(outcome.late)) {
            const error = outcome.late.left
            expect([error._tag, error.reason]).toEqual(["RequestError", "Transport"])
            expect((error.cause as { readonly code?: unknown }).code).toBe(codes[fault.reason])
          }
        } else if (fault._tag === "StreamReset") {
          expect(Either.isLeft(outcome.late)).toBe(true)
          if (Either.isLeft(outcome.late)) {
            const error = outcome.late.left
            expect([error._tag, error.reason]).toEqual(["RequestError", "Transport"])
            expect((error.cause as { readonly code?: unknown }).code).toBe(streamCode(fault.code))
            expect((error as { readonly requestSent?: unknown }).requestSent).toBe(
              fault.code === "REFUSED_STREAM" ? false : undefined
            )
          }
        }
      }),
      { seed: 31, numRuns: 100 }
    )
  })
})

describe("faultAt", () => {
  it("a sequence repeats its last step and a cycle starts over", () => {
    fc.assert(
      fc.property(stepsArb, fc.nat(100), (steps, attempt) => {
        expect(FaultScript.faultAt(FaultScript.sequence(...steps), attempt)).toBe(
          steps[Math.min(attempt, steps.length - 1)]
        )
        expect(FaultScript.faultAt(FaultScript.cycle(...steps), attempt)).toBe(steps[attempt % steps.length])
        expect(FaultScript.faultAt(FaultScript.always(steps[0]), attempt)).toBe(steps[0])
      }),
      { seed: 11, numRuns: 200 }
    )
  })

  it("a random script is a function of (seed, attempt), picks only its faults, and honours probabilities 0 and 1", () => {
    const faultsArb = fc.array(faultArb, { minLength: 1, maxLength: 4 })
    fc.assert(
      fc.property(
        fc.integer(),
        faultsArb,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }),
        faultArb,
        fc.array(fc.nat(10_000), { minLength: 1, maxLength: 30 }),
        (seed, faults, weights, otherwise, attempts) => {
          // normalised so the probabilities sum to at most 1
          const total = weights.slice(0, faults.length).reduce((a, b) => a + b, 0)
          const choices = faults.map((fault, i) =>
            [total > 1 ? weights[i] / total / 1.0000001 : weights[i], fault] as const
          )
          const script = FaultScript.random({ seed, choices, otherwise })
          const again = FaultScript.random({ seed, choices: [...choices], otherwise })
          for (const attempt of attempts) {
            const fault = FaultScript.faultAt(script, attempt)
            expect([...faults, otherwise]).toContain(fault)
            expect(FaultScript.faultAt(again, attempt)).toBe(fault)
            const index = faults.indexOf(fault)
            if (index !== -1 && fault !== otherwise && !faults.slice(0, index).includes(fault)) {
              expect(choices[index][0]).toBeGreaterThan(0)
            }
          }
          // a probability of 1 first: always that fault; all zero: always otherwise
          const certain = FaultScript.random({ seed, choices: [[1, faults[0]], ...choices], otherwise })
          const never = FaultScript.random({ seed, choices: faults.map((fault) => [0, fault] as const), otherwise })
          for (const attempt of attempts) {
            expect(FaultScript.faultAt(certain, attempt)).toBe(faults[0])
            expect(FaultScript.faultAt(never, attempt)).toBe(otherwise)
          }
        }
      ),
      { seed: 12, numRuns: 200 }
    )
  })
})
