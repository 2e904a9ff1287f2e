import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Policy, SturdyClient, Telemetry } from "@sturdy/http"
import { FaultScript, FaultServer, TestTracer } from "@sturdy/testing"
import { Duration, Effect, Metric, Option, Schema } from "effect"
import { transports } from "./utils/transports.js"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const ada = { id: 1, name: "Ada" }
const apiKey = "POLICY-LOOPBACK-APIKEY-91c2"
const bearer = "POLICY-LOOPBACK-BEARER-5e07"

// fast backoff without jitter: the waits are exact and real time stays short
const fast: Policy.Options = {
  totalTimeout: "5 seconds",
  attemptTimeout: "2 seconds",
  retry: { baseDelay: "10 millis", maxDelay: "50 millis", budget: false, jitter: "none" },
  circuitBreaker: false
}

describe.each(transports)(
  "policy: telemetry and the event hook against a loopback FaultServer over %s",
  (_, transport) => {
    it.scopedLive("503, 503, 200: the hook's events, one logical span, three attempt spans, no secret", () =>
      Effect.gen(function*() {
        const server = yield* FaultServer.make(FaultScript.routes({
          "GET /users/1": FaultScript.sequence(FaultScript.status(503), FaultScript.status(503), FaultScript.json(ada))
        }))
        const { spans, tracer } = TestTracer.make()
        const events: Array<Policy.Event> = []
        const policy = yield* Policy.make({ ...fast, telemetry: true })
        const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
        const host = `127.0.0.1:${server.port}`
        const succeeded = Metric.tagged(Telemetry.metrics.requests, "method", "GET").pipe(
          Metric.tagged("host", host),
          Metric.tagged("outcome", "success"),
          Metric.tagged("failure_tag", "none")
        )
        const failedAttempts = Metric.tagged(Telemetry.metrics.attempts, "method", "GET").pipe(
          Metric.tagged("host", host),
          Metric.tagged("outcome", "failure"),
          Metric.tagged("failure_tag", "ServerError")
        )

        const user = yield* api.get(`/users/1?api_key=${apiKey}`, {
          schema: User,
          headers: { authorization: `Bearer ${bearer}` },
          onEvent: (event) => Effect.sync(() => events.push(event))
        }).pipe(Effect.withTracer(tracer))
        expect(user).toEqual(ada)

        // the hook: three attempts, two decisions to retry after the backoff's exact waits
        expect(events.map((event) => event._tag)).toEqual([
          "AttemptStarted",
          "AttemptEnded",
          "RetryDecision",
          "AttemptStarted",
          "AttemptEnded",
          "RetryDecision",
          "AttemptStarted",
          "AttemptEnded"
        ])
        const ended = events.filter((event): event is Policy.AttemptEnded => event._tag === "AttemptEnded")
        expect(ended.map((event) => [event.attempt, event.outcome, event.failure?._tag, event.status])).toEqual([
          [1, "failure", "ServerError", 503],
          [2, "failure", "ServerError", 503],
          [3, "success", undefined, undefined]
        ])
        const decisions = events.filter((event): event is Policy.RetryDecision => event._tag === "RetryDecision")
        expect(decisions.map((event) => [event.attempt, event.reason, Duration.toMillis(event.delay)])).toEqual([
          [2, "backoff", 10],
          [3, "backoff", 20]
        ])

        // the spans: one logical call, its three attempts under it
        expect(spans.map((span) => span.name)).toEqual([
          "http.client.request GET",
          "http.client.attempt GET",
          "http.client.attempt GET",
          "http.client.attempt GET"
        ])
        const [call, ...attempts] = spans
        for (const attempt of attempts) {
          expect(Option.map(attempt.parent, (parent) => parent.spanId)).toEqual(Option.some(call.spanId))
        }
        expect(attempts.map((span) => span.attributes.get("sturdy.attempt"))).toEqual([1, 2, 3])
        expect(attempts.map((span) => span.attributes.get("sturdy.delay_reason"))).toEqual([
          undefined,
          "backoff",
          "backoff"
        ])
        expect(attempts.map((span) => span.attributes.get("sturdy.failure_tag"))).toEqual([
          "ServerError",
          "ServerError",
          undefined
        ])
        expect(Object.fromEntries(call.attributes)).toMatchObject({
          "url.full": `${server.url}/users/1?api_key=<redacted>`,
          "sturdy.attempts": 3,
          "sturdy.outcome": "success"
        })

        // the server saw three requests, each with its own attempt span's trace context
        const log = yield* server.requests
        expect(log.map((entry) => entry.headers["traceparent"])).toEqual(
          attempts.map((span) => `00-${span.traceId}-${span.spanId}-01`)
        )

        // neither secret is in any span
        const everything = JSON.stringify(spans.map((span) => ({
          name: span.name,
          attributes: Object.fromEntries(span.attributes),
          events: span.events
        })))
        expect(everything).not.toContain(apiKey)
        expect(everything).not.toContain(bearer)

        // the metrics moved (they are global: this server's port makes the labels unique to this test)
        expect((yield* Metric.value(succeeded)).count).toBe(1)
        expect((yield* Metric.value(failedAttempts)).count).toBe(2)
      }).pipe(Effect.provide(transport)))

    it.scopedLive("an open breaker: the policy's hook sees the transition, and the refused call as Rejected", () =>
      Effect.gen(function*() {
        const server = yield* FaultServer.make(FaultScript.routes({ "GET /down": FaultScript.status(503) }))
        const events: Array<Policy.Event> = []
        const policy = yield* Policy.make({
          ...fast,
          retry: false,
          circuitBreaker: { consecutiveFailures: 2, breakDuration: "10 seconds" },
          onEvent: (event) => Effect.sync(() => events.push(event))
        })
        const api = SturdyClient.makeWith(yield* HttpClient.HttpClient, { baseUrl: server.url, policy })
        for (let i = 0; i < 3; i++) yield* Effect.exit(api.get("/down"))
        yield* Effect.sleep("20 millis")

        expect((yield* server.requests).length).toBe(2)
        expect(events.filter((event) => event._tag === "AttemptStarted")).toHaveLength(2)
        const transitions = events.filter((event): event is Policy.BreakerTransition =>
          event._tag === "BreakerTransition"
        )
        expect(transitions.map((event) => [event.key, event.from, event.to])).toEqual([
          [`http://127.0.0.1:${server.port}`, "Closed", "Open"]
        ])
        const rejected = events.filter((event): event is Policy.Rejected => event._tag === "Rejected")
        expect(rejected.map((event) => event.rejection._tag)).toEqual(["CircuitOpen"])
      }).pipe(Effect.provide(transport)))
  }
)
