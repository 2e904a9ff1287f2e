/**
 * Runs the built-in scenarios with the policies that run real Sturdy code (naive loop, urllib3-like, sturdy), seed
 * after seed, until at least a million simulated upstream requests have been made, and prints the wall time and
 * the rate. Not a test: run it with
 *
 *   pnpm example packages/testing/scripts/simulate-million.ts [requests] [workers]
 *
 * Runs are independent, so they are spread over `workers` threads (default: one per core); each worker rebuilds the
 * scenario and the policy from their names, since Effects and closures cannot cross a thread boundary.
 */
import { Simulator } from "@sturdy/testing"
import * as os from "node:os"
import { isMainThread, parentPort, Worker } from "node:worker_threads"

type ScenarioName = keyof typeof Simulator.scenarios
type PolicyName = keyof typeof Simulator.policies

interface Job {
  readonly scenario: ScenarioName
  readonly policy: PolicyName
  readonly seed: number
}

interface Done {
  readonly job: Job
  readonly upstreamRequests: number
  /** Wall time of the run on its worker thread (Node 20 has no per-thread CPU time). */
  readonly millis: number
}

const scenarioNames = Object.keys(Simulator.scenarios) as Array<ScenarioName>
const policyNames: ReadonlyArray<PolicyName> = ["naiveLoop", "urllib3", "sturdy"]

const runJob = (job: Job): Done => {
  const started = performance.now()
  const report = Simulator.runSync(Simulator.scenarios[job.scenario], Simulator.policies[job.policy], {
    seed: job.seed
  })
  return { job, upstreamRequests: report.upstreamRequests, millis: performance.now() - started }
}

// A worker does not inherit tsx's loader: it registers it again, then loads this very file.
const workerSource = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}) })`

const main = async (): Promise<void> => {
  const target = Number(process.argv[2] ?? 1_000_000)
  const workerCount = Math.max(1, Number(process.argv[3] ?? os.availableParallelism()))
  let next = 0
  const nextJob = (): Job => {
    const index = next++
    const pair = index % (scenarioNames.length * policyNames.length)
    return {
      scenario: scenarioNames[Math.floor(pair / policyNames.length)],
      policy: policyNames[pair % policyNames.length],
      seed: 1 + Math.floor(index / (scenarioNames.length * policyNames.length))
    }
  }
  let requests = 0
  let runs = 0
  const byPolicy = new Map<string, { requests: number; millis: number }>()
  const started = performance.now()
  // the whole process: every worker thread, and the main thread that only hands out jobs
  const cpuStarted = process.cpuUsage()
  const record = (done: Done) => {
    runs++
    requests += done.upstreamRequests
    const entry = byPolicy.get(done.job.policy) ?? { requests: 0, millis: 0 }
    entry.requests += done.upstreamRequests
    entry.millis += done.millis
    byPolicy.set(done.job.policy, entry)
  }
  await Promise.all(Array.from({ length: workerCount }, () =>
    new Promise<void>((resolve, reject) => {
      // A simulation allocates a fiber per call and continuations by the million, nearly all short-lived: a larger
      // young generation (64 MB semi-spaces) scavenges less often, about 20% less time for the same run.
      const worker = new Worker(workerSource, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 192 } })
      worker.on("error", reject)
      worker.on("message", (done: Done) => {
        record(done)
        if (requests >= target) {
          void worker.terminate().then(() => resolve())
        } else {
          worker.postMessage(nextJob())
        }
      })
      worker.postMessage(nextJob())
    })))
  const wallSeconds = (performance.now() - started) / 1_000
  const cpu = process.cpuUsage(cpuStarted)
  const cpuSeconds = (cpu.user + cpu.system) / 1_000_000
  console.log(
    `${requests.toLocaleString("en")} simulated upstream requests in ${runs} runs on ${workerCount} worker(s): ` +
      `${wallSeconds.toFixed(1)} s wall, ${(requests / wallSeconds).toFixed(0)} requests/s; ` +
      `${cpuSeconds.toFixed(1)} s CPU (worker start-up included), ` +
      `${(requests / cpuSeconds).toFixed(0)} requests per CPU-second`
  )
  for (const [policy, entry] of byPolicy) {
    console.log(
      `  ${policy.padEnd(10)} ${entry.requests.toLocaleString("en").padStart(10)} requests, ` +
        `${(entry.requests / (entry.millis / 1_000)).toFixed(0)} per second of a worker thread`
    )
  }
}

if (isMainThread) {
  main().catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
} else {
  parentPort!.on("message", (job: Job) => parentPort!.postMessage(runJob(job)))
}
