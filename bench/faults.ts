/**
 * Benchmark section 3, outcomes under faults: every `Simulator` scenario against Sturdy's standard stack and four
 * other retry policies (the naive loop, urllib3-like, ky-like, cockatiel-like), in virtual time with a fixed seed.
 * Prints a table per scenario and rewrites the section between `<!-- faults:start -->` and `<!-- faults:end -->`
 * in `README.md`.
 *
 *   npx pnpm@10.34.8 --filter @sturdy/bench faults               # everything, as published (about a minute)
 *   npx pnpm@10.34.8 --filter @sturdy/bench faults -- --no-write # print only
 *   npx pnpm@10.34.8 --filter @sturdy/bench faults -- --seed 7
 *
 * The ky-like and cockatiel-like policies are real Sturdy policies (`Retry`, `CircuitBreaker`) configured to behave
 * as those libraries do by default, not the libraries themselves: the simulator drives Effects in virtual time.
 */
import { Backoff, CircuitBreaker, Retry } from "@sturdy/policy"
import { Simulator } from "@sturdy/testing"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Interval from "effect/ScheduleInterval"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { replaceBetweenMarkers } from "./src/report.js"

const retryAfterHint = (failure: Simulator.UpstreamFailure): Option.Option<Duration.Duration> =>
  Option.fromNullable(failure.retryAfter)

/**
 * ky's defaults: `retry.limit` 2 (three attempts), delay 0.3 s × 2^(n−1) without jitter, Retry-After obeyed exactly
 * (ky adds no jitter to a server's timing) up to `maxRetryAfter` (here 60 s), a timed-out attempt not retried
 * (`retryOnTimeout: false`), no budget and no breaker.
 */
export const kyLike: Simulator.Policy = Simulator.makePolicy(
  "ky-like",
  () =>
    Effect.succeed((call) =>
      Retry.retry(call, {
        schedule: Backoff.exponential({
          baseDelay: "300 millis",
          factor: 2,
          maxDelay: Duration.infinity,
          jitter: "none",
          maxAttempts: 3
        }),
        while: (failure) => failure.reason !== "Timeout",
        delayHint: retryAfterHint,
        maxRetryAfter: "60 seconds",
        retryAfterJitter: 0
      })
    )
)

// cockatiel's `decorrelatedJitterGenerator` (Polly's DecorrelatedJitterV2) with `ExponentialBackoff`'s defaults:
// initialDelay 128 ms, exponent 2, maxDelay 30 s. Sturdy's "decorrelated" jitter is AWS's formula, a different
// curve, so the generator is reproduced here, drawing from Effect's seeded `Random`.
const cockatielDelays = (retries: number): Schedule.Schedule<Duration.Duration> => {
  const initialDelay = 128
  const exponent = 2
  const maxDelay = 30_000
  const pFactor = 4
  const rpScalingFactor = 1 / 1.4
  interface State {
    readonly attempt: number
    readonly previous: number
  }
  return Schedule.makeWithState<State, unknown, Duration.Duration>(
    { attempt: 0, previous: 0 },
    (now, _input, state) => {
      if (state.attempt >= retries) return Effect.succeed([state, Duration.zero, ScheduleDecision.done] as const)
      return Effect.map(Random.next, (unit) => {
        const t = state.attempt + unit
        const next = Math.pow(exponent, t) * Math.tanh(Math.sqrt(pFactor * t))
        const intrinsic = Number.isFinite(next) ? Math.max(0, next - state.previous) : Number.POSITIVE_INFINITY
        const delay = Math.floor(Math.min(intrinsic * rpScalingFactor * initialDelay, maxDelay))
        return [
          { attempt: state.attempt + 1, previous: next },
          Duration.millis(delay),
          ScheduleDecision.continueWith(Interval.after(now + delay))
        ] as const
      })
    }
  )
}

/**
 * cockatiel's README recipe: `wrap(retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
 * circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }))`. The breaker sits
 * inside the retry and `handleAll` retries `BrokenCircuitError` too; Retry-After is not read; no budget.
 */
