import * as fs from "node:fs"

/**
 * The parts of a V8 `.cpuprofile` (as written by `node --cpu-prof`) the summary reads.
 */
export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number
    readonly callFrame: {
      readonly functionName: string
      readonly url: string
      readonly lineNumber: number
    }
  }>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
  /** Microseconds on the monotonic clock `process.hrtime` reads. */
  readonly startTime?: number | undefined
}

/**
 * Self time of one function or area, as a share of the busy (non-idle) time.
 */
export interface SelfTime {
  readonly name: string
  readonly ms: number
  readonly share: number
}

/**
 * A profile reduced to where the busy time went: by area (package or runtime part) and by function.
 */
export interface ProfileSummary {
  readonly busyMs: number
  readonly idleMs: number
  readonly areas: ReadonlyArray<SelfTime>
  readonly functions: ReadonlyArray<SelfTime>
}

/**
 * Names the part of the program a source URL belongs to: an npm package, a Sturdy package, Node's own code.
 */
export const areaOf = (url: string, functionName: string): string => {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)"
  if (url.startsWith("node:")) return "node internals"
  const packageMatch = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (packageMatch !== null) {
    return packageMatch[1]!
  }
  // the compiled packages (what `pnpm bench` runs), or their sources
  const sturdyMatch = /\/packages\/([^/]+)\/(?:build\/esm|src)\//.exec(url)
  if (sturdyMatch !== null) return `@sturdy/${sturdyMatch[1]}`
  if (url.includes("/bench/")) return "bench harness"
  return "other"
}

const shortUrl = (url: string) => {
  const afterModules = url.lastIndexOf("node_modules/")
  const trimmed = afterModules === -1 ? url.replace(/^file:\/\/.*?\/(packages|bench)\//, "$1/") : url.slice(
    afterModules + "node_modules/".length
  )
  return trimmed.replace(/^file:\/\//, "")
}

const sourceLines = new Map<string, ReadonlyArray<string> | undefined>()

/**
 * The start of the source line a frame points at, to tell apart the anonymous functions of one file (Effect's run
 * loop is mostly anonymous closures); nothing when the file is not readable or was transpiled onto one line.
 */
const sourceHint = (url: string, lineNumber: number): string => {
  if (!url.startsWith("file://") || lineNumber <= 0) return ""
  if (!sourceLines.has(url)) {
    try {
      sourceLines.set(url, fs.readFileSync(new URL(url), "utf8").split("\n"))
    } catch {
      sourceLines.set(url, undefined)
    }
  }
  const line = sourceLines.get(url)?.[lineNumber]?.trim()
  if (line === undefined || line === "") return ""
  return ` — ${line.length > 48 ? `${line.slice(0, 48)}…` : line}`
}

const ranked = (totals: Map<string, number>, busy: number, top: number): Array<SelfTime> =>
  [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, microseconds]) => ({ name, ms: microseconds / 1000, share: microseconds / busy }))

/**
 * Sums self time per function and per area; `(idle)` is counted apart and excluded from the shares. With `window`
 * (start and end in µs on `process.hrtime`'s clock), only samples taken inside it count, so that start-up (loading
 * and compiling modules) does not dilute the load being profiled.
 */
export const summarize = (
  profile: CpuProfile,
  top = 15,
  window?: readonly [start: number, end: number]
): ProfileSummary => {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const functions = new Map<string, number>()
  const areas = new Map<string, number>()
  let busy = 0
  let idle = 0
  let timestamp = profile.startTime ?? 0
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0
    timestamp += delta
    if (window !== undefined && (timestamp < window[0] || timestamp > window[1])) return
    const frame = byId.get(id)?.callFrame
    if (frame === undefined) return
    if (frame.functionName === "(idle)") {
      idle += delta
      return
    }
    busy += delta
    const name = frame.url === ""
      ? frame.functionName
      : frame.functionName === ""
      ? `(anonymous) ${shortUrl(frame.url)}:${frame.lineNumber + 1}${sourceHint(frame.url, frame.lineNumber)}`
      : `${frame.functionName} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`
    functions.set(name, (functions.get(name) ?? 0) + delta)
    const area = areaOf(frame.url, frame.functionName)
    areas.set(area, (areas.get(area) ?? 0) + delta)
  })
  return {
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    areas: ranked(areas, busy, 12),
    functions: ranked(functions, busy, top)
  }
}

/**
 * Reads and summarizes a `.cpuprofile` file.
 */
export const summarizeFile = (
  file: string,
  top?: number,
  window?: readonly [start: number, end: number]
): ProfileSummary => summarize(JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile, top, window)

/**
 * A profile summary as markdown.
 */
export const summaryMarkdown = (title: string, summary: ProfileSummary): string => {
  const percent = (share: number) => `${(share * 100).toFixed(1)} %`
  return [
    `**${title}**: ${summary.busyMs.toFixed(0)} ms busy, ${summary.idleMs.toFixed(0)} ms idle.`,
    "",
    "| self time by area | share |",
    "| --- | ---: |",
    ...summary.areas.map((area) => `| ${area.name} | ${percent(area.share)} |`),
    "",
    "| top functions by self time | share |",
    "| --- | ---: |",
    ...summary.functions.map((fn) => `| \`${fn.name.replace(/\|/g, "\\|")}\` | ${percent(fn.share)} |`)
  ].join("\n")
}
