import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { sturdy } from "./utils.js"

describe("sturdy simulate", () => {
  it.effect("compares policies on a short scenario, one progress line per policy on stderr", () =>
    Effect.gen(function*() {
      const ran = yield* sturdy(
        "simulate",
        "--scenario",
        "randomErrors",
        "--duration",
        "2s",
        "--policy",
        "noRetry",
        "--policy",
        "sturdy",
        "--seed",
        "3"
      )
      expect(ran.code).toBe(0)
      expect(ran.stderr).toContain("simulating randomErrors (20% random 503s) for 2s of virtual time, seed 3")
      expect(ran.stderr).toMatch(/\[1\/2\] no retry: \d+ calls/)
      expect(ran.stderr).toMatch(/\[2\/2\] sturdy.*: \d+ calls/)
      const header = ran.stdout.split("\n").find((line) => line.startsWith("policy"))
      expect(header).toMatch(/policy\s+success\s+goodput\/s\s+amplification\s+p50\s+p99\s+recovery\s+wasted/)
      const rows = ran.stdout.split("\n").filter((line) => /\d+\.\d%/.test(line))
      expect(rows).toHaveLength(2)
      const successOf = (row: string) => Number(/(\d+\.\d)%/.exec(row)![1])
      const amplificationOf = (row: string) => Number(/(\d+\.\d+)x/.exec(row)![1])
      // one 503 in five: without retries about 80% succeed, with retries nearly all, at the cost of more requests
      expect(successOf(rows[0])).toBeGreaterThan(70)
      expect(successOf(rows[0])).toBeLessThan(90)
      expect(successOf(rows[1])).toBeGreaterThan(successOf(rows[0]))
      expect(amplificationOf(rows[0])).toBe(1)
      expect(amplificationOf(rows[1])).toBeGreaterThan(1)
    }))

  it.effect("the same seed gives the same table", () =>
    Effect.gen(function*() {
      const args = ["simulate", "--scenario", "slow-tail", "--duration", "1s", "--policy", "naive", "--seed", "9"]
      const first = yield* sturdy(...args)
      const second = yield* sturdy(...args)
      expect(first.code).toBe(0)
      expect(first.stdout).toEqual(second.stdout)
    }))

  it.effect("lists scenarios with --scenario list and the scenarios subcommand", () =>
    Effect.gen(function*() {
      const listed = yield* sturdy("simulate", "--scenario", "list")
      const subcommand = yield* sturdy("scenarios")
      expect(listed.code).toBe(0)
      expect(listed.stdout).toEqual(subcommand.stdout)
      for (const name of ["randomErrors", "outage", "retryStorm", "slowTail", "rateLimitStorm", "contention"]) {
        expect(listed.stdout).toContain(name)
      }
      expect(listed.stdout).toContain("policies: noRetry, naiveLoop, urllib3, sturdy")
    }))

  it.effect("an unknown scenario or policy is a usage error (2)", () =>
    Effect.gen(function*() {
      const scenario = yield* sturdy("simulate", "--scenario", "meteor")
      expect(scenario.code).toBe(2)
      expect(scenario.stderr).toContain("unknown scenario \"meteor\"")
      const policy = yield* sturdy("simulate", "--scenario", "outage", "--policy", "hope")
      expect(policy.code).toBe(2)
      expect(policy.stderr).toContain("unknown policy \"hope\"")
    }))
  it.effect("--duration 0 (or less than half a millisecond) is a usage error, not an internal error", () =>
    Effect.gen(function*() {
      for (const duration of ["0ms", "0s", "0.4ms"]) {
        const ran = yield* sturdy("simulate", "--scenario", "outage", "--policy", "noRetry", "--duration", duration)
        expect([duration, ran.code, ran.stdout]).toEqual([duration, 2, ""])
        expect(ran.stderr).toContain(`--duration ${duration}: must be longer than 0ms`)
      }
    }))

  it.effect("--duration infinity or longer than 1h is a usage error naming the flag and the maximum", () =>
    Effect.gen(function*() {
      for (const duration of ["infinity", "none", "2h"]) {
        const ran = yield* sturdy("simulate", "--scenario", "outage", "--policy", "noRetry", "--duration", duration)
        expect([duration, ran.code, ran.stdout]).toEqual([duration, 2, ""])
        expect(ran.stderr).toContain(`--duration ${duration}: at most 1h of virtual time`)
      }
    }))
})
