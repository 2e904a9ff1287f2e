import { describe, expect, it } from "@effect/vitest"
import { sumSelfSize } from "../src/allocation.js"
import { areaOf, summarize } from "../src/profile.js"
import {
  allocationMarkdown,
  breakdownMarkdown,
  chartSvg,
  happyPathMarkdown,
  machineMarkdown,
  nativeMarkdown,
  replaceBetweenMarkers,
  type Results
} from "../src/report.js"
import { median, shuffled } from "../src/stats.js"

describe("results", () => {
  it("replaces only the text between a pair of markers", () => {
    const readme = "# T\n<!-- a:start -->\nold\n<!-- a:end -->\nkept\n"
    expect(replaceBetweenMarkers(readme, "a", "new")).toBe("# T\n<!-- a:start -->\nnew\n<!-- a:end -->\nkept\n")
    expect(replaceBetweenMarkers("# T\n", "b", "x")).toBe("# T\n\n<!-- b:start -->\nx\n<!-- b:end -->\n")
  })

  it("takes medians", () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 2, 3])).toBe(2.5)
  })

  it("runs the contenders in a seeded order each round: every one first sometimes, behind varying neighbours", () => {
    const names = "abcdefghijklmno".split("")
    const rounds = Array.from({ length: 9 }, (_, round) => shuffled(names, round))
    for (const order of rounds) expect([...order].sort()).toEqual(names)
    // the same seed, the same order
    expect(shuffled(names, 3)).toEqual(rounds[3])
    expect(new Set(rounds.map((order) => order.join(""))).size).toBe(9)
    // whoever ran just before a contender changes from round to round
    const before = (name: string) => new Set(rounds.map((order) => order[order.indexOf(name) - 1] ?? "none"))
    for (const name of names) expect(before(name).size).toBeGreaterThan(3)
    expect(new Set(rounds.map((order) => order[0])).size).toBeGreaterThan(4)
    expect(shuffled([], 1)).toEqual([])
  })
})

describe("profile summary", () => {
  it("names the area of a frame from its URL", () => {
    expect(areaOf("file:///w/node_modules/.pnpm/effect@3.22.4/node_modules/effect/dist/esm/Effect.js", "map"))
      .toBe("effect")
    expect(areaOf("file:///w/node_modules/.pnpm/@effect+platform@0.97.2/node_modules/@effect/platform/x.js", "f"))
      .toBe("@effect/platform")
    expect(areaOf("file:///w/packages/policy/src/internal/retry.ts", "retry")).toBe("@sturdy/policy")
    expect(areaOf("file:///w/packages/http/build/esm/internal/attempt.js", "json")).toBe("@sturdy/http")
    expect(areaOf("node:internal/streams/readable", "read")).toBe("node internals")
    expect(areaOf("", "(garbage collector)")).toBe("(garbage collector)")
  })

  it("sums self time per function and area, leaving idle time out of the shares", () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 })
    const summary = summarize({
      nodes: [
        { id: 1, callFrame: frame("(idle)", "") },
        { id: 2, callFrame: frame("decode", "file:///w/node_modules/effect/dist/Schema.js") },
        { id: 3, callFrame: frame("retry", "file:///w/packages/policy/src/internal/retry.ts") }
      ],
      samples: [1, 2, 2, 3],
      timeDeltas: [5000, 3000, 3000, 2000]
    })
    expect(summary.idleMs).toBe(5)
    expect(summary.busyMs).toBe(8)
    expect(summary.areas.map((a) => [a.name, a.share])).toEqual([["effect", 0.75], ["@sturdy/policy", 0.25]])
    expect(summary.functions[0]!.name).toBe("decode effect/dist/Schema.js:1")
  })
})

