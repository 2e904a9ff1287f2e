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
  /**
   * The same load run by an Effect-native caller: the fibers of one running Effect program each loop the request
   * effect, with no `Runtime.runPromise` per request (see `effectClient`). Absent for contenders that are not
   * Effect programs, whose native caller is the Promise loop of `runLoad` itself.
   */
  readonly native?: ((concurrency: number, stop: Stop) => Promise<Sample>) | undefined
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
 * Records the latencies of one load, from its start to `sample()`, along with the process's CPU time over it.
 */
export class LoadRecorder {
  private latencies = new Float64Array(4096)
  private completed = 0
  private readonly cpuBefore = process.cpuUsage()
  /** When the load started (`performance.now()`). */
  readonly start = performance.now()

  /** Adds one completed request that took `ms` milliseconds. */
  record(ms: number): void {
    if (this.completed === this.latencies.length) {
      const grown = new Float64Array(this.latencies.length * 2)
      grown.set(this.latencies)
      this.latencies = grown
    }
    this.latencies[this.completed++] = ms
  }

  /** The measurements of the load so far. */
  sample(): Sample {
    const elapsedMs = performance.now() - this.start
    const cpu = process.cpuUsage(this.cpuBefore)
    const completed = this.completed
    const sorted = this.latencies.subarray(0, completed).sort()
    return {
      requests: completed,
      elapsedMs,
      throughput: completed / elapsedMs * 1000,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      cpuMicrosPerRequest: (cpu.user + cpu.system) / Math.max(1, completed)
    }
  }
}

/**
 * Whether a load should start another request, given how many it has started and when it started.
 */
export const keepGoing = (stop: Stop, started: () => number, start: number): () => boolean =>
  "count" in stop
    ? () => started() < stop.count
    : () => performance.now() - start < stop.durationMs

/**
 * Runs `concurrency` workers, each sending one request after the other, until the stop condition; the first failure
 * rejects the whole load (a benchmark that errors measures nothing).
 */
export const runLoad = async (client: Client, concurrency: number, stop: Stop): Promise<Sample> => {
  let started = 0
  const recorder = new LoadRecorder()
  const more = keepGoing(stop, () => started, recorder.start)
  const worker = async () => {
    while (more()) {
      started++
      const sent = performance.now()
      await client.request()
      recorder.record(performance.now() - sent)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return recorder.sample()
}

/**
 * Runs the load as the contender's Effect-native caller would (`client.native`), or, for a contender that has none,
 * as `runLoad` does.
 */
export const runNative = (client: Client, concurrency: number, stop: Stop): Promise<Sample> =>
  client.native === undefined ? runLoad(client, concurrency, stop) : client.native(concurrency, stop)
