/**
 * The entry point of the `sturdy` executable.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Cli from "./Cli.js"
import * as terminal from "./internal/terminal.js"

// the signal that interrupted the run, if one did: the exit code is then 128 + its number, as a shell reports it
let signal: NodeJS.Signals | undefined
const onSignal = (received: NodeJS.Signals) => {
  signal ??= received
}
process.once("SIGINT", onSignal)
process.once("SIGTERM", onSignal)

Cli.run(process.argv.slice(2)).pipe(
  Effect.flatMap((code) =>
    Effect.sync(() => {
      process.exitCode = code
    })
  ),
  // colour only for a terminal, and never with NO_COLOR set (no-color.org)
  terminal.withPlainOutput(terminal.colorSupport(process.env, process.stdout, process.stderr)),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    // exit with the command's code; a zero code lets Node exit by itself once stdout is flushed
    teardown: (exit, onExit) => onExit(terminal.exitCodeOf(exit, signal, Number(process.exitCode ?? 0)))
  })
)