export const cockatielLike: Simulator.Policy = Simulator.makePolicy(
  "cockatiel-like",
  (client) =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make(`upstream-${client}`, {
        consecutiveFailures: 5,
        breakDuration: Schedule.spaced("10 seconds")
      })
      const schedule = cockatielDelays(3)
      return (call) => Retry.retry(CircuitBreaker.withBreaker(call, breaker), { schedule })
    })
)

/**
 * The policies compared, Sturdy's standard stack first.
 */
export const contenders: ReadonlyArray<Simulator.Policy> = [
  Simulator.policies.sturdy,
  Simulator.policies.naiveLoop,
  Simulator.policies.urllib3,
  kyLike,
  cockatielLike
]

/**
 * The target this section aims at (reported, not asserted): Sturdy's amplification during the outage.
 */
export const outageAmplificationTarget = 1.1

/**
 * Runs each scenario against each policy, synchronously, with one seed.
 */
export const runFaults = (options: {
  readonly seed: number
  readonly scenarios?: ReadonlyArray<Simulator.Scenario> | undefined
  readonly policies?: ReadonlyArray<Simulator.Policy> | undefined
  readonly onReport?: ((report: Simulator.Report, elapsedMs: number) => void) | undefined
}): ReadonlyArray<Simulator.Report> => {
  const reports: Array<Simulator.Report> = []
  for (const scenario of options.scenarios ?? Object.values(Simulator.scenarios)) {
    for (const policy of options.policies ?? contenders) {
      const started = performance.now()
      const report = Simulator.runSync(scenario, policy, { seed: options.seed })
      options.onReport?.(report, performance.now() - started)
      reports.push(report)
    }
  }
  return reports
}

const percent = (value: number) => `${(value * 100).toFixed(1)} %`
const seconds = (millis: number) => `${(millis / 1000).toFixed(2)} s`

// Goodput is per second of arrivals; a burst arriving at one instant (contention) has no such second.
const goodput = (report: Simulator.Report, scenario: Simulator.Scenario | undefined) =>
  scenario !== undefined && scenario.workload.duration < 1_000 ? "—" : `${report.goodput.toFixed(1)}/s`

/**
 * One Markdown table per scenario: success rate, goodput, amplification, p99 latency and recovery time per policy.
 */
export const faultTables = (reports: ReadonlyArray<Simulator.Report>): string => {
  const byScenario = new Map<string, Array<Simulator.Report>>()
  for (const report of reports) {
    const rows = byScenario.get(report.scenario) ?? []
    rows.push(report)
    byScenario.set(report.scenario, rows)
  }
  const scenarioByName = new Map(Object.values(Simulator.scenarios).map((scenario) => [scenario.name, scenario]))
  const sections: Array<string> = []
  for (const [name, rows] of byScenario) {
    const scenario = scenarioByName.get(name)
    sections.push(
      [
        `### ${name}`,
        "",
        ...(scenario === undefined ? [] : [scenario.description, ""]),
        "| policy | success rate | goodput | amplification | p99 latency | recovery |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        ...rows.map((report) =>
          `| ${report.policy} | ${percent(report.successRate)} | ${goodput(report, scenario)} | ` +
          `${report.amplification.toFixed(2)}× | ${seconds(report.latency.p99)} | ` +
          `${report.recoveryTime === undefined ? "—" : seconds(report.recoveryTime)} |`
        )
      ].join("\n")
    )
  }
  return sections.join("\n\n")
}

/**
 * The outage-amplification target line: ✓ when Sturdy's standard stack stays at or under the target.
 */
export const outageCheck = (reports: ReadonlyArray<Simulator.Report>): string => {
  const report = reports.find((candidate) =>
    candidate.scenario === Simulator.scenarios.outage.name && candidate.policy === Simulator.policies.sturdy.name
  )
  if (report === undefined) return "Outage amplification target (Sturdy ≤ 1.1×): not measured in this run."
  const met = report.amplification <= outageAmplificationTarget
  return `Outage amplification target, aimed at and not asserted: Sturdy ≤ ${outageAmplificationTarget}× → ` +
    `${report.amplification.toFixed(2)}× ${met ? "✓" : "✗"}`
}

