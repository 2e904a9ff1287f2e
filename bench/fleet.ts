/**
 * Retry amplification of a fleet during a full outage: per-process retry budgets against one shared budget, for a
 * growing number of replicas that together make the same number of calls. Each replica runs the real
 * `RetryBudget` (per process) or `RetryBudgetStore.makeBudget` on one memory store (shared; Redis gives the same
 * counts, as test/fleet.test.ts shows with real processes). Deterministic: no clock, no randomness.
 *
 *   npx tsx bench/fleet.ts            # prints the table, rewrites fleet.svg and the table in README.md
 *   npx tsx bench/fleet.ts --no-write # prints only
 */
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as RetryBudgetStore from "@sturdy/policy/RetryBudgetStore"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** Logical calls the whole fleet makes in one budget window, whatever its size. */
export const totalCalls = 200
/** Attempts per call (the Policy default): a failing call asks for up to 2 retries. */
export const maxAttempts = 3
export const replicaCounts = [1, 2, 5, 10, 20, 50] as const

export interface Row {
  readonly replicas: number
  readonly perProcess: number
  readonly shared: number
}

// Every replica makes its calls in turn (round robin), each call failing every attempt it is allowed.
const upstreamLoad = (budgets: ReadonlyArray<RetryBudget.RetryBudget.Service>) =>
  Effect.gen(function*() {
    let requests = 0
    for (let call = 0; call < totalCalls; call++) {
      const budget = budgets[call % budgets.length]!
      yield* budget.deposit("upstream")
      requests++
      for (let attempt = 1; attempt < maxAttempts; attempt++) {
        if (!(yield* budget.withdraw("upstream"))) break
        requests++
      }
    }
    return requests / totalCalls
  })

export const measure = (replicas: number): Effect.Effect<Row> =>
  Effect.gen(function*() {
    const perProcess = yield* Effect.forEach(Array.from({ length: replicas }), () => RetryBudget.make())
    const store = RetryBudgetStore.makeMemory()
    const shared = yield* Effect.forEach(
      Array.from({ length: replicas }),
      () => RetryBudgetStore.makeBudget().pipe(Effect.provideService(RetryBudgetStore.RetryBudgetStore, store))
    )
    return { replicas, perProcess: yield* upstreamLoad(perProcess), shared: yield* upstreamLoad(shared) }
  }).pipe(Effect.scoped)

export const table = (rows: ReadonlyArray<Row>): string =>
  [
    "| replicas | per-process budgets | one shared budget |",
    "| ---: | ---: | ---: |",
    ...rows.map((row) => `| ${row.replicas} | ${row.perProcess.toFixed(2)}× | ${row.shared.toFixed(2)}× |`)
  ].join("\n")

export const svg = (rows: ReadonlyArray<Row>): string => {
  const width = 560
  const height = 300
  const left = 50
  const bottom = 40
  const top = 20
  const right = 150
  const maxY = maxAttempts
  const x = (i: number) => left + (i * (width - left - right)) / (rows.length - 1)
  const y = (v: number) => top + (height - top - bottom) * (1 - (v - 1) / (maxY - 1))
  const line = (pick: (row: Row) => number, color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${
      rows.map((row, i) => `${x(i).toFixed(1)},${y(pick(row)).toFixed(1)}`).join(" ")
    }"/>` + rows.map((row, i) =>
      `<circle cx="${x(i).toFixed(1)}" cy="${y(pick(row)).toFixed(1)}" r="3" fill="${color}"/>`
    )
      .join("")
  const ticks = [1, 1.5, 2, 2.5, 3].map((v) =>
    `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>` +
    `<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end">${v}×</text>`
  ).join("")
  const labels = rows.map((row, i) =>
    `<text x="${x(i)}" y="${height - bottom + 16}" text-anchor="middle">${row.replicas}</text>`
  ).join("")
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${ticks}${labels}
<text x="${(left + width - right) / 2}" y="${
    height - 6
  }" text-anchor="middle">replicas (${totalCalls} calls per window in all, upstream down)</text>
<text x="14" y="${top + (height - top - bottom) / 2}" transform="rotate(-90 14 ${
    top + (height - top - bottom) / 2
  })" text-anchor="middle">upstream requests per call</text>
${line((row) => row.perProcess, "#d9534f")}${line((row) => row.shared, "#0275d8")}
<text x="${width - right + 10}" y="${
    y(rows[rows.length - 1]!.perProcess) + 4
  }" fill="#d9534f">per-process budgets</text>
<text x="${width - right + 10}" y="${y(rows[rows.length - 1]!.shared) + 4}" fill="#0275d8">one shared budget</text>
</svg>
`
}

const here = Path.dirname(fileURLToPath(import.meta.url))

const main = Effect.gen(function*() {
  const rows = yield* Effect.forEach(replicaCounts, measure)
  const text = table(rows)
  console.log(text)
  if (process.argv.includes("--no-write")) return
  Fs.writeFileSync(Path.join(here, "fleet.svg"), svg(rows))
  const readmePath = Path.join(here, "README.md")
  const readme = Fs.readFileSync(readmePath, "utf8")
  const start = "<!-- fleet:start -->"
  const end = "<!-- fleet:end -->"
  const from = readme.indexOf(start)
  const to = readme.indexOf(end)
  if (from >= 0 && to > from) {
    Fs.writeFileSync(readmePath, readme.slice(0, from + start.length) + "\n" + text + "\n" + readme.slice(to))
  }
})

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === Path.resolve(process.argv[1])) {
  Effect.runPromise(main)
}
