/**
 * Cases from peer pollers' suites, run against `Poll` over `@sturdy/node`'s undici transport and real `node:http`
 * servers on 127.0.0.1 (`test/utils/loopbackServer.ts`); the waits are a millisecond (`Retry-After: 0` and a 1 ms
 * schedule), and the timing cases run on the TestClock against a scripted poll. Each case names its source.
 *
 * - @azure/core-lro (Azure/azure-sdk-for-js, `sdk/core/core-lro/test/lro.spec.ts`): "No polling" (delete204Succeeded,
 *   put201Succeeded), the `Location` cases (post202Retry200 and delete202NoRetry204, whose monitor moves to a new
 *   `Location`; put202Retry200, post200WithPayload: the monitor's 200 is the result), "Polling from
 *   Azure-AsyncOperation / Operation-Location" (postDoubleHeadersFinalLocationGet for both header names: the status
 *   monitor says succeeded, the result is the 202's `Location`), putAsyncRetryFailed (adapted: its first answer is a
 *   200 there, which Sturdy takes as the result, so a 202 here; the monitor's `Failed` is a `PollError` where core-lro
 *   throws "The long-running operation has failed"). By default Sturdy takes any 2xx other than 202 as the result,
 *   where core-lro also polls a PUT/PATCH whose first answer is a 200/201 carrying a non-terminal `provisioningState`
 *   and a 200/201 with a monitor header; with `initial: "any"` it reads them as core-lro does: "Polling from body"
 *   (put200Succeeded, the terminal state without provisioningState, creating followed by success through an Azure
 *   Resource, put200UpdatingSucceeded204, put201CreatingFailed200 and put200Acceptedcanceled200 as `PollError`s),
 *   deleteNoHeaderInRetry (DELETE 200 + Location), and for both monitor headers putAsyncNoHeaderInRetry (PUT 201),
 *   patchAsyncNoLocationHeader (PATCH 201), postUpdatedPollingUrl and post202List (POST 200), putAsyncRetryFailed
 *   as it is there (PUT 200).
 * - @smithy/util-waiter (smithy-lang/smithy-typescript, `packages/util-waiter/src/poller.spec.ts`): "returns state
 *   and reason in case of success / failure" (one poll, no wait), "sleeps as per exponentialBackoff in case of retry"
 *   (with `Math.random` 0.5 there, Effect's `Random.fixed([0.5])` here: 2, 3, 5, 9, then 30 s), "resolves after the
 *   last attempt before reaching maxWaitTime" (TIMEOUT: `TimedOut`), "should truncate delay to fire a last poll
 *   before timeout", "resolves when abortController is signalled" (here: interruption; no poll after it). From
 *   `packages/util-waiter/src/utils/validate.spec.ts`: minDelay above maxDelay, and non-positive delays and wait, are
 *   refused (`InvalidOptions`); smithy also refuses `maxWaitTime ≤ minDelay`, which Sturdy accepts (the first wait is
 *   cut to `maxWait`).
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Policy, Poll } from "@sturdy/http"
import { Clock, Duration, Effect, Either, Exit, Fiber, Random, Schedule, Schema, TestClock } from "effect"
import type * as Http from "node:http"
import * as Loopback from "./utils/loopbackServer.js"
import { undiciClient } from "./utils/undiciClient.js"

type Route = {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body?: unknown
}

/** A server answering each `METHOD path` with its routes in turn (the last one again after). */
const scriptedServer = (routes: Readonly<Record<string, ReadonlyArray<Route>>>) => {
  const served: Record<string, number> = {}
  const handler: Loopback.Handler = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
    const key = `${request.method} ${(request.url ?? "/").split("?", 1)[0]}`
    const list = routes[key]
    if (list === undefined) {
      response.writeHead(404).end()
      return
    }
    const n = served[key] ?? 0
    served[key] = n + 1
    const route = list[Math.min(n, list.length - 1)]
    const body = route.body === undefined ? undefined : JSON.stringify(route.body)
    response.writeHead(route.status, {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...route.headers
    })
    response.end(body)
  }
  return Loopback.start({ "*": handler })
}

