// Hostile option values for `Policy.validate` / `Policy.make`: every field of every section (retry, circuitBreaker,
// bulkhead, rateLimit, hedging, the top level, and the same sections under `endpoints`), and the entries of `hosts`,
// `endpoints` and `retry.statuses`/`retry.methods`, fed wrong types, NaN, ±Infinity, -0, negatives, fractions, huge
// numbers, durations that do not parse, null, symbols, bigints, objects whose `valueOf` throws, in options that are
// plain, frozen, or carry `__proto__`/`constructor` keys (fast-check, fixed seed; the values are those of
// `@sturdy/policy`'s HostileOptions suite). `validate` must answer: a Right, or a Left `InvalidPolicy` whose problems
// name the field; never a throw (before the fix: a bigint threw from `JSON.stringify`, a symbol from a template, a
// throwing `valueOf` from a comparison), and the fields documented as numbers or functions accept nothing else. A
// throwing getter's own error passing through unchanged is allowed. `Attempt` options are covered by Attempt.test.ts
// ("Attempt options out of range"); `Redirect.follow` below. Then the options of `EventStream`, `Download` and `HttpCache`
// (and `HttpCache.makeMemory`, `HttpCacheKeyValueStore.make` with its `prefix`) fed NaN, ±Infinity, 2^53, strings that are no duration, negative durations in every form,
// null, objects and `Duration.infinity`: each is refused with the module's typed failure naming the option and nothing
// sent, or is documented as accepted; and hostile responses from a fake `HttpClient` (an `id:` carrying CR, a `retry:`
// of 20 digits, a 10 MB line, a `Content-Range` of 2^60, `max-age` of 20 digits, `Age: -5`, far `Expires`, a `Vary` of
// 1000 headers). `JsonLines` (its own section at the end): every numeric and duration option fed the same values, its
// enum options, and hostile bodies (a 50 MB line, a million empty lines, JSON nested 100 000 deep).
import { HttpClient, HttpClientRequest, HttpClientResponse, KeyValueStore } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Download, EventStream, HttpCache, Paginate, Poll } from "@sturdy/http"
import * as HttpCacheKeyValueStore from "@sturdy/http/HttpCacheKeyValueStore"
import * as JsonLines from "@sturdy/http/JsonLines"
import * as Policy from "@sturdy/http/Policy"
import * as Redirect from "@sturdy/http/Redirect"
import * as SturdyClient from "@sturdy/http/SturdyClient"
import { Cause, Chunk, Clock, Duration, Effect, Exit, Layer, Option, Schedule, Stream, TestClock } from "effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { describeValue, GetterError, hostileValue, optionsWith, wrapper } from "../../policy/test/utils/hostile.js"
import * as eventStreamInternal from "../src/internal/eventStream.js"

const fastCheck = { fastCheck: { seed: 20261206, numRuns: 60 } }

const sections: Readonly<Record<string, ReadonlyArray<string>>> = {
  "": ["totalTimeout", "attemptTimeout", "deadlineHeader", "retryCountHeader", "upstreamKey", "onEvent", "telemetry"],
  retry: [
    "maxAttempts",
    "baseDelay",
    "maxDelay",
    "jitter",
    "maxElapsed",
    "schedule",
    "delay",
    "statuses",
    "methods",
    "respectRetryAfter",
    "retryAfterStatuses",
    "maxRetryAfter",
    "retryAfterJitter",
    "budget",
    "idempotencyKey",
    "retryUnsent",
    "retryOn"
  ],
  circuitBreaker: [
    "failureRateThreshold",
    "minimumThroughput",
    "slidingWindow",
    "breakDuration",
    "consecutiveFailures",
    "failureCountThreshold",
    "halfOpenMaxProbes",
    "successThreshold",
    "maxProbeDuration",
    "countsAsFailure",
    "waitForProbe"
  ],
  bulkhead: ["maxConcurrent", "maxQueued", "maxWait"],
  rateLimit: ["limit", "window", "algorithm", "onExceeded"],
  hedging: ["delay", "maxHedges", "failure"]
}
const bases: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  rateLimit: { limit: 5, window: "1 second" },
  hedging: { delay: "1 second" }
}

// the fields documented as a number or a function: whatever else is accepted was read as something it does not say
const domains: Readonly<Record<string, (value: unknown) => boolean>> = {
  retryAfterJitter: (v) => typeof v === "number",
  failureRateThreshold: (v) => typeof v === "number",
  upstreamKey: (v) => typeof v === "function",
  onEvent: (v) => typeof v === "function",
  telemetry: (v) => typeof v === "boolean"
}

const judge = (field: string, value: unknown, validate: () => Either.Either<unknown, Policy.InvalidPolicy>) => {
  const label = `${field} <- ${describeValue(value)}`
  let answer: Either.Either<unknown, Policy.InvalidPolicy>
  try {
    answer = validate()
  } catch (error) {
    expect(error, `${label}: validate threw`).toBeInstanceOf(GetterError)
    return
  }
  if (Either.isLeft(answer)) {
    expect(answer.left._tag, label).toBe("InvalidPolicy")
    // options carrying `__proto__`/`constructor` keys are refused for those unknown keys, which is typed too
    expect(answer.left.message.includes(field) || answer.left.message.includes("__proto__"), label).toBe(true)
    return
  }
  const domain = domains[field]
  if (domain !== undefined && value !== null) expect(domain(value), `${label}: accepted`).toBe(true)
}

describe("HostileOptions: Policy.validate", () => {
  for (const [section, fields] of Object.entries(sections)) {
    for (const field of fields) {
      const name = section === "" ? field : `${section}.${field}`
      it.prop(name, [wrapper, hostileValue], ([wrap, value]) => {
        const options = section === ""
          ? optionsWith(wrap, {}, field, value)
          : { [section]: optionsWith(wrap, bases[section] ?? {}, field, value) }
        judge(field, value, () => Policy.validate(options))
        // an endpoint takes the timeouts, retry and hedging (the other sections are a host's)
        if (section === "retry" || section === "hedging") {
          judge(field, value, () => Policy.validate({ endpoints: { "GET /users/{id}": options } }))
        }
      }, fastCheck)
    }
  }
  it.prop("entries of hosts, endpoints, statuses and methods", [hostileValue], ([value]) => {
    judge("hosts", value, () => Policy.validate({ hosts: { "api.example.com": value } } as Policy.Options))
    judge("endpoints", value, () => Policy.validate({ endpoints: { "GET /users": value } } as Policy.Options))
    judge("statuses", value, () => Policy.validate({ retry: { statuses: [503, value as number] } }))
    judge("methods", value, () => Policy.validate({ retry: { methods: ["GET", value as "GET"] } }))
    judge("options", value, () => Policy.validate(value as Policy.Options))
  }, fastCheck)
})

describe("HostileOptions: Redirect.follow", () => {
  it.prop("maxRedirects and allowDowngrade", [wrapper, hostileValue], ([wrap, value]) => {
    for (const field of ["maxRedirects", "allowDowngrade"]) {
      try {
        Redirect.follow(optionsWith(wrap, {}, field, value))
      } catch (error) {
        if (error instanceof GetterError) continue
        expect(error, `${field} <- ${describeValue(value)}`).toBeInstanceOf(RangeError)
        expect((error as Error).message).toContain(field)
      }
    }
  }, fastCheck)
})

