import type { HappyPathRow } from "./happyPath.js"
import type { PolicyRow } from "./policyRun.js"
import { median } from "./stats.js"

/**
 * Where and how a run was made.
 */
export interface Machine {
  readonly nproc: number
  readonly cpuModel: string
  readonly node: string
  readonly os: string
  readonly loadAverageBefore: ReadonlyArray<number>
  readonly loadAverageAfter: ReadonlyArray<number>
  readonly pinned: string
}

/**
 * A performance target and whether the run met it, per concurrency.
 */
export interface TargetCheck {
  readonly target: string
  readonly entry: string
  readonly against: string
  /** The ratio aimed at; `measured[i].threshold` when it differs per concurrency. */
  readonly threshold: number
  readonly measured: ReadonlyArray<{
    readonly concurrency: number
    /** The ratio aimed at for this concurrency, when it differs from `threshold`. */
    readonly threshold?: number | undefined
    /** Throughput ratio. */
    readonly ratio: number
    readonly met: boolean
    /** The same comparison on client CPU per request (baseline's over the contender's). */
    readonly cpuRatio: number
    readonly cpuMet: boolean
  }>
}

/**
 * Everything one run produced (written to `results.json`).
 */
export interface Results {
  readonly date: string
  readonly command: string
  readonly machine: Machine
  readonly config: {
    readonly rounds: number
    readonly durationMs: number
    readonly warmupMs: number
    readonly concurrencies: ReadonlyArray<number>
    readonly policyRounds: number
    readonly fibers: number
    readonly callsPerFiber: number
    readonly breakdownRounds: number
    /** Rounds of the Effect-native callers' happy path (absent in runs made before it was measured). */
    readonly nativeRounds?: number | undefined
    /** Requests per contender and round of the allocation measurement (0: not measured). */
    readonly allocationRequests?: number | undefined
  }
  readonly notMeasured: ReadonlyArray<string>
  /** Measured with one `Runtime.runPromise` per request, as a Promise caller (a route handler) would. */
  readonly happyPath: ReadonlyArray<HappyPathRow>
  /**
   * The same contenders (raw undici and Sturdy's) run by Effect-native callers: the fibers of one running Effect
   * program make the requests (absent in runs made before it was measured).
   */
  readonly native?: ReadonlyArray<HappyPathRow> | undefined
  readonly policies: ReadonlyArray<PolicyRow>
  /** The standard stack built up one layer at a time (concurrency 64). */
  readonly breakdown: ReadonlyArray<HappyPathRow>
  readonly targets: ReadonlyArray<TargetCheck>
}

const fixed = (value: number | null, digits: number) =>
  value === null || Number.isNaN(value) ? "–" : value.toFixed(digits)
const times = (value: number | null) => value === null || Number.isNaN(value) ? "–" : `${value.toFixed(2)}×`
const thousands = (value: number) => Number.isNaN(value) ? "–" : Math.round(value).toLocaleString("en-US")

/**
 * The machine, command and settings, as markdown.
 */
export const machineMarkdown = (results: Results): string => {
  const { config, machine } = results
  return [
    `Run on ${results.date}: \`${results.command}\`.`,
    "",
    "| | |",
    "| --- | --- |",
    `| CPU | ${machine.cpuModel}, \`nproc\` = ${machine.nproc} |`,
    `| Node | ${machine.node} (${machine.os}) |`,
    `| pinning | ${machine.pinned} |`,
    `| load average (1, 5, 15 min) before / after | ${
      machine.loadAverageBefore.map((l) => l.toFixed(2)).join(", ")
    } / ${machine.loadAverageAfter.map((l) => l.toFixed(2)).join(", ")} |`,
    `| happy path | ${config.rounds} interleaved rounds × ${config.durationMs} ms per contender and concurrency (after one ${config.warmupMs} ms warm-up each), concurrency ${
      config.concurrencies.join(" and ")
    } |`,
    `| policies | ${config.policyRounds} rounds × ${
      config.fibers.toLocaleString("en-US")
    } fibers × ${config.callsPerFiber} calls each (a twentieth for cases that set a timer per call) |`,
    `| stack breakdown | ${config.breakdownRounds} interleaved rounds × ${config.durationMs} ms, concurrency ${
      Math.max(...config.concurrencies)
    } |`,
    ...(config.nativeRounds === undefined || (results.native ?? []).length === 0 ? [] : [
      `| Effect-native callers | ${config.nativeRounds} interleaved rounds × ${config.durationMs} ms, concurrency ${
        config.concurrencies.join(" and ")
      }, each load one Effect program of that many fibers |`
    ]),
    ...((config.allocationRequests ?? 0) === 0 ? [] : [
      `| allocation | ${config.rounds} rounds × ${
        config.allocationRequests!.toLocaleString("en-US")
      } requests per contender at concurrency ${
        Math.max(...config.concurrencies)
      }, after the timed rounds, under V8's sampling heap profiler (freed objects included) |`
    ]),
    ...(results.notMeasured.length === 0 ? [] : [`| not measured | ${results.notMeasured.join("; ")} |`])
  ].join("\n")
}

