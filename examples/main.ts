/**
 * Placeholder for the flagship example; replaced when the main-job issue lands.
 */
import { Console, Effect } from "effect"

Effect.runPromise(Console.log("sturdy: flagship example coming"))