// -----------------------------------------------------------------------------
// the modules of 0.2: EventStream, Download, HttpCache (options, then hostile responses from a fake HttpClient)
// -----------------------------------------------------------------------------

/** The hostile values fed to each numeric or duration option of the new modules, by name for the assertion labels. */
const hostile: ReadonlyArray<readonly [string, unknown]> = [
  ["NaN", NaN],
  ["-1", -1],
  ["Infinity", Infinity],
  ["-Infinity", -Infinity],
  ["2^53", 2 ** 53],
  ["\"abc\"", "abc"],
  ["\"\"", ""],
  ["\"-5 seconds\"", "-5 seconds"],
  ["-1n", BigInt(-1)],
  ["[-1, 0]", [-1, 0]],
  ["[NaN, 0]", [NaN, 0]],
  ["null", null],
  ["{}", {}],
  ["Duration.infinity", Duration.infinity]
]

/** A client answering every request with `respond()`, recording what was sent. */
const recording = (respond: () => Response) => {
  const sent: Array<HttpClientRequest.HttpClientRequest> = []
  const client = HttpClient.make((request) => {
    sent.push(request)
    return Effect.succeed(HttpClientResponse.fromWeb(request, respond()))
  })
  return { client, sent }
}

const sse = (body: string | ReadableStream<Uint8Array>) => () =>
  new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } })

describe("HostileOptions: EventStream options", () => {
  // what each option documents as accepted among the hostile values (everything else: InvalidRequest InvalidOptions)
  const accepted: Readonly<Record<string, ReadonlyArray<string>>> = {
    reconnectionTime: [],
    idleTimeout: ["Infinity", "Duration.infinity"], // infinite: no idle timeout
    maxRetryAfter: ["Infinity", "Duration.infinity"] // infinite: no limit, as Policy's retry.maxRetryAfter
  }
  for (const field of ["reconnectionTime", "idleTimeout", "maxRetryAfter"]) {
    it.effect(field, () =>
      Effect.gen(function*() {
        for (const [label, value] of hostile) {
          const { client, sent } = recording(sse("data: a\n\n"))
          const options = { [field]: value } as EventStream.Options
          const result = yield* Effect.either(
            Stream.runCollect(Stream.take(EventStream.make(client, "http://origin.test/events", options), 1))
          )
          if (accepted[field]!.includes(label)) {
            expect(Either.isRight(result), `${field} <- ${label}`).toBe(true)
            continue
          }
          expect(Either.isLeft(result), `${field} <- ${label}: accepted`).toBe(true)
          const failure = Either.getLeft(result).pipe(Option.getOrThrow)
          expect(failure, `${field} <- ${label}`).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidOptions" })
          expect(failure.message, `${field} <- ${label}`).toContain(field)
          expect(sent, `${field} <- ${label}: sent`).toHaveLength(0)
        }
      }))
  }

  it.effect("maxRetryAfter 0 and 2^31 - 1 ms are accepted; one more millisecond is refused, naming it", () =>
    Effect.gen(function*() {
      for (const maxRetryAfter of [0, 2 ** 31 - 1]) {
        const { client } = recording(sse("data: a\n\n"))
        const events = yield* Stream.runCollect(
          Stream.take(EventStream.make(client, "http://origin.test/events", { maxRetryAfter }), 1)
        )
        expect(Chunk.toReadonlyArray(events).map((e) => e.data)).toEqual(["a"])
      }
      const { client, sent } = recording(sse("data: a\n\n"))
      const failure = yield* Effect.flip(
        Stream.runCollect(EventStream.make(client, "http://origin.test/events", { maxRetryAfter: 2 ** 31 }))
      )
      expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidOptions" })
      expect(failure.message).toContain("maxRetryAfter must be at most 2^31 - 1 ms")
      expect(sent).toHaveLength(0)
    }))

  it.effect("reconnectionTime 0 is accepted (reconnect at once); idleTimeout 0 is refused", () =>
    Effect.gen(function*() {
      const { client } = recording(sse("data: a\n\n"))
      const zero = yield* Stream.runCollect(
        Stream.take(EventStream.make(client, "http://origin.test/events", { reconnectionTime: 0 }), 2)
      )
      expect(Chunk.toReadonlyArray(zero).map((e) => e.data)).toEqual(["a", "a"])
      const idle = yield* Effect.flip(
        Stream.runCollect(EventStream.make(client, "http://origin.test/events", { idleTimeout: 0 }))
      )
      expect(idle).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidOptions" })
      expect(idle.message).toContain("idleTimeout must be a positive duration")
    }))

  it.effect("schedule and options that are not what they say are refused naming them", () =>
    Effect.gen(function*() {
      for (const value of [{}, "recurs(3)", 3, () => 3, Duration.seconds(1)]) {
        const { client, sent } = recording(sse("data: a\n\n"))
        const failure = yield* Effect.flip(Stream.runCollect(
          EventStream.make(client, "http://origin.test/events", { schedule: value } as unknown as EventStream.Options)
        ))
        expect(failure, String(value)).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidOptions" })
        expect(failure.message).toContain("schedule is not a Schedule")
        expect(sent).toHaveLength(0)
      }
      for (const options of ["idleTimeout=1", 3, true]) {
        const { client } = recording(sse("data: a\n\n"))
        const failure = yield* Effect.flip(Stream.runCollect(
          EventStream.make(client, "http://origin.test/events", options as unknown as EventStream.Options)
        ))
        expect(failure.message).toContain("options must be an object")
      }
      // `null` is read as absent (`?? defaultSchedule`), as for the other options: the default schedule
      const { client } = recording(sse("data: a\n\n"))
      const events = yield* Stream.runCollect(Stream.take(
        EventStream.make(client, "http://origin.test/events", { schedule: null } as unknown as EventStream.Options),
        1
      ))
      expect(Chunk.size(events)).toBe(1)
    }))

  it.effect("a lastEventId with CR, LF or NULL is refused before anything is sent: no header injection", () =>
    Effect.gen(function*() {
      for (const id of ["1\r\nX-Injected: yes", "1\nX-Injected: yes", "1\rX", "a\u0000b", "\r\n"]) {
        const { client, sent } = recording(sse("data: a\n\n"))
        const failure = yield* Effect.flip(
          Stream.runCollect(EventStream.make(client, "http://origin.test/events", { lastEventId: id }))
        )
        expect(failure).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidOptions" })
        expect(failure.message).toContain("lastEventId must be a string without control characters")
        expect(failure.message).not.toContain("X-Injected")
        expect(sent).toHaveLength(0)
      }
      for (const id of [3, {}, ["1"]]) {
        const { client, sent } = recording(sse("data: a\n\n"))
        const failure = yield* Effect.flip(Stream.runCollect(
          EventStream.make(client, "http://origin.test/events", { lastEventId: id } as unknown as EventStream.Options)
        ))
        expect(failure.message).toContain("lastEventId")
        expect(sent).toHaveLength(0)
      }
    }))

  it.effect("a valid lastEventId goes on the wire as one Last-Event-ID header, unchanged", () =>
    Effect.gen(function*() {
      const { client, sent } = recording(sse("data: a\n\n"))
      yield* Stream.runCollect(
        Stream.take(EventStream.make(client, "http://origin.test/events", { lastEventId: " 42\t: x " }), 1)
      )
      expect(sent[0]!.headers["last-event-id"]).toBe(" 42\t: x ")
      expect(Object.keys(sent[0]!.headers).filter((name) => name.startsWith("x-"))).toEqual([])
    }))
})

