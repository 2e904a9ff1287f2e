import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"
import * as Net from "node:net"

/** A redis-server started by a test, listening on 127.0.0.1. */
export interface RedisServer {
  readonly host: string
  readonly port: number
}

/** redis-server could not be started (not on PATH, or it exited before it was ready). */
export class RedisServerError extends Data.TaggedError("RedisServerError")<{ readonly reason: string }> {}

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export const freePort: Effect.Effect<number, RedisServerError> = Effect.async<number, RedisServerError>((resume) => {
  const server = Net.createServer()
  server.once("error", (error) => resume(Effect.fail(new RedisServerError({ reason: error.message }))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const spawnOn = (port: number): Effect.Effect<ChildProcess, RedisServerError> =>
  Effect.async<ChildProcess, RedisServerError>((resume) => {
    const child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "ignore"] }
    )
    let output = ""
    const detach = () => {
      child.stdout?.off("data", onData)
      child.off("error", onError)
      child.off("exit", onExit)
    }
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes("Ready to accept connections")) {
        detach()
        // keep draining stdout so a chatty server never blocks on a full pipe
        child.stdout?.resume()
        resume(Effect.succeed(child))
      }
    }
    const onError = (error: Error) => {
      detach()
      resume(Effect.fail(new RedisServerError({ reason: error.message })))
    }
    const onExit = (code: number | null) => {
      detach()
      resume(Effect.fail(new RedisServerError({ reason: `redis-server exited with ${code}: ${output.slice(-500)}` })))
    }
    child.stdout?.on("data", onData)
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
 * Starts `redis-server --port N --save "" --appendonly no` on a free loopback port and stops it when the scope
 * closes. Retries a few times in case another process took the port between choosing and binding it.
 */
export const startRedisServer: Effect.Effect<RedisServer, RedisServerError, Scope.Scope> = Effect.gen(function*() {
  const port = yield* freePort
  yield* Effect.acquireRelease(spawnOn(port), stop)
  return { host: "127.0.0.1", port }
}).pipe(Effect.retry({ times: 3 }))
