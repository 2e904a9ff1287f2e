/**
 * Profiles one contender with `node --cpu-prof` and prints where its CPU time goes.
 *
 *   pnpm --filter @sturdy/bench profile "sturdy standard stack" [milliseconds]
 */
import { profileEntry } from "./src/profileRun.js"
import { canPin } from "./src/server.js"

const [name = "sturdy standard stack", milliseconds = "6000"] = process.argv.slice(2)
console.log(await profileEntry(name, { durationMs: Number(milliseconds), pin: canPin() }))
