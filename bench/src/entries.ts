import { others } from "./clients.js"
import type { Entry } from "./harness.js"
import { sturdy } from "./sturdyClients.js"

/**
 * Every contender of the happy-path benchmark, in table order.
 */
export const entries: ReadonlyArray<Entry> = [...others.slice(0, 3), ...sturdy, ...others.slice(3)]

/**
 * Contenders the brief asked for that this version cannot measure yet, with the reason (listed in the results).
 */
export const notMeasured: ReadonlyArray<string> = []