/**
 * The happy-path tables (one per concurrency) and the target checks, as markdown.
 */
export const happyPathMarkdown = (results: Results): string => {
  const sections: Array<string> = []
  for (const concurrency of results.config.concurrencies) {
    const rows = results.happyPath.filter((row) => row.concurrency === concurrency)
    sections.push(
      `**Concurrency ${concurrency}**`,
      "",
      "| client | req/s | p50 ms | p99 ms | client CPU µs/req | req/s × platform | req/s × undici | CPU × platform | CPU × undici | server CPU |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...rows.map((row) =>
        `| ${row.name} | ${thousands(row.throughput)} | ${fixed(row.p50Ms, 2)} | ${fixed(row.p99Ms, 2)} | ${
          fixed(row.cpuMicrosPerRequest, 1)
        } | ${times(row.vsPlatform)} | ${times(row.vsUndici)} | ${times(row.cpuVsPlatform)} | ${
          times(row.cpuVsUndici)
        } | ${fixed(row.serverCpu * 100, 0)} % |`
      ),
      ""
    )
  }
  sections.push(
    "**Targets** (aimed at, not asserted): the throughput ratio, and the same comparison on client CPU per request " +
      "(the baseline's CPU µs/req over the contender's), each the median of the per-round ratios",
    "",
    `| target | ${results.config.concurrencies.map((c) => `req/s, c=${c} | CPU, c=${c}`).join(" | ")} |`,
    `| --- | ${results.config.concurrencies.map(() => "---: | ---:").join(" | ")} |`,
    ...results.targets.map((target) =>
      `| ${target.target} | ${
        target.measured.map((m) =>
          `${m.ratio.toFixed(2)}× ${m.met ? "✓" : "✗"} | ${m.cpuRatio.toFixed(2)}× ${m.cpuMet ? "✓" : "✗"}`
        ).join(" | ")
      } |`
    ),
    "",
    "Contenders:",
    "",
    ...results.config.concurrencies.slice(0, 1).flatMap((concurrency) =>
      results.happyPath.filter((row) => row.concurrency === concurrency).map((row) =>
        `- **${row.name}**: ${row.description}`
      )
    )
  )
  return sections.join("\n")
}

/**
 * The Effect-native callers' table, as markdown: one row per contender and concurrency, ratios against raw undici
 * measured in the same rounds. Empty when the run measured none.
 */
export const nativeMarkdown = (results: Results): string => {
  const rows = results.native ?? []
  if (rows.length === 0) return ""
  return [
    "| client | c | req/s | p50 ms | p99 ms | client CPU µs/req | req/s × undici | CPU × undici |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.config.concurrencies.flatMap((concurrency) =>
      rows.filter((row) => row.concurrency === concurrency).map((row) =>
        `| ${row.name} | ${concurrency} | ${thousands(row.throughput)} | ${fixed(row.p50Ms, 2)} | ${
          fixed(row.p99Ms, 2)
        } | ${fixed(row.cpuMicrosPerRequest, 1)} | ${times(row.vsUndici)} | ${times(row.cpuVsUndici)} |`
      )
    )
  ].join("\n")
}

/**
 * Bytes allocated per request (the highest concurrency), as markdown, with the allocation target: the `Policy`
 * pipeline at most twice the bare attempt. Empty when the run measured no allocation.
 */
