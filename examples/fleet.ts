/**
 * A fleet of three processes calling one failing upstream, first each with its own retry budget and breaker, then
 * sharing them through Redis. Prints how many requests the upstream received per logical call in each run.
 *
 * The upstream (a loopback `node:http` server) is down for the whole run: every request answers 503. Each process
 * (this file, started again as a child with `--worker`) makes 20 calls to `/budget` through a `Policy` with 3
 * attempts and a retry budget of 20 % + 10 retries per minute, and no breaker, then 20 calls to `/breaker` through
 * a `Policy` whose breaker opens after 5 failures in a row (no retries; the first process calls every 20 ms, the
 * others every 400 ms). The processes start together. With per-process state each process spends its own floor of
 * 10 retries and needs its own 5 failures to open; with the state on Redis the fleet spends one floor, and the busy
 * process's open breaker stops the quiet ones within 450 ms.
 *
 * Needs `redis-server` on the PATH (it is started on a free port on 127.0.0.1 and stopped at the end).
 *
 * Run: `pnpm example examples/fleet.ts`
 */
import { NodeHttpClient } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import { Policy, SturdyClient } from "@sturdy/http"
import { RetryBudget } from "@sturdy/policy"
import * as CircuitBreakerRedis from "@sturdy/policy/CircuitBreakerRedis"
import * as RetryBudgetRedis from "@sturdy/policy/RetryBudgetRedis"
import { Console, Effect, Exit, Layer, Logger } from "effect"
import { spawn } from "node:child_process"
import * as Http from "node:http"
import type * as Net from "node:net"
import { fileURLToPath, pathToFileURL } from "node:url"

const processes = 3
const callsPerProcess = 20

const budgetOnly: Policy.Options = {
  totalTimeout: "5 seconds",
  attemptTimeout: "1 second",
  retry: { baseDelay: "5 millis", maxDelay: "20 millis" },
  circuitBreaker: false
}

const breakerOnly: Policy.Options = {
  totalTimeout: "5 seconds",
  attemptTimeout: "1 second",
  // no retries, and no deposits in the budget of the same upstream that the first phase measures
  retry: { maxAttempts: 1, budget: false },
  circuitBreaker: { consecutiveFailures: 5, breakDuration: "30 seconds" }
}

// The default rule (20 % + 10 retries) over a minute, so that processes started seconds apart share one window
const budget = { window: "60 seconds" } as const

interface Worker {
  readonly upstream: string
  readonly redis?: { readonly host: string; readonly port: number } | undefined
}

// One process of the fleet: its own Sturdy runtime; prints its outcomes as one JSON line and exits.
const worker = (config: Worker, index: number) => {
  const shared = config.redis === undefined
    ? RetryBudget.layer(budget)
    : Layer.merge(
      // a generous timeout: a demo on a busy machine should share, not fall back (the default is 100 ms)
      RetryBudgetRedis.layer({
        ...config.redis,
        prefix: "fleet-example:budget:",
        retryBudget: { ...budget, timeout: "1 second" }
      }),
      CircuitBreakerRedis.layerStore({ ...config.redis, prefix: "fleet-example:breaker:" })
    )
  const callAll = (api: SturdyClient.SturdyClient, path: string, pauseMillis: number) =>
    Effect.gen(function*() {
      const outcomes: Record<string, number> = {}
      for (let i = 0; i < callsPerProcess; i++) {
        const exit = yield* Effect.exit(api.get(path))
        const tag = Exit.isSuccess(exit) ? "Success" : exit.cause._tag === "Fail" ? exit.cause.error._tag : "Defect"
        outcomes[tag] = (outcomes[tag] ?? 0) + 1
        yield* Effect.sleep(pauseMillis)
      }
      return outcomes
    })
  return Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const retrying = SturdyClient.makeWith(client, { baseUrl: config.upstream, policy: yield* Policy.make(budgetOnly) })
    const breaking = SturdyClient.makeWith(client, {
      baseUrl: config.upstream,
      policy: yield* Policy.make(breakerOnly)
    })
    // every process of the fleet starts calling at the same time (the parent says when)
    process.stdout.write("ready\n")
    yield* Effect.async<void>((resume) => {
      process.stdin.once("data", () => resume(Effect.void))
    })
    const retried = yield* callAll(retrying, "/budget", 20)
    // the first process is busy (a call every 20 ms), the others quiet (one every 400 ms): the busy one opens first
    const guarded = yield* callAll(breaking, "/breaker", index === 0 ? 20 : 400)
    process.stdout.write(JSON.stringify({ budget: retried, breaker: guarded }) + "\n")
  }).pipe(
    Effect.scoped,
    Effect.provide(Layer.merge(shared, NodeHttpClient.layerUndici)),
    // a process that falls back to its local state says so on stderr
    Effect.provide(
      Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => process.stderr.write(`${String(message)}\n`)))
    )
  )
}