/** `Poll.operation` of `method path` on `server`, each request one `Attempt.send` over the undici transport. */
const operate = (
  server: Loopback.LoopbackServer,
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  path: string,
  options: Poll.OperationOptions = {}
) =>
  Effect.gen(function*() {
    const client = yield* undiciClient
    return yield* Effect.either(
      Poll.operation(
        HttpClientRequest.make(method)(`${server.url}${path}`),
        (request) => Attempt.send(client, request),
        { schedule: Schedule.spaced("1 millis"), ...options }
      )
    )
  })

const trail = (server: Loopback.LoopbackServer) => server.requests.map((r) => `${r.method} ${r.url}`)
const bodyOf = (result: Either.Either<Attempt.Received, unknown>) =>
  Either.isRight(result) ? (result.right.text === "" ? undefined : JSON.parse(result.right.text)) : result.left

describe("@azure/core-lro test/lro.spec.ts", () => {
  it.scopedLive("No polling: delete204Succeeded, put201Succeeded", () =>
    Effect.gen(function*() {
      const server = yield* scriptedServer({
        "DELETE /delete/204/succeeded": [{ status: 204 }],
        "PUT /put/201/succeeded": [{
          status: 201,
          body: { properties: { provisioningState: "Succeeded" }, id: "100", name: "foo" }
        }]
      })
      const deleted = yield* operate(server, "DELETE", "/delete/204/succeeded")
      expect(Either.isRight(deleted) && deleted.right.status).toBe(204)
      const put = yield* operate(server, "PUT", "/put/201/succeeded")
      expect(bodyOf(put)).toMatchObject({ id: "100", name: "foo" })
      expect(server.requests).toHaveLength(2)
    }))

  it.scopedLive("post202Retry200 and delete202NoRetry204: a pending answer's new Location moves the monitor", () =>
    Effect.gen(function*() {
      const server = yield* scriptedServer({
        "POST /post/202/retry/200": [{
          status: 202,
          headers: { location: "/post/202/retry/200", "retry-after": "0" }
        }],
        "GET /post/202/retry/200": [{ status: 202, headers: { location: "/post/newuri/202/retry/200" } }],
        "GET /post/newuri/202/retry/200": [{
          status: 200,
          body: { properties: { provisioningState: "Succeeded" }, id: "100", name: "foo" }
        }],
        "DELETE /delete/202/noretry/204": [{ status: 202, headers: { location: "/delete/202/noretry/204" } }],
        "GET /delete/202/noretry/204": [{ status: 202, headers: { location: "/delete/newuri/202/noretry/204" } }],
        "GET /delete/newuri/202/noretry/204": [{ status: 204 }]
      })
      const posted = yield* operate(server, "POST", "/post/202/retry/200")
      expect(Either.isRight(posted) && posted.right.status).toBe(200)
      expect(bodyOf(posted)).toMatchObject({ id: "100" })
      const deleted = yield* operate(server, "DELETE", "/delete/202/noretry/204")
      expect(Either.isRight(deleted) && deleted.right.status).toBe(204)
      expect(trail(server)).toEqual([
        "POST /post/202/retry/200",
        "GET /post/202/retry/200",
        "GET /post/newuri/202/retry/200",
        "DELETE /delete/202/noretry/204",
        "GET /delete/202/noretry/204",
        "GET /delete/newuri/202/noretry/204"
      ])
    }))

  it.scopedLive("put202Retry200, post200WithPayload: a Location monitor's 200 is the result, no further GET", () =>
    Effect.gen(function*() {
      const server = yield* scriptedServer({
        "PUT /put/202/retry/200": [{ status: 202, headers: { location: "/put/202/retry/operationResults/200" } }],
        "GET /put/202/retry/operationResults/200": [{ status: 200, body: { id: "100", name: "foo" } }],
        "POST /post/payload/200": [{ status: 202, headers: { location: "/post/payload/200", "retry-after": "0" } }],
        "GET /post/payload/200": [{ status: 200, body: { id: "1", name: "product" } }]
      })
      const put = yield* operate(server, "PUT", "/put/202/retry/200")
      expect(bodyOf(put)).toEqual({ id: "100", name: "foo" })
      const posted = yield* operate(server, "POST", "/post/payload/200")
      expect(bodyOf(posted)).toEqual({ id: "1", name: "product" })
      expect(server.requests).toHaveLength(4)
    }))

  for (const headerName of ["Azure-AsyncOperation", "Operation-Location"]) {
    it.scopedLive(`Polling from ${headerName}: postDoubleHeadersFinalLocationGet`, () =>
      Effect.gen(function*() {
        const server = yield* scriptedServer({
          "POST /LROPostDoubleHeadersFinalLocationGet": [{
            status: 202,
            headers: {
              location: "/LROPostDoubleHeadersFinalLocationGet/location",
              [headerName]: "/LROPostDoubleHeadersFinalLocationGet/asyncOperationUrl"
            }
          }],
          "GET /LROPostDoubleHeadersFinalLocationGet/asyncOperationUrl": [
            { status: 200, body: { status: "running" } },
            { status: 200, body: { status: "succeeded" } }
          ],
          "GET /LROPostDoubleHeadersFinalLocationGet/location": [{ status: 200, body: { id: "100", name: "foo" } }]
        })
        const result = yield* operate(server, "POST", "/LROPostDoubleHeadersFinalLocationGet")
        expect(bodyOf(result)).toEqual({ id: "100", name: "foo" })
        expect(server.hits("/LROPostDoubleHeadersFinalLocationGet/asyncOperationUrl")).toBe(2)
        expect(server.hits("/LROPostDoubleHeadersFinalLocationGet/location")).toBe(1)
      }))

    it.scopedLive(`Polling from ${headerName}: putAsyncRetryFailed (adapted) is a PollError Failed`, () =>
      Effect.gen(function*() {
        const pollingPath = "/putlocation/retry/failed/operationResults/200/"
        const server = yield* scriptedServer({
          "PUT /putasync/retry/failed": [{
            status: 202,
            headers: { location: pollingPath, [headerName]: pollingPath, "retry-after": "0" }
          }],
          [`GET ${pollingPath}`]: [
            { status: 202, headers: { "retry-after": "0" }, body: { status: "Accepted" } },
            { status: 200, body: { status: "Failed" } }
          ]
        })
        const result = yield* operate(server, "PUT", "/putasync/retry/failed")
        expect(Either.isLeft(result) && result.left).toMatchObject({
          _tag: "PollError",
          reason: "Failed",
          polls: 2,
          last: { status: "Failed" }
        })
        // no final GET of the resource after a failure
        expect(server.hits("/putasync/retry/failed")).toBe(1)
      }))
  }

  it.scopedLive("a monitor on another origin is refused, nothing polled; a poll through a Policy retries a 503", () =>
    Effect.gen(function*() {
      const other = yield* scriptedServer({ "GET /op": [{ status: 200, body: { status: "Succeeded" } }] })
      const server = yield* scriptedServer({
        "POST /jobs": [{ status: 202, headers: { "operation-location": `${other.url}/op` } }],
        "DELETE /jobs/1": [{ status: 202, headers: { "operation-location": "/op/1", "retry-after": "0" } }],
        "GET /op/1": [{ status: 503, headers: { "retry-after": "0" } }, { status: 200, body: { status: "Succeeded" } }]
      })
      const refused = yield* operate(server, "POST", "/jobs")
      expect(Either.isLeft(refused) && refused.left).toMatchObject({ reason: "CrossOrigin", polls: 0 })
      expect(other.requests).toHaveLength(0)
      const client = yield* undiciClient
      const deleted = yield* Poll.operation(
        HttpClientRequest.del(`${server.url}/jobs/1`),
        (request) => Policy.send(client, request),
        { schedule: Schedule.spaced("1 millis") }
      ).pipe(Effect.provide(Policy.layer({ retry: { maxAttempts: 3, baseDelay: "1 millis" } })))
      expect(JSON.parse(deleted.text)).toEqual({ status: "Succeeded" })
      expect(server.hits("/op/1")).toBe(2)
    }))
})