export const allocationMarkdown = (results: Results): string => {
  const rows = results.happyPath.filter((row) => row.bytesPerRequest !== undefined)
  if (rows.length === 0) return ""
  const bytesOf = (name: string) => rows.find((row) => row.name === name)?.bytesPerRequest ?? Number.NaN
  const undici = bytesOf("undici")
  const attempt = bytesOf("sturdy attempt")
  const policy = bytesOf("sturdy Policy pipeline")
  const target = policy / attempt
  return [
    `| client | bytes allocated per request, c=${rows[0]!.concurrency} | × undici | × sturdy attempt |`,
    "| --- | ---: | ---: | ---: |",
    ...rows.map((row) =>
      `| ${row.name} | ${thousands(row.bytesPerRequest!)} | ${times(row.bytesPerRequest! / undici)} | ${
        times(row.bytesPerRequest! / attempt)
      } |`
    ),
    ...(Number.isNaN(target) ? [] : [
      "",
      `Allocation target (aimed at, not asserted): sturdy Policy pipeline ≤ 2× sturdy attempt → ${times(target)} ${
        target <= 2 ? "✓" : "✗"
      }`
    ])
  ].join("\n")
}

/**
 * The standard stack's layers, each row adding one, as markdown: what each layer adds to the client CPU per request
 * (median of the per-round differences to the row above); then the comparison rows, measured in the same rounds.
 */
export const breakdownMarkdown = (results: Results): string => {
  const rows = results.breakdown
  return [
    "| layers | req/s | p50 ms | p99 ms | client CPU µs/req | added CPU µs/req | CPU × attempt |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((row, index) => {
      // only the cumulative rows ("+ layer") add to the row above; the comparison rows at the end stand alone
      const previous = row.name.startsWith("+ ") ? rows[index - 1] : undefined
      const added = previous === undefined ? Number.NaN : median(
        row.samples.map((sample, round) =>
          sample.cpuMicrosPerRequest - (previous.samples[round]?.cpuMicrosPerRequest ?? Number.NaN)
        )
      )
      return `| ${row.name} | ${thousands(row.throughput)} | ${fixed(row.p50Ms, 2)} | ${fixed(row.p99Ms, 2)} | ${
        fixed(row.cpuMicrosPerRequest, 1)
      } | ${previous === undefined ? "" : `${added >= 0 ? "+" : ""}${fixed(added, 1)}`} | ${times(row.cpuVsUndici)} |`
    })
  ].join("\n")
}

/**
 * The policy table, as markdown.
 */
export const policiesMarkdown = (results: Results): string =>
  [
    "| policy | settings | calls per fiber | Sturdy CPU ns/call | Sturdy overhead | cockatiel CPU ns/call | cockatiel overhead | Sturdy ÷ cockatiel |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.policies.map((row) =>
      `| ${row.name} | ${row.settings} | ${row.callsPerFiber} | ${fixed(row.sturdyNs, 0)} | ${
        fixed(row.sturdyOverheadNs, 0)
      } | ${fixed(row.cockatielNs, 0)} | ${fixed(row.cockatielOverheadNs, 0)} | ${times(row.ratio)} |`
    )
  ].join("\n")

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/**
 * Two horizontal bar charts side by side, one bar per contender and concurrency: throughput relative to raw undici,
 * and client CPU per request relative to raw undici (undici's µs over the contender's, so higher is better in both).
 */
