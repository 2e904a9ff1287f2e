import { Data, Deferred, Effect, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { Config, Result } from "./fleetProcess.js"

export class FleetError extends Data.TaggedError("FleetError")<{ readonly reason: string }> {}

const freePort = Effect.async<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address() as Net.AddressInfo
    server.close(() => resume(Effect.succeed(address.port)))
  })
})

const spawnRedis = (port: number) =>
  Effect.async<ChildProcess, FleetError>((resume) => {
    const child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "ignore"] }
    )
    let output = ""
    child.stdout?.on("data", (chunk: Buffer) => {
      if (output.includes("Ready to accept connections")) return
      output += chunk.toString()
      if (output.includes("Ready to accept connections")) resume(Effect.succeed(child))
    })
    child.once("error", (error) => resume(Effect.fail(new FleetError({ reason: error.message }))))
    child.once("exit", (code) => resume(Effect.fail(new FleetError({ reason: `redis-server exited with ${code}` }))))
  })

const stopChild = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

/** Deletes the bundle of the fleet process (call it once a test file is done). */
export const removeBundle = async (): Promise<void> => {
  if (bundled !== undefined) Fs.rmSync(await bundled, { force: true })
  bundled = undefined
}

/** A redis-server on 127.0.0.1 that a test can kill and start again on the same port. */
export interface RedisProcess {
  readonly host: string
  readonly port: number
  /** SIGKILL: the server is gone at once, as in a crash. */
  readonly kill: Effect.Effect<void>
  /** Starts a fresh server (empty) on the same port. */
  readonly restart: Effect.Effect<void, FleetError>
}

export const startRedis: Effect.Effect<RedisProcess, FleetError, Scope.Scope> = Effect.gen(function*() {
  const port = yield* freePort
  let current = yield* spawnRedis(port)
  yield* Effect.addFinalizer(() => stopChild(current))
  return {
    host: "127.0.0.1",
    port,
    kill: Effect.suspend(() => stopChild(current)),
    restart: Effect.map(spawnRedis(port), (child) => {
      current = child
    })
  }
})

/** A running fleet process (test/utils/fleetProcess.ts). */
export interface FleetProcess {
  readonly start: Effect.Effect<void>
  readonly result: Effect.Effect<Result, FleetError>
  readonly logs: ReadonlyArray<string>
}

const source = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "fleetProcess.ts")

// Loading the TypeScript sources through tsx costs each process seconds of CPU on a busy machine; the fleet
// process is bundled once (esbuild, which tsx already depends on) and every process loads plain JavaScript.
let bundled: Promise<string> | undefined
const bundle = Effect.promise(() => {
  bundled ??= (async () => {
    const require = createRequire(import.meta.url)
    const esbuild = require(createRequire(require.resolve("tsx/package.json")).resolve("esbuild")) as {
      build: (options: object) => Promise<unknown>
    }
    const outfile = Path.join(Os.tmpdir(), `sturdy-fleet-${process.pid}-${Date.now()}.mjs`)
    await esbuild.build({
      entryPoints: [source],
      bundle: true,
      platform: "node",
      format: "esm",
      // the workspace packages from their sources, as the rest of the tests load them
      conditions: ["@sturdy/source"],
      outfile,
      logLevel: "error",
      // ioredis and friends are CommonJS: give the bundle a `require`
      banner: {
        js:
          "import { createRequire as __sturdyRequire } from 'node:module'; const require = __sturdyRequire(import.meta.url);"
      }
    })
    return outfile
  })()
  return bundled
})

/** Spawns one fleet process and waits until its runtime is built; it is killed when the scope closes. */
export const spawnProcess = (config: Config): Effect.Effect<FleetProcess, FleetError, Scope.Scope> =>
  Effect.gen(function*() {
    const ready = yield* Deferred.make<void, FleetError>()
    const done = yield* Deferred.make<Result, FleetError>()
    const logs: Array<string> = []
    const script = yield* bundle
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, [script, JSON.stringify(config)], {
          stdio: ["pipe", "pipe", "pipe"]
        })
      ),
      stopChild
    )
    let buffer = ""
    let errors = ""
    child.stderr?.on("data", (chunk: Buffer) => {
      errors += chunk.toString()
    })
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString()
      let newline = buffer.indexOf("\n")
      while (newline >= 0) {
        const line = JSON.parse(buffer.slice(0, newline)) as { ready?: true; log?: string; result?: Result }
        buffer = buffer.slice(newline + 1)
        if (line.ready) Deferred.unsafeDone(ready, Effect.void)
        if (line.log !== undefined) logs.push(line.log)
        if (line.result !== undefined) Deferred.unsafeDone(done, Effect.succeed(line.result))
        newline = buffer.indexOf("\n")
      }
    })
    child.once("exit", (code) => {
      const failure = Effect.fail(
        new FleetError({ reason: `fleet process exited with ${code}: ${errors.slice(-2000)}` })
      )
      Deferred.unsafeDone(ready, failure)
      Deferred.unsafeDone(done, failure)
    })
    yield* Deferred.await(ready)
    return {
      start: Effect.sync(() => {
        child.stdin?.write("go\n")
      }),
      result: Deferred.await(done),
      logs
    }
  })

/** Spawns every process, waits for all of them to be ready, and starts them together. */
export const runFleet = (configs: ReadonlyArray<Config>) =>
  Effect.gen(function*() {
    const processes = yield* Effect.forEach(configs, spawnProcess, { concurrency: "unbounded" })
    yield* Effect.forEach(processes, (p) => p.start, { discard: true })
    return processes
  })