describe("HostileOptions: EventStream hostile responses", () => {
  it.effect("a server id with CR/LF cannot inject a header on the reconnect (lines end at CR and LF)", () =>
    Effect.gen(function*() {
      const { client, sent } = recording(sse("id: 7\rX-Injected: yes\ndata: a\n\n"))
      yield* Stream.runCollect(
        Stream.take(EventStream.make(client, "http://origin.test/events", { reconnectionTime: 0 }), 2)
      )
      expect(sent[1]!.headers["last-event-id"]).toBe("7")
      expect(sent[1]!.headers["x-injected"]).toBeUndefined()
    }))

  it.effect("a retry: of 20 digits counts as the longest timer, 2^31 - 1 ms (so the stream still reconnects)", () =>
    Effect.gen(function*() {
      const parser = new eventStreamInternal.Parser("")
      parser.feed("retry: 99999999999999999999\n\n")
      expect(parser.reconnectionTime).toBe(2 ** 31 - 1)
    }))

  it.effect("an 11 MB line without a newline fails with BodyTooLarge at the 10 MiB maxEventBytes", () =>
    Effect.gen(function*() {
      const megabyte = new TextEncoder().encode("x".repeat(1024 * 1024))
      const run = (options: EventStream.Options) => {
        let pulls = 0
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (pulls++ < 11) controller.enqueue(megabyte)
            else controller.close()
          }
        })
        const { client } = recording(sse(body))
        return Effect.map(
          Effect.flip(Stream.runCollect(
            EventStream.make(client, "http://origin.test/events", { schedule: Schedule.stop, ...options })
          )),
          (failure) => ({ failure, pulls })
        )
      }
      const bounded = yield* run({})
      expect(bounded.failure).toMatchObject({ _tag: "BodyTooLarge", limitBytes: 10 * 1024 * 1024 })
      // unbounded on request: the line is held, never dispatched, and the connection's end ends the stream
      const unbounded = yield* run({ maxEventBytes: Infinity })
      expect(unbounded.failure).toMatchObject({
        _tag: "EventStreamError",
        reason: "ReconnectsExhausted",
        reconnects: 0
      })
      expect(unbounded.pulls).toBe(12)
    }))
})

const body30 = new Uint8Array(30).map((_, i) => i)

/** A download client: plays `answers` one per request (the last one again after). */
const downloadClient = (answers: ReadonlyArray<() => Response>) => {
  let turn = 0
  const sent: Array<HttpClientRequest.HttpClientRequest> = []
  const client = HttpClient.make((request) => {
    sent.push(request)
    const answer = answers[Math.min(turn++, answers.length - 1)]!
    return Effect.succeed(HttpClientResponse.fromWeb(request, answer()))
  })
  return { client, sent }
}

const sentFirst = new WeakSet<ReadableStreamDefaultController<Uint8Array>>()

/** A 200 that sends the first `cutAt` bytes of `body30` and then errors (a cut), with a strong ETag. */
const cut200 = (cutAt: number) => () =>
  new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sentFirst.has(controller)) {
          controller.error(new Error("socket hang up"))
          return
        }
        sentFirst.add(controller)
        controller.enqueue(body30.slice(0, cutAt))
      }
    }),
    { status: 200, headers: { etag: "\"v1\"", "content-length": "30", "accept-ranges": "bytes" } }
  )

const runDownload = (client: HttpClient.HttpClient, options: unknown) =>
  Download.bytes(HttpClientRequest.get("http://origin.test/file"), options as Download.Options).pipe(
    Effect.provideService(HttpClient.HttpClient, client),
    Effect.either
  )

describe("HostileOptions: Download options", () => {
  const accepted: Readonly<Record<string, ReadonlyArray<string>>> = {
    maxBodyBytes: ["Infinity"], // documented: an integer ≥ 0 or Infinity
    // infinite: no idle timeout; 2^53 ms (longer than a timer holds, so it would never fire) is refused
    idleTimeout: ["Infinity", "Duration.infinity"]
  }
  for (const field of ["maxBodyBytes", "idleTimeout"]) {
    it.effect(field, () =>
      Effect.gen(function*() {
        for (const [label, value] of hostile) {
          const { client, sent } = downloadClient([() => new Response(body30)])
          const result = yield* runDownload(client, { [field]: value })
          if (accepted[field]!.includes(label)) {
            expect(result, `${field} <- ${label}`).toEqual(Either.right(body30))
            continue
          }
          expect(Either.isLeft(result), `${field} <- ${label}: accepted`).toBe(true)
          const failure = Either.getLeft(result).pipe(Option.getOrThrow)
          expect(failure, `${field} <- ${label}`).toMatchObject({ _tag: "DownloadError", reason: "InvalidOptions" })
          expect(failure.message, `${field} <- ${label}`).toContain(field)
          expect(sent, `${field} <- ${label}: sent`).toHaveLength(0)
        }
      }))
  }

  it.effect("maxBodyBytes 0 is a limit (an empty body passes, one byte is BodyTooLarge); idleTimeout 0 is refused", () =>
    Effect.gen(function*() {
      const empty = downloadClient([() => new Response(new Uint8Array(0))])
      expect(yield* runDownload(empty.client, { maxBodyBytes: 0 })).toEqual(Either.right(new Uint8Array(0)))
      const one = downloadClient([() => new Response(new Uint8Array(1))])
      const tooLarge = yield* runDownload(one.client, { maxBodyBytes: 0 })
      expect(Either.getLeft(tooLarge).pipe(Option.getOrThrow)).toMatchObject({ _tag: "BodyTooLarge" })
      const idle = yield* runDownload(one.client, { idleTimeout: 0 })
      expect(Either.getLeft(idle).pipe(Option.getOrThrow).message).toContain("idleTimeout must be a positive duration")
    }))

  it.effect("a schedule or options that are not what they say are refused naming them", () =>
    Effect.gen(function*() {
      for (const schedule of [{}, "recurs(3)", 3, () => 3, Duration.seconds(1)]) {
        const { client, sent } = downloadClient([() => new Response(body30)])
        const failure = Either.getLeft(yield* runDownload(client, { schedule })).pipe(Option.getOrThrow)
        expect(failure, String(schedule)).toMatchObject({ _tag: "DownloadError", reason: "InvalidOptions" })
        expect(failure.message).toContain("schedule is not a Schedule")
        expect(sent).toHaveLength(0)
      }
      for (const options of ["maxBodyBytes=1", 3, true, [1]]) {
        const { client } = downloadClient([() => new Response(body30)])
        const failure = Either.getLeft(yield* runDownload(client, options)).pipe(Option.getOrThrow)
        expect(failure.message).toContain("must be an object")
      }
    }))
})

