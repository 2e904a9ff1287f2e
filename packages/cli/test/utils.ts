import * as NodeContext from "@effect/platform-node/NodeContext"
import { Cli } from "@sturdy/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

/** What a run of the command showed a user. */
export interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const ansi = new RegExp(String.raw`\u001b\[[0-9;]*m`, "g")

const text = (args: ReadonlyArray<unknown>): string =>
  args.map((arg) => typeof arg === "string" ? arg : String(arg)).join(" ").replace(ansi, "")

/** A `Console` that records what would have gone to stdout and stderr. */
export const captureConsole = () => {
  const stdout: Array<string> = []
  const stderr: Array<string> = []
  const out = (...args: ReadonlyArray<unknown>) => {
    stdout.push(text(args))
  }
  const err = (...args: ReadonlyArray<unknown>) => {
    stderr.push(text(args))
  }
  const unsafe: Console.UnsafeConsole = {
    ...globalThis.console,
    log: out,
    info: out,
    debug: out,
    table: out,
    error: err,
    warn: err,
    trace: err
  }
  const lift = (f: (...args: ReadonlyArray<unknown>) => void) => (...args: ReadonlyArray<unknown>) =>
    Effect.sync(() => f(...args))
  const console: Console.Console = {
    [Console.TypeId]: Console.TypeId,
    assert: () => Effect.void,
    clear: Effect.void,
    count: () => Effect.void,
    countReset: () => Effect.void,
    debug: lift(out),
    dir: lift(out),
    dirxml: lift(out),
    error: lift(err),
    group: () => Effect.void,
    groupEnd: Effect.void,
    info: lift(out),
    log: lift(out),
    table: lift(out),
    time: () => Effect.void,
    timeEnd: () => Effect.void,
    timeLog: () => Effect.void,
    trace: lift(err),
    warn: lift(err),
    unsafe
  }
  return { console, stdout, stderr }
}

/** Runs `sturdy ...argv` in-process with a captured console and the Node file system. */
export const sturdy = (...argv: ReadonlyArray<string>): Effect.Effect<Ran> =>
  Effect.suspend(() => {
    const captured = captureConsole()
    return Cli.run(argv).pipe(
      Effect.withConsole(captured.console),
      Effect.provide(NodeContext.layer),
      Effect.map((code) => ({ code, stdout: captured.stdout.join("\n"), stderr: captured.stderr.join("\n") }))
    )
  })

/** A fresh temporary directory for files a test passes to the command. */
export const tempDir = (): string => Fs.mkdtempSync(Path.join(Os.tmpdir(), "sturdy-cli-"))

/** Writes `content` (JSON unless a string) to `name` in a fresh temporary directory and returns its path. */
export const tempFile = (name: string, content: unknown): string => {
  const file = Path.join(tempDir(), name)
  Fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content))
  return file
}

/** A policy file that retries quickly, so tests of retries take milliseconds. */
export const fastPolicy = (extra: Record<string, unknown> = {}): string =>
  tempFile("policy.json", { retry: { maxAttempts: 3, baseDelay: "10ms", maxDelay: "50ms" }, ...extra })

/** What a loopback server saw of one request. */
export interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

/** A plain HTTP server on 127.0.0.1 for the scope, logging each request (with its body) before `handler` answers. */
export const loopback = (handler: (request: Http.IncomingMessage, response: Http.ServerResponse) => void) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.async<{ readonly server: Http.Server; readonly seen: Array<Seen> }>((resume) => {
        const seen: Array<Seen> = []
        const server = Http.createServer((request, response) => {
          let body = ""
          request.on("data", (chunk) => (body += chunk))
          request.on("end", () => {
            seen.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body })
            handler(request, response)
          })
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, seen })))
      }),
      ({ server }) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    ),
    ({ seen, server }) => ({ url: `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`, seen })
  )

/** Runs an async fast-check property whose body is an Effect, as an Effect (for `it.effect`/`it.scopedLive`). */
export const check = <T>(
  arbitrary: fc.Arbitrary<T>,
  run: (value: T) => Effect.Effect<void>,
  params: fc.Parameters<[T]>
): Effect.Effect<void> =>
  Effect.promise(() => fc.assert(fc.asyncProperty(arbitrary, (value) => Effect.runPromise(run(value))), params))
