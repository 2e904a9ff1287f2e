import { bytesPerRequest } from "./allocation.js"
import type { Client, Entry, Sample, Stop } from "./harness.js"
import { runLoad } from "./harness.js"
import type { Server } from "./server.js"
import { median, shuffled } from "./stats.js"

/**
 * Settings of the happy-path benchmark.
 */
export interface HappyPathOptions {
  readonly rounds: number
  readonly durationMs: number
  readonly warmupMs: number
  readonly concurrencies: ReadonlyArray<number>
  /** Names of the entries the ratios are taken against. */
  readonly baselines: { readonly platform: string; readonly undici: string }
  readonly log?: ((line: string) => void) | undefined
  /**
   * Requests per contender and round over which allocation is measured (at the highest concurrency, after the timed
   * rounds, with V8's sampling heap profiler on); 0 or absent measures none.
   */
  readonly allocationRequests?: number | undefined
  /**
   * How a load is run, warm-up and socket re-opening included: `runLoad` (the default) as a Promise caller,
   * `runNative` as an Effect-native caller.
   */
  readonly load?: ((client: Client, concurrency: number, stop: Stop) => Promise<Sample>) | undefined
}

/**
 * One contender at one concurrency: medians over the rounds; the ratios are medians of the per-round ratios, each
 * taken against the baseline measured in the same round.
 */
export interface HappyPathRow {
  readonly name: string
  readonly description: string
  readonly concurrency: number
  readonly throughput: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly cpuMicrosPerRequest: number
  /** Server CPU time over wall time (1 = one core busy). */
  readonly serverCpu: number
  readonly vsPlatform: number
  readonly vsUndici: number
  /** The baseline's client CPU per request over this contender's (higher is better: 0.5 = twice the CPU). */
  readonly cpuVsPlatform: number
  readonly cpuVsUndici: number
  readonly samples: ReadonlyArray<Sample>
  /**
   * Bytes allocated in the client process per request, median over the rounds (measured at the highest concurrency
   * only, and only when asked for).
   */
  readonly bytesPerRequest?: number | undefined
}

interface Measured {
  readonly sample: Sample
  readonly serverCpu: number
}

const collectGarbage = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) gc()
}

/**
 * Runs every entry at every concurrency in interleaved rounds (each round runs every contender once, in an order drawn
 * from the round's number), so that a drift in the machine's load touches every contender alike. `warmupMs` is spent once per
 * contender, at the highest concurrency, before the first round.
 */
export const runHappyPath = async (
  entries: ReadonlyArray<Entry>,
  server: Server,
  options: HappyPathOptions
): Promise<Array<HappyPathRow>> => {
  const measured = new Map<string, Array<Measured>>()
  const allocated = new Map<string, Array<number>>()
  const key = (name: string, concurrency: number) => `${name}@${concurrency}`
  const highest = Math.max(...options.concurrencies)
  const load = options.load ?? runLoad
  // Every contender is set up and warmed once, then the rounds only measure: rounds stay short, so there can be
  // many of them, and a burst of outside load lands in one round's samples rather than in one contender's.
  const clients = new Map<string, Client>()
  try {
    for (const entry of entries) {
      const client = await entry.setup(server.url)
      clients.set(entry.name, client)
      if (options.warmupMs > 0) await load(client, highest, { durationMs: options.warmupMs })
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const entry of shuffled(entries, round)) {
        const client = clients.get(entry.name)!
        // re-opens sockets that idled out while the other contenders ran; not measured
        await load(client, highest, { count: highest * 2 })
        for (const concurrency of options.concurrencies) {
          collectGarbage()
          const serverBefore = await server.cpuMicros()
          const sample = await load(client, concurrency, { durationMs: options.durationMs })
          const serverCpu = (await server.cpuMicros() - serverBefore) / 1000 / sample.elapsedMs
          const list = measured.get(key(entry.name, concurrency)) ?? []
          list.push({ sample, serverCpu })
          measured.set(key(entry.name, concurrency), list)
          options.log?.(
            `round ${round + 1}/${options.rounds}  c=${String(concurrency).padEnd(3)} ${entry.name.padEnd(30)}` +
              `${sample.throughput.toFixed(0).padStart(7)} req/s  p50 ${sample.p50Ms.toFixed(2).padStart(6)} ms` +
              `  p99 ${sample.p99Ms.toFixed(2).padStart(7)} ms  ${
                sample.cpuMicrosPerRequest.toFixed(1).padStart(6)
              } µs CPU/req` +
              `  server ${(serverCpu * 100).toFixed(0)}%`
          )
        }
      }
    }
    const allocationRequests = options.allocationRequests ?? 0
    if (allocationRequests > 0) {
      for (let round = 0; round < options.rounds; round++) {
        for (const entry of shuffled(entries, round)) {
          const client = clients.get(entry.name)!
          collectGarbage()
          const bytes = await bytesPerRequest(client, { concurrency: highest, requests: allocationRequests })
          const list = allocated.get(entry.name) ?? []
          list.push(bytes)
          allocated.set(entry.name, list)
          options.log?.(
            `allocation round ${round + 1}/${options.rounds}  c=${String(highest).padEnd(3)} ${entry.name.padEnd(30)}` +
              `${bytes.toFixed(0).padStart(8)} bytes/req`
          )
        }
      }
    }
  } finally {
    for (const client of clients.values()) await client.close()
  }
  const rows: Array<HappyPathRow> = []
  for (const concurrency of options.concurrencies) {
    const roundRatio = (name: string, baseline: string, ratio: (own: Sample, base: Sample) => number) => {
      const own = measured.get(key(name, concurrency)) ?? []
      const base = measured.get(key(baseline, concurrency)) ?? []
      return median(own.map((m, round) => {
        const other = base[round]
        return other === undefined ? Number.NaN : ratio(m.sample, other.sample)
      }))
    }
    const throughputRatio = (own: Sample, base: Sample) => own.throughput / base.throughput
    const cpuRatio = (own: Sample, base: Sample) => base.cpuMicrosPerRequest / own.cpuMicrosPerRequest
    for (const entry of entries) {
      const list = measured.get(key(entry.name, concurrency)) ?? []
      const bytes = concurrency === highest ? allocated.get(entry.name) : undefined
      const samples = list.map((m) => m.sample)
      rows.push({
        name: entry.name,
        description: entry.description,
        concurrency,
        throughput: median(samples.map((s) => s.throughput)),
        p50Ms: median(samples.map((s) => s.p50Ms)),
        p99Ms: median(samples.map((s) => s.p99Ms)),
        cpuMicrosPerRequest: median(samples.map((s) => s.cpuMicrosPerRequest)),
        serverCpu: median(list.map((m) => m.serverCpu)),
        vsPlatform: roundRatio(entry.name, options.baselines.platform, throughputRatio),
        vsUndici: roundRatio(entry.name, options.baselines.undici, throughputRatio),
        cpuVsPlatform: roundRatio(entry.name, options.baselines.platform, cpuRatio),
        cpuVsUndici: roundRatio(entry.name, options.baselines.undici, cpuRatio),
        samples,
        ...(bytes === undefined ? {} : { bytesPerRequest: median(bytes) })
      })
    }
  }
  return rows
}
