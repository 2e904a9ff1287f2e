/**
 * A contender in the happy-path benchmark: `setup` connects to the server at `url`, `request` performs one GET of the
 * document, checks the status and validates the body, and rejects on any failure.
 */
export interface Entry {
  readonly name: string
  /** One line on what the contender is, for the results table. */
  readonly description: string
  readonly setup: (url: string) => Promise<Client> | Client
}

/**
 * A contender ready to send.
 */
export interface Client {
  readonly request: () => Promise<void>
  readonly close: () => Promise<void>
}

/**
 * How long a load runs: for `durationMs` milliseconds, or until `count` requests have completed.
 */
export type Stop = { readonly durationMs: number } | { readonly count: number }

/**
 * The measurements of one load.
 */
export interface Sample {
  readonly requests: number
  readonly elapsedMs: number
  /** Requests per second. */
  readonly throughput: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Client CPU time (user + system) per request, in microseconds. */
  readonly cpuMicrosPerRequest: number
}

const quantile = (sorted: Float64Array, q: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

/**
 * Runs `concurrency` workers, each sending one request after the other, until the stop condition; the first failure
 * rejects the whole load (a benchmark that errors measures nothing).
 */
export const runLoad = async (client: Client, concurrency: number, stop: Stop): Promise<Sample> => {
  let latencies = new Float64Array(4096)
  let completed = 0
  let started = 0
  const record = (ms: number) => {
    if (completed === latencies.length) {
      const grown = new Float64Array(latencies.length * 2)
      grown.set(latencies)
      latencies = grown
    }
    latencies[completed++] = ms
  }
  const cpuBefore = process.cpuUsage()
  const start = performance.now()
  const keepGoing: () => boolean = "count" in stop
    ? () => started < stop.count
    : () => performance.now() - start < stop.durationMs
  const worker = async () => {
    while (keepGoing()) {
      started++
      const sent = performance.now()
      await client.request()
      record(performance.now() - sent)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsedMs = performance.now() - start
  const cpu = process.cpuUsage(cpuBefore)
  const sorted = latencies.subarray(0, completed).sort()
  return {
    requests: completed,
    elapsedMs,
    throughput: completed / elapsedMs * 1000,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    cpuMicrosPerRequest: (cpu.user + cpu.system) / Math.max(1, completed)
  }
}