describe("@azure/core-lro test/lro.spec.ts, initial: \"any\" (Azure Resource Manager's 200/201 answers)", () => {
  const any: Poll.OperationOptions = { initial: "any" }
  const resource = (provisioningState: string) => ({ properties: { provisioningState }, id: "100", name: "foo" })

  it.scopedLive("Polling from body: put200Succeeded, a terminal state without provisioningState: no polling", () =>
    Effect.gen(function*() {
      const server = yield* scriptedServer({
        "PUT /put/200/succeeded": [{ status: 200, body: resource("Succeeded") }],
        "PUT /put/200/noprovisioningstate": [{ status: 200, body: { id: "100", name: "foo" } }]
      })
      const succeeded = yield* operate(server, "PUT", "/put/200/succeeded", any)
      expect(bodyOf(succeeded)).toMatchObject({ properties: { provisioningState: "Succeeded" } })
      const plain = yield* operate(server, "PUT", "/put/200/noprovisioningstate", any)
      expect(bodyOf(plain)).toEqual({ id: "100", name: "foo" })
      expect(server.requests).toHaveLength(2)
    }))

  it.scopedLive("Polling from body: creating followed by success through an Azure Resource, put200UpdatingSucceeded204", () =>
    Effect.gen(function*() {
      const server = yield* scriptedServer({
        "PUT /put/201/creating/succeeded/200": [{ status: 201, body: resource("Creating") }],
        "GET /put/201/creating/succeeded/200": [{ status: 200, body: resource("Succeeded") }],
        "PUT /put/200/updating/succeeded/200": [{ status: 200, body: resource("Updating") }],
        "GET /put/200/updating/succeeded/200": [{ status: 200, body: resource("Succeeded") }]
      })
      const created = yield* operate(server, "PUT", "/put/201/creating/succeeded/200", any)
      expect(bodyOf(created)).toEqual(resource("Succeeded"))
      const updated = yield* operate(server, "PUT", "/put/200/updating/succeeded/200", any)
      expect(bodyOf(updated)).toEqual(resource("Succeeded"))
      expect(trail(server)).toEqual([
        "PUT /put/201/creating/succeeded/200",
        "GET /put/201/creating/succeeded/200",
        "PUT /put/200/updating/succeeded/200",
        "GET /put/200/updating/succeeded/200"
      ])
    }))

  it.scopedLive("Polling from body: put201CreatingFailed200, put200Acceptedcanceled200 are PollErrors", () =>
    Effect.gen(function*() {
      const server = yield* scriptedServer({
        "PUT /put/201/created/failed/200": [{ status: 201, body: resource("Created") }],
        "GET /put/201/created/failed/200": [{ status: 200, body: { properties: { provisioningState: "Failed" } } }],
        "PUT /put/200/accepted/canceled/200": [{ status: 200, body: resource("Accepted") }],
        "GET /put/200/accepted/canceled/200": [{ status: 200, body: { properties: { provisioningState: "Canceled" } } }]
      })
      const failed = yield* operate(server, "PUT", "/put/201/created/failed/200", any)
      expect(Either.isLeft(failed) && failed.left).toMatchObject({
        _tag: "PollError",
        reason: "Failed",
        polls: 1,
        last: { properties: { provisioningState: "Failed" } }
      })
      const canceled = yield* operate(server, "PUT", "/put/200/accepted/canceled/200", any)
      expect(Either.isLeft(canceled) && canceled.left).toMatchObject({
        _tag: "PollError",
        reason: "Canceled",
        polls: 1
      })
      expect(server.requests).toHaveLength(4)
    }))

  it.scopedLive("deleteNoHeaderInRetry: a DELETE 200 + Location polls the Location", () =>
    Effect.gen(function*() {
      const pollingPath = "/delete/noheader/operationresults/123"
      const server = yield* scriptedServer({
        "DELETE /delete/noheader": [{ status: 200, headers: { location: pollingPath } }],
        [`GET ${pollingPath}`]: [{ status: 202, headers: { "retry-after": "0" } }, { status: 204 }]
      })
      const deleted = yield* operate(server, "DELETE", "/delete/noheader", any)
      expect(Either.isRight(deleted) && deleted.right.status).toBe(204)
      expect(server.hits(pollingPath)).toBe(2)
      // by default the 200 is the result
      const byDefault = yield* operate(server, "DELETE", "/delete/noheader")
      expect(Either.isRight(byDefault) && byDefault.right.status).toBe(200)
      expect(server.hits(pollingPath)).toBe(2)
    }))

  it.scopedLive("Poll.operationJson: creating followed by success, decoded; a result the schema refuses", () =>
    Effect.gen(function*() {
      const server = yield* scriptedServer({
        "PUT /put/201/creating/succeeded/200": [{ status: 201, body: resource("Creating") }],
        "GET /put/201/creating/succeeded/200": [{ status: 200, body: resource("Succeeded") }],
        "PUT /put/200/nonresource": [{ status: 200, body: { properties: { provisioningState: "Succeeded" } } }]
      })
      const client = yield* undiciClient
      const Resource = Schema.Struct({
        id: Schema.String,
        name: Schema.String,
        properties: Schema.Struct({ provisioningState: Schema.Literal("Succeeded") })
      })
      const put = (path: string) =>
        Effect.either(
          Poll.operationJson(
            HttpClientRequest.put(`${server.url}${path}`),
            (request) => Attempt.send(client, request),
            Resource,
            { initial: "any", schedule: Schedule.spaced("1 millis") }
          )
        )
      expect(yield* put("/put/201/creating/succeeded/200")).toEqual(Either.right(resource("Succeeded")))
      const refused = yield* put("/put/200/nonresource")
      expect(Either.isLeft(refused) && refused.left).toMatchObject({ _tag: "SchemaMismatch", status: 200 })
      expect(server.requests).toHaveLength(3)
    }))

  for (const headerName of ["Azure-AsyncOperation", "Operation-Location"]) {
    it.scopedLive(`Polling from ${headerName}: putAsyncNoHeaderInRetry (PUT 201), patchAsyncNoLocationHeader`, () =>
      Effect.gen(function*() {
        const server = yield* scriptedServer({
          "PUT /put/noheader/201/200": [{
            status: 201,
            headers: { location: "somethingBadWhichShouldNotBeUsed", [headerName]: "/putasync/noheader/op/123" },
            body: resource("Accepted")
          }],
          "GET /putasync/noheader/op/123": [
            { status: 200, headers: { "retry-after": "0" }, body: { status: "InProgress" } },
            { status: 200, body: { status: "Succeeded" } }
          ],
          "GET /put/noheader/201/200": [{ status: 200, body: resource("Succeeded") }],
          "PATCH /patchasyncnolocationheader/succeeded": [{
            status: 201,
            headers: { [headerName]: "/patchasyncnolocationheader/op/123", "retry-after": "0" },
            body: { properties: { provisioningState: "Updating" } }
          }],
          "GET /patchasyncnolocationheader/op/123": [
            { status: 200, body: { status: "InProgress" } },
            { status: 200, body: { status: "Succeeded" } }
          ],
          "GET /patchasyncnolocationheader/succeeded": [{ status: 200, body: { name: "sku", id: "100" } }]
        })
        const put = yield* operate(server, "PUT", "/put/noheader/201/200", any)
        expect(bodyOf(put)).toEqual(resource("Succeeded"))
        const patched = yield* operate(server, "PATCH", "/patchasyncnolocationheader/succeeded", any)
        expect(bodyOf(patched)).toEqual({ name: "sku", id: "100" })
        expect(trail(server)).toEqual([
          "PUT /put/noheader/201/200",
          "GET /putasync/noheader/op/123",
          "GET /putasync/noheader/op/123",
          "GET /put/noheader/201/200",
          "PATCH /patchasyncnolocationheader/succeeded",
          "GET /patchasyncnolocationheader/op/123",
          "GET /patchasyncnolocationheader/op/123",
          "GET /patchasyncnolocationheader/succeeded"
        ])
      }))

    it.scopedLive(`Polling from ${headerName}: postUpdatedPollingUrl, post202List (POST 200)`, () =>
      Effect.gen(function*() {
        const server = yield* scriptedServer({
          "POST /post/updated": [{ status: 200, headers: { [headerName]: "/path1" } }],
          "GET /path1": [{ status: 200, headers: { [headerName]: "/path2" }, body: { status: "running" } }],
          "GET /path2": [{ status: 200, body: { status: "succeeded", id: "100", name: "foo" } }],
          "POST /post/list": [{
            status: 200,
            headers: { location: "/list/finalGet", [headerName]: "/list/pollingGet" }
          }],
          "GET /list/pollingGet": [{ status: 200, body: { status: "Succeeded" } }],
          "GET /list/finalGet": [{ status: 200, body: [{ id: "100", name: "foo" }] }]
        })
        const updated = yield* operate(server, "POST", "/post/updated", any)
        expect(bodyOf(updated)).toEqual({ status: "succeeded", id: "100", name: "foo" })
        const list = yield* operate(server, "POST", "/post/list", any)
        expect(bodyOf(list)).toEqual([{ id: "100", name: "foo" }])
        expect(trail(server)).toEqual([
          "POST /post/updated",
          "GET /path1",
          "GET /path2",
          "POST /post/list",
          "GET /list/pollingGet",
          "GET /list/finalGet"
        ])
      }))

    it.scopedLive(`Polling from ${headerName}: putAsyncRetryFailed (PUT 200, as it is there) is a PollError Failed`, () =>
      Effect.gen(function*() {
        const pollingPath = "/putlocation/retry/failed/operationResults/200/"
        const server = yield* scriptedServer({
          "PUT /putasync/retry/failed": [{
            status: 200,
            headers: { location: pollingPath, [headerName]: pollingPath, "retry-after": "0" },
            body: resource("Accepted")
          }],
          [`GET ${pollingPath}`]: [
            { status: 202, headers: { "retry-after": "0" }, body: { status: "Accepted" } },
            { status: 200, body: { status: "Failed" } }
          ]
        })
        const result = yield* operate(server, "PUT", "/putasync/retry/failed", any)
        expect(Either.isLeft(result) && result.left).toMatchObject({
          _tag: "PollError",
          reason: "Failed",
          polls: 2,
          last: { status: "Failed" }
        })
        expect(server.hits("/putasync/retry/failed")).toBe(1)
      }))
  }
})

