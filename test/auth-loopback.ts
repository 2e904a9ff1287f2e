// Helpers for the auth integration tests: a node:http server on 127.0.0.1 (port 0) and a tracer and logger that
// record everything, so the tests can search them for secrets.
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { TestTracer } from "@sturdy/testing"
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Undici from "undici"

/** A real undici client whose pool reuses at most 64 connections, so 1,000 concurrent calls queue instead of dialing. */
export const clientLayer = NodeHttpClient.layerUndiciWithoutDispatcher.pipe(
  Layer.provide(Layer.scoped(
    NodeHttpClient.Dispatcher,
    Effect.acquireRelease(
      Effect.sync(() => new Undici.Agent({ connections: 64 })),
      (agent) => Effect.promise(() => agent.destroy())
    )
  ))
)

const realPause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 10)))

/**
 * Joins a fiber whose real HTTP calls are interleaved with virtual sleeps: lets real I/O progress, then moves the
 * TestClock by `step`, until the fiber is done.
 */
export const driveUntilDone = <A, E>(fiber: Fiber.Fiber<A, E>, step: Duration.DurationInput = "500 millis") =>
  Effect.gen(function*() {
    for (let round = 0; round < 400; round++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* realPause
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.join(fiber)
  })

export interface Received {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

export type Handler = (request: Received, response: Http.ServerResponse) => void

export interface Loopback {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  readonly received: ReadonlyArray<Received>
  readonly count: (path: string) => number
}

export const listen = (handler: Handler): Effect.Effect<Loopback, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Http.Server; readonly loopback: Loopback }>((resume) => {
      const received: Array<Received> = []
      const server = Http.createServer((request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          const url = new URL(request.url ?? "/", "http://127.0.0.1")
          const entry: Received = {
            method: request.method ?? "",
            path: url.pathname,
            query: url.searchParams,
            headers: request.headers,
            body: Buffer.concat(chunks).toString("utf8")
          }
          received.push(entry)
          handler(entry, response)
        })
      })
      server.listen({ port: 0, host: "127.0.0.1", backlog: 2048 }, () => {
        const { port } = server.address() as Net.AddressInfo
        resume(Effect.succeed({
          server,
          loopback: {
            origin: `http://127.0.0.1:${port}`,
            received,
            count: (path) => received.filter((entry) => entry.path === path).length
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ loopback }) => loopback))

export const sendJson = (response: Http.ServerResponse, status: number, body: unknown): void => {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))
}

/** A tracer that keeps every span; `dump` renders names, attributes, events and failures as text to search. */
export const recordingTracer = () => {
  const collected = TestTracer.make()
  const dump = () =>
    collected.spans.map((span) =>
      [
        span.name,
        ...[...span.attributes].map(([key, value]) => `${key}=${String(value)}`),
        ...span.events.map((event) => `${event.name} ${Inspectable.toStringUnknown(event.attributes)}`),
        ...(span.status._tag === "Ended" && span.status.exit._tag === "Failure"
          ? [Cause.pretty(span.status.exit.cause)]
          : [])
      ].join("\n")
    ).join("\n")
  return { tracer: collected.tracer, spans: collected.spans, dump }
}

/** A logger that keeps every line in logfmt, causes included. */
export const recordingLogger = () => {
  const lines: Array<string> = []
  const logger = Logger.map(Logger.logfmtLogger, (line) => {
    lines.push(line)
  })
  return { layer: Logger.replace(Logger.defaultLogger, logger), lines }
}
