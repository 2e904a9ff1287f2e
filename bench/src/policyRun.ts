import type { CallCost, PolicyCase, PolicyLoad } from "./policies.js"
import { measureCockatiel, measureSturdy } from "./policies.js"
import { median } from "./stats.js"

/**
 * One policy at one load: medians over the rounds of CPU ns per call, the overhead above the baseline (no policy)
 * measured at the same load in the same round, and the median per-round ratio of Sturdy's CPU ns per call to
 * cockatiel's. Wall-clock figures are kept alongside.
 */
export interface PolicyRow {
  readonly name: string
  readonly settings: string
  readonly callsPerFiber: number
  readonly sturdyNs: number
  readonly sturdyOverheadNs: number
  readonly sturdyWallNs: number
  readonly cockatielNs: number | null
  readonly cockatielOverheadNs: number | null
  readonly cockatielWallNs: number | null
  /** Sturdy CPU ns per call over cockatiel's: below 1, Sturdy is cheaper. */
  readonly ratio: number | null
}

interface Measured {
  readonly sturdy: Array<CallCost>
  readonly cockatiel: Array<CallCost | undefined>
}

/**
 * Measures every case in interleaved rounds, Sturdy and cockatiel side by side (alternating which goes first); the
 * first case is the baseline, measured at every load some case uses.
 */
export const runPolicies = async (
  cases: ReadonlyArray<PolicyCase>,
  options: PolicyLoad & { readonly rounds: number; readonly log?: ((line: string) => void) | undefined }
): Promise<Array<PolicyRow>> => {
  const [baseline, ...others] = cases
  if (baseline === undefined) return []
  const callsOf = (policyCase: PolicyCase) =>
    Math.max(1, Math.round(options.callsPerFiber * (policyCase.callShare ?? 1)))
  const baselineLoads = [...new Set(others.map(callsOf))].sort((a, b) => b - a)
  if (!baselineLoads.includes(options.callsPerFiber)) baselineLoads.unshift(options.callsPerFiber)
  const plan: Array<{ readonly policyCase: PolicyCase; readonly load: PolicyLoad }> = [
    ...baselineLoads.map((callsPerFiber) => ({
      policyCase: callsPerFiber === options.callsPerFiber
        ? baseline
        : { ...baseline, name: `${baseline.name}, ${callsPerFiber} calls per fiber` },
      load: { fibers: options.fibers, callsPerFiber }
    })),
    ...others.map((policyCase) => ({
      policyCase,
      load: { fibers: options.fibers, callsPerFiber: callsOf(policyCase) }
    }))
  ]
  const measured: Array<Measured> = plan.map(() => ({ sturdy: [], cockatiel: [] }))
  const warmup = { fibers: Math.min(options.fibers, 100), callsPerFiber: 10 }
  for (let round = 0; round < options.rounds; round++) {
    for (const [index, { load, policyCase }] of plan.entries()) {
      if (round === 0) {
        await measureSturdy(policyCase, warmup)
        await measureCockatiel(policyCase, warmup)
      }
      let own: CallCost
      let theirs: CallCost | undefined
      if (round % 2 === 0) {
        own = await measureSturdy(policyCase, load)
        theirs = await measureCockatiel(policyCase, load)
      } else {
        theirs = await measureCockatiel(policyCase, load)
        own = await measureSturdy(policyCase, load)
      }
      measured[index]!.sturdy.push(own)
      measured[index]!.cockatiel.push(theirs)
      options.log?.(
        `round ${round + 1}/${options.rounds}  ${policyCase.name.padEnd(40)} sturdy ${
          own.cpuNs.toFixed(0).padStart(7)
        } ns/call CPU  cockatiel ${theirs === undefined ? "      -" : theirs.cpuNs.toFixed(0).padStart(7)} ns/call CPU`
      )
    }
  }
  const orNull = (value: number) => Number.isNaN(value) ? null : value
  return plan.map(({ load, policyCase }, index) => {
    const own = measured[index]!
    const base = measured[baselineLoads.indexOf(load.callsPerFiber)]!
    const theirCpu = own.cockatiel.map((cost) => cost?.cpuNs ?? Number.NaN)
    return {
      name: policyCase.name,
      settings: policyCase.settings,
      callsPerFiber: load.callsPerFiber,
      sturdyNs: median(own.sturdy.map((cost) => cost.cpuNs)),
      sturdyOverheadNs: median(own.sturdy.map((cost, round) => cost.cpuNs - base.sturdy[round]!.cpuNs)),
      sturdyWallNs: median(own.sturdy.map((cost) => cost.wallNs)),
      cockatielNs: orNull(median(theirCpu)),
      cockatielOverheadNs: orNull(
        median(theirCpu.map((cpuNs, round) => cpuNs - (base.cockatiel[round]?.cpuNs ?? Number.NaN)))
      ),
      cockatielWallNs: orNull(median(own.cockatiel.map((cost) => cost?.wallNs ?? Number.NaN))),
      ratio: orNull(median(own.sturdy.map((cost, round) => cost.cpuNs / theirCpu[round]!)))
    }
  })
}
