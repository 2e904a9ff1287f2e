import { describe, expect, it } from "@effect/vitest"
import { FaultScript } from "@sturdy/testing"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { pipe } from "effect/Function"
import * as Schema from "effect/Schema"

const ok = FaultScript.status(200)
const unavailable = FaultScript.status(503)

// A fault decoded by the scripts' schema (as `notFound`), or the schema's message
const decodeFault = (fault: unknown) =>
  Schema.decodeUnknownEither(FaultScript.Routes)({ routes: [], outages: [], notFound: fault }).pipe(
    Either.mapLeft((error) => error.message)
  )

// The schema refuses `fault`, with every one of `messages` in its message
const refusedWith = (fault: unknown, ...messages: ReadonlyArray<string>) => {
  const decoded = decodeFault(fault)
  expect(Either.isLeft(decoded)).toBe(true)
  for (const message of messages) expect(Either.isLeft(decoded) && decoded.left).toContain(message)
}

describe("FaultScript", () => {
  it("constructors describe responses as plain data", () => {
    expect(FaultScript.status(503, { retryAfter: 1, headers: { "X-Trace": "a" }, latency: "2 seconds" })).toEqual({
      _tag: "Respond",
      status: 503,
      headers: { "x-trace": "a" },
      retryAfter: "1",
      body: { _tag: "Empty" },
      latencyMillis: 2000,
      ending: { _tag: "Complete" }
    })
    expect(FaultScript.status(503, { retryAfter: new Date(0) }).retryAfter).toBe("Thu, 01 Jan 1970 00:00:00 GMT")
    expect(FaultScript.json({ a: 1 }, { status: 201 })).toMatchObject({
      status: 201,
      body: { _tag: "Json", value: { a: 1 } }
    })
    expect(FaultScript.reset("beforeHeaders", { latency: "10 millis" })).toEqual({ _tag: "Reset", latencyMillis: 10 })
    expect(FaultScript.reset("midBody", { afterBytes: 3 }).ending).toEqual({ _tag: "ResetMidBody", afterBytes: 3 })
    expect(FaultScript.truncated().ending).toEqual({ _tag: "Truncated", missingBytes: 16 })
    expect(FaultScript.oversized(5).body).toEqual({ _tag: "Oversized", bytes: 5 })
    expect(FaultScript.malformedJson().body._tag).toBe("MalformedJson")
    expect(FaultScript.hang).toEqual({ _tag: "Hang" })
  })

  it("combinators work data-first and data-last", () => {
    expect(FaultScript.withLatency(ok, "1 second")).toEqual(pipe(ok, FaultScript.withLatency(1000)))
    expect(FaultScript.withLatency(FaultScript.hang, "1 second")).toEqual(FaultScript.hang)
    expect(pipe(ok, FaultScript.withSlowBody(100)).bytesPerSecond).toBe(100)
    expect(pipe(ok, FaultScript.withHeaders({ "Retry-After": "3" })).headers).toEqual({ "retry-after": "3" })
    expect(FaultScript.withEnding(ok, { _tag: "Truncated", missingBytes: 1 }).ending._tag).toBe("Truncated")
  })

  it("a sequence repeats its last step; a cycle starts over", () => {
    const sequence = FaultScript.sequence(unavailable, unavailable, ok)
    expect([0, 1, 2, 3, 10].map((n) => FaultScript.faultAt(sequence, n))).toEqual([
      unavailable,
      unavailable,
      ok,
      ok,
      ok
    ])
    const cycle = FaultScript.cycle(unavailable, ok)
    expect([0, 1, 2, 3].map((n) => FaultScript.faultAt(cycle, n))).toEqual([unavailable, ok, unavailable, ok])
    expect(FaultScript.faultAt(FaultScript.always(ok), 99)).toEqual(ok)
  })

  it.prop(
    "a random script hits each fault close to its probability, and the same seed gives the same faults",
    [FastCheck.integer(), FastCheck.double({ min: 0.05, max: 0.95, noNaN: true })],
    ([seed, probability]) => {
      const script = FaultScript.random({ seed, choices: [[probability, unavailable]], otherwise: ok })
      const draws = Array.from({ length: 4000 }, (_, n) => FaultScript.faultAt(script, n))
      const rate = draws.filter((fault) => fault === unavailable).length / draws.length
      expect(Math.abs(rate - probability)).toBeLessThan(0.05)
      expect(Array.from({ length: 50 }, (_, n) => FaultScript.faultAt(script, n))).toEqual(draws.slice(0, 50))
    },
    { fastCheck: { seed: 42, numRuns: 50 } }
  )

  it("routes are keyed by METHOD and path; a single fault becomes an always-script", () => {
    const routes = FaultScript.routes({
      "get /items": ok,
      "/any": FaultScript.cycle(unavailable, ok)
    }, { outages: [FaultScript.outage({ from: "1 second", to: "2 seconds", fault: unavailable })] })
    expect(routes.routes).toEqual([
      { method: "GET", path: "/items", script: FaultScript.always(ok) },
      { method: "*", path: "/any", script: FaultScript.cycle(unavailable, ok) }
    ])
    expect(routes.outages).toEqual([{ fromMillis: 1000, toMillis: 2000, fault: unavailable }])
    expect(routes.notFound).toEqual(FaultScript.status(404))
  })

  it.effect("scripts round-trip through JSON with the Routes schema", () =>
    Effect.gen(function*() {
      const routes = FaultScript.routes({
        "GET /items": FaultScript.sequence(
          FaultScript.status(429, {
            retryAfter: { _tag: "RelativeDate", seconds: 5 },
            rateLimit: { limit: 1, remaining: 0, reset: 5 }
          }),
          FaultScript.withSlowBody(FaultScript.json({ items: [1] }), 100),
          FaultScript.reset("midBody"),
          FaultScript.truncated(),
          FaultScript.malformedJson(),
          FaultScript.oversized(100),
          FaultScript.hang
        ),
        "POST /orders": FaultScript.random({
          seed: 3,
          choices: [[0.5, FaultScript.reset("beforeHeaders")]],
          otherwise: ok
        })
      }, { outages: [FaultScript.outage({ from: 0, to: "1 second", fault: unavailable })] })
      const json = JSON.stringify(yield* Schema.encode(FaultScript.Routes)(routes))
      const decoded = yield* Schema.decodeUnknown(Schema.parseJson(FaultScript.Routes))(json)
      expect(decoded).toEqual(routes)
    }))

  it.effect("the schema rejects a status outside 200-599 and a probability above 1", () =>
    Effect.gen(function*() {
      const badStatus = yield* Effect.either(Schema.decodeUnknown(FaultScript.Fault)({ ...ok, status: 42 }))
      expect(badStatus._tag).toBe("Left")
      const badProbability = yield* Effect.either(
        Schema.decodeUnknown(FaultScript.Script)({
          _tag: "Random",
          seed: 1,
          choices: [{ probability: 1.5, fault: ok }],
          otherwise: ok
        })
      )
      expect(badProbability._tag).toBe("Left")
    }))

  describe("constructors build only what the schema accepts (review #7, #8)", () => {
    const isFault = Schema.is(FaultScript.Fault)
    const rejects = (build: () => unknown, message: RegExp) => {
      expect(build).toThrow(RangeError)
      expect(build).toThrow(message)
    }

    it("a status outside 200-599, or not an integer, is refused where it is written", () => {
      for (const code of [0, 42, 99, 600, 1_000, 200.5, Number.NaN]) {
        rejects(() => FaultScript.status(code), /FaultScript\.status: the status must be an integer from 200 to 599/)
        rejects(() => FaultScript.json({}, { status: code }), /FaultScript\.json: the status/)
      }
      for (const code of [200, 204, 599]) expect(isFault(FaultScript.status(code))).toBe(true)
    })

    it("withSlowBody, sequence, cycle, oversized, reset, truncated and random refuse what the schema refuses", () => {
      for (const rate of [0, -10, Number.NaN]) {
        rejects(() => FaultScript.withSlowBody(ok, rate), /withSlowBody: the rate must be > 0/)
        rejects(() => pipe(ok, FaultScript.withSlowBody(rate)), /withSlowBody/)
      }
      const none = [] as unknown as readonly [FaultScript.Fault]
      rejects(() => FaultScript.sequence(...none), /sequence: at least one step/)
      rejects(() => FaultScript.cycle(...none), /cycle: at least one step/)
      for (const bytes of [0, -1, 1.5, Number.NaN]) rejects(() => FaultScript.oversized(bytes), /oversized: bytes/)
      rejects(() => FaultScript.reset("midBody", { afterBytes: -1 }), /reset: afterBytes/)
      for (const missingBytes of [0, 1.5]) rejects(() => FaultScript.truncated({ missingBytes }), /missingBytes/)
      rejects(() => FaultScript.random({ seed: 1.5, choices: [], otherwise: ok }), /random: the seed/)
      rejects(() => FaultScript.random({ seed: 1, choices: [[1.5, ok]], otherwise: ok }), /random: a probability/)
    })

    it.prop(
      "whatever the constructors build, the schema accepts",
      [
        FastCheck.integer({ min: 200, max: 599 }),
        FastCheck.integer({ min: 1, max: 5_000 }),
        FastCheck.double({ min: 0.001, max: 1e6, noNaN: true }),
        FastCheck.nat(100),
        FastCheck.integer({ min: 1, max: 100 })
      ],
      ([code, bytes, rate, afterBytes, missingBytes]) => {
        const faults: ReadonlyArray<FaultScript.Fault> = [
          FaultScript.status(code, { latency: bytes }),
          FaultScript.oversized(bytes, { status: code }),
          FaultScript.withSlowBody(FaultScript.json({ a: 1 }), rate),
          FaultScript.reset("midBody", { afterBytes }),
          FaultScript.truncated({ missingBytes })
        ]
        for (const fault of faults) expect(isFault(fault)).toBe(true)
        expect(Schema.is(FaultScript.Script)(FaultScript.cycle(faults[0], ...faults.slice(1)))).toBe(true)
      }
    )

    it("the schema accepts every oversized size a constructor accepts, and refuses the rest", () => {
      for (let bytes = 1; bytes <= 40; bytes++) {
        const { body } = FaultScript.oversized(bytes)
        expect(body).toEqual({ _tag: "Oversized", bytes })
        expect(Schema.decodeUnknownSync(FaultScript.Body)({ _tag: "Oversized", bytes })).toEqual(body)
      }
      // no JSON document has 0 bytes, and a size is whole bytes
      for (const bytes of [0, -3, 2.5]) {
        expect(Schema.is(FaultScript.Body)({ _tag: "Oversized", bytes })).toBe(false)
      }
      expect(Schema.is(FaultScript.Ending)({ _tag: "Truncated", missingBytes: 1.5 })).toBe(false)
    })
  })

  describe("a 1xx status and header fields HTTP cannot carry are refused where the script is written", () => {
    const rejects = (build: () => unknown, message: RegExp) => {
      expect(build).toThrow(RangeError)
      expect(build).toThrow(message)
    }
    const informational = [100, 101, 102, 103, 150, 199]
    const badNames = ["", "x bad", "x:colon", "x\u00e9", "x(y)", "a/b", "k\u212a", "x\ny"]
    const badValues = ["a\r\nb", "a\nb", "a\rb", "nul\u0000", "bell\u0007", "del\u007f", "caf\u00e9", "\u20ac"]

    it("every constructor refuses a 1xx status, naming it", () => {
      for (const code of informational) {
        const message = new RegExp(
          `the status must be an integer from 200 to 599 \\(a 1xx is informational.*got ${code}$`
        )
        rejects(() => FaultScript.status(code), message)
        rejects(() => FaultScript.json({}, { status: code }), /^FaultScript\.json: /)
        rejects(() => FaultScript.text("x", { status: code }), /^FaultScript\.text: /)
        rejects(() => FaultScript.malformedJson({ status: code }), /^FaultScript\.malformedJson: /)
        rejects(() => FaultScript.oversized(10, { status: code }), /^FaultScript\.oversized: /)
        rejects(() => FaultScript.reset("midBody", { status: code }), /^FaultScript\.reset: /)
        rejects(() => FaultScript.truncated({ status: code }), /^FaultScript\.truncated: /)
      }
    })

    it("a header name that is not a token, or a value with CR, LF, NUL, controls or non-ASCII, is refused by name", () => {
      for (const name of badNames) {
        const message = `header name ${JSON.stringify(name)} is not an HTTP token`
        rejects(() => FaultScript.status(200, { headers: { [name]: "1" } }), new RegExp(`^FaultScript\\.status: `))
        expect(() => FaultScript.withHeaders(ok, { [name]: "1" })).toThrow(`FaultScript.withHeaders: ${message}`)
        expect(() => pipe(ok, FaultScript.withHeaders({ [name]: "1" }))).toThrow(message)
        expect(() => FaultScript.truncated({ headers: { [name]: "1" } })).toThrow(message)
      }
      for (const value of badValues) {
        const message = `header x-a has a value HTTP cannot carry: ${JSON.stringify(value)}`
        expect(() => FaultScript.json({}, { headers: { "X-A": value } })).toThrow(`FaultScript.json: header X-A`)
        expect(() => FaultScript.withHeaders(ok, { "x-a": value })).toThrow(`FaultScript.withHeaders: ${message}`)
        expect(() => FaultScript.reset("midBody", { headers: { "x-a": value } })).toThrow(message)
        expect(() => FaultScript.status(503, { retryAfter: value })).toThrow(/header retry-after has a value/)
        expect(() => FaultScript.status(429, { rateLimit: { limit: 1, remaining: 0, reset: 1, policy: value } }))
          .toThrow(/header ratelimit-policy has a value/)
        expect(() => FaultScript.text("x", { contentType: value })).toThrow(/FaultScript\.text: header content-type/)
      }
    })

    it("a negative, NaN or unreadable latency is refused, not read as 0 as Duration.decode reads it", () => {
      for (
        const [latency, shown] of [[-5, "-5"], ["-5 millis", "-5 millis"], [Number.NaN, "NaN"], [BigInt(-1), "-1"], [
          [-1, 0],
          "-1,0"
        ], ["soon", "soon"]] as const
      ) {
        const input = latency as Duration.DurationInput
        const message = `latency must be a duration ≥ 0, got ${shown}`
        expect(() => FaultScript.status(503, { latency: input })).toThrow(
          new RangeError(`FaultScript.status: ${message}`)
        )
        expect(() => FaultScript.reset("beforeHeaders", { latency: input })).toThrow(`FaultScript.reset: ${message}`)
        expect(() => FaultScript.refused({ latency: input })).toThrow(`FaultScript.refused: ${message}`)
        expect(() => FaultScript.withLatency(FaultScript.hang, input)).not.toThrow()
        expect(() => FaultScript.withLatency(FaultScript.refused(), input)).toThrow(
          `FaultScript.withLatency: ${message}`
        )
        expect(() => FaultScript.outage({ from: input, to: "1 second", fault: FaultScript.hang })).toThrow(
          `FaultScript.outage: from must be a duration ≥ 0, got ${shown}`
        )
      }
      expect(FaultScript.status(503, { latency: 0 }).latencyMillis).toBe(0)
      expect(FaultScript.withLatency(FaultScript.refused(), "0 millis").latencyMillis).toBe(0)
    })

    it("a number that is not finite, or an invalid Date, is refused: it would go out as \"NaN\" or \"Invalid Date\"", () => {
      for (const bad of [Number.NaN, Infinity, -Infinity]) {
        expect(() => FaultScript.status(503, { retryAfter: bad })).toThrow(/retryAfter must be a finite number/)
        expect(() => FaultScript.status(503, { retryAfter: { _tag: "RelativeDate", seconds: bad } }))
          .toThrow(/retryAfter\.seconds must be a finite number/)
        for (const field of ["limit", "remaining", "reset"] as const) {
          const rateLimit = { limit: 10, remaining: 0, reset: 5, [field]: bad }
          expect(() => FaultScript.status(429, { rateLimit })).toThrow(`rateLimit.${field} must be a finite number`)
          expect(isFault({ ...FaultScript.status(429), rateLimit })).toBe(false)
        }
        expect(isFault({ ...FaultScript.status(503), retryAfter: { _tag: "RelativeDate", seconds: bad } })).toBe(false)
      }
      expect(() => FaultScript.status(503, { retryAfter: new Date(Number.NaN) })).toThrow(
        /retryAfter must be a valid date/
      )
      // a finite number HTTP can carry as text is still sent as written, even one a parser must refuse
      expect(isFault(FaultScript.status(429, { retryAfter: -1, rateLimit: { limit: 1.5, remaining: -1, reset: 0 } })))
        .toBe(true)
    })

    it("what HTTP carries is still accepted: every token character, visible ASCII, spaces and tabs", () => {
      const fault = FaultScript.status(200, {
        headers: { "!#$%&'*+-.^_`|~09AZaz": "a \t~!\"(),/:;<=>?@[\\]{}", "x-empty": "", "x-padded": " \ta\t " },
        retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT",
        rateLimit: { limit: 1, remaining: 0, reset: 1, policy: "1;w=60" }
      })
      expect(isFault(fault)).toBe(true)
      expect(Object.keys(fault.headers)).toEqual(["!#$%&'*+-.^_`|~09azaz", "x-empty", "x-padded"])
      expect(isFault(FaultScript.text("x", { contentType: "text/csv; charset=\"utf-8\"" }))).toBe(true)
    })

    const isFault = Schema.is(FaultScript.Fault)
    const decode = (input: unknown) =>
      Schema.decodeUnknownEither(FaultScript.Routes)(input).pipe(Either.mapLeft((error) => error.message))
    const routesWith = (fault: unknown) => ({
      routes: [{ method: "GET", path: "/a", script: { _tag: "Sequence", steps: [fault], afterLast: "repeatLast" } }],
      outages: [],
      notFound: ok
    })
    const refusedBy = (input: unknown, message: string) => {
      const decoded = decode(input)
      expect(Either.isLeft(decoded)).toBe(true)
      expect(Either.isLeft(decoded) && decoded.left).toContain(message)
    }

    it("the schemas (Respond, Fault, Script, Routes) refuse the same on decode, naming the value", () => {
      for (const status of informational) {
        const message = `status ${status} is not an integer from 200 to 599 (a 1xx is informational`
        expect(Schema.is(FaultScript.Respond)({ ...ok, status })).toBe(false)
        expect(isFault({ ...ok, status })).toBe(false)
        refusedBy(routesWith({ ...ok, status }), message)
        refusedBy({ routes: [], outages: [], notFound: { ...ok, status } }, message)
        refusedBy(
          { routes: [], outages: [{ fromMillis: 0, toMillis: 1, fault: { ...ok, status } }], notFound: ok },
          message
        )
        expect(
          Schema.is(FaultScript.Script)({ _tag: "Random", seed: 1, choices: [], otherwise: { ...ok, status } })
        ).toBe(false)
      }
      for (const name of badNames) {
        refusedBy(routesWith({ ...ok, headers: { [name]: "1" } }), `header name ${JSON.stringify(name)} is not`)
      }
      for (const value of badValues) {
        const quoted = JSON.stringify(value)
        refusedBy(
          routesWith({ ...ok, headers: { "x-a": value } }),
          `header x-a has a value HTTP cannot carry: ${quoted}`
        )
        refusedBy(
          routesWith({ ...ok, retryAfter: value }),
          `header retry-after has a value HTTP cannot carry: ${quoted}`
        )
        refusedBy(
          routesWith({ ...ok, rateLimit: { limit: 1, remaining: 0, reset: 1, policy: value } }),
          `header ratelimit-policy has a value HTTP cannot carry: ${quoted}`
        )
        refusedBy(
          routesWith({ ...ok, body: { _tag: "Text", text: "x", contentType: value } }),
          `header content-type has a value HTTP cannot carry: ${quoted}`
        )
      }
      expect(Either.isRight(decode(routesWith(FaultScript.status(204, { headers: { "x-a": " a " } }))))).toBe(true)
    })
  })

  describe("connections that never open (ConnectFailure)", () => {
    const isFault = Schema.is(FaultScript.Fault)

    it("the constructors name each reason; latency defaults to 0 and withLatency sets it", () => {
      expect(FaultScript.refused()).toEqual({ _tag: "ConnectFailure", reason: "Refused", latencyMillis: 0 })
      expect(FaultScript.dnsFailure()).toEqual({ _tag: "ConnectFailure", reason: "DnsNotFound", latencyMillis: 0 })
      expect(FaultScript.dnsFailure("notFound")).toEqual(FaultScript.dnsFailure())
      expect(FaultScript.dnsFailure("temporary", { latency: "5 millis" })).toEqual({
        _tag: "ConnectFailure",
        reason: "DnsTemporary",
        latencyMillis: 5
      })
      expect(FaultScript.connectTimeout({ latency: "10 seconds" })).toEqual({
        _tag: "ConnectFailure",
        reason: "ConnectTimeout",
        latencyMillis: 10_000
      })
      expect(FaultScript.tlsFailure()).toEqual({ _tag: "ConnectFailure", reason: "Tls", latencyMillis: 0 })
      for (const reason of FaultScript.ConnectFailureReason.literals) {
        const fault = FaultScript.connectFailure(reason, { latency: 3 })
        expect(fault).toEqual({ _tag: "ConnectFailure", reason, latencyMillis: 3 })
        expect(isFault(fault)).toBe(true)
        expect(Schema.is(FaultScript.ConnectFailure)(fault)).toBe(true)
      }
      expect(FaultScript.withLatency(FaultScript.refused(), "2 seconds")).toEqual(
        FaultScript.refused({ latency: 2000 })
      )
      expect(pipe(FaultScript.tlsFailure(), FaultScript.withLatency(7)).latencyMillis).toBe(7)
    })

    it("a reason or a DNS kind that does not exist is refused where it is written, naming it", () => {
      const nope = "Nope" as unknown as FaultScript.ConnectFailureReason
      expect(() => FaultScript.connectFailure(nope)).toThrow(RangeError)
      expect(() => FaultScript.connectFailure(nope)).toThrow(
        "FaultScript.connectFailure: the reason must be one of Refused, DnsNotFound, DnsTemporary, ConnectTimeout, Tls, " +
          "got \"Nope\""
      )
      const sometimes = "sometimes" as unknown as "notFound"
      expect(() => FaultScript.dnsFailure(sometimes)).toThrow(RangeError)
      expect(() => FaultScript.dnsFailure(sometimes)).toThrow(
        "FaultScript.dnsFailure: the kind must be \"notFound\" or \"temporary\", got \"sometimes\""
      )
    })

    it.effect("they round-trip through JSON in routes, outages and notFound, and decode from a file's JSON", () =>
      Effect.gen(function*() {
        const routes = FaultScript.routes({
          "POST /orders": FaultScript.sequence(
            FaultScript.refused(),
            FaultScript.dnsFailure("temporary", { latency: 5 }),
            FaultScript.connectTimeout({ latency: "10 seconds" }),
            FaultScript.status(201)
          ),
          "GET /secure": FaultScript.random({ seed: 1, choices: [[0.5, FaultScript.tlsFailure()]], otherwise: ok })
        }, {
          outages: [FaultScript.outage({ from: 0, to: "1 second", fault: FaultScript.refused() })],
          notFound: FaultScript.dnsFailure()
        })
        const json = JSON.stringify(yield* Schema.encode(FaultScript.Routes)(routes))
        expect(yield* Schema.decodeUnknown(Schema.parseJson(FaultScript.Routes))(json)).toEqual(routes)
        // as written by hand in a JSON file
        const file = `{
          "routes": [{ "method": "GET", "path": "/a", "script": { "_tag": "Sequence", "afterLast": "repeatLast",
            "steps": [{ "_tag": "ConnectFailure", "reason": "ConnectTimeout", "latencyMillis": 2000 }] } }],
          "outages": [],
          "notFound": { "_tag": "ConnectFailure", "reason": "Refused", "latencyMillis": 0 }
        }`
        const decoded = yield* Schema.decodeUnknown(Schema.parseJson(FaultScript.Routes))(file)
        expect(decoded.routes[0].script).toEqual(FaultScript.always(FaultScript.connectTimeout({ latency: 2000 })))
        expect(decoded.notFound).toEqual(FaultScript.refused())
      }))

    it("the schema refuses an unknown reason, a negative latency and a missing field, saying which", () => {
      refusedWith(
        { _tag: "ConnectFailure", reason: "Timeout", latencyMillis: 0 },
        "reason \"Timeout\" is not one of Refused, DnsNotFound, DnsTemporary, ConnectTimeout, Tls"
      )
      refusedWith({ _tag: "ConnectFailure", reason: "Refused", latencyMillis: -1 }, "Expected a non-negative number")
      refusedWith({ _tag: "ConnectFailure", latencyMillis: 0 }, "[\"reason\"]\n", "is missing")
      refusedWith({ _tag: "ConnectFailure", reason: "Tls" }, "[\"latencyMillis\"]\n", "is missing")
      expect(Either.isRight(decodeFault({ _tag: "ConnectFailure", reason: "Tls", latencyMillis: 0 }))).toBe(true)
    })
  })

  describe("HTTP/2 streams the server resets (StreamReset)", () => {
    const isFault = Schema.is(FaultScript.Fault)

    it("refusedStream is REFUSED_STREAM, streamReset defaults to INTERNAL_ERROR; latency 0 unless given", () => {
      expect(FaultScript.refusedStream()).toEqual({ _tag: "StreamReset", code: "REFUSED_STREAM", latencyMillis: 0 })
      expect(FaultScript.streamReset()).toEqual({ _tag: "StreamReset", code: "INTERNAL_ERROR", latencyMillis: 0 })
      expect(FaultScript.streamReset("REFUSED_STREAM")).toEqual(FaultScript.refusedStream())
      expect(FaultScript.refusedStream({ latency: "20 millis" }).latencyMillis).toBe(20)
      expect(FaultScript.Http2ErrorCode.literals).toEqual([
        "NO_ERROR",
        "PROTOCOL_ERROR",
        "INTERNAL_ERROR",
        "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT",
        "STREAM_CLOSED",
        "FRAME_SIZE_ERROR",
        "REFUSED_STREAM",
        "CANCEL",
        "COMPRESSION_ERROR",
        "CONNECT_ERROR",
        "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED"
      ])
      for (const code of FaultScript.Http2ErrorCode.literals) {
        const fault = FaultScript.streamReset(code, { latency: 3 })
        expect(fault).toEqual({ _tag: "StreamReset", code, latencyMillis: 3 })
        expect(isFault(fault)).toBe(true)
        expect(Schema.is(FaultScript.StreamReset)(fault)).toBe(true)
      }
      expect(FaultScript.withLatency(FaultScript.refusedStream(), "2 seconds")).toEqual(
        FaultScript.refusedStream({ latency: 2000 })
      )
    })

    it("a code that is not an RFC 9113 name, or a negative latency, is refused where it is written, naming it", () => {
      for (const bad of ["REFUSED", "NGHTTP2_REFUSED_STREAM", "internal_error", "", 7]) {
        const code = bad as unknown as FaultScript.Http2ErrorCode
        expect(() => FaultScript.streamReset(code)).toThrow(RangeError)
        expect(() => FaultScript.streamReset(code)).toThrow(
          `FaultScript.streamReset: the code must be an RFC 9113 error code name (NO_ERROR, PROTOCOL_ERROR, ` +
            `INTERNAL_ERROR, FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT, STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, ` +
            `CANCEL, COMPRESSION_ERROR, CONNECT_ERROR, ENHANCE_YOUR_CALM, INADEQUATE_SECURITY, HTTP_1_1_REQUIRED), ` +
            `got ${JSON.stringify(bad)}`
        )
      }
      expect(() => FaultScript.refusedStream({ latency: -1 })).toThrow(
        "FaultScript.refusedStream: latency must be a duration ≥ 0, got -1"
      )
      expect(() => FaultScript.streamReset("CANCEL", { latency: "-5 millis" })).toThrow(RangeError)
    })

    it.effect("they round-trip through JSON in routes, outages and notFound, and decode from a file's JSON", () =>
      Effect.gen(function*() {
        const routes = FaultScript.routes({
          "POST /orders": FaultScript.sequence(
            FaultScript.refusedStream(),
            FaultScript.streamReset("ENHANCE_YOUR_CALM", { latency: 5 }),
            FaultScript.status(201)
          ),
          "GET /items": FaultScript.random({ seed: 1, choices: [[0.5, FaultScript.streamReset()]], otherwise: ok })
        }, {
          outages: [FaultScript.outage({ from: 0, to: "1 second", fault: FaultScript.refusedStream() })],
          notFound: FaultScript.streamReset("CANCEL")
        })
        const json = JSON.stringify(yield* Schema.encode(FaultScript.Routes)(routes))
        expect(yield* Schema.decodeUnknown(Schema.parseJson(FaultScript.Routes))(json)).toEqual(routes)
        const file = `{
          "routes": [{ "method": "POST", "path": "/a", "script": { "_tag": "Sequence", "afterLast": "repeatLast",
            "steps": [{ "_tag": "StreamReset", "code": "REFUSED_STREAM", "latencyMillis": 0 }] } }],
          "outages": [],
          "notFound": { "_tag": "StreamReset", "code": "INTERNAL_ERROR", "latencyMillis": 10 }
        }`
        const decoded = yield* Schema.decodeUnknown(Schema.parseJson(FaultScript.Routes))(file)
        expect(decoded.routes[0].script).toEqual(FaultScript.always(FaultScript.refusedStream()))
        expect(decoded.notFound).toEqual(FaultScript.streamReset("INTERNAL_ERROR", { latency: 10 }))
      }))

    it("the schema refuses an unknown code, a negative latency and a missing field, saying which", () => {
      refusedWith(
        { _tag: "StreamReset", code: "NGHTTP2_CANCEL", latencyMillis: 0 },
        "code \"NGHTTP2_CANCEL\" is not an RFC 9113 error code name (NO_ERROR, PROTOCOL_ERROR,"
      )
      refusedWith({ _tag: "StreamReset", code: "CANCEL", latencyMillis: -1 }, "Expected a non-negative number")
      refusedWith({ _tag: "StreamReset", latencyMillis: 0 }, "[\"code\"]\n", "is missing")
      refusedWith({ _tag: "StreamReset", code: "CANCEL" }, "[\"latencyMillis\"]\n", "is missing")
      expect(Either.isRight(decodeFault({ _tag: "StreamReset", code: "HTTP_1_1_REQUIRED", latencyMillis: 0 }))).toBe(
        true
      )
    })
  })
})