describe("HostileOptions: Download hostile responses", () => {
  const huge = 2 ** 60
  for (
    const [label, range] of [
      ["2^60 numbers", `bytes 10-${huge - 1}/${huge}`],
      ["a 2^60 start", `bytes ${huge}-${huge + 19}/${huge + 20}`],
      ["20 digits", "bytes 10-29/99999999999999999999"],
      ["a negative start", "bytes -10-29/30"]
    ] as const
  ) {
    it.effect(`a resume answered with Content-Range of ${label} fails with RangeMismatch, no byte lost or repeated`, () =>
      Effect.gen(function*() {
        const { client, sent } = downloadClient([
          cut200(10),
          () =>
            new Response(body30.subarray(10), {
              status: 206,
              headers: { etag: "\"v1\"", "content-range": range }
            })
        ])
        const emitted: Array<number> = []
        const exit = yield* Download.stream(HttpClientRequest.get("http://origin.test/file"), {
          schedule: Schedule.recurs(3)
        }).pipe(
          Stream.runForEach((chunk) => Effect.sync(() => emitted.push(...chunk))),
          Effect.provideService(HttpClient.HttpClient, client),
          Effect.exit
        )
        expect(sent).toHaveLength(2)
        expect(emitted).toEqual([...body30.subarray(0, 10)])
        const error = Exit.isFailure(exit) ? Option.getOrThrow(Cause.failureOption(exit.cause)) : undefined
        expect(error).toMatchObject({ _tag: "DownloadError", reason: "RangeMismatch" })
        expect(error!.message).toContain("is not bytes <start>-<end>/<total>")
      }))
  }

  it.effect("a first answer with a Content-Length of 2^60 is a body of unknown length, not a huge allocation", () =>
    Effect.gen(function*() {
      const { client } = downloadClient([
        () => new Response(body30, { headers: { "content-length": String(2 ** 60) } })
      ])
      const result = yield* runDownload(client, {})
      expect(result).toEqual(Either.right(body30))
    }))
})

describe("HostileOptions: HttpCache options", () => {
  const accepted: Readonly<Record<string, ReadonlyArray<string>>> = {
    maxBodyBytes: [],
    // documented "a duration ≥ 0": an infinite cap or window is a duration
    heuristicCap: ["Infinity", "Duration.infinity", "2^53"],
    staleIfError: ["Infinity", "Duration.infinity", "2^53"]
  }
  for (const field of ["maxBodyBytes", "heuristicCap", "staleIfError"]) {
    it.scoped(field, () =>
      Effect.gen(function*() {
        for (const [label, value] of hostile) {
          const result = yield* Effect.either(
            HttpCache.make({ [field]: value } as HttpCache.Options).pipe(
              Effect.provideServiceEffect(HttpCache.Store, HttpCache.makeMemory())
            )
          )
          if (accepted[field]!.includes(label)) {
            expect(Either.isRight(result), `${field} <- ${label}`).toBe(true)
            continue
          }
          expect(Either.isLeft(result), `${field} <- ${label}: accepted`).toBe(true)
          const failure = Either.getLeft(result).pipe(Option.getOrThrow)
          expect(failure._tag).toBe("HttpCacheInvalidOptions")
          expect(failure.problems.map((p) => p.field), `${field} <- ${label}`).toEqual([field])
          expect(failure.message).toContain(field)
        }
      }))
  }

  for (const field of ["maxEntries", "maxBytes"]) {
    it.effect(`layerMemory ${field}`, () =>
      Effect.gen(function*() {
        for (const [label, value] of [...hostile, ["0", 0] as const]) {
          const result = yield* Effect.either(HttpCache.makeMemory({ [field]: value } as HttpCache.MemoryOptions))
          expect(Either.isLeft(result), `${field} <- ${label}: accepted`).toBe(true)
          const failure = Either.getLeft(result).pipe(Option.getOrThrow)
          expect(failure.problems.map((p) => p.field), `${field} <- ${label}`).toEqual([field])
          expect(failure.message).toContain(`${field} must be an integer ≥ 1`)
        }
        // the layer fails the same way, typed
        const layer = yield* Effect.either(
          Effect.scoped(Layer.build(HttpCache.layerMemory({ [field]: -1 } as HttpCache.MemoryOptions)))
        )
        expect(Either.getLeft(layer).pipe(Option.getOrThrow)._tag).toBe("HttpCacheInvalidOptions")
      }))
  }

  for (const field of ["maxEntries", "maxBytes"]) {
    it.effect(`layerKeyValueStore ${field}`, () =>
      Effect.gen(function*() {
        for (const [label, value] of [...hostile, ["0", 0] as const]) {
          const result = yield* Effect.either(
            HttpCacheKeyValueStore.make({ [field]: value } as HttpCacheKeyValueStore.Options).pipe(
              Effect.provide(KeyValueStore.layerMemory)
            )
          )
          expect(Either.isLeft(result), `${field} <- ${label}: accepted`).toBe(true)
          const failure = Either.getLeft(result).pipe(Option.getOrThrow)
          expect(failure.problems.map((p) => p.field), `${field} <- ${label}`).toEqual([field])
          expect(failure.message).toContain(`${field} must be an integer ≥ 1`)
        }
        const layer = yield* Effect.either(
          Effect.scoped(Layer.build(HttpCacheKeyValueStore.layer({ [field]: -1 } as HttpCacheKeyValueStore.Options)))
            .pipe(Effect.provide(KeyValueStore.layerMemory))
        )
        expect(Either.getLeft(layer).pipe(Option.getOrThrow)._tag).toBe("HttpCacheInvalidOptions")
      }))
  }

  it.effect("layerKeyValueStore prefix: a string of at most 128 characters URI-encoded, no lone surrogate", () =>
    Effect.gen(function*() {
      const refused: ReadonlyArray<readonly [string, unknown]> = [
        ...hostile.filter(([, value]) => typeof value !== "string"),
        ["129 characters", "p".repeat(129)],
        ["43 characters of 3 UTF-8 bytes (129 encoded)", "€".repeat(43)],
        ["a lone surrogate", "cache\udc00"]
      ]
      for (const [label, value] of refused) {
        const failure = yield* Effect.flip(
          HttpCacheKeyValueStore.make({ prefix: value } as HttpCacheKeyValueStore.Options).pipe(
            Effect.provide(KeyValueStore.layerMemory)
          )
        )
        expect(failure.problems.map((p) => p.field), `prefix <- ${label}`).toEqual(["prefix"])
      }
      // "" and 128 encoded characters are prefixes
      for (const value of ["", "p".repeat(128), "€".repeat(14) + "p".repeat(2), "a/b:c d"]) {
        const result = yield* Effect.either(
          HttpCacheKeyValueStore.make({ prefix: value }).pipe(Effect.provide(KeyValueStore.layerMemory))
        )
        expect(Either.isRight(result), JSON.stringify(value)).toBe(true)
      }
      // options that are no object
      for (const options of ["prefix=x", 3, true, [1]]) {
        const failure = yield* Effect.flip(
          HttpCacheKeyValueStore.make(options as unknown as HttpCacheKeyValueStore.Options).pipe(
            Effect.provide(KeyValueStore.layerMemory)
          )
        )
        expect(failure.problems).toEqual([{ field: "options", detail: "must be an object" }])
      }
    }))

  it.scoped("options that are no object are refused naming the options", () =>
    Effect.gen(function*() {
      for (const options of ["maxBodyBytes=1", 3, true, [1]]) {
        const failure = yield* Effect.flip(
          HttpCache.make(options as unknown as HttpCache.Options).pipe(
            Effect.provideServiceEffect(HttpCache.Store, HttpCache.makeMemory())
          )
        )
        expect(failure.problems).toEqual([{ field: "options", detail: "must be an object" }])
      }
    }))
})

