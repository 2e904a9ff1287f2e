import type { PolicyCase, PolicyLoad } from "./policies.js"
import { measureCockatiel, measureSturdy } from "./policies.js"
import { median } from "./stats.js"

/**
 * One policy: medians over the rounds of ns per call, the overhead above the baseline row measured in the same
 * round, and the median per-round ratio of Sturdy's ns per call to cockatiel's.
 */
export interface PolicyRow {
  readonly name: string
  readonly settings: string
  readonly sturdyNs: number
  readonly sturdyOverheadNs: number
  readonly cockatielNs: number | null
  readonly cockatielOverheadNs: number | null
  /** Sturdy ns per call over cockatiel's: below 1, Sturdy is cheaper. */
  readonly ratio: number | null
}

/**
 * Measures every case in interleaved rounds, Sturdy and cockatiel side by side; the first case is the baseline.
 */
export const runPolicies = async (
  cases: ReadonlyArray<PolicyCase>,
  load: PolicyLoad & { readonly rounds: number; readonly log?: ((line: string) => void) | undefined }
): Promise<Array<PolicyRow>> => {
  const sturdy = cases.map(() => [] as Array<number>)
  const cockatiel = cases.map(() => [] as Array<number | undefined>)
  for (let round = 0; round < load.rounds; round++) {
    for (const [index, policyCase] of cases.entries()) {
      // Alternate which library goes first, so that neither always runs right after the other's garbage.
      let ownNs = Number.NaN
      let theirNs: number | undefined
      if (round % 2 === 0) {
        ownNs = await measureSturdy(policyCase, load)
        theirNs = await measureCockatiel(policyCase, load)
      } else {
        theirNs = await measureCockatiel(policyCase, load)
        ownNs = await measureSturdy(policyCase, load)
      }
      sturdy[index]!.push(ownNs)
      cockatiel[index]!.push(theirNs)
      load.log?.(
        `round ${round + 1}/${load.rounds}  ${policyCase.name.padEnd(24)} sturdy ${
          ownNs.toFixed(0).padStart(6)
        } ns/call  cockatiel ${theirNs === undefined ? "     -" : theirNs.toFixed(0).padStart(6)} ns/call`
      )
    }
  }
  const overhead = (values: ReadonlyArray<number | undefined>, baseline: ReadonlyArray<number | undefined>) =>
    median(values.map((value, round) => (value ?? Number.NaN) - (baseline[round] ?? Number.NaN)))
  const orNull = (value: number) => Number.isNaN(value) ? null : value
  return cases.map((policyCase, index) => ({
    name: policyCase.name,
    settings: policyCase.settings,
    sturdyNs: median(sturdy[index]!),
    sturdyOverheadNs: overhead(sturdy[index]!, sturdy[0]!),
    cockatielNs: orNull(median(cockatiel[index]!.map((value) => value ?? Number.NaN))),
    cockatielOverheadNs: orNull(overhead(cockatiel[index]!, cockatiel[0]!)),
    ratio: orNull(median(sturdy[index]!.map((value, round) => value / (cockatiel[index]![round] ?? Number.NaN))))
  }))
}
