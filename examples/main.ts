/**
 * The flagship example (`pnpm start`): a dashboard built from four flaky JSON APIs, loaded four times while the
 * APIs misbehave, through the real Sturdy pipeline. Nothing in the report is scripted: every line comes from what
 * the policies did.
 *
 * One in-process FaultServer on 127.0.0.1 hosts the four APIs:
 *
 * | API               | fault                                                                   | what handles it          |
 * | ----------------- | ----------------------------------------------------------------------- | ------------------------ |
 * | `users`           | a burst of two 503s                                                     | retry with backoff       |
 * | `orders`          | 429 with `Retry-After: 1`                                               | retry honouring the wait |
 * | `recommendations` | a slow answer (700 ms), then an outage, then recovery                   | hedging, circuit breaker, fallback to a local list |
 * | `pricing`         | goes down after the first load and stays down                           | fallback to a stale-if-error cache |
 *
 * Each dashboard load is a `Workflow.bestEffort` of the four calls under one 2.5 s deadline. Every call goes through
 * one `Policy` (deadline → rate limit → retry (budget, hedging) → breaker → bulkhead → attempt timeout), keyed per
 * API. Progress (one line per attempt, retry decision, breaker transition, fallback) goes to stderr; the report goes
 * to stdout. Backoff jitter is seeded, so the delays repeat from run to run.
 *
 * Where the events come from:
 *
 * - attempts: the `send` function given to `Policy.run` (its `Hedge.currentIndex` says which hedge it is);
 * - retry decisions: the `RetryDecision` events of each call's `onEvent` hook (`policy.run(request, send, { onEvent })`);
 * - breaker transitions: the `BreakerTransition` events of the policy-wide `onEvent` hook (keyed per API);
 * - fallbacks: the provenance of `Fallback.firstOf` answers (`source`, `failures`, `age` from `StaleCache`).
 *
 * Run: `pnpm start` (or `pnpm example examples/main.ts`)
 */
import { NodeRuntime } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Attempt, Policy } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Fallback, Hedge, StaleCache, Workflow } from "@sturdy/policy"
import { FaultScript, FaultServer } from "@sturdy/testing"
import {
  Cause,
  Console,
  Duration,
  Effect,
  Either,
  Exit,
  FiberRef,
  Logger,
  LogLevel,
  Option,
  Random,
  Schema
} from "effect"
import { pathToFileURL } from "node:url"

// -----------------------------------------------------------------------------
// the APIs
// -----------------------------------------------------------------------------

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
const Orders = Schema.Struct({ orders: Schema.Array(Schema.Struct({ id: Schema.String, total: Schema.Number })) })
const Recommendations = Schema.Struct({ items: Schema.Array(Schema.String) })
const Prices = Schema.Struct({ prices: Schema.Record({ key: Schema.String, value: Schema.Number }) })

const apis = ["users", "orders", "recommendations", "pricing"] as const
type Api = typeof apis[number]

const paths: Record<Api, string> = {
  users: "/users/7",
  orders: "/orders/7",
  recommendations: "/recommendations/7",
  pricing: "/pricing/7"
}

const recommendations = FaultScript.json({ items: ["rope", "carabiner", "helmet"] }, { latency: "20 millis" })
const pricesUp = FaultScript.json({ prices: { rope: 8900, carabiner: 1200, helmet: 5400 } }, { latency: "10 millis" })
const unavailable = FaultScript.status(503)

const routes = FaultScript.routes({
  "GET /users/7": FaultScript.sequence(unavailable, unavailable, FaultScript.json({ id: 7, name: "Ada" })),
  "GET /orders/7": FaultScript.sequence(
    FaultScript.status(429, { retryAfter: 1 }),
    FaultScript.json({ orders: [{ id: "o-1", total: 99.5 }, { id: "o-2", total: 12 }] })
  ),
  // the first answer is slow: a hedge sent after 150 ms overtakes it
  "GET /recommendations/7": FaultScript.sequence(
    FaultScript.json({ items: ["rope", "carabiner", "helmet"] }, { latency: "700 millis" }),
    recommendations
  ),
  "GET /pricing/7": pricesUp
})