describe("HostileOptions: HttpCache hostile responses", () => {
  const httpDate = (millis: number) => new Date(millis).toUTCString()
  /** A cache over a fake origin answering `headers(now)`; `calls` counts what reached the origin. */
  const cached = (headers: (now: number) => Record<string, string>) =>
    Effect.gen(function*() {
      let calls = 0
      const origin = HttpClient.make((request) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          calls++
          return HttpClientResponse.fromWeb(
            request,
            new Response(`body-${calls}`, { headers: { date: httpDate(now), ...headers(now) } })
          )
        })
      )
      const store = yield* HttpCache.makeMemory()
      const cache = yield* HttpCache.make().pipe(Effect.provideService(HttpCache.Store, store))
      const client = origin.pipe(HttpCache.withCache(cache))
      const get = (requestHeaders: Record<string, string> = {}) =>
        Effect.flatMap(
          client.execute(HttpClientRequest.setHeaders(HttpClientRequest.get("http://origin.test/a"), requestHeaders)),
          (response) =>
            Effect.map(response.text, (body) => ({
              body,
              age: response.headers["age"],
              provenance: Option.getOrUndefined(HttpCache.provenance(response))
            }))
        )
      return { get, calls: () => calls }
    })

  it.scoped("max-age of 20 digits is capped at 2^31 s: fresh, with a finite Age", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const { calls, get } = yield* cached(() => ({ "cache-control": "max-age=99999999999999999999" }))
      yield* get()
      yield* TestClock.adjust(Duration.days(365))
      expect(yield* get()).toEqual({ body: "body-1", age: String(365 * 86400), provenance: "fresh" })
      expect(calls()).toBe(1)
    }))

  it.scoped("Age: -5 (and other non-digits) counts as 0, not as a negative age that extends freshness", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      for (const age of ["-5", "1e3", "5.5", " ", "99999999999999999999"]) {
        const { calls, get } = yield* cached(() => ({ "cache-control": "max-age=60", age }))
        yield* get()
        const second = yield* get()
        if (age === "99999999999999999999") {
          // an age of 10^20 s: already stale, so it goes to the origin again
          expect(second.provenance, age).toBe("miss")
          expect(calls()).toBe(2)
        } else {
          expect(second, age).toMatchObject({ body: "body-1", provenance: "fresh", age: "0" })
          yield* TestClock.adjust("61 seconds")
          expect((yield* get()).provenance, age).toBe("miss")
        }
      }
    }))

  it.scoped("Expires far in the past is stale at once; far in the future is fresh (no overflow)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const past = yield* cached(() => ({ expires: "Thu, 01 Jan 1970 00:00:00 GMT" }))
      yield* past.get()
      expect((yield* past.get()).provenance).toBe("miss")
      const future = yield* cached(() => ({ expires: "Fri, 31 Dec 9999 23:59:59 GMT" }))
      yield* future.get()
      yield* TestClock.adjust(Duration.days(3650))
      expect((yield* future.get()).provenance).toBe("fresh")
      expect(future.calls()).toBe(1)
      // a year past what Date holds (±8.64e15 ms) does not parse: already expired
      const beyond = yield* cached(() => ({ expires: "Sat, 01 Jan 275761 00:00:00 GMT" }))
      yield* beyond.get()
      expect((yield* beyond.get()).provenance).toBe("miss")
    }))

  it.scoped("a Vary listing 1000 headers is stored and matched on all of them", () =>
    Effect.gen(function*() {
      const names = Array.from({ length: 1000 }, (_, i) => `x-h${i}`)
      const { calls, get } = yield* cached(() => ({ "cache-control": "max-age=60", vary: names.join(", ") }))
      const same = Object.fromEntries(names.map((name) => [name, "v"]))
      yield* get(same)
      expect((yield* get(same)).provenance).toBe("fresh")
      expect((yield* get({ ...same, "x-h999": "other" })).provenance).toBe("miss")
      expect(calls()).toBe(2)
    }))
})

// SturdyClient's `cache` (a service instance, not a number): anything but a cache `HttpCache.make` made (a look-alike
// `{ _tag: "HttpCache" }` included) fails every call with `InvalidRequest` (`InvalidOptions`) naming `cache`, before
// anything is sent; never a defect from deep inside the cache. `undefined` is no cache.
describe("HostileOptions: SturdyClient cache", () => {
  const judgeCache = (value: unknown) => {
    let sent = 0
    const client = HttpClient.make((request) =>
      Effect.sync(() => {
        sent++
        return HttpClientResponse.fromWeb(request, new Response("{}"))
      })
    )
    const api = SturdyClient.makeWith(client, {
      baseUrl: "https://api.example.com",
      cache: value as HttpCache.HttpCache
    })
    const exit = Effect.runSyncExit(api.get("/users/1"))
    if (value === undefined) {
      expect(Exit.isSuccess(exit)).toBe(true)
      return
    }
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
    expect(Option.isSome(failure), `cache <- ${describeValue(value)}: ${String(exit)}`).toBe(true)
    expect(Option.getOrThrow(failure)).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidOptions" })
    expect((Option.getOrThrow(failure) as { readonly message: string }).message).toContain(
      "cache must be an HttpCache made by HttpCache.make"
    )
    expect(sent).toBe(0)
  }
  it.prop("any value that is not a cache", [hostileValue], ([value]) => judgeCache(value), fastCheck)
  it("a look-alike, a cache's store, and the cache module itself", () => {
    for (const value of [{ _tag: "HttpCache" }, Object.create({ _tag: "HttpCache" }), HttpCache, HttpCache.Store]) {
      judgeCache(value)
    }
  })
})

