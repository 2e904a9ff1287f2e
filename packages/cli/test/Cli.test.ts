import { describe, expect, it } from "@effect/vitest"
import { Cli } from "@sturdy/cli"
import * as Effect from "effect/Effect"
import { sturdy } from "./utils.js"

describe("Cli", () => {
  it.effect("--version prints the version", () =>
    Effect.gen(function*() {
      const ran = yield* sturdy("--version")
      expect(ran.code).toBe(0)
      expect(ran.stdout.trim()).toBe(Cli.version)
    }))

  it.effect("--help works for the root and every subcommand", () =>
    Effect.gen(function*() {
      const root = yield* sturdy("--help")
      expect(root.code).toBe(0)
      for (const command of ["get", "post", "put", "patch", "delete", "head", "schedule", "simulate", "scenarios"]) {
        expect(root.stdout).toContain(`- ${command}`)
        const help = yield* sturdy(command, "--help")
        expect(help.code).toBe(0)
        expect(help.stdout).toContain("USAGE")
      }
      const get = yield* sturdy("get", "--help")
      for (
        const option of [
          "--header",
          "--data",
          "--schema",
          "--policy",
          "--retries",
          "--timeout",
          "--deadline",
          "--connect-timeout",
          "--json"
        ]
      ) {
        expect(get.stdout).toContain(option)
      }
      // each value says what it takes, not "text"
      for (
        const usage of [
          "--header NAME:VALUE",
          "--data JSON",
          "--schema FILE",
          "--policy NAME|FILE",
          "--timeout DURATION",
          "--connect-timeout DURATION"
        ]
      ) {
        expect(get.stdout).toContain(usage)
      }
      expect((yield* sturdy("schedule", "--help")).stdout).toContain("[--base-delay DURATION]")
      expect((yield* sturdy("simulate", "--help")).stdout).toContain("--scenario NAME")
    }))

  it.effect("a missing argument or unknown command is a usage error (2) explained on stderr", () =>
    Effect.gen(function*() {
      const missing = yield* sturdy("get")
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain("<url>")
      const unknown = yield* sturdy("fetch", "http://127.0.0.1:1/")
      expect(unknown.code).toBe(2)
    }))
  it.effect("a repeatable option given last without its value is a usage error, not dropped", () =>
    Effect.gen(function*() {
      for (const flag of ["-H", "--header"]) {
        const ran = yield* sturdy("get", "http://127.0.0.1:1/", "--retries", "0", flag)
        expect([flag, ran.code, ran.stdout]).toEqual([flag, 2, ""])
        expect(ran.stderr.trim()).toBe(`sturdy: option ${flag}: requires a value`)
      }
      const simulate = yield* sturdy("simulate", "--scenario", "outage", "--duration", "1s", "--policy")
      expect([simulate.code, simulate.stderr.trim()]).toEqual([2, "sturdy: option --policy: requires a value"])
    }))

  it.effect("a repeatable option given an empty value is a usage error, not dropped", () =>
    Effect.gen(function*() {
      for (const args of [["-H", "", "-H", "a:b"], ["--header", "a:b", "--header", ""]]) {
        const ran = yield* sturdy("get", "ftp://127.0.0.1:1/", "--policy", "none", ...args)
        expect([args, ran.code, ran.stdout]).toEqual([args, 2, ""])
        expect(ran.stderr.trim()).toMatch(/^sturdy: option (-H|--header): requires a value$/)
      }
      // a header whose value is empty after the colon is a header
      expect((yield* sturdy("get", "ftp://127.0.0.1:1/", "--policy", "none", "-H", "X-Empty:")).code).toBe(3)
      const simulate = yield* sturdy("simulate", "--scenario", "outage", "--duration", "100ms", "--policy", "")
      expect([simulate.code, simulate.stdout, simulate.stderr.trim()]).toEqual([
        2,
        "",
        "sturdy: option --policy: requires a value"
      ])
    }))
})