/** What the server's operators do between dashboard loads. */
const incidents: Record<number, ReadonlyArray<readonly [note: string, route: string, script: FaultScript.Fault]>> = {
  2: [
    ["recommendations API goes down (503)", "GET /recommendations/7", unavailable],
    ["pricing API goes down (503)", "GET /pricing/7", unavailable]
  ],
  4: [["recommendations API is back", "GET /recommendations/7", recommendations]]
}

const popular = { items: ["chalk bag", "belay gloves"] }

// -----------------------------------------------------------------------------
// the journal: every event, printed to stderr as it happens and kept for the report
// -----------------------------------------------------------------------------

type Event =
  & { readonly load: number; readonly at: number }
  & (
    | {
      readonly _tag: "Attempt"
      readonly api: Api
      readonly number: number
      readonly hedge: number
      readonly outcome: string
      readonly ok: boolean
      readonly millis: number
    }
    | {
      readonly _tag: "Retry"
      readonly api: Api
      readonly attempt: number
      readonly delayMillis: number
      readonly reason: string
      readonly retrying: boolean
    }
    | { readonly _tag: "Breaker"; readonly api: Api; readonly from: string; readonly to: string }
    | {
      readonly _tag: "Answer"
      readonly api: Api
      readonly source: string
      readonly failures: ReadonlyArray<string>
      readonly age: Option.Option<Duration.Duration>
      readonly millis: number
    }
    | { readonly _tag: "Failed"; readonly api: Api; readonly error: string; readonly millis: number }
    | { readonly _tag: "Note"; readonly text: string }
  )

type EventOf<Tag extends Event["_tag"]> = Extract<Event, { readonly _tag: Tag }>

const seconds = (millis: number) => `${(millis / 1000).toFixed(2)}s`
const isApi = (u: unknown): u is Api => typeof u === "string" && (apis as ReadonlyArray<string>).includes(u)

class Journal {
  readonly events: Array<Event> = []
  readonly started = performance.now()
  load = 0
  // numbered within one load's call, as the retry lines number them
  private attemptCount = new Map<string, number>()

  get now(): number {
    return Math.round(performance.now() - this.started)
  }

  /** Stamps the event with the current load and time, keeps it, and prints it as a progress line. */
  record(event: DistributiveOmit<Event, "load" | "at">): void {
    const stamped: Event = { ...event, load: this.load, at: this.now }
    this.events.push(stamped)
    process.stderr.write(`${seconds(stamped.at).padStart(6)}  ${describeEvent(stamped)}\n`)
  }

  /** The attempt's number within its call; a hedge is a copy of the attempt in flight, and keeps its number. */
  nextAttempt(api: Api, hedge: number): number {
    const key = `${api}#${this.load}`
    const n = (this.attemptCount.get(key) ?? 0) + (hedge > 0 ? 0 : 1)
    this.attemptCount.set(key, n)
    return n
  }

