/**
 * The `sturdy` command: requests through a resilience policy with a timeline of attempts, backoff tables and
 * plots, and policy simulations.
 *
 * ```text
 * sturdy get|post|put|patch|delete|head URL [--header K:V]... [--data JSON] [--schema FILE]
 *        [--policy standard|none|FILE] [--retries N] [--timeout D] [--deadline D] [--json]
 *        [-x|--proxy URL] [--noproxy LIST] [--unix-socket PATH]
 * sturdy schedule [--base-delay D] [--factor F] [--max-delay D] [--jitter MODE] [--attempts N]
 *        [--seed S] [--seeds N] [--plot FILE]
 * sturdy simulate --scenario NAME|list [--policy NAME]... [--seed S] [--duration D]
 * sturdy scenarios
 * ```
 *
 * Durations are written `500ms`, `2s`, `1.5m`, `1h`; `--timeout none` and `--deadline none` set no limit. The exit
 * codes are in {@link ExitCode}.
 *
 * Like curl, and unlike the `@sturdy/node` library (whose `proxy` option is opt-in), a request goes through the
 * proxy of the environment when no `--proxy` is given: `https_proxy` / `HTTPS_PROXY` for an `https:` URL (then
 * `http_proxy` / `HTTP_PROXY`), `http_proxy` / `HTTP_PROXY` for an `http:` one, the hosts of `no_proxy` / `NO_PROXY`
 * (or `--noproxy`) excepted; `--proxy ""` uses none, and `--unix-socket` never does. A command line is what a user
 * expects to behave as curl does; a library must not change where requests go because of the environment. There is no
 * `--proxy-user`: credentials on a command line end up in shell history and `ps`; put them in the proxy variable's URL
 * instead. A proxy that refuses the tunnel exits 7 (`Connection`); a bad `--proxy`, `--noproxy`, proxy variable or
 * `--unix-socket` exits 2 naming it, and no output shows the proxy's credentials.
 *
 * @since 0.1.0
 */
import type * as CliApp from "@effect/cli/CliApp"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/cli.js"

/**
 * The services the command needs: a file system, paths and a terminal (`NodeContext.layer` provides them all).
 *
 * @since 0.1.0
 * @category models
 */
export type Environment = CliApp.CliApp.Environment

/**
 * The version `--version` prints.
 *
 * @example
 * ```ts
 * import { Cli } from "@sturdy/cli"
 *
 * console.log(Cli.version) // "0.1.0"
 * ```
 * @since 0.1.0
 * @category constants
 */
export const version: string = internal.version

/**
 * The root command with its subcommands, for embedding in another `@effect/cli` application.
 *
 * @example
 * ```ts
 * import { Command } from "@effect/cli"
 * import { Cli } from "@sturdy/cli"
 *
 * const app = Command.make("tools").pipe(Command.withSubcommands([Cli.command]))
 * ```
 * @since 0.1.0
 * @category commands
 */
export const command: typeof internal.command = internal.command

/**
 * Runs the command on `argv` (the arguments after the program name) and returns its exit code; it never fails.
 * Output goes through the `Console` service: the body or table to `Console.log` (stdout), the timeline, progress
 * and errors to `Console.error` (stderr). A response body that is not UTF-8 text is written byte for byte to
 * `process.stdout` instead.
 *
 * @example
 * ```ts
 * import { NodeContext, NodeRuntime } from "@effect/platform-node"
 * import { Cli } from "@sturdy/cli"
 * import { Effect } from "effect"
 *
 * Cli.run(["schedule", "--attempts", "5"]).pipe(
 *   Effect.flatMap((code) => Effect.sync(() => { process.exitCode = code })),
 *   Effect.provide(NodeContext.layer),
 *   NodeRuntime.runMain
 * )
 * ```
 * @since 0.1.0
 * @category running
 */
export const run: (argv: ReadonlyArray<string>) => Effect.Effect<number, never, Environment> = internal.run