describe("HostileOptions: Paginate options", () => {
  const first = HttpClientRequest.get("https://api.test/items")
  /** Every numeric option of every strategy, fed to a client that answers one full page (no request may be sent). */
  const numeric: ReadonlyArray<
    readonly [string, (value: unknown, client: HttpClient.HttpClient) => Stream.Stream<unknown, unknown>]
  > = [
    ["maxPages", (v, c) => Paginate.links(first, (r) => Attempt.send(c, r), { maxPages: v as number })],
    [
      "maxPages",
      (v, c) => Paginate.cursor(first, (r) => Attempt.send(c, r), { cursor: () => null, maxPages: v as number })
    ],
    [
      "pageSize",
      (v, c) => Paginate.pageNumbers(first, (r) => Attempt.send(c, r), { items: () => [], pageSize: v as number })
    ],
    [
      "start",
      (v, c) => Paginate.pageNumbers(first, (r) => Attempt.send(c, r), { items: () => [], start: v as number })
    ],
    ["start", (v, c) => Paginate.offsets(first, (r) => Attempt.send(c, r), { items: () => [], start: v as number })],
    [
      "pageSize",
      (v, c) => Paginate.offsets(first, (r) => Attempt.send(c, r), { items: () => [], pageSize: v as number })
    ]
  ]
  // documented: maxPages is an integer ≥ 1 or Infinity
  const accepted: Readonly<Record<string, ReadonlyArray<string>>> = { maxPages: ["Infinity"], pageSize: [], start: [] }
  for (const [option, make] of numeric) {
    it.effect(`${option} (${numeric.filter(([o]) => o === option).length > 1 ? "every strategy" : "one"})`, () =>
      Effect.gen(function*() {
        for (const [label, value] of [...hostile, ["2^53 + 2", 2 ** 53 + 2], ["1.5", 1.5], ["-0.5", -0.5]] as const) {
          const { client, sent } = recording(() =>
            new Response("[]", { headers: { "content-type": "application/json" } })
          )
          const result = yield* Effect.either(Stream.runCollect(make(value, client)))
          if (accepted[option]!.includes(label)) {
            expect(Either.isRight(result), `${option} <- ${label}`).toBe(true)
            continue
          }
          const failure = Either.getLeft(result).pipe(Option.getOrThrow)
          expect(failure, `${option} <- ${label}`).toMatchObject({ _tag: "PaginationError", reason: "InvalidOptions" })
          expect((failure as Paginate.PaginationError).message, `${option} <- ${label}`).toContain(option)
          expect(sent, `${option} <- ${label}: sent`).toHaveLength(0)
        }
      }))
  }

  it.effect("options that are not an object, and functions that are not functions, are refused naming them", () =>
    Effect.gen(function*() {
      const { client, sent } = recording(() => new Response("[]"))
      const send = (r: HttpClientRequest.HttpClientRequest) => Attempt.send(client, r)
      for (const options of ["maxPages=1", 3, true, [1]]) {
        const failure = Either.getLeft(
          yield* Effect.either(Stream.runCollect(Paginate.links(first, send, options as Paginate.LinkOptions)))
        ).pipe(Option.getOrThrow)
        expect(failure.message, String(options)).toContain("must be an object")
      }
      for (
        const [label, stream, option] of [
          ["cursor", Paginate.cursor(first, send, { cursor: "next" as never }), "cursor"],
          ["request", Paginate.cursor(first, send, { cursor: () => null, request: 1 as never }), "request"],
          ["items", Paginate.offsets(first, send, {} as Paginate.NumberedOptions<unknown>), "items"],
          ["null options", Paginate.cursor(first, send, null as never), "options are required"],
          [
            "allowedOrigins",
            Paginate.links(first, send, { allowedOrigins: "https://a.test" as never }),
            "allowedOrigins"
          ],
          ["sizeParam", Paginate.pageNumbers(first, send, { items: () => [], sizeParam: "per_page" }), "sizeParam"]
        ] as const
      ) {
        const failure = Either.getLeft(yield* Effect.either(Stream.runCollect(stream))).pipe(Option.getOrThrow)
        expect(failure, label).toMatchObject({ _tag: "PaginationError", reason: "InvalidOptions" })
        expect(failure.message, label).toContain(option)
      }
      expect(sent).toHaveLength(0)
    }))
})

describe("HostileOptions: Paginate hostile responses", () => {
  const pages = (link: string, request = HttpClientRequest.get("https://api.test/items")) => {
    const { client, sent } = recording(() => new Response("[1]", { headers: { link } }))
    const stream = Paginate.links(request, (r) => Attempt.send(client, r))
    return { sent, run: Effect.either(Stream.runCollect(stream)) }
  }

  it.effect("a 1 MB Link header is parsed in bounded time, and its next link followed", () =>
    Effect.gen(function*() {
      const filler = Array.from({ length: 1 << 14 }, (_, i) => `</items/x${i}>; rel="prev"; title="a, b; c"`).join(", ")
      expect(filler.length).toBeGreaterThan(1 << 19)
      const { client, sent } = recording(() =>
        new Response("[1]", { headers: { link: sent.length === 1 ? `${filler}, </items?page=2>; rel=next` : "" } })
      )
      const started = performance.now()
      const result = yield* Stream.runCollect(
        Paginate.links(HttpClientRequest.get("https://api.test/items"), (r) => Attempt.send(client, r))
      )
      expect(Chunk.size(result)).toBe(2)
      expect(sent.map((r) => r.url)).toEqual(["https://api.test/items", "https://api.test/items?page=2"])
      // a megabyte of `<` (no `>`), of `;`, of quotes: each is parsed without quadratic blowup
      for (
        const value of [
          "<".repeat(1 << 20),
          `<a>${";".repeat(1 << 20)}`,
          `"`.repeat(1 << 20),
          `<a>; x="${"\\".repeat(1 << 19)}`
        ]
      ) {
        expect(Paginate.parseLinkHeader(value).length).toBeLessThanOrEqual(1)
      }
      expect(performance.now() - started).toBeLessThan(5000)
    }))

  it.effect("a next link of javascript:, file:, data:, or with user:pass@, is a typed failure, never sent", () =>
    Effect.gen(function*() {
      for (
        const link of [
          "<javascript:alert(1)>; rel=next",
          "<file:///etc/passwd>; rel=next",
          "<data:application/json,[2]>; rel=next",
          "<https://user:hunter2-pw@api.test/items?page=2>; rel=next",
          "<//user:hunter2-pw@evil.test/x>; rel=next"
        ]
      ) {
        const { run, sent } = pages(link)
        const failure = Either.getLeft(yield* run).pipe(Option.getOrThrow)
        expect(failure, link).toMatchObject({ _tag: "PaginationError", reason: "InvalidLink", pages: 1 })
        expect(failure.message).not.toContain("hunter2")
        expect(sent).toHaveLength(1)
      }
    }))
})

// -----------------------------------------------------------------------------
// JsonLines: options, then hostile bodies (a 50 MB line, a million empty lines, deep nesting)
// -----------------------------------------------------------------------------

const jsonLinesUrl = "http://origin.test/items"

const ndjson = (body: string | ReadableStream<Uint8Array>) => () =>
  new Response(body, { status: 200, headers: { "content-type": "application/x-ndjson" } })

/** A body of `count` chunks of `chunk`, pulled one at a time; `pulls()` says how many were asked for. */
const pulled = (chunk: Uint8Array, count: number) => {
  let pulls = 0
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulls++ < count) controller.enqueue(chunk)
      else controller.close()
    }
  }, { highWaterMark: 0 })
  return { body, pulls: () => pulls }
}

