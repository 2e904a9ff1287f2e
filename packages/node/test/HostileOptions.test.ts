// Hostile option values for `UndiciHttpClient.makeDispatcher` (and so `layer`/`layerDispatcher`): each of its options
// fed wrong types, NaN, ±Infinity, -0, negatives, fractions, huge numbers, durations that do not parse, null, symbols,
// bigints and objects whose `valueOf` throws (the values of `@sturdy/policy`'s HostileOptions suite), in options that
// are plain, frozen, carry `__proto__`/`constructor` keys or have a throwing getter (fast-check, fixed seed). The
// dispatcher must either die with a `RangeError` naming the option (its documented pattern), or be made and answer a
// GET to a loopback server on 127.0.0.1. A throwing getter's own error passing through unchanged is allowed. The `tls`
// fields are fed inside a `tls` object (itself plain, frozen, polluting or with a throwing getter).
import { HttpClientRequest } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { UndiciHttpClient } from "@sturdy/node"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Http from "node:http"
import type * as Net from "node:net"
import {
  describeValue,
  GetterError,
  hostileValue,
  optionsWith,
  type Wrapper,
  wrapper
} from "../../policy/test/utils/hostile.js"

let server: Http.Server
let url: string

beforeAll(async () => {
  server = Http.createServer((_, response) => response.end("ok"))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  url = `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}/`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const fields = [
  "connections",
  "pipelining",
  "keepAliveTimeout",
  "keepAliveMaxTimeout",
  "connectTimeout",
  "headersTimeout",
  "bodyTimeout",
  "http2",
  "tls",
  "tls.ca",
  "tls.cert",
  "tls.key",
  "tls.passphrase",
  "tls.servername",
  "tls.rejectUnauthorized",
  "tls.minVersion"
]

/** The options with `field` set to `value`: a `tls.` field inside a `tls` object given in the same wrapper. */
const hostileOptions = (wrap: Wrapper, field: string, value: unknown): UndiciHttpClient.DispatcherOptions =>
  field.startsWith("tls.") ? { tls: optionsWith(wrap, {}, field.slice(4), value) } : optionsWith(wrap, {}, field, value)

describe("HostileOptions: UndiciHttpClient.makeDispatcher", () => {
  for (const field of fields) {
    it.live.prop(field, [wrapper, hostileValue], ([wrap, value]) =>
      Effect.gen(function*() {
        const label = `${field} <- ${describeValue(value)}`
        const exit = yield* Effect.exit(
          Effect.scoped(Effect.gen(function*() {
            const dispatcher = yield* UndiciHttpClient.makeDispatcher(hostileOptions(wrap, field, value))
            const response = yield* UndiciHttpClient.make(dispatcher).execute(HttpClientRequest.get(url))
            return yield* response.text
          })).pipe(Effect.timeout("5 seconds"))
        )
        if (Exit.isSuccess(exit)) {
          expect(exit.value, label).toBe("ok")
          return
        }
        const defect = Cause.squash(exit.cause)
        if (defect instanceof GetterError) return
        expect(defect, `${label}: ${String(defect)}`).toBeInstanceOf(RangeError)
        expect((defect as Error).message, label).toContain(field)
      }), { fastCheck: { seed: 20261206, numRuns: 30 } })
  }
})

describe("HostileOptions: UndiciHttpClient options argument", () => {
  it.effect("options that are no object are refused naming the options; null is no options", () =>
    Effect.gen(function*() {
      for (const options of ["connections=4", 4, true, [{ connections: 4 }]]) {
        const exit = yield* Effect.exit(
          Effect.scoped(UndiciHttpClient.makeDispatcher(options as UndiciHttpClient.DispatcherOptions))
        )
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect(defect, String(options)).toBeInstanceOf(RangeError)
        expect((defect as Error).message).toMatch(/UndiciHttpClient: options \(.*\) must be an object/)
      }
      const none = yield* Effect.exit(
        Effect.scoped(UndiciHttpClient.makeDispatcher(null as unknown as UndiciHttpClient.DispatcherOptions))
      )
      expect(Exit.isSuccess(none)).toBe(true)
    }))
})
