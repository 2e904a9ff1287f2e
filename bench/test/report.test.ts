import { describe, expect, it } from "@effect/vitest"
import { areaOf, summarize } from "../src/profile.js"
import { replaceBetweenMarkers } from "../src/report.js"
import { median, rotate } from "../src/stats.js"

describe("results", () => {
  it("replaces only the text between a pair of markers", () => {
    const readme = "# T\n<!-- a:start -->\nold\n<!-- a:end -->\nkept\n"
    expect(replaceBetweenMarkers(readme, "a", "new")).toBe("# T\n<!-- a:start -->\nnew\n<!-- a:end -->\nkept\n")
    expect(replaceBetweenMarkers("# T\n", "b", "x")).toBe("# T\n\n<!-- b:start -->\nx\n<!-- b:end -->\n")
  })

  it("takes medians and rotates the running order", () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 2, 3])).toBe(2.5)
    expect(rotate(["a", "b", "c"], 4)).toEqual(["b", "c", "a"])
  })
})

describe("profile summary", () => {
  it("names the area of a frame from its URL", () => {
    expect(areaOf("file:///w/node_modules/.pnpm/effect@3.22.4/node_modules/effect/dist/esm/Effect.js", "map"))
      .toBe("effect")
    expect(areaOf("file:///w/node_modules/.pnpm/@effect+platform@0.97.2/node_modules/@effect/platform/x.js", "f"))
      .toBe("@effect/platform")
    expect(areaOf("file:///w/packages/policy/src/internal/retry.ts", "retry")).toBe("@sturdy/policy")
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
