import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Policy } from "@sturdy/http"
import { Chaos, FaultScript, ScriptedClient, TestTracer } from "@sturdy/testing"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"

const base = "http://api.test"
const Items = Schema.Struct({ items: Schema.Array(Schema.Number) })

/** The real client, as far as chaos knows: answers `{ items: [1] }` at once and counts what reaches it. */
const makeStub = () => {
  const seen: Array<HttpClientRequest.HttpClientRequest> = []
  const client = HttpClient.make((request) =>
    Effect.sync(() => {
      seen.push(request)
      return HttpClientResponse.fromWeb(
        request,
        new Response(JSON.stringify({ items: [1] }), { status: 200, headers: { "content-type": "application/json" } })
      )
    })
  )
  return { client, seen }
}

/** A real client that never answers: what reached it, and whether its requests were interrupted. */
const makeHangingStub = () => {
  const seen: Array<HttpClientRequest.HttpClientRequest> = []
  const client = HttpClient.make((request) => Effect.zipRight(Effect.sync(() => seen.push(request)), Effect.never))
  return { client, seen }
}

const seeded = (seed: number) => Effect.withRandom(Random.make(seed))

/** Sends `count` GETs through `client` one after another, reporting which ones got a 200 from the stub. */
const sendMany = (client: HttpClient.HttpClient, count: number) =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) => Effect.either(client.get(`${base}/items/${i}`)),
    { concurrency: 1 }
  )

