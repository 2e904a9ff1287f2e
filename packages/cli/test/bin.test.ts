import { describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"

const bin = Path.join(import.meta.dirname, "..", "bin", "sturdy.mjs")

// the sources, as in the rest of the tests; test/packaging.test.ts runs the installed, compiled bin with plain node
const spawn = (...args: ReadonlyArray<string>) =>
  ChildProcess.spawnSync(process.execPath, ["--conditions=@sturdy/source", "--import", "tsx", bin, ...args], {
    encoding: "utf8",
    timeout: 80_000
  })

describe("bin/sturdy.mjs", () => {
  // each spawn starts node and tsx from cold (several seconds on a loaded machine)
  it("--help lists every command and exits 0", { timeout: 90_000 }, () => {
    const result = spawn("--help")
    expect(result.status).toBe(0)
    for (const command of ["get", "post", "put", "patch", "delete", "head", "schedule", "simulate", "scenarios"]) {
      expect(result.stdout).toContain(`- ${command}`)
    }
  })

  it("a failure's exit code reaches the shell (a refused connection exits 7)", { timeout: 90_000 }, () => {
    const result = spawn("get", "http://127.0.0.1:1/", "--policy", "none")
    expect(result.status).toBe(7)
    expect(result.stderr).toContain("ConnectionError (Refused)")
  })
})
