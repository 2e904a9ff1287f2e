import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Http from "node:http"
import * as Net from "node:net"
import * as FaultScript from "../FaultScript.js"
import type * as FaultServer from "../FaultServer.js"
import * as engine from "./faultScript.js"

const flatHeaders = (headers: Http.IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

const handle = (
  state: engine.Engine,
  clock: Clock.Clock,
  request: Http.IncomingMessage,
  response: Http.ServerResponse
): void => {
  const requestHeaders = flatHeaders(request.headers)
  const entry = state.arrive({
    method: request.method ?? "GET",
    path: request.url ?? "/",
    headers: requestHeaders,
    nowMillis: clock.unsafeCurrentTimeMillis()
  })
  const socket: Net.Socket = request.socket
  const timers = new Set<NodeJS.Timeout>()
  const later = (millis: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      run()
    }, millis)
    timers.add(timer)
  }
  response.on("close", () => {
    for (const timer of timers) clearTimeout(timer)
    if (response.writableFinished) entry.finish()
    entry.close()
  })
  request.resume()

  const fault = entry.decision.fault
  switch (fault._tag) {
    case "Hang":
      return
    case "Reset":
      return later(fault.latencyMillis, () => {
        entry.finish()
        socket.resetAndDestroy()
      })
    case "ConnectFailure":
    case "StreamReset":
    case "Respond":
    case "EventStream":
    case "Resource":
      return later(fault.latencyMillis, () => {
        // a connection that never opened cannot be played on this one, which is open, nor an HTTP/2 stream reset on
        // HTTP/1.1: answered as `unplayableFault`
        const answer = fault._tag === "ConnectFailure" || fault._tag === "StreamReset" ?
          engine.unplayableFault(fault) :
          fault
        let plan = engine.planAnswer(answer, clock.unsafeCurrentTimeMillis(), request.method ?? "GET", requestHeaders)
        try {
          response.writeHead(plan.status, plan.headers)
        } catch (error) {
          // Node refuses what it cannot send (a header value with a newline, say). Thrown here, inside a timer, it
          // would be an uncaught exception that ends the test process: answer a 500 that says why instead.
          const reason = error instanceof Error ? error.message : String(error)
          plan = engine.plan(
            engine.invalidFault(reason.replace(/[^\x20-\x7e]/g, "?")),
            clock.unsafeCurrentTimeMillis(),
            request.method
          )
          try {
            response.writeHead(plan.status, plan.headers)
          } catch {
            entry.finish()
            return socket.resetAndDestroy()
          }
        }
        response.flushHeaders()
        const sendFrom = (index: number): void => {
          if (index < plan.chunks.length) {
            const chunk = plan.chunks[index]
            return later(chunk.delayMillis, () => {
              response.write(chunk.bytes)
              sendFrom(index + 1)
            })
          }
          switch (plan.ending) {
            case "complete":
              return void response.end()
            case "reset":
              // wait until the partial body is handed to the kernel, so the client sees it before the RST
              return void response.write(new Uint8Array(0), () => {
                entry.finish()
                socket.resetAndDestroy()
              })
            case "truncated":
              return void response.write(new Uint8Array(0), () => {
                entry.finish()
                socket.end()
              })
            case "hang": {
              // open until the client goes away (the close handler clears the timers), beating when asked to
              const heartbeat = plan.heartbeat
              if (heartbeat === undefined) return
              const beat = (): void =>
                later(heartbeat.everyMillis, () => {
                  response.write(heartbeat.bytes)
                  beat()
                })
              return beat()
            }
          }
        }
        sendFrom(0)
      })
  }
}

/** @internal */
export const make = (routes: FaultScript.Routes) =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const state = new engine.Engine(routes, clock.unsafeCurrentTimeMillis())
    const server = Http.createServer((request, response) => handle(state, clock, request, response))
    server.keepAliveTimeout = 1000
    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    const service: FaultServer.FaultServer = { ...state.service(), url: `http://127.0.0.1:${port}`, port }
    return service
  })

/** @internal */
export const layer = (
  tag: Context.Tag<FaultServer.FaultServer, FaultServer.FaultServer>,
  routes: FaultScript.Routes
): Layer.Layer<FaultServer.FaultServer | FaultScript.FaultLog> =>
  Layer.scopedContext(
    Effect.map(make(routes), (server) => Context.make(tag, server).pipe(Context.add(FaultScript.FaultLog, server)))
  )

/** @internal */
export const refusedUrl: Effect.Effect<string> = Effect.async<string>((resume) => {
  // a port the OS hands out, closed again: nothing listens there, so a connect to it is refused
  const probe = Net.createServer()
  probe.once("error", (error) => resume(Effect.die(error)))
  probe.listen(0, "127.0.0.1", () => {
    const address = probe.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    probe.close(() => resume(Effect.succeed(`http://127.0.0.1:${port}`)))
  })
})