describe("HostileOptions: JsonLines options", () => {
  // what each option documents as accepted among the hostile values (everything else: InvalidRequest InvalidOptions)
  const accepted: Readonly<Record<string, ReadonlyArray<string>>> = {
    maxLineBytes: ["Infinity"],
    maxJsonDepth: [],
    timeout: ["Infinity", "Duration.infinity"], // infinite: no limit
    idleTimeout: ["Infinity", "Duration.infinity"]
  }
  for (const field of ["maxLineBytes", "maxJsonDepth", "timeout", "idleTimeout"]) {
    it.effect(field, () =>
      Effect.gen(function*() {
        for (const [label, value] of hostile) {
          const { client, sent } = recording(ndjson("1\n2\n"))
          const options = { [field]: value } as JsonLines.Options
          const result = yield* Effect.either(Stream.runCollect(JsonLines.streamUnknown(client, jsonLinesUrl, options)))
          if (accepted[field]!.includes(label)) {
            expect(result, `${field} <- ${label}`).toEqual(Either.right(Chunk.make(1, 2)))
            continue
          }
          expect(Either.isLeft(result), `${field} <- ${label}: accepted`).toBe(true)
          const failure = Either.getLeft(result).pipe(Option.getOrThrow)
          expect(failure, `${field} <- ${label}`).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidOptions" })
          expect(failure.message, `${field} <- ${label}`).toContain(field)
          expect(sent, `${field} <- ${label}: sent`).toHaveLength(0)
        }
      }))
  }

  it.effect("0 and fractions: maxLineBytes 0 and 1.5, maxJsonDepth 1.5, timeouts of 0 and above 2^31 - 1 ms are refused", () =>
    Effect.gen(function*() {
      const refused: ReadonlyArray<JsonLines.Options> = [
        { maxLineBytes: 0 },
        { maxLineBytes: 1.5 },
        { maxJsonDepth: 1.5 },
        { timeout: 0 },
        { idleTimeout: "0 millis" },
        { idleTimeout: 2 ** 31 },
        { timeout: "25 days" }
      ]
      for (const options of refused) {
        const { client, sent } = recording(ndjson("1\n"))
        const failure = yield* Effect.flip(Stream.runCollect(JsonLines.streamUnknown(client, jsonLinesUrl, options)))
        expect(failure, JSON.stringify(options)).toMatchObject({ _tag: "InvalidRequest", reason: "InvalidOptions" })
        expect(failure.message).toContain(Object.keys(options)[0])
        expect(sent).toHaveLength(0)
      }
      // maxJsonDepth 0 is a limit (no array or object), as Attempt's
      const { client } = recording(ndjson("1\n[1]\n"))
      const depth = yield* Effect.flip(
        Stream.runCollect(JsonLines.streamUnknown(client, jsonLinesUrl, { maxJsonDepth: 0 }))
      )
      expect(depth).toMatchObject({ _tag: "InvalidJson" })
    }))

  it.effect("format, onInvalid, expectedContentTypes and options that are not what they say are refused naming them", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, unknown]> = [
        ["format", "jsonl"],
        ["format", null],
        ["format", 1],
        ["onInvalid", "ignore"],
        ["onInvalid", null],
        ["onInvalid", true],
        ["expectedContentTypes", "application/x-ndjson"],
        ["expectedContentTypes", [""]],
        ["expectedContentTypes", null]
      ]
      for (const [field, value] of cases) {
        const { client, sent } = recording(ndjson("1\n"))
        const options = { [field]: value } as unknown as JsonLines.Options
        const failure = yield* Effect.flip(Stream.runCollect(JsonLines.streamUnknown(client, jsonLinesUrl, options)))
        expect(failure, `${field} <- ${String(value)}`).toMatchObject({
          _tag: "InvalidRequest",
          reason: "InvalidOptions"
        })
        expect(failure.message).toContain(field)
        expect(sent).toHaveLength(0)
      }
      for (const options of ["idleTimeout=1", 3, true, [1]]) {
        const { client } = recording(ndjson("1\n"))
        const failure = yield* Effect.flip(Stream.runCollect(
          JsonLines.streamUnknown(client, jsonLinesUrl, options as unknown as JsonLines.Options)
        ))
        expect(failure.message).toContain("options must be an object")
      }
      // a string option's value is never shown (it may be a secret read from the environment)
      const { client } = recording(ndjson("1\n"))
      const failure = yield* Effect.flip(Stream.runCollect(
        JsonLines.streamUnknown(client, jsonLinesUrl, { timeout: "s3cret" } as unknown as JsonLines.Options)
      ))
      expect(failure.message).not.toContain("s3cret")
    }))
})

describe("HostileOptions: JsonLines hostile bodies", () => {
  it.effect("a 50 MB line without a newline fails with BodyTooLarge at the 10 MiB default, reading no further", () =>
    Effect.gen(function*() {
      const { body, pulls } = pulled(new TextEncoder().encode("x".repeat(1024 * 1024)), 50)
      const { client } = recording(ndjson(body))
      const failure = yield* Effect.flip(Stream.runCollect(JsonLines.streamUnknown(client, jsonLinesUrl)))
      expect(failure).toMatchObject({ _tag: "BodyTooLarge", limitBytes: 10 * 1024 * 1024 })
      expect(pulls()).toBeLessThanOrEqual(12)
    }))

  it.effect("a million empty lines (and a million CRLFs) end with no item, in bounded time", () =>
    Effect.gen(function*() {
      const started = Date.now()
      for (const line of ["\n", "\r\n", " \n"]) {
        const chunk = new TextEncoder().encode(line.repeat(64 * 1024))
        const { body } = pulled(chunk, 16) // 16 x 65536 = 1048576 lines
        const { client } = recording(ndjson(body))
        const items = yield* Stream.runCollect(JsonLines.streamUnknown(client, jsonLinesUrl))
        expect(Chunk.size(items)).toBe(0)
      }
      // a generous bound: a quadratic rescan of held bytes would take minutes
      expect(Date.now() - started).toBeLessThan(20_000)
    }))

  it.effect("deeply nested JSON fails with InvalidJson at maxJsonDepth, before parsing; far past it never crashes", () =>
    Effect.gen(function*() {
      const deep = "[".repeat(100_000) + "]".repeat(100_000)
      const { client } = recording(ndjson(`1\n${deep}\n{"a":${"{\"a\":".repeat(600)}1${"}".repeat(601)}\n`))
      const failure = yield* Effect.flip(Stream.runCollect(JsonLines.streamUnknown(client, jsonLinesUrl)))
      expect(failure).toMatchObject({ _tag: "InvalidJson" })
      expect(failure._tag === "InvalidJson" && failure.detail).toBe(
        "line 2: nested deeper than 512 levels (maxJsonDepth)"
      )
      // with the limit lifted, the parser or the schema may refuse it, but as a typed failure or an item, never a defect
      const lifted = recording(ndjson(`${deep}\n`))
      const exit = yield* Effect.exit(
        Stream.runCollect(JsonLines.streamUnknown(lifted.client, jsonLinesUrl, { maxJsonDepth: 2 ** 31 }))
      )
      expect(Exit.isSuccess(exit) || Cause.isFailType(exit.cause), "a defect").toBe(true)
      // and through a recursive schema, too
      interface Tree {
        readonly a: Tree | number
      }
      const Tree: Schema.Schema<Tree> = Schema.Struct({ a: Schema.Union(Schema.Number, Schema.suspend(() => Tree)) })
      const nested = `${"{\"a\":".repeat(20_000)}1${"}".repeat(20_000)}\n`
      const recursive = recording(ndjson(nested))
      const decoded = yield* Effect.exit(Stream.runCollect(
        JsonLines.stream(recursive.client, jsonLinesUrl, Tree, { maxJsonDepth: 1_000_000 })
      ))
      expect(Exit.isSuccess(decoded) || Cause.isFailType(decoded.cause), "a defect").toBe(true)
    }))
})