// -----------------------------------------------------------------------------
// @smithy/util-waiter
// -----------------------------------------------------------------------------

type State = "retry" | "success" | "failure"
const decideState = (state: State): Poll.Decision =>
  state === "success" ? Poll.done : state === "failure" ? Poll.failed("some-failure-value") : Poll.pending()

/** A poll answering `states` in turn (the last one again after), recording the virtual time of each poll. */
const scripted = (states: ReadonlyArray<State>) => {
  const times: Array<number> = []
  const poll = Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.sync(() => {
      times.push(now)
      return states[Math.min(times.length - 1, states.length - 1)]
    }))
  return { poll, times }
}

const settle = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust("1 day")
    return yield* Fiber.await(fiber)
  })

describe("@smithy/util-waiter src/poller.spec.ts", () => {
  it.scopedLive("returns state and reason in case of success / failure: one poll, no wait (over loopback)", () =>
    Effect.gen(function*() {
      const server = yield* scriptedServer({
        "GET /ready": [{ status: 200, body: { state: "success" } }],
        "GET /broken": [{ status: 200, body: { state: "failure" } }]
      })
      const client = yield* undiciClient
      const check = (path: string) =>
        Attempt.send(client, HttpClientRequest.get(`${server.url}${path}`)).pipe(
          Effect.map((received) => (JSON.parse(received.text) as { readonly state: State }).state),
          Poll.until({ decide: decideState }),
          Effect.either
        )
      expect(yield* check("/ready")).toEqual(Either.right("success"))
      const failed = yield* check("/broken")
      expect(Either.isLeft(failed) && failed.left).toMatchObject({
        _tag: "PollError",
        reason: "Failed",
        polls: 1,
        last: "failure"
      })
      expect(server.requests).toHaveLength(2)
    }))

  it.scopedLive("retries until success over loopback", () =>
    Effect.gen(function*() {
      const server = yield* scriptedServer({
        "GET /instance": [
          { status: 200, body: { state: "retry" } },
          { status: 200, body: { state: "retry" } },
          { status: 200, body: { state: "success" } }
        ]
      })
      const client = yield* undiciClient
      const result = yield* Attempt.send(client, HttpClientRequest.get(`${server.url}/instance`)).pipe(
        Effect.map((received) => (JSON.parse(received.text) as { readonly state: State }).state),
        Poll.until({ decide: decideState, schedule: Schedule.spaced("1 millis") })
      )
      expect(result).toBe("success")
      expect(server.requests).toHaveLength(3)
    }))

  it.effect("sleeps as per exponentialBackoff in case of retry: 2, 3, 5, 9, then maxDelay 30 (random 0.5)", () =>
    Effect.gen(function*() {
      const { poll, times } = scripted(["retry", "retry", "retry", "retry", "retry", "retry", "retry", "success"])
      const exit = yield* settle(
        Poll.until(poll, {
          decide: decideState,
          minDelay: "2 seconds",
          maxDelay: "30 seconds",
          maxWait: "99999 seconds"
        })
          .pipe(Effect.withRandom(Random.fixed([0.5])))
      )
      expect(exit).toEqual(Exit.succeed("success"))
      expect(times.slice(1).map((t, i) => (t - times[i]) / 1000)).toEqual([2, 3, 5, 9, 30, 30, 30])
    }))

  it.effect("resolves after the last attempt before reaching maxWaitTime: TimedOut", () =>
    Effect.gen(function*() {
      const { poll, times } = scripted(["retry"])
      const exit = yield* settle(
        Poll.until(poll, { decide: decideState, minDelay: "2 seconds", maxDelay: "2 seconds", maxWait: "5 seconds" })
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toMatchObject({
        reason: "TimedOut",
        polls: 4
      })
      // the last wait is cut (1 s) so the last poll is at maxWait
      expect(times).toEqual([0, 2000, 4000, 5000])
    }))

  it.effect("should truncate delay to fire a last poll before timeout", () =>
    Effect.gen(function*() {
      const { poll, times } = scripted(["retry", "success"])
      const exit = yield* settle(
        Poll.until(poll, {
          decide: decideState,
          schedule: Schedule.spaced("30 seconds"),
          maxWait: "10 seconds"
        })
      )
      expect(exit).toEqual(Exit.succeed("success"))
      expect(times).toEqual([0, 10_000])
    }))

  it.effect("resolves when abortController is signalled: interruption, and no poll after it", () =>
    Effect.gen(function*() {
      const { poll, times } = scripted(["retry"])
      const fiber = yield* Effect.fork(Poll.until(poll, { decide: decideState }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("1 hour")
      expect(times).toEqual([0])
    }))
})

describe("@smithy/util-waiter src/utils/validate.spec.ts", () => {
  it.effect("minDelay above maxDelay, and delays or a wait of zero or less, are InvalidOptions; nothing polled", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<Poll.Options> = [
        { minDelay: "10 seconds", maxDelay: "5 seconds" },
        { minDelay: 0 },
        { maxDelay: -1 },
        { maxWait: 0 },
        { maxWait: Duration.millis(-5) }
      ]
      for (const options of cases) {
        const { poll, times } = scripted(["success"])
        const result = yield* Effect.either(Poll.until(poll, { decide: decideState, ...options }))
        expect(Either.isLeft(result) && result.left, JSON.stringify(options)).toMatchObject({
          reason: "InvalidOptions"
        })
        expect(times).toEqual([])
      }
    }))
})
