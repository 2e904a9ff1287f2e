// Cases of undici's own DNS interceptor suite (nodejs/undici test/interceptors/dns.js: "Should recover on network errors
// (dual stack - 4 / 6)", "Should automatically resolve IPs (dual stack disabled - 4)", "Should throw when on dual-stack
// disabled"), run through `UndiciHttpClient`'s `dns` option: what undici promises there must hold under Sturdy's
// wrapper (its own storage, lookup adapter and SNI fix-up). Names come from a table lookup (loopback only), never DNS.
import { HttpClientRequest } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Attempt } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Effect } from "effect"
import * as Http from "node:http"
import type * as Net from "node:net"

type Lookup = NonNullable<UndiciHttpClient.DnsOptions["lookup"]>

const both = [{ address: "127.0.0.1", family: 4 }, { address: "::1", family: 6 }]

let v4Only: Http.Server
let v6Only: Http.Server
const served: Array<string | undefined> = []

const listen = (server: Http.Server, host: string) =>
  new Promise<number>((resolve) => server.listen(0, host, () => resolve((server.address() as Net.AddressInfo).port)))

beforeAll(async () => {
  const answer = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
    served.push(request.socket.localAddress)
    response.end("hello world!")
  }
  v4Only = Http.createServer(answer)
  v6Only = Http.createServer(answer)
  await Promise.all([listen(v4Only, "127.0.0.1"), listen(v6Only, "::1")])
})

afterAll(async () => {
  await Promise.all([v4Only, v6Only].map((server) =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  ))
})

/** A lookup answering `addresses` for every name (filtered by the family asked), recording each family asked. */
const table = (addresses: typeof both) => {
  const families: Array<number> = []
  const lookup: Lookup = (_hostname, options, callback) => {
    families.push(options.family)
    setImmediate(() => callback(null, addresses.filter((a) => options.family === 0 || a.family === options.family)))
  }
  return { families, lookup }
}

const getAll = (options: UndiciHttpClient.DispatcherOptions, url: string, times: number) =>
  Effect.scoped(Effect.gen(function*() {
    const client = UndiciHttpClient.make(yield* UndiciHttpClient.makeDispatcher(options))
    const out: Array<string> = []
    for (let i = 0; i < times; i++) {
      const result = yield* Attempt.send(client, HttpClientRequest.get(url), { timeout: "5 seconds" }).pipe(
        Effect.map((received) => received.text),
        Effect.catchAll((failure) => Effect.succeed(`${failure._tag} ${"reason" in failure ? failure.reason : ""}`))
      )
      out.push(result)
    }
    return out
  }))

const portOf = (server: Http.Server) => (server.address() as Net.AddressInfo).port

describe("peer: undici dns interceptor cases through UndiciHttpClient", () => {
  it.live("recovers on network errors (dual stack - 4): IPv4 refused, each request answered over IPv6", () =>
    Effect.gen(function*() {
      const { families, lookup } = table(both)
      const before = served.length
      const results = yield* getAll({ dns: { lookup } }, `http://localhost.sturdy.test:${portOf(v6Only)}/`, 3)
      expect(results).toEqual(["hello world!", "hello world!", "hello world!"])
      expect(served.slice(before)).toEqual(["::1", "::1", "::1"])
      // a retry that succeeded drops nothing: one lookup
      expect(families).toEqual([0])
    }))

  it.live("recovers on network errors (dual stack - 6): IPv6 refused, each request answered over IPv4", () =>
    Effect.gen(function*() {
      const { families, lookup } = table(both)
      const before = served.length
      const results = yield* getAll({ dns: { lookup } }, `http://localhost.sturdy.test:${portOf(v4Only)}/`, 3)
      expect(results).toEqual(["hello world!", "hello world!", "hello world!"])
      expect(served.slice(before)).toEqual(["127.0.0.1", "127.0.0.1", "127.0.0.1"])
      expect(families).toEqual([0])
    }))

  it.live("dual stack: IPv4 is used while the name has an IPv4 address (undici's default alternates the families)", () =>
    Effect.gen(function*() {
      const seenBy = { v4: 0, v6: 0 }
      const four = Http.createServer((_, response) => (seenBy.v4++, response.end("4")))
      const six = Http.createServer((_, response) => (seenBy.v6++, response.end("6")))
      const port = yield* Effect.promise(() => listen(four, "127.0.0.1"))
      yield* Effect.promise(() => new Promise<void>((resolve) => six.listen(port, "::1", resolve)))
      const { lookup } = table(both)
      const results = yield* getAll({ dns: { lookup } }, `http://both.sturdy.test:${port}/`, 4).pipe(
        Effect.ensuring(Effect.promise(() =>
          Promise.all([four, six].map((server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections()
              server.close(() => resolve())
            })
          ))
        ))
      )
      expect(results).toEqual(["4", "4", "4", "4"])
      expect(seenBy).toEqual({ v4: 4, v6: 0 })
    }))

  it.live("dual stack disabled: IPv4 only is looked up and used; an IPv6-only server is refused, never retried", () =>
    Effect.gen(function*() {
      const { families, lookup } = table(both)
      const before = served.length
      const ok = yield* getAll({ dns: { lookup, dualStack: false } }, `http://a.sturdy.test:${portOf(v4Only)}/`, 2)
      expect(ok).toEqual(["hello world!", "hello world!"])
      expect(served.slice(before)).toEqual(["127.0.0.1", "127.0.0.1"])
      expect(families).toEqual([4])
      const refused = yield* getAll({ dns: { lookup, dualStack: false } }, `http://b.sturdy.test:${portOf(v6Only)}/`, 1)
      expect(refused).toEqual(["ConnectionError Refused"])
    }))
})