describe("report", () => {
  const sample = (throughput: number, cpu: number) => ({
    requests: throughput,
    elapsedMs: 1000,
    throughput,
    p50Ms: 1,
    p99Ms: 2,
    cpuMicrosPerRequest: cpu
  })
  const row = (name: string, throughput: number, cpu: number, vsUndici: number) => ({
    name,
    description: `${name} <described>`,
    concurrency: 64,
    throughput,
    p50Ms: 1,
    p99Ms: 2,
    cpuMicrosPerRequest: cpu,
    serverCpu: 0.1,
    vsPlatform: 1,
    vsUndici,
    cpuVsPlatform: 1,
    cpuVsUndici: vsUndici,
    samples: [sample(throughput, cpu)]
  })
  const results: Results = {
    date: "2026-01-01T00:00:00.000Z",
    command: "npx pnpm@10.34.8 bench",
    machine: {
      nproc: 2,
      cpuModel: "Test CPU",
      node: "v20.0.0",
      os: "Linux",
      loadAverageBefore: [0, 0, 0],
      loadAverageAfter: [0, 0, 0],
      pinned: "none"
    },
    config: {
      rounds: 1,
      durationMs: 10,
      warmupMs: 0,
      concurrencies: [64],
      policyRounds: 1,
      fibers: 1,
      callsPerFiber: 1,
      breakdownRounds: 1
    },
    notMeasured: [],
    happyPath: [row("undici", 2000, 100, 1), row("a & b", 1000, 200, 0.5)],
    policies: [],
    breakdown: [row("attempt", 1000, 200, 1), row("+ deadline", 500, 350, 0.57)],
    targets: [{
      target: "a & b ≥ 0.6× undici",
      entry: "a & b",
      against: "undici",
      threshold: 0.6,
      measured: [{ concurrency: 64, ratio: 0.5, met: false, cpuRatio: 0.5, cpuMet: false }]
    }]
  }

  it("tabulates every contender and marks a missed target", () => {
    const markdown = happyPathMarkdown(results)
    expect(markdown).toContain("| undici | 2,000 |")
    expect(markdown).toContain("| a & b ≥ 0.6× undici | 0.50× ✗ | 0.50× ✗ |")
  })

  it("tabulates the Effect-native callers by concurrency, and nothing for a run that measured none", () => {
    const at = (concurrency: number, name: string, throughput: number, cpu: number, vsUndici: number) => ({
      ...row(name, throughput, cpu, vsUndici),
      concurrency
    })
    const native = {
      ...results,
      config: { ...results.config, concurrencies: [1, 64], nativeRounds: 3 },
      native: [
        at(1, "undici", 4000, 150, 1),
        at(1, "sturdy attempt", 3000, 200, 0.75),
        at(64, "undici", 16000, 60, 1),
        at(64, "sturdy attempt", 12000, 80, 0.75)
      ]
    }
    const lines = nativeMarkdown(native).split("\n")
    expect(lines[0]).toBe(
      "| client | c | req/s | p50 ms | p99 ms | client CPU µs/req | req/s × undici | CPU × undici |"
    )
    expect(lines.slice(2)).toEqual([
      "| undici | 1 | 4,000 | 1.00 | 2.00 | 150.0 | 1.00× | 1.00× |",
      "| sturdy attempt | 1 | 3,000 | 1.00 | 2.00 | 200.0 | 0.75× | 0.75× |",
      "| undici | 64 | 16,000 | 1.00 | 2.00 | 60.0 | 1.00× | 1.00× |",
      "| sturdy attempt | 64 | 12,000 | 1.00 | 2.00 | 80.0 | 0.75× | 0.75× |"
    ])
    expect(machineMarkdown(native)).toContain(
      "| Effect-native callers | 3 interleaved rounds × 10 ms, concurrency 1 and 64,"
    )
    expect(nativeMarkdown(results)).toBe("")
    expect(machineMarkdown(results)).not.toContain("Effect-native")
  })

  it("shows what each layer of the breakdown adds", () => {
    expect(breakdownMarkdown(results)).toContain("| + deadline | 500 | 1.00 | 2.00 | 350.0 | +150.0 | 0.57× |")
  })

  it("draws one bar per contender and panel, with names escaped", () => {
    const svg = chartSvg(results)
    expect(svg.startsWith("<svg")).toBe(true)
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
    expect(svg).toContain("a &amp; b")
    // a bar carries its figures as a tooltip: 2 contenders × 2 panels × 1 concurrency
    expect(svg.match(/<\/title><\/rect>/g)).toHaveLength(4)
  })

  it("leaves room left of the bars for the longest contender name", () => {
    const long = "a contender with a name of fifty characters, long."
    const bars = (svg: string) =>
      [...svg.matchAll(/<rect x="(\d+(?:\.\d+)?)" y="\d+(?:\.\d+)?" width/g)].map((m) => Number(m[1]))
    const short = Math.min(...bars(chartSvg(results)))
    const widened = Math.min(
      ...bars(chartSvg({ ...results, happyPath: [...results.happyPath, row(long, 1000, 100, 1)] }))
    )
    // at 12 px a character takes about 6–7 px: the bars start after the name, not under it
    expect(widened).toBeGreaterThanOrEqual(long.length * 6.5)
    expect(widened).toBeGreaterThan(short)
  })

  it("tabulates the bytes allocated per request and checks the Policy pipeline against the bare attempt", () => {
    const allocated = (name: string, bytes: number) => ({ ...row(name, 1000, 100, 1), bytesPerRequest: bytes })
    const markdown = allocationMarkdown({
      ...results,
      happyPath: [
        allocated("undici", 10_000),
        allocated("sturdy attempt", 25_000),
        allocated("sturdy Policy pipeline", 60_000)
      ]
    })
    expect(markdown).toContain("| sturdy attempt | 25,000 | 2.50× | 1.00× |")
    expect(markdown).toContain("sturdy Policy pipeline ≤ 2× sturdy attempt → 2.40× ✗")
    // a run that measured no allocation has no table
    expect(allocationMarkdown(results)).toBe("")
  })

  it("sums the sampled sizes of a heap profile's whole tree", () => {
    const leaf = (selfSize: number) => ({ selfSize, children: [] })
    expect(sumSelfSize({ selfSize: 0, children: [{ selfSize: 512, children: [leaf(1024)] }, leaf(2048)] })).toBe(3584)
  })
})
