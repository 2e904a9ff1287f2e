/**
 * The process `node --cpu-prof` profiles: one contender at concurrency 64 for a while, nothing else.
 *
 *   node --cpu-prof --import tsx src/profileTarget.ts "<entry name>" <milliseconds> [pin]
 */
import { entries } from "./entries.js"
import { runLoad } from "./harness.js"
import { pin, startServer } from "./server.js"

const [name = "", milliseconds = "5000", pinFlag] = process.argv.slice(2)
const entry = entries.find((e) => e.name === name)
if (entry === undefined) {
  console.error(`no entry named ${name}; known: ${entries.map((e) => e.name).join(", ")}`)
  process.exit(2)
}
const server = await startServer(pinFlag === "pin" ? { cpu: 1 } : {})
if (pinFlag === "pin") pin(process.pid, 0)
const client = await entry.setup(server.url)
await runLoad(client, 64, { durationMs: 300 })
const sample = await runLoad(client, 64, { durationMs: Number(milliseconds) })
await client.close()
await server.close()
console.log(`${name}: ${sample.throughput.toFixed(0)} req/s, ${sample.cpuMicrosPerRequest.toFixed(1)} µs CPU/req`)
