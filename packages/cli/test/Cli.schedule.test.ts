import { describe, expect, it } from "@effect/vitest"
import { Backoff } from "@sturdy/policy"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as durations from "../src/internal/duration.js"
import { sturdy, tempDir } from "./utils.js"

const tableRows = (stdout: string) =>
  stdout.split("\n").filter((line) => /^\s+\d+\s+#\d+/.test(line)).map((line) => line.trim().split(/\s+/))

describe("sturdy schedule", () => {
  it.effect("prints one row per retry with min ≤ median ≤ max inside Backoff's envelope, and sparklines", () =>
    Effect.gen(function*() {
      const ran = yield* sturdy(
        "schedule",
        "--base-delay",
        "100ms",
        "--factor",
        "2",
        "--max-delay",
        "1s",
        "--jitter",
        "full",
        "--attempts",
        "6",
        "--seeds",
        "200"
      )
      expect(ran.code).toBe(0)
      expect(ran.stdout).toContain("jitter full, 6 attempts (200 seeds from 0)")
      const rows = tableRows(ran.stdout)
      expect(rows.map((row) => row[0])).toEqual(["1", "2", "3", "4", "5"])
      const ms = (cell: string) => Duration.toMillis(Either.getOrThrow(durations.parse(cell)))
      for (const [index, row] of rows.entries()) {
        const upper = Duration.toMillis(
          Backoff.envelope({ baseDelay: "100 millis", maxDelay: "1 second" }, index).upper
        )
        const [min, median, max] = [ms(row[3]), ms(row[4]), ms(row[5])]
        expect(min).toBeLessThanOrEqual(median)
        expect(median).toBeLessThanOrEqual(max)
        expect(max).toBeLessThanOrEqual(upper)
      }
      expect(rows[4][2]).toBe("0ms–1s") // capped: 100ms × 2⁴ = 1.6s > 1s
      expect(ran.stdout).toMatch(/max\s+[▁▂▃▄▅▆▇█]{5}/)
      expect(ran.stdout).toMatch(/median\s+[▁▂▃▄▅▆▇█]{5}/)
    }))

  it.effect("jitter none gives the exact exponential sequence; --seed alone shows one sequence", () =>
    Effect.gen(function*() {
      const ran = yield* sturdy("schedule", "--jitter", "none", "--attempts", "4", "--seed", "7")
      expect(ran.code).toBe(0)
      expect(ran.stdout).toContain("(seed 7)")
      expect(tableRows(ran.stdout).map((row) => row.slice(3, 6))).toEqual([
        ["100ms", "100ms", "100ms"],
        ["200ms", "200ms", "200ms"],
        ["400ms", "400ms", "400ms"]
      ])
    }))

  it.effect("the same seed gives the same table", () =>
    Effect.gen(function*() {
      const first = yield* sturdy("schedule", "--jitter", "decorrelated", "--seed", "3", "--seeds", "5")
      const second = yield* sturdy("schedule", "--jitter", "decorrelated", "--seed", "3", "--seeds", "5")
      expect(first.stdout).toEqual(second.stdout)
    }))

  it.effect("--plot writes a valid SVG", () =>
    Effect.gen(function*() {
      const file = Path.join(tempDir(), "plot.svg")
      const ran = yield* sturdy("schedule", "--attempts", "8", "--seeds", "50", "--plot", file)
      expect(ran.code).toBe(0)
      expect(ran.stderr).toContain(`wrote ${file}`)
      const svg = Fs.readFileSync(file, "utf8")
      expect(svg.startsWith("<svg")).toBe(true)
      expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
      expect(svg).toContain("xmlns=\"http://www.w3.org/2000/svg\"")
      expect(svg).toContain("<title>exponential backoff")
      // well-formed enough for an XML parser: every opened element is closed
      const opened = (svg.match(/<(?!\/)[a-z]+[^>]*[^/]>/g) ?? []).length
      const closed = (svg.match(/<\/[a-z]+>/g) ?? []).length
      expect(opened).toBe(closed)
    }))

  it.effect("rejects impossible settings with a usage error (2)", () =>
    Effect.gen(function*() {
      expect((yield* sturdy("schedule", "--factor", "0.5")).code).toBe(2)
      expect((yield* sturdy("schedule", "--attempts", "1")).code).toBe(2)
      expect((yield* sturdy("schedule", "--jitter", "wild")).code).toBe(2)
      expect((yield* sturdy("schedule", "--base-delay", "fast")).code).toBe(2)
    }))

  it.effect("names the flag at fault, not Backoff's option", () =>
    Effect.gen(function*() {
      const factor = yield* sturdy("schedule", "--factor", "0.5")
      expect(factor.code).toBe(2)
      expect(factor.stderr).toContain("--factor must be a finite number of at least 1, got 0.5")
      expect((yield* sturdy("schedule", "--factor", "NaN")).stderr).toContain("--factor must be a finite number")
      const base = yield* sturdy("schedule", "--base-delay", "none")
      expect(base.code).toBe(2)
      expect(base.stderr).toContain("--base-delay must be finite")
      expect(base.stderr + factor.stderr).not.toContain("Backoff:")
    }))
})