export const chartSvg = (results: Results): string => {
  const concurrencies = results.config.concurrencies
  const names = [...new Set(results.happyPath.map((row) => row.name))]
  const colors = ["#9ecae1", "#3182bd", "#08519c", "#6baed6"]
  // room for the longest contender name at 12 px (about 6.8 px a character) and the gap before the bars
  const labelWidth = Math.max(190, Math.ceil(Math.max(...names.map((name) => name.length)) * 6.8) + 16)
  const panelWidth = 330
  const gap = 110
  const barHeight = 12
  const rowHeight = concurrencies.length * barHeight + 12
  const top = 78
  const height = top + names.length * rowHeight + 36
  const width = labelWidth + 2 * panelWidth + gap + 130
  const panels = [
    { title: "Throughput (req/s) × raw undici", value: (row: HappyPathRow) => row.vsUndici, absolute: "req/s" },
    { title: "Client CPU efficiency × raw undici", value: (row: HappyPathRow) => row.cpuVsUndici, absolute: "µs" }
  ] as const
  const parts: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${labelWidth}" y="20" font-size="14" font-weight="bold">Happy path relative to raw undici (higher is better)</text>`,
    `<text x="${labelWidth}" y="38" fill="#555">median of ${results.config.rounds} interleaved rounds; ${
      escapeXml(results.machine.cpuModel)
    }, ${results.machine.nproc} cores, Node ${
      escapeXml(results.machine.node)
    }; CPU efficiency = undici's CPU µs/req ÷ the client's</text>`
  ]
  concurrencies.forEach((concurrency, bar) => {
    const legendX = width - 80 - (concurrencies.length - 1 - bar) * 70
    parts.push(
      `<rect x="${legendX}" y="11" width="10" height="10" fill="${colors[bar % colors.length]}"/>`,
      `<text x="${legendX + 14}" y="20" font-size="11">c = ${concurrency}</text>`
    )
  })
  names.forEach((name, index) => {
    parts.push(
      `<text x="${labelWidth - 8}" y="${
        top + index * rowHeight + rowHeight / 2
      }" text-anchor="end" dominant-baseline="middle">${escapeXml(name)}</text>`
    )
  })
  panels.forEach((panel, panelIndex) => {
    const left = labelWidth + panelIndex * (panelWidth + gap)
    const values = results.happyPath.map(panel.value).filter((value) => !Number.isNaN(value))
    const maxRatio = Math.max(1.25, Math.ceil(Math.max(...values) * 4) / 4)
    const x = (ratio: number) => left + ratio / maxRatio * panelWidth
    parts.push(`<text x="${left}" y="${top - 16}" font-weight="bold">${escapeXml(panel.title)}</text>`)
    for (let tick = 0; tick <= maxRatio + 1e-9; tick += 0.5) {
      parts.push(
        `<line x1="${x(tick)}" y1="${top - 6}" x2="${x(tick)}" y2="${height - 28}" stroke="${
          tick === 1 ? "#444" : "#ddd"
        }" stroke-dasharray="${tick === 1 ? "4 3" : "0"}"/>`,
        `<text x="${x(tick)}" y="${height - 12}" text-anchor="middle" fill="#555">${tick.toFixed(1)}×</text>`
      )
    }
    names.forEach((name, index) => {
      concurrencies.forEach((concurrency, bar) => {
        const row = results.happyPath.find((r) => r.name === name && r.concurrency === concurrency)
        const value = row === undefined ? Number.NaN : panel.value(row)
        if (row === undefined || Number.isNaN(value)) return
        const barY = top + index * rowHeight + 6 + bar * barHeight
        const absolute = panel.absolute === "req/s"
          ? `${thousands(row.throughput)}/s`
          : `${fixed(row.cpuMicrosPerRequest, 0)} µs`
        parts.push(
          `<rect x="${left}" y="${barY}" width="${Math.max(1, x(value) - left)}" height="${barHeight - 2}" fill="${
            colors[bar % colors.length]
          }"><title>${escapeXml(name)}, concurrency ${concurrency}: ${absolute}</title></rect>`,
          `<text x="${x(value) + 4}" y="${
            barY + barHeight / 2
          }" dominant-baseline="middle" font-size="10" fill="#333">${value.toFixed(2)}× (${absolute})</text>`
        )
      })
    })
  })
  parts.push("</svg>")
  return parts.join("\n") + "\n"
}

/**
 * Replaces the text between `<!-- name:start -->` and `<!-- name:end -->` in `document` with `content`.
 */
export const replaceBetweenMarkers = (document: string, name: string, content: string): string => {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const from = document.indexOf(start)
  const to = document.indexOf(end)
  if (from === -1 || to === -1 || to < from) return `${document.trimEnd()}\n\n${start}\n${content}\n${end}\n`
  return `${document.slice(0, from + start.length)}\n${content}\n${document.slice(to)}`
}
