import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import axios from "axios"
import axiosRetry from "axios-retry"
import {
  circuitBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  timeout,
  TimeoutStrategy,
  wrap
} from "cockatiel"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { got } from "got"
import ky from "ky"
import { setMaxListeners } from "node:events"
import * as http from "node:http"
import { Pool } from "undici"
import { effectClient, type PromiseCaller } from "./effectClient.js"
import type { Entry } from "./harness.js"
import { Payload, validate } from "./payload.js"

/** The path every contender requests. */
export const path = "/item"

/** Sockets a pooled contender may open: enough for the highest concurrency measured. */
export const maxSockets = 64

/** Retries and timeouts configured alike across the contenders that have them. */
const retries = 2
const timeoutMs = 5_000

/** One GET of the document on undici's pool: the status checked, the body parsed by undici and validated by hand. */
const undiciGet = async (pool: Pool): Promise<void> => {
  const response = await pool.request({ method: "GET", path })
  if (response.statusCode !== 200) {
    await response.body.dump()
    throw new Error(`status ${response.statusCode}`)
  }
  validate(await response.body.json())
}

/**
 * The practical limit: undici's pool, the body parsed by undici, a hand validation.
 */
export const undiciRaw: Entry = {
  name: "undici",
  description: "raw undici `Pool.request` + `body.json()` + hand validation",
  setup: (url) => {
    const pool = new Pool(url, { connections: maxSockets })
    return {
      request: () => undiciGet(pool),
      close: () => pool.close()
    }
  }
}

const undiciInEffectVia = (caller: PromiseCaller): Entry["setup"] => (url) =>
  effectClient(
    Layer.empty,
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => new Pool(url, { connections: maxSockets })),
        (pool) => Effect.promise(() => pool.close())
      ),
      (pool) => Effect.promise(() => undiciGet(pool))
    ),
    caller
  )

/**
 * Raw undici's own calls wrapped in `Effect.promise`, nothing else: what running the same work as an Effect program
 * costs over raw undici (one `Runtime.runPromise` per request for the Promise caller), before any library does
 * anything. Not a floor for a transport that drives undici's dispatcher directly, as Sturdy's does.
 */
export const undiciInEffect: Entry = {
  name: "undici in Effect.promise",
  description: "raw undici `Pool.request` + `body.json()` + hand validation inside `Effect.promise`, one " +
    "`Runtime.runPromise` per request: what running raw undici's calls as an Effect program costs",
  setup: undiciInEffectVia("runPromise")
}

/**
 * The same, each request run through `@sturdy/policy`'s `Runner` instead of a root fiber of its own.
 */
export const undiciInEffectViaRunner: Entry = {
  name: "undici in Effect.promise via Runner",
  description: "the same, each request run by a `Runner` (`@sturdy/policy`): a pool of long-lived fibers instead " +
    "of a root fiber per request",
  setup: undiciInEffectVia("Runner")
}

/**
 * The Effect baseline: the platform's undici client, `filterStatusOk`, `schemaBodyJson`.
 */
export const platformBare: Entry = {
  name: "platform",
  description: "@effect/platform `NodeHttpClient.layerUndici` + `filterStatusOk` + `schemaBodyJson`",
  setup: (url) =>
    effectClient(
      NodeHttpClient.layerUndici,
      Effect.map(HttpClient.HttpClient, (client) => {
        const ok = HttpClient.filterStatusOk(client)
        return ok.get(url + path).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Payload)))
      })
    )
}

/**
 * The Effect baseline with the policies Effect has built in: a timeout per attempt, retries on a schedule.
 */
export const platformRetryTimeout: Entry = {
  name: "platform + retry + timeout",
  description: "the same with `Effect.timeout` per attempt and `Effect.retry` (exponential, 2 retries)",
  setup: (url) =>
    effectClient(
      NodeHttpClient.layerUndici,
      Effect.map(HttpClient.HttpClient, (client) => {
        const ok = HttpClient.filterStatusOk(client)
        return ok.get(url + path).pipe(
          Effect.flatMap(HttpClientResponse.schemaBodyJson(Payload)),
          Effect.timeout(timeoutMs),
          Effect.retry({ schedule: Schedule.exponential("100 millis"), times: retries })
        )
      })
    )
}

const keepAliveAgent = () => new http.Agent({ keepAlive: true, maxSockets })

/**
 * ky on Node's global `fetch` (its keep-alive dispatcher), with its retry and timeout options.
 */
export const kyClient: Entry = {
  name: "ky",
  description: "ky (Node's global `fetch`), `retry: 2`, `timeout: 5000`, hand validation",
  setup: (url) => {
    const api = ky.create({ prefixUrl: url, retry: retries, timeout: timeoutMs })
    return {
      request: async () => {
        validate(await api.get(path.slice(1)).json())
      },
      close: () => Promise.resolve()
    }
  }
}

/**
 * got on a keep-alive `http.Agent`, with its retry and timeout options.
 */
export const gotClient: Entry = {
  name: "got",
  description: "got on a keep-alive `http.Agent`, `retry.limit: 2`, `timeout.request: 5000`, hand validation",
  setup: (url) => {
    const agent = keepAliveAgent()
    const api = got.extend({
      prefixUrl: url,
      agent: { http: agent },
      retry: { limit: retries },
      timeout: { request: timeoutMs }
    })
    return {
      request: async () => {
        validate(await api.get(path.slice(1)).json())
      },
      close: async () => agent.destroy()
    }
  }
}

/**
 * axios on a keep-alive `http.Agent`, with axios-retry.
 */
export const axiosClient: Entry = {
  name: "axios + axios-retry",
  description: "axios on a keep-alive `http.Agent`, `timeout: 5000`, axios-retry `retries: 2`, hand validation",
  setup: (url) => {
    const agent = keepAliveAgent()
    const api = axios.create({ baseURL: url, httpAgent: agent, timeout: timeoutMs })
    axiosRetry(api, { retries, retryDelay: axiosRetry.exponentialDelay })
    return {
      request: async () => {
        validate((await api.get(path)).data)
      },
      close: async () => agent.destroy()
    }
  }
}

/**
 * cockatiel's retry, breaker and timeout around raw undici (the timeout's signal aborts the undici request).
 */
export const cockatielUndici: Entry = {
  name: "cockatiel + undici",
  description: "cockatiel `wrap(retry, circuitBreaker, timeout)` around raw undici + hand validation",
  setup: (url) => {
    const pool = new Pool(url, { connections: maxSockets })
    const policy = wrap(
      retry(handleAll, { maxAttempts: retries, backoff: new ExponentialBackoff() }),
      circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
      timeout(timeoutMs, TimeoutStrategy.Aggressive)
    )
    // One long-lived signal for the client (a shutdown signal, say): without one, cockatiel derives every call's
    // signal from a single shared never-aborted signal, and 64 concurrent calls trip Node's listener-leak warning.
    const shutdown = new AbortController()
    setMaxListeners(0, shutdown.signal)
    return {
      request: () =>
        policy.execute(async ({ signal }) => {
          const response = await pool.request({ method: "GET", path, signal })
          if (response.statusCode !== 200) {
            await response.body.dump()
            throw new Error(`status ${response.statusCode}`)
          }
          validate(await response.body.json())
        }, shutdown.signal),
      close: () => {
        shutdown.abort()
        return pool.close()
      }
    }
  }
}

/**
 * The contenders that do not depend on Sturdy.
 */
export const others: ReadonlyArray<Entry> = [
  undiciRaw,
  platformBare,
  platformRetryTimeout,
  cockatielUndici,
  kyClient,
  gotClient,
  axiosClient
]
