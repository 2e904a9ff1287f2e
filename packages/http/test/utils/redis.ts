// A copy of packages/policy/test/utils/redis.ts (test utils are per package): keep the two in step.
import { beforeAll, describe } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"
import * as Net from "node:net"
import type { TestOptions } from "vitest"
import { isCi, REDIS_SKIP_MARKER, redisServerOnPath } from "./redisAvailability.js"

export { isCi, REDIS_INSTALL_HINT, REDIS_SKIP_MARKER, redisServerOnPath } from "./redisAvailability.js"

/** A redis-server started by a test, listening on 127.0.0.1. */
export interface RedisServer {
  readonly host: string
  readonly port: number
}

/**
 * redis-server could not be started. `reason` says why: `NotInstalled` (not on the PATH), `PortInUse` (another
 * process took the port), `Exited` (it exited before it was ready, with `exitCode` and its last output), `NotReady`
 * (no "Ready to accept connections" in time) or `SpawnFailed` (the OS refused to start it).
 */
export class RedisServerError extends Data.TaggedError("RedisServerError")<{
  readonly reason: "NotInstalled" | "PortInUse" | "Exited" | "NotReady" | "SpawnFailed"
  readonly detail: string
  readonly port?: number | undefined
  readonly exitCode?: number | null | undefined
}> {
  override get message(): string {
    const on = this.port === undefined ? "" : ` on 127.0.0.1:${this.port}`
    switch (this.reason) {
      case "NotInstalled":
        return `cannot start redis-server: it is not on the PATH (apt-get install redis-server). ${this.detail}`
      case "PortInUse":
        return `cannot start redis-server${on}: the port is already in use. ${this.detail}`
      case "Exited":
        return `redis-server${on} exited with code ${this.exitCode} before it was ready. Its last output: ${this.detail}`
      case "NotReady":
        return `redis-server${on} did not report "Ready to accept connections" in time. ${this.detail}`
      case "SpawnFailed":
        return `cannot start redis-server${on}: ${this.detail}`
    }
  }
}

/**
 * `describe` for suites that need a real redis-server (started per test with {@link startRedisServer}):
 *
 * - redis-server on the PATH: the suite runs.
 * - missing, `CI` unset: the suite is skipped; the run ends with one line saying so and naming what to install
 *   (printed by `packages/policy/test/utils/redisSkipReporter.ts`, registered in `vitest.config.ts`: it counts suites by the marker, whichever package they are in).
 * - missing, `CI` set: the suite fails, every test with the reason. CI never skips the Redis tests.
 */
export const describeWithRedis = (
  name: string,
  fn: () => void,
  options?: number | TestOptions
): void => {
  if (redisServerOnPath() !== undefined) {
    describe(name, fn, options)
  } else if (!isCi()) {
    describe.skip(`${name} ${REDIS_SKIP_MARKER}`, fn, options)
  } else {
    describe(name, () => {
      beforeAll(() => {
        throw new RedisServerError({
          reason: "NotInstalled",
          detail: "CI=true: the Redis-backed tests must run in CI, so a missing redis-server is a failure."
        })
      })
      fn()
    }, options)
  }
}

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export const freePort: Effect.Effect<number, RedisServerError> = Effect.async<number, RedisServerError>((resume) => {
  const server = Net.createServer()
  server.once(
    "error",
    (error) =>
      resume(Effect.fail(new RedisServerError({ reason: "SpawnFailed", detail: `no free port: ${error.message}` })))
  )
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const readyTimeoutMillis = 15_000

const spawnOn = (port: number): Effect.Effect<ChildProcess, RedisServerError> =>
  Effect.async<ChildProcess, RedisServerError>((resume) => {
    const child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "pipe"] }
    )
    let output = ""
    const tail = () => output.trim().split("\n").slice(-5).join(" | ").slice(-800) || "(no output)"
    const detach = () => {
      clearTimeout(timer)
      child.stdout?.off("data", onData)
      child.stderr?.off("data", onData)
      child.off("error", onError)
      child.off("exit", onExit)
    }
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes("Ready to accept connections")) {
        detach()
        // keep draining the pipes so a chatty server never blocks on a full pipe
        child.stdout?.resume()
        child.stderr?.resume()
        resume(Effect.succeed(child))
      }
    }
    const onError = (error: NodeJS.ErrnoException) => {
      detach()
      resume(Effect.fail(
        error.code === "ENOENT"
          ? new RedisServerError({ reason: "NotInstalled", detail: `spawn failed: ${error.message}`, port })
          : new RedisServerError({ reason: "SpawnFailed", detail: error.message, port })
      ))
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      detach()
      resume(Effect.fail(
        /Address already in use/i.test(output)
          ? new RedisServerError({ reason: "PortInUse", detail: tail(), port, exitCode: code })
          : new RedisServerError({
            reason: "Exited",
            detail: signal === null ? tail() : `killed by ${signal}; ${tail()}`,
            port,
            exitCode: code
          })
      ))
    }
    const timer = setTimeout(() => {
      detach()
      child.kill("SIGKILL")
      resume(Effect.fail(
        new RedisServerError({ reason: "NotReady", detail: `waited ${readyTimeoutMillis} ms; ${tail()}`, port })
      ))
    }, readyTimeoutMillis)
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
    child.on("error", onError)
    child.on("exit", onExit)
    return Effect.sync(() => {
      detach()
      child.kill("SIGKILL")
    })
  })

const stop = (child: ChildProcess): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGTERM")
  })

/**
 * redis-server on a given port, until the scope closes: a server stopped and started again on the same port, as a
 * store's clients see an outage (`startRedisServer` picks a new port each time).
 */
export const startRedisServerOn = (port: number): Effect.Effect<void, RedisServerError, Scope.Scope> =>
  Effect.asVoid(Effect.acquireRelease(spawnOn(port), stop))

/** redis-server on a given port, and the effect that stops it (for a test that stops and starts it at will). */
export const redisServerOn = (port: number): Effect.Effect<Effect.Effect<void>, RedisServerError> =>
  Effect.map(spawnOn(port), stop)

/**
 * Starts `redis-server --port N --save "" --appendonly no` on a free loopback port and stops it when the scope
 * closes. Retries a few times when another process took the port between choosing and binding it; a missing binary
 * fails at once.
 */
export const startRedisServer: Effect.Effect<RedisServer, RedisServerError, Scope.Scope> = Effect.gen(function*() {
  const port = yield* freePort
  yield* Effect.acquireRelease(spawnOn(port), stop)
  return { host: "127.0.0.1", port }
}).pipe(Effect.retry({ times: 3, while: (error) => error.reason === "PortInUse" }))
