import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { body } from "./payload.js"

/**
 * The loopback server, run in its own Node process so that its work is not counted as the client's and does not
 * compete with it on the event loop. Plain JavaScript so the child starts without a TypeScript loader.
 */
const serverSource = (document: string) => `
const http = require("node:http")
const body = Buffer.from(${JSON.stringify(document)})
const headers = { "content-type": "application/json", "content-length": body.length }
const server = http.createServer((request, response) => {
  request.resume()
  response.writeHead(200, headers)
  response.end(body)
})
server.keepAliveTimeout = 60000
server.headersTimeout = 61000
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }))
process.on("message", (message) => {
  if (message === "cpu") process.send({ cpu: process.cpuUsage() })
})
process.on("disconnect", () => process.exit(0))
`

/**
 * A running benchmark server.
 */
export interface Server {
  readonly url: string
  readonly pid: number
  /** CPU time (user + system, µs) the server process has used so far. */
  readonly cpuMicros: () => Promise<number>
  readonly close: () => Promise<void>
}

const request = <A>(child: ChildProcess, message: string, pick: (reply: Record<string, unknown>) => A | undefined) =>
  new Promise<A>((resolve, reject) => {
    const onMessage = (reply: unknown) => {
      const value = typeof reply === "object" && reply !== null ? pick(reply as Record<string, unknown>) : undefined
      if (value === undefined) return
      child.off("message", onMessage)
      child.off("exit", onExit)
      resolve(value)
    }
    const onExit = (code: number | null) => reject(new Error(`benchmark server exited (${code})`))
    child.on("message", onMessage)
    child.once("exit", onExit)
    if (message !== "") child.send(message)
  })

/**
 * Starts the server on 127.0.0.1, port 0, optionally pinned to one CPU core.
 */
export const startServer = async (
  options: {
    readonly cpu?: number | undefined
    /** The response body, `payload.body` by default (tests serve a wrong one to check that clients validate). */
    readonly document?: string | undefined
  } = {}
): Promise<Server> => {
  const child = spawn(process.execPath, ["-e", serverSource(options.document ?? body)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  const port = await request(child, "", (reply) => typeof reply.port === "number" ? reply.port : undefined)
  if (options.cpu !== undefined && child.pid !== undefined) pin(child.pid, options.cpu)
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    cpuMicros: () =>
      request(child, "cpu", (reply) => {
        const cpu = reply.cpu as { user: number; system: number } | undefined
        return cpu === undefined ? undefined : cpu.user + cpu.system
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once("exit", () => resolve())
        child.disconnect()
      })
  }
}

/**
 * Whether `taskset` is available to pin processes to cores.
 */
export const canPin = (): boolean => {
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

/**
 * Pins every thread of process `pid` to core `cpu`.
 */
export const pin = (pid: number, cpu: number): void => {
  execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" })
}