  of<Tag extends Event["_tag"]>(tag: Tag, api?: Api, load?: number): Array<EventOf<Tag>> {
    return this.events.filter((e): e is EventOf<Tag> =>
      e._tag === tag && (api === undefined || ("api" in e && e.api === api)) && (load === undefined || e.load === load)
    )
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

const formatAge = (age: Option.Option<Duration.Duration>) =>
  Option.match(age, { onNone: () => "", onSome: (age) => `, ${Duration.format(age)} old` })

const describeEvent = (event: Event): string => {
  switch (event._tag) {
    case "Attempt":
      return `${event.api.padEnd(16)} attempt ${event.number}${
        event.hedge > 0 ? ` (hedge #${event.hedge})` : ""
      }: ${event.outcome} in ${event.millis}ms`
    case "Retry":
      return `${event.api.padEnd(16)} ${
        event.retrying
          ? `retry: attempt ${event.attempt} in ${
            Duration.format(Duration.millis(event.delayMillis))
          } (${event.reason})`
          : `no retry: ${event.reason}`
      }`
    case "Breaker":
      return `${event.api.padEnd(16)} breaker ${event.from} -> ${event.to}`
    case "Answer":
      return `${event.api.padEnd(16)} answered by ${event.source}${formatAge(event.age)}${
        event.failures.length > 0 ? ` (after ${event.failures.join(", ")})` : ""
      }; call took ${event.millis}ms`
    case "Failed":
      return `${event.api.padEnd(16)} failed: ${event.error}; call took ${event.millis}ms`
    case "Note":
      return `-- ${event.text}`
  }
}

const describeFailure = (error: unknown): string => {
  if (typeof error !== "object" || error === null || !("_tag" in error)) return String(error)
  return "status" in error ? `${String(error.status)} ${String(error._tag)}` : String(error._tag)
}

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.match(exit, {
    onSuccess: () => "ok",
    onFailure: (cause) =>
      Cause.isInterruptedOnly(cause)
        ? "aborted (another copy answered first)"
        : Option.match(Cause.failureOption(cause), { onNone: () => "defect", onSome: describeFailure })
  })

// -----------------------------------------------------------------------------
// the program
// -----------------------------------------------------------------------------

const policyOptions = (journal: Journal): Policy.Options => ({
  // breaker transitions belong to no one call: only the policy-wide hook sees them
  onEvent: (event) => {
    if (event._tag !== "BreakerTransition") return Effect.void
    const api = event.key
    return isApi(api)
      ? Effect.sync(() => journal.record({ _tag: "Breaker", api, from: event.from, to: event.to }))
      : Effect.void
  },
  // one breaker, retry budget and server pause per API, although the four share a host
  upstreamKey: (request) => new URL(request.url).pathname.split("/")[1] ?? "",
  totalTimeout: "2500 millis",
  attemptTimeout: "1 second",
  retry: { maxAttempts: 3, baseDelay: "100 millis", maxDelay: "1 second", maxRetryAfter: "1200 millis" },
  circuitBreaker: { consecutiveFailures: 3, breakDuration: "1 second" },
  endpoints: {
    // a dashboard does not wait for an open breaker's probe: these fall back at once instead
    "GET /recommendations/**": {
      hedging: { delay: "150 millis", maxHedges: 1 },
      retry: { maxRetryAfter: "250 millis" }
    },
    "GET /pricing/**": { retry: { maxRetryAfter: "250 millis" } }
  }
})

const loadDeadline = Duration.millis(2500)

interface Load {
  readonly load: number
  readonly millis: number
}

const program = (journal: Journal) =>
  Effect.gen(function*() {
    const server = yield* FaultServer.make(routes)
    const client = yield* HttpClient.HttpClient
    const policy = yield* Policy.make(policyOptions(journal))
    const priceCache = yield* StaleCache.make<typeof Prices.Type>({ maxEntries: 100, maxStaleness: "1 minute" })
    const requestOf = (api: Api) => HttpClientRequest.get(`${server.url}${paths[api]}`)

    // one attempt: what `Policy.run` calls for the first try, every retry and every hedge
    const attempt = <A, I>(api: Api, request: HttpClientRequest.HttpClientRequest, schema: Schema.Schema<A, I>) =>
      Effect.gen(function*() {
        const hedge = yield* FiberRef.get(Hedge.currentIndex)
        const number = journal.nextAttempt(api, hedge)
        const startedAt = performance.now()
        return yield* Attempt.json(client, request, schema).pipe(
          Effect.onExit((exit) =>
            Effect.sync(() =>
              journal.record({
                _tag: "Attempt",
                api,
                number,
                hedge,
                outcome: outcomeOf(exit),
                ok: Exit.isSuccess(exit),
                millis: Math.round(performance.now() - startedAt)
              })
            )
          )
        )
      })

    // one logical call through the pipeline; its hook sees this call's retry decisions
    const onEvent = (api: Api) => (event: Policy.Event): Effect.Effect<void> =>
      event._tag === "RetryDecision"
        ? Effect.sync(() =>
          journal.record({
            _tag: "Retry",
            api,
            attempt: event.attempt,
            delayMillis: Duration.toMillis(event.delay),
            reason: event.reason,
            retrying: event.retrying
          })
        )
        : Effect.void
    const call = <A, I>(api: Api, schema: Schema.Schema<A, I>) =>
      policy.run(requestOf(api), (request) => attempt(api, request, schema), { onEvent: onEvent(api) })

    // records where the answer came from (or why there is none) and how long the call took
    const answered = <A, E>(api: Api, self: Effect.Effect<Fallback.Provenanced<A, unknown>, E>) =>
      Effect.suspend(() => {
        const startedAt = performance.now()
        const millis = () => Math.round(performance.now() - startedAt)
        return self.pipe(
          Effect.tapBoth({
            onSuccess: (answer) =>
              Effect.sync(() =>
                journal.record({
                  _tag: "Answer",
                  api,
                  source: answer.source,
                  failures: answer.failures.map((f) => `${f.source}: ${describeFailure(f.error)}`),
                  age: answer.age,
                  millis: millis()
                })
              ),
            onFailure: (error) =>
              Effect.sync(() =>
                journal.record({ _tag: "Failed", api, error: describeFailure(error), millis: millis() })
              )
          }),
          Effect.map((answer) => answer.value)
        )
      })

    const dashboard = Workflow.bestEffort({
      user: answered("users", Effect.map(call("users", User), (user) => Fallback.fresh(user, "upstream"))),
      orders: answered("orders", Effect.map(call("orders", Orders), (orders) => Fallback.fresh(orders, "upstream"))),
      recommendations: answered(
        "recommendations",
        Fallback.firstOf({ upstream: call("recommendations", Recommendations), popular: Effect.succeed(popular) })
      ),
      prices: answered(
        "pricing",
        Fallback.firstOf({
          upstream: call("pricing", Prices).pipe(StaleCache.remember(priceCache, "user-7")),
          cache: StaleCache.lookup(priceCache, "user-7")
        })
      )
    }, { deadline: loadDeadline })

    const loads: Array<Load> = []
    for (let load = 1; load <= 4; load++) {
      journal.load = load
      if (load === 4) {
        journal.record({ _tag: "Note", text: "waiting 1.1 s: the open breakers' pause ends" })
        yield* Effect.sleep("1100 millis")
      }
      for (const [text, route, script] of incidents[load] ?? []) {
        yield* server.setScript(route, script)
        journal.record({ _tag: "Note", text })
      }
      journal.record({
        _tag: "Note",
        text: `load ${load}: dashboard for user 7 (deadline ${Duration.format(loadDeadline)})`
      })
      const startedAt = journal.now
      const page = yield* dashboard
      loads.push({ load, millis: journal.now - startedAt })
      // each part of the page is an Either with that call's own error type
      const rendered = [
        Either.match(page.user, { onLeft: (e) => `no user (${e._tag})`, onRight: (u) => `user ${u.name}` }),
        Either.match(page.orders, {
          onLeft: (e) => `no orders (${e._tag})`,
          onRight: (o) => `${o.orders.length} orders`
        }),
        Either.match(page.recommendations, {
          onLeft: (e) => `no recommendations (${e._tag})`,
          onRight: (r) => `${r.items.length} recommendations`
        }),
        Either.match(page.prices, {
          onLeft: (e) => `no prices (${e._tag})`,
          onRight: (p) => `${Object.keys(p.prices).length} prices`
        })
      ]
      journal.record({ _tag: "Note", text: `load ${load} rendered: ${rendered.join(", ")}` })
    }

    yield* server.awaitIdle
    const requests = yield* server.requests
    const pipelines = apis.map((api) => [api, policy.describe(requestOf(api))] as const)
    yield* Console.log(report(journal, loads, new Map(pipelines), requests.length))
  })

export const main = Effect.suspend(() => {
  const journal = new Journal()
  return program(journal).pipe(
    Effect.scoped,
    Effect.provide(UndiciHttpClient.layer()),
    // every event reaches the journal through the policy's hooks: no log line belongs in the report
    Logger.withMinimumLogLevel(LogLevel.None),
    // Backoff jitter draws from Effect's Random: a fixed seed makes the delays repeat from run to run
    Effect.withRandom(Random.make(42))
  )
})

// -----------------------------------------------------------------------------
// the report
// -----------------------------------------------------------------------------

const tally = (values: ReadonlyArray<string>): string => {
  const counts = new Map<string, number>()
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1)
  return [...counts].map(([value, n]) => `${n}x ${value}`).join(", ")
}

const cell = (journal: Journal, api: Api, load: number): string => {
  const answer = journal.of("Answer", api, load)[0]
  if (answer === undefined) {
    const failed = journal.of("Failed", api, load)[0]
    return failed === undefined ? "-" : `FAILED ${failed.error}`
  }
  const attempts = journal.of("Attempt", api, load)
  if (answer.source !== "upstream") return `fallback: ${answer.source}${formatAge(answer.age)}`
  const winner = attempts.find((a) => a.ok)
  if (winner !== undefined && winner.hedge > 0) return `ok, hedge #${winner.hedge} won`
  const tries = attempts.filter((a) => a.hedge === 0).length
  return tries > 1 ? `ok after ${tries} attempts` : "ok"
}

const describePipeline = (pipeline: Policy.Describe | undefined): string => {
  if (pipeline === undefined) return "-"
  const limit = (label: string, d: Option.Option<Duration.Duration>) =>
    Option.match(d, { onNone: () => [], onSome: (d) => [`${label} ${Duration.format(d)}`] })
  return [
    ...limit("deadline", pipeline.totalTimeout),
    ...limit("attempt timeout", pipeline.attemptTimeout),
    `up to ${pipeline.maxAttempts} attempts`,
    ...(pipeline.circuitBreaker ? ["breaker"] : []),
    ...(pipeline.bulkhead ? ["bulkhead"] : []),
    ...(pipeline.rateLimit ? ["rate limit"] : [])
  ].join(", ")
}

const report = (
  journal: Journal,
  loads: ReadonlyArray<Load>,
  pipelines: ReadonlyMap<Api, Policy.Describe>,
  serverRequests: number
): string => {
  const lines: Array<string> = []
  const total = journal.now
  lines.push("", "Sturdy flagship: a dashboard over four flaky APIs, loaded 4 times", "")
  lines.push(`load  time   ${apis.map((api) => api.padEnd(24)).join("")}`)
  for (const { load, millis } of loads) {
    lines.push(
      `${String(load).padEnd(4)}  ${seconds(millis).padEnd(5)}  ${
        apis.map((api) => cell(journal, api, load).padEnd(24)).join("")
      }`
    )
  }
  for (const api of apis) {
    const attempts = journal.of("Attempt", api)
    const retries = journal.of("Retry", api)
    const breaker = journal.of("Breaker", api)
    const answers = journal.of("Answer", api)
    const hedges = attempts.filter((a) => a.hedge > 0)
    lines.push("", `${api}  (GET ${paths[api]})`)
    lines.push(`  pipeline   ${describePipeline(pipelines.get(api))}`)
    lines.push(`  attempts   ${attempts.length}: ${tally(attempts.map((a) => a.outcome))}`)
    const waits = retries.filter((r) => r.retrying)
    const waitsByLoad = loads.flatMap(({ load }) => {
      const these = waits.filter((r) => r.load === load)
      return these.length === 0 ? [] : [
        `load ${load}: ${
          these.map((r) => `#${r.attempt} after ${Duration.format(Duration.millis(r.delayMillis))} (${r.reason})`).join(
            ", "
          )
        }`
      ]
    })
    lines.push(`  retries    ${waitsByLoad.length === 0 ? "none" : waitsByLoad.join("; ")}`)
    const stops = retries.filter((r) => !r.retrying)
    if (stops.length > 0) lines.push(`  gave up    ${tally(stops.map((r) => r.reason))}`)
    if (hedges.length > 0) {
      lines.push(`  hedges     ${hedges.length} sent, ${hedges.filter((a) => a.ok).length} won`)
    }
    lines.push(
      `  breaker    ${
        breaker.length === 0
          ? "stayed Closed"
          : breaker.map((b) => `${b.from} -> ${b.to} at ${seconds(b.at)}`).join(", ")
      }`
    )
    const calls = [...answers, ...journal.of("Failed", api)].sort((a, b) => a.load - b.load)
    lines.push(`  call time  ${calls.map((c) => Duration.format(Duration.millis(c.millis))).join(", ")}`)
    lines.push(
      `  answers    ${
        tally(answers.map((a) => a.failures.length === 0 ? a.source : `${a.source} (after ${a.failures.join(", ")})`))
      }`
    )
  }
  lines.push("", `${serverRequests} requests reached the server; total time ${seconds(total)} (seed 42)`)
  return lines.join("\n")
}

// runs when executed, not when the smoke test imports `main`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) NodeRuntime.runMain(main)
