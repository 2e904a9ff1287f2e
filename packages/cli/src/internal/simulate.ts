import * as Simulator from "@sturdy/testing/Simulator"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as durations from "./duration.js"
import { CommandFailed } from "./errors.js"
import * as exitCode from "./exitCode.js"
import * as table from "./table.js"

/** The parsed command line of `sturdy simulate`. */
export interface Input {
  readonly scenario: string
  readonly policies: ReadonlyArray<string>
  readonly seed: number
  readonly duration: Option.Option<Duration.Duration>
}

const usage = (detail: string) => new CommandFailed({ code: exitCode.codes.Usage, detail })

const scenarioNames = Object.keys(Simulator.scenarios) as Array<keyof typeof Simulator.scenarios>
const policyNames = Object.keys(Simulator.policies) as Array<keyof typeof Simulator.policies>

const normalise = (name: string): string => name.toLowerCase().replace(/[-_\s]/g, "")

const findScenario = (name: string): keyof typeof Simulator.scenarios | undefined =>
  scenarioNames.find((candidate) => normalise(candidate) === normalise(name))

const findPolicy = (name: string): Simulator.Policy | undefined => {
  const wanted = normalise(name) === "naive" ? "naiveloop" : normalise(name)
  const key = policyNames.find((candidate) => normalise(candidate) === wanted)
  return key === undefined ? undefined : Simulator.policies[key]
}

/** Lists the built-in scenarios and policies. */
export const list: Effect.Effect<void> = Effect.gen(function*() {
  yield* Console.log("scenarios:")
  for (const name of scenarioNames) {
    yield* Console.log(`  ${name.padEnd(16)}${Simulator.scenarios[name].description}`)
  }
  yield* Console.log("")
  yield* Console.log(`policies: ${policyNames.join(", ")}`)
})

const percent = (value: number) => `${(value * 100).toFixed(1)}%`

/** Runs the scenario once per policy (one progress line each on stderr) and prints the comparison table. */
export const run = (input: Input): Effect.Effect<void, CommandFailed> =>
  Effect.gen(function*() {
    if (normalise(input.scenario) === "list") return yield* list
    const key = findScenario(input.scenario)
    if (key === undefined) {
      return yield* usage(`unknown scenario "${input.scenario}" (one of: ${scenarioNames.join(", ")}, or "list")`)
    }
    const found = Simulator.scenarios[key]
    const scenario: Simulator.Scenario = Option.match(input.duration, {
      onNone: () => found,
      onSome: (duration) => ({ ...found, workload: { ...found.workload, duration: Duration.toMillis(duration) } })
    })
    const names = input.policies.length === 0 ? policyNames : input.policies
    const policies: Array<Simulator.Policy> = []
    for (const name of names) {
      const policy = findPolicy(name)
      if (policy === undefined) {
        return yield* usage(`unknown policy "${name}" (one of: ${policyNames.join(", ")})`)
      }
      policies.push(policy)
    }
    yield* Console.error(
      `simulating ${key} (${scenario.name}) for ${
        durations.format(scenario.workload.duration)
      } of virtual time, seed ${input.seed}`
    )
    const reports: Array<Simulator.Report> = []
    for (const [index, policy] of policies.entries()) {
      const started = performance.now()
      const report = yield* Simulator.run(scenario, policy, { seed: input.seed })
      reports.push(report)
      yield* Console.error(
        `  [${index + 1}/${policies.length}] ${policy.name}: ${report.logicalCalls} calls in ${
          durations.format(performance.now() - started)
        }`
      )
    }
    yield* Console.log(`${key}: ${scenario.description}`)
    yield* Console.log("")
    yield* Console.log(table.render(
      ["policy", "success", "goodput/s", "amplification", "p50", "p99", "recovery", "wasted"],
      reports.map((report) => [
        report.policy,
        percent(report.successRate),
        report.goodput.toFixed(1),
        `${report.amplification.toFixed(2)}x`,
        durations.format(report.latency.p50),
        durations.format(report.latency.p99),
        report.recoveryTime === undefined ? "n/a" : durations.format(report.recoveryTime),
        String(report.wastedWork)
      ]),
      new Set([1, 2, 3, 4, 5, 6, 7])
    ))
  })