/**
 * The whole README section, heading included.
 */
export const faultsMarkdown = (reports: ReadonlyArray<Simulator.Report>, seed: number, when: Date): string =>
  [
    "## Outcomes under faults",
    "",
    "What each retry policy does to callers and to the upstream when the upstream fails, from Sturdy's seeded",
    "discrete-event simulator (`@sturdy/testing`'s `Simulator`): 100 clients (1,000 in contention) call a modelled",
    "upstream of about 950 requests/s (50 servers, 50 ms median service time, a queue of 2,000, 1 s attempt timeout),",
    "in virtual time, through real Sturdy policy code. The same seed gives the same figures on any machine.",
    "",
    "```sh",
    "npx pnpm@10.34.8 --filter @sturdy/bench faults    # about a minute; rewrites this section",
    "```",
    "",
    "- **sturdy**: the standard stack (`Simulator.policies.sturdy`) with the shipped `Policy.defaults`: full-jitter",
    "  backoff (2 s base, 30 s cap, 3 attempts), Retry-After obeyed, a `RetryBudget` and a `CircuitBreaker` (10 %",
    "  failures over 30 s, 100 calls at least, 5 s pause) per client.",
    "- **naive loop**: 3 retries after 1 s, 2 s, 4 s; no jitter, no Retry-After, no budget, no breaker.",
    "- **urllib3-like**: 3 retries after 0.5 s, 1 s, 2 s, Retry-After obeyed exactly.",
    "- **ky-like**: ky's defaults: 2 retries after 0.3 s, 0.6 s, no jitter, Retry-After obeyed (up to 60 s), timeouts",
    "  not retried; no budget, no breaker.",
    "- **cockatiel-like**: cockatiel's README recipe: 3 retries with `ExponentialBackoff`'s defaults (decorrelated",
    "  jitter, 128 ms initial delay), around a `ConsecutiveBreaker(5)` that half-opens after 10 s; Retry-After ignored,",
    "  an open circuit retried like any failure, no budget.",
    "",
    "The ky-like and cockatiel-like rows are Sturdy's `Retry` and `CircuitBreaker` configured to behave as those",
    "libraries do, not the libraries themselves. Success rate and goodput count logical calls; amplification is",
    "requests the upstream received per logical call; p99 latency is over all logical calls, successful or not;",
    "recovery is the time from the end of the disruption until three 1 s buckets in a row deliver 90 % of what was",
    "offered (— when the scenario has no disruption or the service never recovered). Contention is one burst of",
    "calls at a single instant, so it has no goodput per second; read its success rate.",
    "",
    `Run of ${when.toISOString().slice(0, 16).replace("T", " ")} UTC, seed ${seed}.`,
    "",
    outageCheck(reports),
    "",
    faultTables(reports)
  ].join("\n")

const main = () => {
  const { values: flags } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== "--"),
    options: { seed: { type: "string" }, "no-write": { type: "boolean" } }
  })
  const seed = flags.seed === undefined ? 1 : Number(flags.seed)
  if (!Number.isInteger(seed)) throw new RangeError(`--seed must be an integer, got ${flags.seed}`)
  const started = performance.now()
  const reports = runFaults({
    seed,
    onReport: (report, elapsedMs) => {
      console.log(Simulator.format(report))
      console.log(`  (${(elapsedMs / 1000).toFixed(1)} s of wall time)`)
    }
  })
  console.log(`\n${faultTables(reports)}\n\n${outageCheck(reports)}`)
  console.log(`\n${reports.length} runs in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  if (flags["no-write"] !== true) {
    const readmePath = path.join(path.dirname(fileURLToPath(import.meta.url)), "README.md")
    const readme = fs.readFileSync(readmePath, "utf8")
    fs.writeFileSync(readmePath, replaceBetweenMarkers(readme, "faults", faultsMarkdown(reports, seed, new Date())))
    console.log("wrote the faults section of README.md")
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
