import { describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Http from "node:http"
import type * as Net from "node:net"
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
    // stdout is a pipe here: no colour (@effect/cli colours its help whatever the stream)
    expect(result.stdout).not.toContain("\u001b")
  })

  it(
    "Ctrl-C during a request ends it at once with 130 (128 + SIGINT), no stack trace",
    { timeout: 90_000 },
    async () => {
      const server = Http.createServer(() => {}) // never answers
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      const port = (server.address() as Net.AddressInfo).port
      try {
        const child = ChildProcess.spawn(
          process.execPath,
          [
            "--conditions=@sturdy/source",
            "--import",
            "tsx",
            bin,
            "get",
            `http://127.0.0.1:${port}/`,
            "--policy",
            "none"
          ],
          { stdio: ["ignore", "pipe", "pipe"] }
        )
        let stderr = ""
        child.stderr.on("data", (chunk: Buffer) => {
          stderr += chunk.toString("utf8")
          // the request line is printed: the request is under way
          if (stderr.includes("GET ")) child.kill("SIGINT")
        })
        const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
          const killer = setTimeout(() => child.kill("SIGKILL"), 30_000)
          child.on("close", (exitCode, exitSignal) => {
            clearTimeout(killer)
            resolve([exitCode, exitSignal])
          })
        })
        expect({ code, signal }).toEqual({ code: 130, signal: null })
        expect(stderr).not.toMatch(/^\s+at /m)
      } finally {
        server.closeAllConnections()
        server.close()
      }
    }
  )

  it("a failure's exit code reaches the shell (a refused connection exits 7)", { timeout: 90_000 }, () => {
    const result = spawn("get", "http://127.0.0.1:1/", "--policy", "none")
    expect(result.status).toBe(7)
    expect(result.stderr).toContain("ConnectionError (Refused)")
  })
})