describe("HostileOptions: Poll options", () => {
  // what each option documents as accepted among the hostile values (everything else: PollError InvalidOptions)
  const accepted: Readonly<Record<string, ReadonlyArray<string>>> = {
    minDelay: [],
    maxDelay: [],
    maxWait: [],
    maxRetryAfter: ["Infinity", "Duration.infinity"] // infinite: no limit, as Policy's and EventStream's
  }
  const done = () => new Response("{}", { status: 200, headers: { "content-type": "application/json" } })
  for (const field of ["minDelay", "maxDelay", "maxWait", "maxRetryAfter"]) {
    it.effect(field, () =>
      Effect.gen(function*() {
        for (const [label, value] of hostile) {
          // until: nothing polled before the options are checked
          let polls = 0
          const poll = Effect.sync(() => ++polls)
          const untilResult = yield* Effect.either(
            Poll.until(poll, { decide: () => Poll.done, [field]: value } as Poll.UntilOptions<number>)
          )
          // operation: nothing sent
          const { client, sent } = recording(done)
          const operationResult = yield* Effect.either(
            Poll.operation(
              HttpClientRequest.post("https://api.test/jobs"),
              (request) => Attempt.send(client, request),
              { [field]: value } as Poll.OperationOptions
            )
          )
          if (accepted[field]!.includes(label)) {
            expect(untilResult, `${field} <- ${label}`).toEqual(Either.right(1))
            expect(Either.isRight(operationResult), `${field} <- ${label}`).toBe(true)
            continue
          }
          for (const result of [Either.map(untilResult, () => 0), Either.map(operationResult, () => 0)]) {
            expect(Either.isLeft(result), `${field} <- ${label}: accepted`).toBe(true)
            const failure = Either.getLeft(result).pipe(Option.getOrThrow)
            expect(failure, `${field} <- ${label}`).toMatchObject({ _tag: "PollError", reason: "InvalidOptions" })
            expect(failure.message, `${field} <- ${label}`).toContain(field)
          }
          expect(polls, `${field} <- ${label}: polled`).toBe(0)
          expect(sent, `${field} <- ${label}: sent`).toHaveLength(0)
        }
      }))
  }

  it.effect("0, above 2^31 - 1 ms, minDelay > maxDelay, a schedule with minDelay, bad enums and shapes: refused naming them", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, unknown]> = [
        ["minDelay", { minDelay: 0 }],
        ["maxDelay", { maxDelay: "0 millis" }],
        ["maxWait", { maxWait: 0 }],
        ["maxWait", { maxWait: "25 days" }],
        ["maxRetryAfter", { maxRetryAfter: 2 ** 31 }],
        ["minDelay", { minDelay: "10 seconds", maxDelay: "5 seconds" }],
        ["schedule", { schedule: Schedule.spaced("1 second"), minDelay: "1 second" }],
        ["schedule", { schedule: "spaced" }],
        ["finalStateVia", { finalStateVia: "Location" }],
        ["initial", { initial: "ARM" }],
        ["initial", { initial: 202 }],
        ["initial", { initial: "2xx" }],
        ["initial", { initial: null }],
        ["allowedOrigins", { allowedOrigins: "https://a.test" }],
        ["allowedOrigins", { allowedOrigins: ["javascript:alert(1)"] }],
        ["options", []],
        ["options", "fast"]
      ]
      for (const [name, options] of cases) {
        const { client, sent } = recording(() => new Response("{}", { status: 200 }))
        const failure = yield* Effect.flip(
          Poll.operation(
            HttpClientRequest.post("https://api.test/jobs"),
            (request) => Attempt.send(client, request),
            options as Poll.OperationOptions
          )
        )
        expect(failure, `${name}: ${String(JSON.stringify(options))}`).toMatchObject({
          _tag: "PollError",
          reason: "InvalidOptions"
        })
        expect(failure.message).toContain(name)
        expect(sent).toHaveLength(0)
      }
      // maxRetryAfter 0 is a limit (only Retry-After: 0 is waited out), as Policy's
      let polls = 0
      const zero = yield* Effect.either(
        Poll.until(Effect.sync(() => ++polls), { decide: () => Poll.done, maxRetryAfter: 0 })
      )
      expect(zero).toEqual(Either.right(1))
      // until: decide is required and must be a function
      for (const decide of [undefined, "done", null]) {
        const failure = yield* Effect.flip(
          Poll.until(Effect.sync(() => ++polls), { decide } as unknown as Poll.UntilOptions<number>)
        )
        expect(failure).toMatchObject({ _tag: "PollError", reason: "InvalidOptions" })
        expect(failure.message).toContain("decide")
      }
      expect(polls).toBe(1)
    }))

  it.effect("operationJson's maxJsonDepth: every hostile value (and 1.5) is refused naming it, nothing sent", () =>
    Effect.gen(function*() {
      for (const [label, value] of [...hostile, ["1.5", 1.5], ["\"3\"", "3"]] as const) {
        const { client, sent } = recording(() => new Response("{}", { status: 200 }))
        const failure = yield* Effect.flip(
          Poll.operationJson(
            HttpClientRequest.post("https://api.test/jobs"),
            (request) => Attempt.send(client, request),
            Schema.Unknown,
            { maxJsonDepth: value } as unknown as Poll.OperationJsonOptions
          )
        )
        expect(failure, `maxJsonDepth <- ${label}`).toMatchObject({ _tag: "PollError", reason: "InvalidOptions" })
        expect(failure.message, `maxJsonDepth <- ${label}`).toContain("maxJsonDepth")
        expect(sent, `maxJsonDepth <- ${label}: sent`).toHaveLength(0)
      }
    }))

  it.effect("initial: every hostile value is refused naming it, nothing sent", () =>
    Effect.gen(function*() {
      for (
        const [label, value] of [...hostile, ["\"ANY\"", "ANY"], ["\" any\"", " any"], ["[\"any\"]", ["any"]]] as const
      ) {
        const { client, sent } = recording(() => new Response("{}", { status: 200 }))
        const failure = yield* Effect.flip(
          Poll.operation(
            HttpClientRequest.put("https://api.test/things/1"),
            (request) => Attempt.send(client, request),
            { initial: value } as unknown as Poll.OperationOptions
          )
        )
        expect(failure, `initial <- ${label}`).toMatchObject({ _tag: "PollError", reason: "InvalidOptions" })
        expect(failure.message, `initial <- ${label}`).toContain("initial")
        expect(sent, `initial <- ${label}: sent`).toHaveLength(0)
      }
    }))
})
