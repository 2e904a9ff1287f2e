import {
  others,
  platformBare,
  platformRetryTimeout,
  undiciInEffect,
  undiciInEffectViaRunner,
  undiciRaw
} from "./clients.js"
import type { Entry } from "./harness.js"
import { sturdy, sturdyViaRunner } from "./sturdyClients.js"

/**
 * Every contender of the happy-path benchmark, in table order: raw undici, the same in `Effect.promise` (what
 * running raw undici's calls as an Effect program costs), the platform's two, Sturdy's, then the other clients; last,
 * the Promise callers that run their requests through a `Runner` rather than `Runtime.runPromise`.
 */
export const entries: ReadonlyArray<Entry> = [
  undiciRaw,
  undiciInEffect,
  platformBare,
  platformRetryTimeout,
  ...sturdy,
  ...others.slice(3),
  undiciInEffectViaRunner,
  ...sturdyViaRunner
]

/**
 * The contenders measured again as Effect-native callers (the fibers of a running Effect program make the requests):
 * raw undici, whose native caller is its own Promise loop, the same in `Effect.promise`, and Sturdy's.
 */
export const nativeNames: ReadonlyArray<string> = [
  "undici",
  "undici in Effect.promise",
  "sturdy transport",
  "sturdy attempt",
  "sturdy standard stack",
  "sturdy Policy pipeline"
]

/**
 * Contenders the brief asked for that this version cannot measure yet, with the reason (listed in the results).
 */
export const notMeasured: ReadonlyArray<string> = []