// Starts `count` workers, lets them all go once every one is ready, and collects their result lines.
const runWorkers = (count: number, args: (index: number) => ReadonlyArray<string>) =>
  Effect.async<ReadonlyArray<string>>((resume) => {
    const lines: Array<string> = []
    let ready = 0
    let exited = 0
    const children = Array.from({ length: count }, (_, index) => {
      const child = spawn(process.execPath, args(index), { stdio: ["pipe", "pipe", "inherit"] })
      child.stdout.on("data", (chunk: Buffer) => {
        for (const line of chunk.toString().split("\n").filter(Boolean)) {
          if (line !== "ready") lines.push(line)
          else if (++ready === count) children.forEach((c) => c.stdin.write("go\n"))
        }
      })
      child.once("exit", () => {
        if (++exited === count) resume(Effect.succeed(lines))
      })
      return child
    })
    return Effect.sync(() => children.forEach((child) => child.kill("SIGKILL")))
  })

const redisServer = (port: number) =>
  Effect.acquireRelease(
    Effect.async<ReturnType<typeof spawn>, Error>((resume) => {
      const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", ""], {
        stdio: ["ignore", "pipe", "ignore"]
      })
      child.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("Ready to accept connections")) resume(Effect.succeed(child))
      })
      child.once("error", (error) => resume(Effect.fail(error)))
    }),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

const listen = (handler: Http.RequestListener) =>
  Effect.acquireRelease(
    Effect.async<Http.Server>((resume) => {
      const server = Http.createServer(handler)
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

const portOf = (server: Http.Server) => (server.address() as Net.AddressInfo).port

export const main = Effect.gen(function*() {
  const requests = { "/budget": 0, "/breaker": 0 }
  const upstream = yield* listen((request, response) => {
    if (request.url === "/budget" || request.url === "/breaker") requests[request.url]++
    response.writeHead(503, { "content-type": "application/json" }).end("{}")
  })
  // a free port for Redis: bind one, release it, start redis-server on it
  const probe = yield* Effect.scoped(Effect.map(listen(() => {}), portOf))
  yield* redisServer(probe)
  const script = fileURLToPath(import.meta.url)

  const fleet = (redis: Worker["redis"]) =>
    Effect.gen(function*() {
      requests["/budget"] = 0
      requests["/breaker"] = 0
      const config: Worker = { upstream: `http://127.0.0.1:${portOf(upstream)}`, redis }
      const lines = yield* runWorkers(
        processes,
        (
          index
        ) => [
          "--conditions=@sturdy/source",
          "--import",
          "tsx",
          script,
          "--worker",
          JSON.stringify(config),
          String(index)
        ]
      )
      return { ...requests, lines }
    })

  const logical = processes * callsPerProcess
  const report = (name: string, run: { readonly "/budget": number; readonly "/breaker": number }) =>
    Console.log(
      `${name.padEnd(32)} budget: ${String(run["/budget"]).padStart(3)} requests for ${logical} calls (${
        (run["/budget"] / logical).toFixed(2)
      }x)   breaker: ${String(run["/breaker"]).padStart(3)} requests for ${logical} calls`
    )
  const local = yield* fleet(undefined)
  yield* report("per-process budget and breaker:", local)
  const shared = yield* fleet({ host: "127.0.0.1", port: probe })
  yield* report("shared on Redis:", shared)
  yield* Console.log(
    `one process making all ${logical} calls would send at most ${
      logical + 10 + 0.2 * logical
    } requests under the budget`
  )
}).pipe(Effect.scoped)

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const at = process.argv.indexOf("--worker")
  Effect.runPromise(
    at >= 0 ? worker(JSON.parse(process.argv[at + 1]!) as Worker, Number(process.argv[at + 2] ?? 0)) : main
  ).then(
    () => process.exit(0),
    (error) => {
      console.error(error)
      process.exit(1)
    }
  )
}
