/**
 * The Redis-backed tests on a machine without redis-server: skipped with one line naming what to install when `CI`
 * is unset, a failure saying why when `CI=true`; and startRedisServer's failures name their cause.
 */
import { afterAll, afterEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { isCi, REDIS_INSTALL_HINT, RedisServerError, redisServerOnPath, startRedisServer } from "./utils/redis.js"

const root = Path.resolve(import.meta.dirname, "..", "..", "..")

/** A directory holding only `node` (and the given fake programs): a PATH without redis-server. */
const made: Array<string> = []
const pathWithout = (fakes: Record<string, string> = {}) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sturdy-path-"))
  made.push(dir)
  Fs.symlinkSync(process.execPath, Path.join(dir, "node"))
  for (const [name, script] of Object.entries(fakes)) {
    Fs.writeFileSync(Path.join(dir, name), script, { mode: 0o755 })
  }
  return dir
}

/** Runs vitest on the Redis-backed test file with `env` (no inherited CI or vitest worker variables). */
const runRedisTests = (env: Record<string, string>) => {
  const base: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key === "CI" || key === "PATH" || key.startsWith("VITEST") || key === "NODE_OPTIONS") continue
    base[key] = value
  }
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(
      process.execPath,
      [Path.join(root, "node_modules", "vitest", "vitest.mjs"), "run", "packages/policy/test/RateLimitRedis.test.ts"],
      { cwd: root, env: { ...base, ...env, NO_COLOR: "1" }, timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
          output: `${stdout}\n${stderr}`
        })
    )
  })
}

describe("Redis test guard", () => {
  const savedPath = process.env.PATH
  afterEach(() => {
    process.env.PATH = savedPath
  })
  afterAll(() => {
    for (const dir of made) Fs.rmSync(dir, { recursive: true, force: true })
  })

  it("finds redis-server on the PATH and tells CI apart", () => {
    const empty = pathWithout()
    expect(redisServerOnPath({ PATH: empty })).toBeUndefined()
    const fake = pathWithout({ "redis-server": "#!/bin/sh\nexit 0\n" })
    expect(redisServerOnPath({ PATH: `${empty}${Path.delimiter}${fake}` })).toBe(Path.join(fake, "redis-server"))
    expect(isCi({})).toBe(false)
    expect(isCi({ CI: "" })).toBe(false)
    expect(isCi({ CI: "false" })).toBe(false)
    expect(isCi({ CI: "0" })).toBe(false)
    expect(isCi({ CI: "true" })).toBe(true)
    expect(isCi({ CI: "1" })).toBe(true)
  })

  it("no redis-server and CI unset: the suite is skipped, the run passes and ends with one line naming the install", {
    timeout: 150_000
  }, async () => {
    const { code, output } = await runRedisTests({ PATH: pathWithout() })
    expect(code, output).toBe(0)
    const lines = output.split("\n").filter((line) => line.includes("Redis-backed tests skipped"))
    // one line for the whole run, however many Redis-backed tests the file holds
    expect(lines).toHaveLength(1)
    const skipped = /Redis-backed tests skipped \((\d+)\): /.exec(lines[0]!)
    expect(lines[0]).toBe(
      `Redis-backed tests skipped (${skipped?.[1]}): redis-server is not on the PATH. Install it to run them: ` +
        `${REDIS_INSTALL_HINT} (with CI=true a missing redis-server fails the run).`
    )
    expect(Number(skipped?.[1])).toBeGreaterThan(0)
    expect(output).toMatch(new RegExp(`${skipped?.[1]} skipped`))
  })

  it("no redis-server and CI=true: the run fails and says why", { timeout: 150_000 }, async () => {
    const { code, output } = await runRedisTests({ PATH: pathWithout(), CI: "true" })
    expect(code, output).toBe(1)
    expect(output).toContain(`cannot start redis-server: it is not on the PATH (${REDIS_INSTALL_HINT})`)
    expect(output).toContain("CI=true")
    expect(output).not.toContain("Redis-backed tests skipped")
  })

  it.live("a redis-server that exits before it is ready: the error names the exit code and its output", () =>
    Effect.gen(function*() {
      process.env.PATH = pathWithout({
        "redis-server": "#!/bin/sh\necho \"FATAL CONFIG FILE ERROR: bad directive\"\nexit 3\n"
      })
      const error = yield* Effect.flip(Effect.scoped(startRedisServer))
      expect(error).toBeInstanceOf(RedisServerError)
      expect(error).toMatchObject({ reason: "Exited", exitCode: 3 })
      expect(error.message).toMatch(/^redis-server on 127\.0\.0\.1:\d+ exited with code 3 before it was ready/)
      expect(error.message).toContain("FATAL CONFIG FILE ERROR: bad directive")
    }))

  it.live("a port taken between choosing and binding it: retried, then the error says the port is in use", () =>
    Effect.gen(function*() {
      const log = Path.join(pathWithout(), "starts")
      process.env.PATH = pathWithout({
        "redis-server": `#!/bin/sh\necho start >> ${log}\n` +
          "echo \"# Warning: Could not create server TCP listening socket 127.0.0.1:$2: bind: Address already in use\"\n" +
          "exit 1\n"
      })
      const error = yield* Effect.flip(Effect.scoped(startRedisServer))
      expect(error).toMatchObject({ _tag: "RedisServerError", reason: "PortInUse", exitCode: 1 })
      expect(error.message).toMatch(/^cannot start redis-server on 127\.0\.0\.1:\d+: the port is already in use/)
      // the first try and 3 retries, each on a newly chosen port
      expect(Fs.readFileSync(log, "utf8").trim().split("\n")).toHaveLength(4)
    }))

  it.live("no redis-server on the PATH: startRedisServer fails at once and names what to install", () =>
    Effect.gen(function*() {
      process.env.PATH = pathWithout()
      const error = yield* Effect.flip(Effect.scoped(startRedisServer))
      expect(error).toMatchObject({ _tag: "RedisServerError", reason: "NotInstalled" })
      expect(error.message).toContain(`it is not on the PATH (${REDIS_INSTALL_HINT})`)
    }))
})
