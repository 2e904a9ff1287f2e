import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, HttpFailure, Telemetry } from "@sturdy/http"
import { Retry } from "@sturdy/policy"
import { FaultScript, FaultServer, TestTracer } from "@sturdy/testing"
import { Effect, HashMap, Logger, LogLevel, Option, Schedule } from "effect"
import { transports } from "./utils/transports.js"

const apiKey = "LOOPBACK-APIKEY-7f3a"
const bearer = "LOOPBACK-BEARER-c41d"

describe.each(transports)("Telemetry over a loopback FaultServer with %s", (_, transport) => {
  it.scopedLive("a 503 then a 200 through Retry + Attempt: one logical span, two attempt spans, no secret", () =>
    Effect.gen(function*() {
      const server = yield* FaultServer.make(FaultScript.routes({
        "GET /items": FaultScript.sequence(FaultScript.status(503), FaultScript.json({ items: [1, 2] }))
      }))
      const { spans, tracer } = TestTracer.make()
      const lines: Array<string> = []
      const logger = Logger.make(({ annotations, logLevel, message }) => {
        lines.push(`${logLevel.label} ${JSON.stringify(message)} ${JSON.stringify(HashMap.toEntries(annotations))}`)
      })
      const client = yield* HttpClient.HttpClient
      const request = HttpClientRequest.get(`${server.url}/items?api_key=${apiKey}&page=1`, {
        headers: { authorization: `Bearer ${bearer}` }
      })

      const received = yield* Telemetry.attempt(request, (ready) => Attempt.send(client, ready)).pipe(
        Retry.retry({
          schedule: Schedule.spaced("20 millis"),
          while: HttpFailure.isTransient,
          onAttempt: Telemetry.onRetry
        }),
        Telemetry.logicalCall(request),
        Effect.withTracer(tracer),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Logger.withMinimumLogLevel(LogLevel.All)
      )
      expect(received.status).toBe(200)

      // exactly our two levels: the platform's client span (unredacted url.full / url.query) is not built
      expect(spans.map((span) => span.name)).toEqual([
        "http.client.request GET",
        "http.client.attempt GET",
        "http.client.attempt GET"
      ])
      const [call, first, second] = spans
      for (const child of [first, second]) {
        expect(Option.map(child.parent, (parent) => parent.spanId)).toEqual(Option.some(call.spanId))
      }
      const redactedUrl = `${server.url}/items?api_key=<redacted>&page=1`
      const requestAttributes = {
        "http.request.method": "GET",
        "url.full": redactedUrl,
        "server.address": "127.0.0.1",
        "server.port": server.port
      }
      expect(Object.fromEntries(call.attributes)).toMatchObject({
        ...requestAttributes,
        "http.response.status_code": 200,
        "sturdy.attempts": 2,
        "sturdy.outcome": "success"
      })
      expect(Object.fromEntries(first.attributes)).toMatchObject({
        ...requestAttributes,
        "sturdy.attempt": 1,
        "http.response.status_code": 503,
        "error.type": "503",
        "sturdy.failure_tag": "ServerError",
        "sturdy.outcome": "failure"
      })
      expect(Object.fromEntries(second.attributes)).toMatchObject({
        ...requestAttributes,
        "sturdy.attempt": 2,
        "sturdy.delay_ms": 20,
        "sturdy.delay_reason": "backoff",
        "http.response.status_code": 200,
        "sturdy.outcome": "success"
      })
      // Retry's decision, next to the log lines Effect records as span events
      expect(call.events.filter((event) => event.name === "retry")).toHaveLength(1)

      // the server saw two requests, each carrying its own attempt span's trace context
      const log = yield* server.requests
      expect(log.map((entry) => entry.headers["traceparent"])).toEqual([
        `00-${first.traceId}-${first.spanId}-01`,
        `00-${second.traceId}-${second.spanId}-01`
      ])

      const everything = JSON.stringify(spans.map((span) => ({
        name: span.name,
        attributes: Object.fromEntries(span.attributes),
        events: span.events
      }))) + lines.join("\n")
      expect(everything).not.toContain(apiKey)
      expect(everything).not.toContain(bearer)
      expect(lines.some((line) => line.includes("api_key=<redacted>"))).toBe(true)
    }).pipe(Effect.provide(transport)))
})
