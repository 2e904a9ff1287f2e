/**
 * Quick transport benchmark (not wired into scripts): raw undici `Pool.request` vs `NodeHttpClient.layerUndici` vs
 * `UndiciHttpClient.layer`, concurrency 64, against a keep-alive server in a child process.
 *
 *   pnpm example bench/transport.ts [secondsPerRun=3] [rounds=2] [only=substring of a contender name]
 */
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { UndiciHttpClient } from "@sturdy/node"
import { Effect, Layer, Schema } from "effect"
import { spawn } from "node:child_process"
import { Agent, Pool } from "undici"

const serverSource = `
const http = require("node:http")
const body = JSON.stringify({ id: 1, name: "sturdy", tags: ["a", "b"], ok: true, n: 4 })
const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
})
server.keepAliveTimeout = 60000
server.listen(0, "127.0.0.1", () => process.send(server.address().port))
process.on("disconnect", () => process.exit(0))
`

const seconds = Number(process.argv[2] ?? 3)
const rounds = Number(process.argv[3] ?? 2)
const only = process.argv[4]
const concurrency = 64

const Payload = Schema.Struct({
  id: Schema.Number,
  name: Schema.String,
  tags: Schema.Array(Schema.String),
  ok: Schema.Boolean,
  n: Schema.Number
})

interface Result {
  readonly requests: number
  readonly elapsedMs: number
  readonly cpuMicros: number
}

const measure = async (run: (deadline: number) => Promise<number>): Promise<Result> => {
  const cpu = process.cpuUsage()
  const start = performance.now()
  const requests = await run(start + seconds * 1000)
  const elapsedMs = performance.now() - start
  const used = process.cpuUsage(cpu)
  return { requests, elapsedMs, cpuMicros: used.user + used.system }
}

const rawUndici = (url: string) => {
  const pool = new Pool(new URL(url).origin, { connections: concurrency })
  const run = async (deadline: number) => {
    let count = 0
    const worker = async () => {
      while (performance.now() < deadline) {
        const response = await pool.request({ method: "GET", path: "/item" })
        if (response.statusCode !== 200) throw new Error("status")
        await response.body.json()
        count++
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    return count
  }
  return { run, close: () => pool.destroy() }
}

const effectClient = (layer: Layer.Layer<HttpClient.HttpClient>, url: string) => {
  const program = (deadline: number) =>
    Effect.gen(function*() {
      const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
      let count = 0
      const worker = Effect.whileLoop({
        while: () => performance.now() < deadline,
        body: () =>
          client.get(`${url}/item`).pipe(
            Effect.flatMap(HttpClientResponse.schemaBodyJson(Payload)),
            Effect.orDie
          ),
        step: () => {
          count++
        }
      })
      yield* Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true })
      return count
    })
  return {
    run: (deadline: number) => Effect.runPromise(Effect.provide(program(deadline), layer)),
    close: () => Promise.resolve()
  }
}

const main = async () => {
  const child = spawn(process.execPath, ["-e", serverSource], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
  const port = await new Promise<number>((resolve) => child.once("message", (port) => resolve(port as number)))
  const url = `http://127.0.0.1:${port}`
  const contenders = {
    "undici Pool.request": () => rawUndici(url),
    "platform layerUndici": () =>
      effectClient(
        NodeHttpClient.layerUndiciWithoutDispatcher.pipe(
          Layer.provide(Layer.scoped(
            NodeHttpClient.Dispatcher,
            Effect.acquireRelease(Effect.sync(() => new Agent()), (agent) => Effect.promise(() => agent.destroy()))
          ))
        ),
        url
      ),
    "sturdy UndiciHttpClient": () => effectClient(UndiciHttpClient.layer(), url),
    "sturdy, connections: 64": () => effectClient(UndiciHttpClient.layer({ connections: concurrency }), url)
  }
  const totals: Record<string, Array<Result>> = {}
  for (let round = 0; round < rounds; round++) {
    for (const [name, makeContender] of Object.entries(contenders)) {
      if (only !== undefined && !name.includes(only)) continue
      const contender = makeContender()
      await contender.run(performance.now() + 300) // warm-up
      const result = await measure(contender.run)
      await contender.close()
      ;(totals[name] ??= []).push(result)
      console.log(
        `round ${round + 1} ${name.padEnd(26)} ${
          (result.requests / result.elapsedMs * 1000).toFixed(0).padStart(6)
        } req/s` +
          `  ${(result.cpuMicros / result.requests).toFixed(1).padStart(6)} µs CPU/req`
      )
    }
  }
  const rate = (name: string) => {
    const results = totals[name]
    const requests = results.reduce((sum, result) => sum + result.requests, 0)
    const elapsed = results.reduce((sum, result) => sum + result.elapsedMs, 0)
    return requests / elapsed * 1000
  }
  const baseline = totals["undici Pool.request"] === undefined ? Number.NaN : rate("undici Pool.request")
  console.log("\nsummary (all rounds)")
  for (const name of Object.keys(totals)) {
    console.log(
      `${name.padEnd(26)} ${rate(name).toFixed(0).padStart(6)} req/s  ${(rate(name) / baseline).toFixed(2)}× raw`
    )
  }
  child.kill()
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
