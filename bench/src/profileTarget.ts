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
const microseconds = () => Number(process.hrtime.bigint() / 1000n)
const start = microseconds()
const sample = await runLoad(client, 64, { durationMs: Number(milliseconds) })
const end = microseconds()
await client.close()
await server.close()
// the window is on the clock V8 stamps its samples with, so the summary can leave start-up out
console.log(JSON.stringify({ window: [start, end], sample }))
