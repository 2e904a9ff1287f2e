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
        const option of ["--header", "--data", "--schema", "--policy", "--retries", "--timeout", "--deadline", "--json"]
      ) {
        expect(get.stdout).toContain(option)
      }
    }))

  it.effect("a missing argument or unknown command is a usage error (2) explained on stderr", () =>
    Effect.gen(function*() {
      const missing = yield* sturdy("get")
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain("<url>")
      const unknown = yield* sturdy("fetch", "http://127.0.0.1:1/")
      expect(unknown.code).toBe(2)
    }))
})
