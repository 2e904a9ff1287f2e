import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as exitCode from "./exitCode.js"

/** Whether each stream may carry colour. */
export interface ColorSupport {
  readonly stdout: boolean
  readonly stderr: boolean
}

/** Colour only on a terminal, and never when `NO_COLOR` is set to anything but the empty string (no-color.org). */
export const colorSupport = (
  env: Readonly<Record<string, string | undefined>>,
  stdout: { readonly isTTY?: boolean | undefined },
  stderr: { readonly isTTY?: boolean | undefined }
): ColorSupport => {
  const allowed = (env.NO_COLOR ?? "") === ""
  return { stdout: allowed && stdout.isTTY === true, stderr: allowed && stderr.isTTY === true }
}

// CSI sequences (colours, bold, cursor moves) and OSC sequences (hyperlinks, titles)
const escapes = new RegExp(String.raw`\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)`, "g")

/** The text without terminal escape sequences. */
export const stripEscapes = (text: string): string => text.replace(escapes, "")

const plain = (args: ReadonlyArray<unknown>): Array<unknown> =>
  args.map((arg) => typeof arg === "string" ? stripEscapes(arg) : arg)

/**
 * Runs `self` with a console that strips escape sequences from what goes to a stream that may not carry colour
 * (`@effect/cli` colours its help and errors whatever the stream is).
 */
export const withPlainOutput = (support: ColorSupport) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  support.stdout && support.stderr ?
    self :
    Console.consoleWith((console) => Effect.withConsole(self, plainConsole(console, support)))

const plainConsole = (console: Console.Console, support: ColorSupport): Console.Console => {
  const out = <F extends (...args: ReadonlyArray<any>) => any>(f: F): F =>
    (support.stdout ? f : (...args: ReadonlyArray<unknown>) => f(...plain(args))) as F
  const err = <F extends (...args: ReadonlyArray<any>) => any>(f: F): F =>
    (support.stderr ? f : (...args: ReadonlyArray<unknown>) => f(...plain(args))) as F
  return {
    ...console,
    log: out(console.log),
    info: out(console.info),
    debug: out(console.debug),
    dir: out(console.dir),
    dirxml: out(console.dirxml),
    table: out(console.table),
    error: err(console.error),
    warn: err(console.warn),
    trace: err(console.trace),
    unsafe: {
      ...console.unsafe,
      log: out(console.unsafe.log),
      info: out(console.unsafe.info),
      debug: out(console.unsafe.debug),
      error: err(console.unsafe.error),
      warn: err(console.unsafe.warn),
      trace: err(console.unsafe.trace)
    }
  }
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }

/**
 * The process's exit code: the command's own; 128 + the signal's number when a signal interrupted it (130 for
 * Ctrl-C, 143 for SIGTERM, as a shell reports a process the signal killed); 1 for a defect.
 */
export const exitCodeOf = (
  exit: Exit.Exit<unknown, unknown>,
  signal: NodeJS.Signals | undefined,
  code: number
): number => {
  if (signal !== undefined) return 128 + (signalNumbers[signal] ?? 2)
  if (Exit.isSuccess(exit)) return code
  return Cause.isInterruptedOnly(exit.cause) ? exitCode.codes.Interrupted : exitCode.codes.Internal
}
