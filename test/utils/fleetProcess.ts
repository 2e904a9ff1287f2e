/**
 * One process of a fleet, for test/fleet.test.ts and examples/fleet.ts: its own Sturdy runtime (a Policy with its
 * own retry budget and breakers, or ones shared through Redis) calling one loopback upstream.
 *
 * Run as `node --import tsx test/utils/fleetProcess.ts '<Config as JSON>'` (test/utils/fleet.ts runs a bundle of it). It prints JSON lines on stdout:
 * `{"ready":true}` once its runtime is built, then waits for a line on stdin (the start signal, so that every
 * process of a fleet starts together), runs `calls` calls (or calls for `durationMillis`), prints one
 * `{"log": ...}` line per log line and a final `{"result": Result}` line, and exits.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Policy from "@sturdy/http/Policy"
import * as SturdyClient from "@sturdy/http/SturdyClient"
import * as BulkheadRedis from "@sturdy/policy/BulkheadRedis"
import * as CircuitBreakerRedis from "@sturdy/policy/CircuitBreakerRedis"
import * as RetryBudget from "@sturdy/policy/RetryBudget"
import * as RetryBudgetRedis from "@sturdy/policy/RetryBudgetRedis"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"

export interface Config {
  readonly upstream: string
  readonly path: string
  /** Redis to share through; unset: per-process budget and breakers. */
  readonly redis?: { readonly host: string; readonly port: number; readonly prefix: string } | undefined
  readonly calls?: number | undefined
  readonly durationMillis?: number | undefined
  readonly pauseMillis: number
  readonly policy: Policy.Options
  readonly budget: { readonly ratio: number; readonly minRetries: number; readonly window: Duration.DurationInput }
  readonly syncInterval?: Duration.DurationInput | undefined
  /** The retry budget's store timeout (default 100 ms). */
  readonly timeout?: Duration.DurationInput | undefined
  /** With `redis`: the policy's bulkheads share their permits through it too. */
  readonly sharedBulkhead?: boolean | undefined
  /** Calls run at once (default 1: one after the other); with it, `calls` calls are run. */
  readonly concurrency?: number | undefined
}

export interface Result {
  /** Outcome tag per call ("Success", "ServerError", "CircuitOpen", ...), in call order. */
  readonly outcomes: ReadonlyArray<string>
  /** Date.now() of each call's end, in call order. */
  readonly endedAt: ReadonlyArray<number>
  readonly maxCallMillis: number
}

const write = (line: unknown) => process.stdout.write(JSON.stringify(line) + "\n")

const tagOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "Success"
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  const tag = (failure as { _tag?: string } | undefined)?._tag
  return tag === "RetryBudgetExhausted" ? (failure as { failure: { _tag: string } }).failure._tag : tag ?? "Defect"
}

const waitForStart = Effect.async<void>((resume) => {
  process.stdin.once("data", () => resume(Effect.void))
})

const program = (config: Config) =>
  Effect.gen(function*() {
    const policy = yield* Policy.Policy
    const client = yield* HttpClient.HttpClient
    const api = SturdyClient.makeWith(client, { baseUrl: config.upstream, policy })
    write({ ready: true })
    yield* waitForStart
    const outcomes: Array<string> = []
    const endedAt: Array<number> = []
    let maxCallMillis = 0
    const started = Date.now()
    if (config.concurrency !== undefined) {
      const exits = yield* Effect.forEach(
        Array.from({ length: config.calls ?? 0 }),
        () => Effect.exit(api.get(config.path)),
        { concurrency: config.concurrency }
      )
      for (const exit of exits) {
        outcomes.push(tagOf(exit))
        endedAt.push(Date.now())
      }
    }
    for (let i = 0; config.concurrency === undefined; i++) {
      if (config.calls !== undefined && i >= config.calls) break
      if (config.durationMillis !== undefined && Date.now() - started >= config.durationMillis) break
      const begin = Date.now()
      const exit = yield* Effect.exit(api.get(config.path))
      const end = Date.now()
      maxCallMillis = Math.max(maxCallMillis, end - begin)
      outcomes.push(tagOf(exit))
      endedAt.push(end)
      if (config.pauseMillis > 0) yield* Effect.sleep(config.pauseMillis)
    }
    write({ result: { outcomes, endedAt, maxCallMillis } satisfies Result })
  })

const main = (config: Config) => {
  const budget = {
    ...config.budget,
    syncInterval: config.syncInterval ?? "50 millis",
    timeout: config.timeout ?? "100 millis"
  }
  const shared = config.redis === undefined
    ? RetryBudget.layer(config.budget)
    : Layer.mergeAll(
      RetryBudgetRedis.layer({ ...config.redis, prefix: `${config.redis.prefix}budget:`, retryBudget: budget }),
      CircuitBreakerRedis.layerStore({ ...config.redis, prefix: `${config.redis.prefix}breaker:` }),
      config.sharedBulkhead === true
        // a 2 s store timeout: at the default 100 ms a loaded machine makes a round trip late now and then, and
        // that call then goes to the process's local bulkhead, past the fleet's limit the test measures
        ? BulkheadRedis.layerStore({
          ...config.redis,
          prefix: `${config.redis.prefix}bulkhead:`,
          sync: { timeout: "2 seconds" }
        })
        : Layer.empty
    )
  const policyLayer = Policy.layer(config.policy).pipe(Layer.provide(shared))
  const logger = Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => write({ log: String(message) })))
  return program(config).pipe(
    Effect.provide(Layer.mergeAll(policyLayer, NodeHttpClient.layerUndici)),
    Effect.provide(logger)
  )
}

if (process.argv[2] !== undefined) {
  const config = JSON.parse(process.argv[2]) as Config
  Effect.runPromise(main(config)).then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(String(error) + "\n")
      process.exit(1)
    }
  )
}