describe("Chaos", () => {
  it.effect("rate 0 never injects, rate 1 always does; an injected fault never reaches the real client", () =>
    Effect.gen(function*() {
      const off = makeStub()
      const never = Chaos.transform(off.client, { injectionRate: 0, faults: [FaultScript.status(503)] })
      const quiet = yield* sendMany(never, 200)
      expect(quiet.every((result) => Either.isRight(result) && result.right.status === 200)).toBe(true)
      expect(off.seen.length).toBe(200)

      const on = makeStub()
      const always = on.client.pipe(Chaos.transform({ injectionRate: 1, faults: [FaultScript.status(503)] }))
      const loud = yield* sendMany(always, 200)
      expect(loud.every((result) => Either.isRight(result) && result.right.status === 503)).toBe(true)
      expect(on.seen.length).toBe(0)
    }).pipe(seeded(1)))

  it.effect("over 2,000 seeded requests the injected share is the rate, within 0.04 (4 standard deviations)", () =>
    Effect.gen(function*() {
      for (const rate of [0.05, 0.3, 0.5, 0.9]) {
        const stub = makeStub()
        const chaos = Chaos.transform(stub.client, { injectionRate: rate, faults: [FaultScript.refused()] })
        const results = yield* sendMany(chaos, 2000)
        const injected = results.filter(Either.isLeft).length
        // what did not fail went to the real client, and only that
        expect(stub.seen.length).toBe(2000 - injected)
        expect(Math.abs(injected / 2000 - rate)).toBeLessThan(0.04)
      }
    }).pipe(seeded(20261206)))

  it.effect("an injection picks among faults and latency in proportion to their weights", () =>
    Effect.gen(function*() {
      const stub = makeStub()
      const chaos = Chaos.transform(stub.client, {
        injectionRate: 1,
        faults: [{ fault: FaultScript.status(503), weight: 3 }, FaultScript.status(429)],
        latency: { latency: 0, weight: 4 }
      })
      const statuses: Array<number> = []
      yield* Effect.forEach(
        Array.from({ length: 2000 }),
        () => Effect.map(chaos.get(`${base}/items`), (response) => statuses.push(response.status))
      )
      const share = (status: number) => statuses.filter((s) => s === status).length / 2000
      expect(Math.abs(share(503) - 3 / 8)).toBeLessThan(0.045)
      expect(Math.abs(share(429) - 1 / 8)).toBeLessThan(0.03)
      // the latency outcome still sends the real request, which answers 200
      expect(Math.abs(share(200) - 4 / 8)).toBeLessThan(0.045)
      expect(stub.seen.length).toBe(statuses.filter((s) => s === 200).length)
    }).pipe(seeded(7)))

  it.effect("enabled: false, or a predicate that says no, sends the request untouched", () =>
    Effect.gen(function*() {
      const off = makeStub()
      const disabled = Chaos.transform(off.client, { injectionRate: 1, faults: [FaultScript.hang], enabled: false })
      expect((yield* disabled.get(`${base}/items`)).status).toBe(200)
      expect(off.seen.length).toBe(1)

      const stub = makeStub()
      const getsOnly = Chaos.transform(stub.client, {
        injectionRate: 1,
        faults: [FaultScript.status(503)],
        enabled: (request) => request.method === "GET" && request.url.startsWith("http://api.test/")
      })
      expect((yield* getsOnly.get(`${base}/items`)).status).toBe(503)
      expect((yield* getsOnly.post(`${base}/items`)).status).toBe(200)
      expect((yield* getsOnly.get("http://other.test/items")).status).toBe(200)
      expect(stub.seen.map((request) => `${request.method} ${request.url}`)).toEqual([
        "POST http://api.test/items",
        "GET http://other.test/items"
      ])
    }).pipe(seeded(1)))

  it.effect("a request `enabled` leaves out takes no random draw: the others inject as they would alone", () =>
    Effect.gen(function*() {
      const injectedGets = (client: HttpClient.HttpClient, withPosts: boolean) =>
        Effect.gen(function*() {
          const outcomes: Array<number> = []
          for (let i = 0; i < 50; i++) {
            if (withPosts) yield* client.post(`${base}/items`)
            outcomes.push((yield* client.get(`${base}/items`)).status)
          }
          return outcomes
        })
      const options: Chaos.Options = {
        injectionRate: 0.5,
        faults: [FaultScript.status(503)],
        enabled: (request) => request.method === "GET"
      }
      const alone = yield* injectedGets(Chaos.transform(makeStub().client, options), false).pipe(seeded(3))
      const mixed = yield* injectedGets(Chaos.transform(makeStub().client, options), true).pipe(seeded(3))
      expect(mixed).toEqual(alone)
      expect(new Set(alone)).toEqual(new Set([200, 503]))
    }))

  it.effect("each fault surfaces through Attempt.json as the same typed failure ScriptedClient gives for it", () =>
    Effect.gen(function*() {
      const faults: ReadonlyArray<[string, FaultScript.Fault, Record<string, unknown>]> = [
        ["503", FaultScript.status(503), { _tag: "ServerError", status: 503 }],
        ["429", FaultScript.status(429, { retryAfter: "3" }), { _tag: "RateLimited", status: 429 }],
        ["404", FaultScript.status(404), { _tag: "ClientError", status: 404 }],
        ["malformed JSON", FaultScript.malformedJson(), { _tag: "InvalidJson" }],
        ["truncated", FaultScript.truncated(), { _tag: "BodyTruncated" }],
        ["reset mid-body", FaultScript.reset("midBody"), { _tag: "BodyTruncated" }],
        ["reset before headers", FaultScript.reset("beforeHeaders"), { _tag: "ConnectionError", reason: "Reset" }],
        ["refused", FaultScript.refused(), { _tag: "ConnectionError", reason: "Refused" }],
        ["DNS", FaultScript.dnsFailure(), { _tag: "ConnectionError", reason: "DnsLookup" }],
        ["DNS temporary", FaultScript.dnsFailure("temporary"), { _tag: "ConnectionError", reason: "DnsLookup" }],
        ["connect timeout", FaultScript.connectTimeout(), { _tag: "ConnectionError", reason: "ConnectTimeout" }],
        ["TLS", FaultScript.tlsFailure(), { _tag: "ConnectionError", reason: "Tls" }],
        ["refused stream", FaultScript.refusedStream(), { _tag: "ConnectionError", requestSent: false }],
        ["stream reset", FaultScript.streamReset(), { _tag: "ConnectionError", reason: "Unknown" }]
      ]
      for (const [name, fault, expected] of faults) {
        const stub = makeStub()
        const request = HttpClientRequest.get(`${base}/items`)
        const chaos = Chaos.transform(stub.client, { injectionRate: 1, faults: [fault] })
        const viaChaos = yield* Effect.flip(Attempt.json(chaos, request, Items))
        const viaScript = yield* Effect.scoped(Effect.flatMap(
          ScriptedClient.make(FaultScript.routes({ "GET /items": fault })),
          (scripted) => Effect.flip(Attempt.json(scripted.client, request, Items))
        ))
        expect(viaChaos, name).toMatchObject(expected)
        expect(viaChaos, name).toEqual(viaScript)
        expect(viaChaos.message, name).toBe(viaScript.message)
        expect(stub.seen.length, name).toBe(0)
      }
    }).pipe(seeded(1)))

  it.effect("latency waits exactly the configured time in virtual time, then the real response arrives", () =>
    Effect.gen(function*() {
      const stub = makeStub()
      const chaos = Chaos.transform(stub.client, { injectionRate: 1, latency: "2 seconds" })
      const fiber = yield* Effect.fork(Attempt.json(chaos, HttpClientRequest.get(`${base}/items`), Items))
      yield* TestClock.adjust(Duration.subtract(Duration.seconds(2), Duration.millis(1)))
      expect(fiber.unsafePoll()).toBeNull()
      expect(stub.seen.length).toBe(0)
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toEqual({ items: [1] })
      expect(stub.seen.length).toBe(1)
    }).pipe(seeded(1)))

  it.effect("an injected connect latency runs under the fault's own latency, as in ScriptedClient", () =>
    Effect.gen(function*() {
      const stub = makeStub()
      const chaos = Chaos.transform(stub.client, {
        injectionRate: 1,
        faults: [FaultScript.withLatency(FaultScript.status(503), "300 millis")]
      })
      const fiber = yield* Effect.fork(chaos.get(`${base}/items`))
      yield* TestClock.adjust("299 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      expect((yield* Fiber.join(fiber)).status).toBe(503)
    }).pipe(seeded(1)))

  it.effect("a hang lasts until the caller's attempt timeout: Timeout, the request written, the real client unused", () =>
    Effect.gen(function*() {
      const stub = makeStub()
      const chaos = Chaos.transform(stub.client, { injectionRate: 1, faults: [FaultScript.hang] })
      const fiber = yield* Effect.fork(
        Effect.flip(Attempt.json(chaos, HttpClientRequest.get(`${base}/items`), Items, { timeout: "5 seconds" }))
      )
      yield* TestClock.adjust("5 seconds")
      const failure = yield* Fiber.join(fiber)
      expect(failure).toMatchObject({ _tag: "Timeout" })
      // an open connection that never answered may have reached the server
      expect("requestSent" in failure).toBe(false)
      expect(stub.seen.length).toBe(0)

      // a plain interruption ends it too
      const interrupted = yield* Effect.fork(chaos.get(`${base}/items`))
      yield* TestClock.adjust("1 hour")
      expect(interrupted.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(interrupted)
    }).pipe(seeded(1)))

  it.scoped("Policy's attempt timeout ends an injected hang and retries; the last attempt's Timeout is reported", () =>
    Effect.gen(function*() {
      const stub = makeStub()
      const chaos = Chaos.transform(stub.client, { injectionRate: 1, faults: [FaultScript.hang] })
      const policy = yield* Policy.make({ attemptTimeout: "1 second", circuitBreaker: false })
      const fiber = yield* Effect.fork(Effect.flip(
        Policy.json(chaos, HttpClientRequest.get(`${base}/items`), Items).pipe(
          Effect.provideService(Policy.Policy, policy)
        )
      ))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "Timeout", phase: "Attempt", attempts: 3 })
      expect(stub.seen.length).toBe(0)
    }).pipe(seeded(1)))

  it.effect("while injected latency runs nothing is written: a timeout then says requestSent: false", () =>
    Effect.gen(function*() {
      const stub = makeHangingStub()
      const post = HttpClientRequest.post(`${base}/orders`)
      const slow = Chaos.transform(stub.client, { injectionRate: 1, latency: "10 seconds" })
      const early = yield* Effect.fork(Effect.flip(Attempt.send(slow, post, { timeout: "1 second" })))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(early)).toMatchObject({ _tag: "Timeout", requestSent: false })
      expect(stub.seen.length).toBe(0)

      // once the real request has started, the real transport says what it wrote: this one says nothing
      const brief = Chaos.transform(stub.client, { injectionRate: 1, latency: "100 millis" })
      const late = yield* Effect.fork(Effect.flip(Attempt.send(brief, post, { timeout: "1 second" })))
      yield* TestClock.adjust("1 second")
      const failure = yield* Fiber.join(late)
      expect(failure).toMatchObject({ _tag: "Timeout" })
      expect("requestSent" in failure).toBe(false)
      expect(stub.seen.length).toBe(1)
    }).pipe(seeded(1)))

  it.scoped("Policy over a chaos client that fails half the requests with 503 retries and succeeds", () =>
    Effect.gen(function*() {
      const stub = makeStub()
      let injected = 0
      const chaos = Chaos.transform(stub.client, {
        injectionRate: 0.5,
        faults: [FaultScript.status(503)],
        onInject: () => Effect.sync(() => injected++)
      })
      // the retry budget would (rightly) stop retrying a upstream that fails half the time: off, to see every retry
      const policy = yield* Policy.make({
        retry: { maxAttempts: 10, baseDelay: "100 millis", maxDelay: "1 second", budget: false },
        circuitBreaker: false
      })
      const fiber = yield* Effect.fork(Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) =>
          Policy.json(chaos, HttpClientRequest.get(`${base}/items/${i}`), Items).pipe(
            Effect.provideService(Policy.Policy, policy)
          ),
        { concurrency: 1 }
      ))
      yield* TestClock.adjust("10 minutes")
      const bodies = yield* Fiber.join(fiber)
      expect(bodies).toEqual(Array.from({ length: 20 }, () => ({ items: [1] })))
      // every call ended at the real client, after as many 503s as chaos injected
      expect(stub.seen.length).toBe(20)
      expect(injected).toBeGreaterThan(5)
    }).pipe(seeded(11)))

  it.scoped("Policy retries a POST after an injected refusedStream (never processed), not after a streamReset", () =>
    Effect.gen(function*() {
      const policy = yield* Policy.make({ retry: { maxAttempts: 10, budget: false }, circuitBreaker: false })
      const injections: Array<string> = []
      const post = (fault: FaultScript.Fault) => {
        const stub = makeStub()
        const chaos = Chaos.transform(stub.client, {
          injectionRate: 0.5,
          faults: [fault],
          onInject: (injection) => Effect.sync(() => injections.push(injection._tag))
        })
        return Effect.gen(function*() {
          injections.length = 0
          const fiber = yield* Effect.fork(Effect.either(
            Policy.json(chaos, HttpClientRequest.post(`${base}/orders`), Items).pipe(
              Effect.provideService(Policy.Policy, policy)
            )
          ))
          yield* TestClock.adjust("10 minutes")
          return { outcome: yield* Fiber.join(fiber), injected: injections.length, reachedServer: stub.seen.length }
        })
      }
      // seed 5 injects into the first attempt only (checked below): the retry reaches the real client
      const refused = yield* post(FaultScript.refusedStream()).pipe(seeded(5))
      expect(refused.outcome).toEqual(Either.right({ items: [1] }))
      expect([refused.injected, refused.reachedServer]).toEqual([1, 1])

      // the same draws: the POST may have been processed after the first reset, so it is not sent again
      const reset = yield* post(FaultScript.streamReset()).pipe(seeded(5))
      expect(Either.isLeft(reset.outcome) && reset.outcome.left).toMatchObject({
        _tag: "ConnectionError",
        reason: "Unknown",
        attempts: 1
      })
      expect([reset.injected, reset.reachedServer]).toEqual([1, 0])
    }))

  it.effect("each injection is an event on the current span, an attribute of the http.client span and a Debug log", () =>
    Effect.gen(function*() {
      const tracer = TestTracer.make()
      const logs: Array<{ message: unknown; level: string; annotations: Record<string, unknown> }> = []
      const logger = Logger.make(({ annotations, logLevel, message }) => {
        logs.push({ message, level: logLevel.label, annotations: Object.fromEntries(annotations) })
      })
      const injections: Array<Chaos.Injection> = []
      const chaos = Chaos.transform(makeStub().client, {
        injectionRate: 1,
        faults: [FaultScript.status(503)],
        latency: { latency: "20 millis", weight: 1 },
        onInject: (injection) => Effect.sync(() => injections.push(injection))
      })
      const fiber = yield* Effect.fork(
        Effect.forEach(
          Array.from({ length: 6 }),
          () => Effect.map(chaos.get(`${base}/items?token=secret&page=2`), (response) => response.status)
        ).pipe(
          Effect.withSpan("caller"),
          Effect.withTracer(tracer.tracer),
          Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
          Logger.withMinimumLogLevel(LogLevel.Debug)
        )
      )
      yield* TestClock.adjust("1 second")
      const statuses = yield* Fiber.join(fiber)
      expect(new Set(statuses)).toEqual(new Set([200, 503]))

      const expected = statuses.map((status) =>
        status === 503 ?
          { outcome: "fault", injected: "status 503" } :
          { outcome: "latency", injected: "latency 20ms" }
      )
      const caller = tracer.byName("caller")[0]
      expect(
        caller.events.filter((event) => event.name === "sturdy.chaos").map((event) => [event.name, event.attributes])
      ).toEqual(expected.map((e) => [
        "sturdy.chaos",
        { "sturdy.chaos.outcome": e.outcome, "sturdy.chaos.injected": e.injected, "http.request.method": "GET" }
      ]))
      const clientSpans = tracer.byName("http.client GET")
      expect(clientSpans.filter((span) => span.attributes.get("sturdy.chaos") === "status 503").length).toBe(
        statuses.filter((status) => status === 503).length
      )
      expect(logs.map((log) => [log.level, log.message, log.annotations["sturdy.chaos.outcome"]])).toEqual(
        expected.map((e) => [
          "DEBUG",
          [`chaos: injected ${e.injected} into GET http://api.test/items?token=<redacted>&page=2`],
          e.outcome
        ])
      )
      expect(JSON.stringify(logs)).not.toContain("secret")
      expect(injections.map((injection) =>
        injection._tag === "Fault" ?
          ["Fault", injection.fault] :
          ["Latency", Duration.toMillis(injection.latency)]
      )).toEqual(statuses.map((status) => status === 503 ? ["Fault", FaultScript.status(503)] : ["Latency", 20]))
    }).pipe(seeded(5)))

  it.effect("Chaos.layer wraps the HttpClient in context", () =>
    Effect.gen(function*() {
      const stub = makeStub()
      const client = yield* HttpClient.HttpClient
      expect((yield* client.get(`${base}/items`)).status).toBe(503)
      expect(stub.seen.length).toBe(0)
    }).pipe(
      Effect.provide(Layer.provide(
        Chaos.layer({ injectionRate: 1, faults: [FaultScript.status(503)] }),
        Layer.succeed(HttpClient.HttpClient, makeStub().client)
      )),
      seeded(1)
    ))

  it.effect("the draws are as documented: one per selected request, a second only to choose among outcomes", () =>
    Effect.gen(function*() {
      // the model: the same seeded Random, read as the module docs say
      const model = (seed: number, outcomes: number) =>
        Effect.gen(function*() {
          const picks: Array<number | undefined> = []
          for (let i = 0; i < 200; i++) {
            const injected = (yield* Random.next) < 0.4
            picks.push(!injected ? undefined : outcomes === 1 ? 0 : Math.floor((yield* Random.next) * outcomes))
          }
          return picks
        }).pipe(seeded(seed))
      const observed = (faults: ReadonlyArray<FaultScript.Fault>) =>
        Effect.map(
          sendMany(Chaos.transform(makeStub().client, { injectionRate: 0.4, faults }), 200),
          (results) =>
            results.map((result) => {
              const status = Either.isRight(result) ? result.right.status : -1
              return status === 200 ? undefined : status === 503 ? 0 : 1
            })
        )
      const one = yield* observed([FaultScript.status(503)]).pipe(seeded(9))
      expect(one).toEqual(yield* model(9, 1))
      const two = yield* observed([FaultScript.status(503), FaultScript.status(500)]).pipe(seeded(9))
      expect(two).toEqual(yield* model(9, 2))
    }))

  it("refuses bad options with a RangeError that names them, when the client or layer is built", () => {
    const { client } = makeStub()
    const refused = (options: unknown, message: string) => {
      expect(() => Chaos.transform(client, options as Chaos.Options)).toThrow(
        new RangeError(`Chaos.transform: ${message}`)
      )
      expect(() => Chaos.layer(options as Chaos.Options)).toThrow(new RangeError(`Chaos.layer: ${message}`))
    }
    const fault = FaultScript.status(503)
    refused({ injectionRate: 1.5, faults: [fault] }, "injectionRate must be a number from 0 to 1, got 1.5")
    refused({ injectionRate: -0.1, faults: [fault] }, "injectionRate must be a number from 0 to 1, got -0.1")
    refused({ injectionRate: Number.NaN, faults: [fault] }, "injectionRate must be a number from 0 to 1, got NaN")
    refused({ injectionRate: "0.5", faults: [fault] }, "injectionRate must be a number from 0 to 1, got \"0.5\"")
    refused({ faults: [fault] }, "injectionRate must be a number from 0 to 1, got undefined")
    refused({ injectionRate: 0.5 }, "give faults, latency or both: there is nothing to inject")
    refused({ injectionRate: 0.5, faults: [] }, "faults must hold at least one fault, got []")
    refused({ injectionRate: 0.5, faults: fault }, "faults must be an array of faults, got an object")
    refused(
      { injectionRate: 0.5, faults: [fault, { fault, weight: 0 }] },
      "faults[1].weight must be a finite number > 0, got 0"
    )
    refused(
      { injectionRate: 0.5, faults: [{ fault, weight: Number.POSITIVE_INFINITY }] },
      "faults[0].weight must be a finite number > 0, got Infinity"
    )
    const notADuration: ReadonlyArray<[unknown, string]> = [
      [-5, "-5"],
      ["-5 millis", "\"-5 millis\""],
      [Number.NaN, "NaN"],
      ["soon", "\"soon\""],
      [Duration.infinity, "Duration(Infinity)"]
    ]
    for (const [latency, shown] of notADuration) {
      refused(
        { injectionRate: 0.5, latency },
        `latency must be a finite duration ≥ 0 (a Duration.DurationInput), got ${shown}`
      )
    }
    refused(
      { injectionRate: 0.5, latency: { latency: "1 second", weight: -1 } },
      "latency.weight must be a finite number > 0, got -1"
    )
    refused(
      { injectionRate: 0.5, faults: [fault], enabled: "yes" },
      "enabled must be a boolean or a function of the request, got \"yes\""
    )
    refused({ injectionRate: 0.5, faults: [fault], onInject: true }, "onInject must be a function, got true")
  })

  it("refuses a fault the FaultScript schema refuses, saying where and why", () => {
    const { client } = makeStub()
    const build = (faults: ReadonlyArray<unknown>) => () =>
      Chaos.transform(client, { injectionRate: 1, faults: faults as ReadonlyArray<FaultScript.Fault> })
    expect(build([503])).toThrow(/^Chaos\.transform: faults\[0\] is not a FaultScript\.Fault \(.*\), got 503$/)
    expect(build([FaultScript.hang, { ...FaultScript.status(503), status: 42 }])).toThrow(
      /^Chaos\.transform: faults\[1\]\.status is not a FaultScript\.Fault \(.*status 42 is not an integer from 200 to 599/
    )
    expect(build([{ fault: { _tag: "Explode" }, weight: 1 }])).toThrow(/^Chaos\.transform: faults\[0\]\.fault/)
  })
})

// a rate in hundredths: fast-check's doubles crowd near 0 and 1, where nothing or everything is injected
const percent = FastCheck.integer({ min: 0, max: 100 }).map((n) => n / 100)

describe("Chaos properties", () => {
  // With one outcome, each request takes exactly one draw, so two rates under one seed see the same draws: whatever
  // the lower rate injects, the higher one injects too (the rates are nested, not independent coin flips).
  it.effect.prop(
    "under one seed, the requests a lower rate injects are injected at a higher rate too",
    [FastCheck.integer(), percent, percent],
    ([seed, a, b]) =>
      Effect.gen(function*() {
        const injectedAt = (rate: number) =>
          Effect.map(
            sendMany(Chaos.transform(makeStub().client, { injectionRate: rate, faults: [FaultScript.refused()] }), 60),
            (results) => results.flatMap((result, i) => Either.isLeft(result) ? [i] : [])
          ).pipe(seeded(seed))
        const low = yield* injectedAt(Math.min(a, b))
        const high = yield* injectedAt(Math.max(a, b))
        expect(low.every((i) => high.includes(i))).toBe(true)
      }),
    { fastCheck: { seed: 20261206, numRuns: 50 } }
  )
})
