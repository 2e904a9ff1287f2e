import { HttpClient, type HttpClientRequest, HttpClientResponse } from "@effect/platform"
import * as HttpClientRequestM from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Policy, Poll } from "@sturdy/http"
import { TestTracer } from "@sturdy/testing"
import {
  Clock,
  Duration,
  Effect,
  Either,
  Exit,
  FastCheck as fc,
  Fiber,
  Option,
  Random,
  Schedule,
  Schema,
  TestClock,
  TestContext
} from "effect"

// -----------------------------------------------------------------------------
// Poll.until: a counter polled on the TestClock
// -----------------------------------------------------------------------------

/** A poll answering `answers` in turn (the last one again after), recording the virtual time of each poll. */
const scripted = <A>(answers: ReadonlyArray<A>) => {
  const times: Array<number> = []
  const poll = Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.sync(() => {
      times.push(now)
      return answers[Math.min(times.length - 1, answers.length - 1)]
    }))
  return { poll, times }
}

type Job = { readonly state: "running" | "done" | "failed" | "canceled"; readonly retryAfter?: number }

const decideJob = (job: Job): Poll.Decision =>
  job.state === "done"
    ? Poll.done
    : job.state === "failed"
    ? Poll.failed("the job failed")
    : job.state === "canceled"
    ? Poll.canceled("canceled")
    : Poll.pending(job.retryAfter === undefined ? undefined : Duration.millis(job.retryAfter))

const running: Job = { state: "running" }
const finished: Job = { state: "done" }

/** Runs `effect` forked and moves the TestClock far enough for every wait; its exit. */
const settle = <A, E>(effect: Effect.Effect<A, E>, by: Duration.DurationInput = "1 hour") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(by)
    return yield* Fiber.await(fiber)
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a Fail cause, got ${exit.cause._tag}`)
  return failure
}

describe("Poll.until", () => {
  it.effect("returns the done value; the first wait is minDelay (2 s), the later ones within smithy's bounds", () =>
    Effect.gen(function*() {
      const { poll, times } = scripted<Job>([running, running, running, finished])
      const exit = yield* settle(Poll.until(poll, { decide: decideJob }))
      expect(exit).toEqual(Exit.succeed(finished))
      expect(times.length).toBe(4)
      expect(times[0]).toBe(0)
      expect(times[1]).toBe(2000)
      // the second wait is drawn from [2 s, 4 s], the third from [2 s, 8 s]
      expect(times[2] - times[1]).toBeGreaterThanOrEqual(2000)
      expect(times[2] - times[1]).toBeLessThanOrEqual(4000)
      expect(times[3] - times[2]).toBeGreaterThanOrEqual(2000)
      expect(times[3] - times[2]).toBeLessThanOrEqual(8000)
    }))

  it.effect("both call forms: pipe and data-first", () =>
    Effect.gen(function*() {
      const a = scripted<Job>([running, finished])
      const b = scripted<Job>([running, finished])
      const piped = yield* settle(a.poll.pipe(Poll.until({ decide: decideJob })))
      const direct = yield* settle(Poll.until(b.poll, { decide: decideJob }))
      expect(piped).toEqual(direct)
      expect(a.times.map((t) => t - a.times[0])).toEqual(b.times.map((t) => t - b.times[0]))
    }))

  it.effect("a Retry-After is the wait's floor", () =>
    Effect.gen(function*() {
      const { poll, times } = scripted<Job>([{ state: "running", retryAfter: 10_000 }, running, finished])
      const exit = yield* settle(Poll.until(poll, { decide: decideJob, schedule: Schedule.spaced("1 second") }))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(times).toEqual([0, 10_000, 11_000])
    }))

  it.effect("maxWait: the last wait is cut so the last poll is at maxWait, then TimedOut with polls and last", () =>
    Effect.gen(function*() {
      const { poll, times } = scripted<Job>([running])
      const exit = yield* settle(
        Poll.until(poll, { decide: decideJob, schedule: Schedule.spaced("60 seconds"), maxWait: "100 seconds" })
      )
      expect(times).toEqual([0, 60_000, 100_000])
      const error = failureOf(exit)
      expect(error._tag).toBe("PollError")
      expect(error).toMatchObject({ reason: "TimedOut", polls: 3, last: running })
      expect(error.message).toContain("maxWait")
    }))

  it.effect("the default maxWait is 5 minutes: never a hang", () =>
    Effect.gen(function*() {
      const { poll, times } = scripted<Job>([running])
      const exit = yield* settle(Poll.until(poll, { decide: decideJob }), "1 day")
      expect(failureOf(exit)).toMatchObject({ reason: "TimedOut" })
      expect(times[times.length - 1]).toBe(300_000)
      expect(Duration.toMillis(Poll.defaultMaxWait)).toBe(300_000)
    }))

  it.effect("a Retry-After beyond maxRetryAfter (30 s) fails at once, without waiting", () =>
    Effect.gen(function*() {
      const { poll, times } = scripted<Job>([{ state: "running", retryAfter: 31_000 }, finished])
      const fiber = yield* Effect.fork(Poll.until(poll, { decide: decideJob }))
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      expect(times).toEqual([0])
      expect(failureOf(exit)).toMatchObject({ reason: "TimedOut", polls: 1 })
      expect(failureOf(exit).message).toContain("maxRetryAfter")
    }))

  it.effect("PollError's retryAfter: the server's wait when it made TimedOut give up early, None otherwise", () =>
    Effect.gen(function*() {
      const tooLong = scripted<Job>([{ state: "running", retryAfter: 31_000 }])
      const beyond = failureOf(yield* settle(Poll.until(tooLong.poll, { decide: decideJob })))
      expect(beyond.retryAfter).toEqual(Option.some(Duration.millis(31_000)))
      const pastMaxWait = scripted<Job>([running, { state: "running", retryAfter: 20_000 }])
      const past = failureOf(
        yield* settle(
          Poll.until(pastMaxWait.poll, {
            decide: decideJob,
            schedule: Schedule.spaced("1 second"),
            maxWait: "10 seconds"
          })
        )
      )
      expect(past).toMatchObject({ reason: "TimedOut", polls: 2, retryAfter: Option.some(Duration.millis(20_000)) })
      // maxWait reached (a Retry-After or not), a schedule that ended, Failed: no server wait to report
      for (
        const [answers, options] of [
          [[running], { schedule: Schedule.spaced("60 seconds"), maxWait: "100 seconds" }],
          [[{ state: "running", retryAfter: 5000 }], { schedule: Schedule.spaced("1 second"), maxWait: "10 seconds" }],
          [[running], { schedule: Schedule.recurs(1) }],
          [[{ state: "failed" }], {}]
        ] as const
      ) {
        const { poll } = scripted<Job>(answers)
        const error = failureOf(yield* settle(Poll.until(poll, { decide: decideJob, ...options })))
        expect(error.retryAfter, error.message).toEqual(Option.none())
      }
      // an operation's monitor: its Retry-After header
      const api = fakeApi((_, n) =>
        n === 1
          ? { status: 202, headers: { "operation-location": "/op" } }
          : { body: { status: "Running" }, headers: { "retry-after": "120" } }
      )
      const operation = failureOf(
        yield* settle(Poll.operation(HttpClientRequestM.post("https://api.test/jobs"), api.send))
      )
      expect(operation).toMatchObject({ reason: "TimedOut", polls: 1, retryAfter: Option.some(Duration.seconds(120)) })
    }))

  it.effect("an infinite maxRetryAfter waits whatever the server asks, within maxWait", () =>
    Effect.gen(function*() {
      const { poll, times } = scripted<Job>([{ state: "running", retryAfter: 120_000 }, finished])
      const exit = yield* settle(Poll.until(poll, { decide: decideJob, maxRetryAfter: Duration.infinity }))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(times).toEqual([0, 120_000])
    }))

  it.effect("a Retry-After that ends past maxWait fails at once", () =>
    Effect.gen(function*() {
      const { poll, times } = scripted<Job>([{ state: "running", retryAfter: 20_000 }, finished])
      const fiber = yield* Effect.fork(Poll.until(poll, { decide: decideJob, maxWait: "10 seconds" }))
      yield* TestClock.adjust("1 millis")
      expect(failureOf(yield* Fiber.await(fiber))).toMatchObject({ reason: "TimedOut", polls: 1 })
      expect(times).toEqual([0])
    }))

  it.effect("Failed and Canceled decisions fail with their reason, detail and last value", () =>
    Effect.gen(function*() {
      const failedJob: Job = { state: "failed" }
      const a = yield* settle(Poll.until(scripted<Job>([running, failedJob]).poll, { decide: decideJob }))
      expect(failureOf(a)).toMatchObject({ reason: "Failed", detail: "the job failed", polls: 2, last: failedJob })
      const b = yield* settle(Poll.until(scripted<Job>([{ state: "canceled" }]).poll, { decide: decideJob }))
      expect(failureOf(b)).toMatchObject({ reason: "Canceled", polls: 1 })
    }))

  it.effect("a schedule that ends while pending is TimedOut", () =>
    Effect.gen(function*() {
      const { poll, times } = scripted<Job>([running])
      const exit = yield* settle(Poll.until(poll, { decide: decideJob, schedule: Schedule.recurs(2) }))
      expect(times).toEqual([0, 0, 0])
      expect(failureOf(exit)).toMatchObject({ reason: "TimedOut", polls: 3 })
    }))

  it.effect("a poll's failure fails the wait with it, and is not retried by the poller", () =>
    Effect.gen(function*() {
      let calls = 0
      const poll = Effect.suspend(() => ++calls === 2 ? Effect.fail("boom" as const) : Effect.succeed(running))
      const exit = yield* settle(Poll.until(poll, { decide: decideJob }))
      expect(exit).toEqual(Exit.fail("boom"))
      expect(calls).toBe(2)
    }))

  it.effect("interruption stops polling at once: no poll after it", () =>
    Effect.gen(function*() {
      const { poll, times } = scripted<Job>([running])
      const fiber = yield* Effect.fork(Poll.until(poll, { decide: decideJob, schedule: Schedule.spaced("10 seconds") }))
      yield* TestClock.adjust("25 seconds")
      expect(times).toEqual([0, 10_000, 20_000])
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("1 hour")
      expect(times).toEqual([0, 10_000, 20_000])
    }))

  it.effect("smithy's backoff: maxDelay once past the attempt ceiling; a seed fixes the draw", () =>
    Effect.gen(function*() {
      const run = (seed: number) =>
        Effect.gen(function*() {
          const { poll, times } = scripted<Job>([running])
          yield* settle(
            Poll.until(poll, { decide: decideJob, minDelay: "1 second", maxDelay: "8 seconds", maxWait: "60 seconds" })
              .pipe(Effect.withRandom(Random.make(seed)))
          )
          return times.slice(1).map((t, i) => t - times[i])
        })
      const waits = yield* run(7)
      expect(yield* run(7)).toEqual(waits)
      // ceiling = log2(8 / 1) + 1 = 4: waits 1..4 drawn from [1 s, 2^(n-1) s], then 8 s
      expect(waits[0]).toBe(1000)
      waits.slice(1, 4).forEach((w, i) => {
        expect(w).toBeGreaterThanOrEqual(1000)
        expect(w).toBeLessThanOrEqual(1000 * 2 ** (i + 1))
      })
      expect(waits.slice(4, -1).every((w) => w === 8000)).toBe(true)
    }))

  it.effect("one span http.client.poll with sturdy.polls and the outcome", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const { poll } = scripted<Job>([running, running, { state: "failed" }])
      yield* settle(Poll.until(poll, { decide: decideJob }).pipe(Effect.withTracer(tracer)))
      const polls = spans.filter((s) => s.name === "http.client.poll")
      expect(polls.length).toBe(1)
      expect(polls[0].attributes.get("sturdy.polls")).toBe(3)
      expect(polls[0].attributes.get("sturdy.outcome")).toBe("failure")
      expect(polls[0].attributes.get("sturdy.failure_reason")).toBe("Failed")
    }))

  it("property: waits ≥ Retry-After, ≤ maxDelay unless a Retry-After asked more, total ≤ maxWait, polls counted", async () => {
    const answerArb = fc.record({
      done: fc.boolean(),
      retryAfter: fc.option(fc.integer({ min: 0, max: 40_000 }), { nil: undefined })
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(answerArb, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1000, max: 5000 }),
        fc.integer({ min: 5000, max: 60_000 }),
        fc.integer({ min: 10_000, max: 400_000 }),
        fc.integer(),
        async (answers, minDelay, maxDelay, maxWait, seed) => {
          const jobs: Array<Job> = answers.map((a, i) =>
            a.done || i === answers.length - 1
              ? finished
              : a.retryAfter === undefined
              ? running
              : { state: "running", retryAfter: a.retryAfter }
          )
          const firstDone = jobs.findIndex((j) => j.state === "done")
          const { poll, times } = scripted(jobs)
          const exit = await Effect.runPromise(
            settle(
              Poll.until(poll, { decide: decideJob, minDelay, maxDelay, maxWait }).pipe(
                Effect.withRandom(Random.make(seed))
              ),
              "1 day"
            ).pipe(Effect.provide(TestContext.TestContext))
          )
          expect(times[times.length - 1]).toBeLessThanOrEqual(maxWait)
          for (let i = 1; i < times.length; i++) {
            const wait = times[i] - times[i - 1]
            const asked = jobs[i - 1].retryAfter ?? 0
            expect(wait).toBeGreaterThanOrEqual(asked)
            expect(wait).toBeLessThanOrEqual(Math.max(maxDelay, asked))
          }
          if (Exit.isSuccess(exit)) {
            expect(exit.value).toEqual(finished)
            expect(times.length).toBe(firstDone + 1)
          } else {
            const error = failureOf(exit)
            expect(error.reason).toBe("TimedOut")
            expect(error.polls).toBe(times.length)
            expect(times.length).toBeLessThanOrEqual(firstDone)
            // it gave up only when the next wait could not fit: a Retry-After past maxWait or beyond 30 s, or maxWait
            const last = jobs[times.length - 1]
            const ask = last.retryAfter ?? 0
            expect(ask > 30_000 || times[times.length - 1] + ask > maxWait || times[times.length - 1] === maxWait)
              .toBe(true)
          }
        }
      ),
      { seed: 20261207, numRuns: 150 }
    )
  })
})

// -----------------------------------------------------------------------------
// Poll.operation: a scripted API
// -----------------------------------------------------------------------------

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly at: number
}

type Answer = {
  readonly status?: number
  readonly body?: unknown
  /** A body sent as it is (not JSON-encoded). */
  readonly raw?: string
  readonly headers?: Record<string, string>
}

const fakeApi = (respond: (request: { method: string; url: URL }, n: number) => Answer) => {
  const seen: Array<Seen> = []
  const client = HttpClient.make((request, url) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) =>
      Effect.sync(() => {
        seen.push({ method: request.method, url: url.toString(), headers: request.headers, at })
        const answer = respond({ method: request.method, url }, seen.length)
        return HttpClientResponse.fromWeb(
          request,
          new Response(answer.raw ?? (answer.body === undefined ? null : JSON.stringify(answer.body)), {
            status: answer.status ?? 200,
            headers: { "content-type": "application/json", ...answer.headers }
          })
        )
      }))
  )
  const send = (request: HttpClientRequest.HttpClientRequest) => Attempt.send(client, request)
  return { client, seen, send }
}

const asJson = (received: Attempt.Received) => JSON.parse(received.text)

describe("Poll.operation", () => {
  it.effect("a 2xx other than 202 is the result at once", () =>
    Effect.gen(function*() {
      const api = fakeApi(() => ({ status: 201, body: { id: 1 } }))
      const exit = yield* settle(Poll.operation(HttpClientRequestM.post("https://api.test/jobs"), api.send))
      expect(Exit.map(exit, asJson)).toEqual(Exit.succeed({ id: 1 }))
      expect(api.seen.length).toBe(1)
    }))

  it.effect("a 200 or 201 is the result even with a monitor header: only a 202 is polled", () =>
    Effect.gen(function*() {
      for (
        const [status, headers] of [[201, { "operation-location": "/op" }], [200, { location: "/queue/1" }]] as const
      ) {
        const api = fakeApi((_, n) => n === 1 ? { status, headers, body: { made: true } } : { body: { other: 1 } })
        const exit = yield* settle(Poll.operation(HttpClientRequestM.put("https://api.test/things/1"), api.send))
        expect(Exit.map(exit, asJson)).toEqual(Exit.succeed({ made: true }))
        expect(api.seen.length).toBe(1)
      }
    }))

  describe("initial: \"any\" (Azure Resource Manager's pattern, @azure/core-lro's inferLroMode)", () => {
    const trailOf = (seen: ReadonlyArray<Seen>) => seen.map((s) => `${s.method} ${new URL(s.url).pathname}`)

    it.effect("a 201 or 200 with Azure-AsyncOperation is polled; PUT: the final resource is the request's URL", () =>
      Effect.gen(function*() {
        for (const status of [201, 200]) {
          const api = fakeApi(({ url }, n) =>
            n === 1
              ? {
                status,
                headers: { "azure-asyncoperation": "/operations/5", "retry-after": "3" },
                body: { properties: { provisioningState: "Creating" } }
              }
              : url.pathname === "/operations/5"
              ? { body: { status: n === 2 ? "InProgress" : "Succeeded" } }
              : { body: { id: "vm1", properties: { provisioningState: "Succeeded" } } }
          )
          const exit = yield* settle(
            Poll.operation(HttpClientRequestM.put("https://api.test/vms/vm1"), api.send, {
              initial: "any",
              schedule: Schedule.spaced("1 second")
            })
          )
          expect(Exit.map(exit, asJson)).toMatchObject(Exit.succeed({ id: "vm1" }))
          expect(trailOf(api.seen)).toEqual(["PUT /vms/vm1", "GET /operations/5", "GET /operations/5", "GET /vms/vm1"])
          // the first answer's Retry-After: 3 is the first wait's floor
          expect(api.seen.map((s) => s.at - api.seen[0].at)).toEqual([0, 3000, 4000, 4000])
        }
      }))

    it.effect("body polling: a PUT/PATCH whose provisioningState is not terminal is polled at its own URL", () =>
      Effect.gen(function*() {
        for (const method of ["PUT", "PATCH"] as const) {
          const api = fakeApi((_, n) => ({
            status: n === 1 ? 201 : 200,
            body: {
              id: "100",
              properties: { provisioningState: n === 1 ? "Creating" : n === 2 ? "Updating" : "succeeded" }
            }
          }))
          const exit = yield* settle(
            Poll.operation(HttpClientRequestM.make(method)("https://api.test/things/100"), api.send, {
              initial: "any",
              schedule: Schedule.spaced("2 seconds")
            })
          )
          // the last answer is the result: no final GET
          expect(Exit.map(exit, asJson)).toEqual(
            Exit.succeed({ id: "100", properties: { provisioningState: "succeeded" } })
          )
          expect(trailOf(api.seen)).toEqual([`${method} /things/100`, "GET /things/100", "GET /things/100"])
          expect(api.seen.map((s) => s.at - api.seen[0].at)).toEqual([0, 2000, 4000])
        }
      }))

    it.effect("body polling reads a top-level provisioningState; without one, a 202 is pending and a 200 done", () =>
      Effect.gen(function*() {
        const api = fakeApi((_, n) =>
          n === 1 ? { status: 201, body: { provisioningState: "Accepted" } } : n === 2 ? { status: 202 } : { body: {} }
        )
        const exit = yield* settle(
          Poll.operation(HttpClientRequestM.put("https://api.test/things/1"), api.send, { initial: "any" })
        )
        expect(Exit.map(exit, asJson)).toEqual(Exit.succeed({}))
        expect(api.seen.length).toBe(3)
        // properties.provisioningState wins over a top-level one, and a resource's own `status` field is not read
        for (
          const body of [
            { provisioningState: "Creating", properties: { provisioningState: "Succeeded" } },
            { status: "Running", properties: { provisioningState: "Succeeded" } }
          ]
        ) {
          const once = fakeApi(() => ({ status: 201, body }))
          yield* settle(
            Poll.operation(HttpClientRequestM.put("https://api.test/things/1"), once.send, { initial: "any" })
          )
          expect(once.seen.length, JSON.stringify(body)).toBe(1)
        }
        const notStatus = fakeApi((_, n) =>
          n === 1
            ? { status: 201, body: { status: "Succeeded", properties: { provisioningState: "Creating" } } }
            : { body: { properties: { provisioningState: "Succeeded" } } }
        )
        yield* settle(
          Poll.operation(HttpClientRequestM.put("https://api.test/things/1"), notStatus.send, { initial: "any" })
        )
        expect(notStatus.seen.length).toBe(2)
      }))

    it.effect("a 200 or 201 whose provisioningState is terminal (or absent) is done at once", () =>
      Effect.gen(function*() {
        for (
          const [status, body] of [
            [200, { id: "100", properties: { provisioningState: "Succeeded" } }],
            [201, { id: "100" }],
            [204, undefined]
          ] as const
        ) {
          const api = fakeApi(() => ({ status, body }))
          const exit = yield* settle(
            Poll.operation(HttpClientRequestM.put("https://api.test/things/100"), api.send, { initial: "any" })
          )
          expect(Exit.map(exit, (r) => r.status)).toEqual(Exit.succeed(status))
          expect(api.seen.length).toBe(1)
        }
      }))

    it.effect("provisioningState Failed / Canceled (any case) is a PollError, at once or after polls", () =>
      Effect.gen(function*() {
        const failedAtOnce = fakeApi(() => ({
          status: 201,
          body: { properties: { provisioningState: "FAILED" }, error: { code: "Conflict" } }
        }))
        const first = failureOf(
          yield* settle(
            Poll.operation(HttpClientRequestM.put("https://api.test/things/1"), failedAtOnce.send, { initial: "any" })
          )
        )
        expect(first).toMatchObject({ _tag: "PollError", reason: "Failed", polls: 0, method: "PUT" })
        expect(first.message).toContain("provisioningState")
        expect(first.message).toContain("Conflict")
        expect(failedAtOnce.seen.length).toBe(1)
        const canceled = fakeApi((_, n) => ({
          status: 200,
          body: { properties: { provisioningState: n === 1 ? "Accepted" : "cancelled" } }
        }))
        const later = failureOf(
          yield* settle(
            Poll.operation(HttpClientRequestM.patch("https://api.test/things/1"), canceled.send, { initial: "any" })
          )
        )
        expect(later).toMatchObject({
          reason: "Canceled",
          polls: 1,
          last: { properties: { provisioningState: "cancelled" } }
        })
      }))

    it.effect("a provisioningState that is not a string is InvalidMonitor", () =>
      Effect.gen(function*() {
        const api = fakeApi(() => ({ status: 201, body: { properties: { provisioningState: 7 } } }))
        const exit = yield* settle(
          Poll.operation(HttpClientRequestM.put("https://api.test/things/1"), api.send, { initial: "any" })
        )
        expect(failureOf(exit)).toMatchObject({ reason: "InvalidMonitor", polls: 0 })
        expect(failureOf(exit).message).toContain("provisioningState")
      }))

    it.effect("POST, DELETE, GET without a monitor are the result at once; a body polled resource never moves", () =>
      Effect.gen(function*() {
        for (const method of ["POST", "DELETE", "GET"] as const) {
          const api = fakeApi(() => ({ status: 200, body: { properties: { provisioningState: "Creating" } } }))
          const exit = yield* settle(
            Poll.operation(HttpClientRequestM.make(method)("https://api.test/things/1"), api.send, { initial: "any" })
          )
          expect(Exit.isSuccess(exit)).toBe(true)
          expect(api.seen.length).toBe(1)
        }
        // @azure/core-lro's getOperationLocation: body polling follows no monitor header of a polled answer
        const api = fakeApi((_, n) => ({
          status: 200,
          headers: n === 2 ? { "azure-asyncoperation": "/elsewhere", location: "/elsewhere" } : {},
          body: { properties: { provisioningState: n < 3 ? "Updating" : "Succeeded" } }
        }))
        yield* settle(Poll.operation(HttpClientRequestM.put("https://api.test/things/1"), api.send, { initial: "any" }))
        expect(trailOf(api.seen)).toEqual(["PUT /things/1", "GET /things/1", "GET /things/1"])
      }))

    it.effect("a 201 with Location (DELETE 200 + Location) polls it; \"202\", the default, still does not", () =>
      Effect.gen(function*() {
        const respond = (_: unknown, n: number): Answer =>
          n === 1 ? { status: 200, headers: { location: "/operationresults/123" } } : n === 2 ? { status: 202 } : {
            status: 204
          }
        const api = fakeApi(respond)
        const exit = yield* settle(
          Poll.operation(HttpClientRequestM.del("https://api.test/things/1"), api.send, { initial: "any" })
        )
        expect(Exit.map(exit, (r) => r.status)).toEqual(Exit.succeed(204))
        expect(trailOf(api.seen)).toEqual([
          "DELETE /things/1",
          "GET /operationresults/123",
          "GET /operationresults/123"
        ])
        for (const initial of ["202", undefined] as const) {
          const byDefault = fakeApi(respond)
          const result = yield* settle(
            Poll.operation(
              HttpClientRequestM.del("https://api.test/things/1"),
              byDefault.send,
              initial === undefined ? undefined : { initial }
            )
          )
          expect(Exit.map(result, (r) => r.status)).toEqual(Exit.succeed(200))
          expect(byDefault.seen.length).toBe(1)
        }
      }))

    it.effect("a 202 PUT without a monitor is body polled; the monitor's rules (origin) hold for a 201's header", () =>
      Effect.gen(function*() {
        const api = fakeApi((_, n) => n === 1 ? { status: 202 } : { status: 200, body: { id: "1" } })
        const exit = yield* settle(
          Poll.operation(HttpClientRequestM.put("https://api.test/things/1"), api.send, { initial: "any" })
        )
        expect(Exit.map(exit, asJson)).toEqual(Exit.succeed({ id: "1" }))
        expect(api.seen.length).toBe(2)
        const other = fakeApi(() => ({ status: 201, headers: { "azure-asyncoperation": "https://evil.test/op" } }))
        const refused = yield* settle(
          Poll.operation(HttpClientRequestM.put("https://api.test/things/1"), other.send, { initial: "any" })
        )
        expect(failureOf(refused)).toMatchObject({ reason: "CrossOrigin", polls: 0 })
        expect(other.seen.length).toBe(1)
      }))
  })

  it.effect("a 202 without a monitor is the result (as @azure/core-lro)", () =>
    Effect.gen(function*() {
      const api = fakeApi(() => ({ status: 202, body: { queued: true } }))
      const exit = yield* settle(Poll.operation(HttpClientRequestM.post("https://api.test/jobs"), api.send))
      expect(Exit.map(exit, (r) => r.status)).toEqual(Exit.succeed(202))
      expect(api.seen.length).toBe(1)
      // a PUT too, by default (initial: "202"): no body polling
      const put = fakeApi(() => ({ status: 202, body: { properties: { provisioningState: "Creating" } } }))
      const putExit = yield* settle(Poll.operation(HttpClientRequestM.put("https://api.test/things/1"), put.send))
      expect(Exit.map(putExit, (r) => r.status)).toEqual(Exit.succeed(202))
      expect(put.seen.length).toBe(1)
    }))

  it.effect("Operation-Location: GETs the monitor until Succeeded, then the 202's Location (POST)", () =>
    Effect.gen(function*() {
      const api = fakeApi(({ url }, n) => {
        if (n === 1) {
          return {
            status: 202,
            headers: { "operation-location": "/operations/1", location: "/results/1", "retry-after": "5" }
          }
        }
        if (url.pathname === "/operations/1") return { body: { status: n < 4 ? "Running" : "sUcCeEdEd" } }
        return { body: { result: 42 } }
      })
      const request = HttpClientRequestM.post("https://api.test/jobs").pipe(
        HttpClientRequestM.setHeader("authorization", "Bearer t0ken"),
        HttpClientRequestM.bodyText("{}", "application/json")
      )
      const exit = yield* settle(Poll.operation(request, api.send))
      expect(Exit.map(exit, asJson)).toEqual(Exit.succeed({ result: 42 }))
      expect(api.seen.map((s) => `${s.method} ${new URL(s.url).pathname}`)).toEqual([
        "POST /jobs",
        "GET /operations/1",
        "GET /operations/1",
        "GET /operations/1",
        "GET /results/1"
      ])
      // the 202's Retry-After: 5 is the first wait's floor; same origin keeps the credentials, the GET drops the body
      expect(api.seen[1].at).toBe(5000)
      expect(api.seen[1].headers["authorization"]).toBe("Bearer t0ken")
      expect(api.seen[1].headers["content-type"]).toBeUndefined()
    }))

  it.effect("Azure-AsyncOperation when there is no Operation-Location; Operation-Location wins over it", () =>
    Effect.gen(function*() {
      const api = fakeApi(({ url }, n) =>
        n === 1
          ? {
            status: 202,
            headers: { "azure-asyncoperation": "/a", "operation-location": "/o" }
          }
          : { body: { status: url.pathname === "/o" ? "Succeeded" : "Failed" } }
      )
      const exit = yield* settle(Poll.operation(HttpClientRequestM.del("https://api.test/things/1"), api.send))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(new URL(api.seen[1].url).pathname).toBe("/o")
      // DELETE: no final GET, the monitor's last answer is the result
      expect(api.seen.length).toBe(2)
      const api2 = fakeApi((_, n) =>
        n === 1 ? { status: 202, headers: { "azure-asyncoperation": "/a" } } : { body: { status: "Succeeded" } }
      )
      yield* settle(Poll.operation(HttpClientRequestM.del("https://api.test/things/1"), api2.send))
      expect(new URL(api2.seen[1].url).pathname).toBe("/a")
    }))

  it.effect("PUT: the final resource is the request's URL", () =>
    Effect.gen(function*() {
      const api = fakeApi(({ method }, n) =>
        n === 1
          ? { status: 202, headers: { "operation-location": "/operations/9" } }
          : method === "GET" && n === 2
          ? { body: { status: "Succeeded" } }
          : { body: { name: "thing" } }
      )
      const exit = yield* settle(Poll.operation(HttpClientRequestM.put("https://api.test/things/9"), api.send))
      expect(Exit.map(exit, asJson)).toEqual(Exit.succeed({ name: "thing" }))
      expect(api.seen.map((s) => `${s.method} ${new URL(s.url).pathname}`)).toEqual([
        "PUT /things/9",
        "GET /operations/9",
        "GET /things/9"
      ])
    }))

  it.effect("a monitor's resourceLocation is the final resource; finalStateVia azure-async-operation: none", () =>
    Effect.gen(function*() {
      const api = fakeApi((_, n) =>
        n === 1
          ? { status: 202, headers: { "operation-location": "/op", location: "/loc" } }
          : n === 2
          ? { body: { status: "Succeeded", resourceLocation: "https://api.test/made/7" } }
          : { body: { made: 7 } }
      )
      yield* settle(Poll.operation(HttpClientRequestM.post("https://api.test/make"), api.send))
      expect(new URL(api.seen[2].url).pathname).toBe("/made/7")
      const api2 = fakeApi((_, n) =>
        n === 1
          ? { status: 202, headers: { "operation-location": "/op", location: "/loc" } }
          : { body: { status: "Succeeded", output: 1 } }
      )
      const exit = yield* settle(
        Poll.operation(HttpClientRequestM.post("https://api.test/make"), api2.send, {
          finalStateVia: "azure-async-operation"
        })
      )
      expect(Exit.map(exit, asJson)).toEqual(Exit.succeed({ status: "Succeeded", output: 1 }))
      expect(api2.seen.length).toBe(2)
    }))

  it.effect("Location monitor: a 202 is pending, the first other 2xx is the result (no further GET)", () =>
    Effect.gen(function*() {
      const api = fakeApi((_, n) =>
        n === 1
          ? { status: 202, headers: { location: "/queue/3" } }
          : n < 4
          ? { status: 202, headers: { "retry-after": "7" } }
          : { status: 200, body: { done: true } }
      )
      const exit = yield* settle(
        Poll.operation(HttpClientRequestM.post("https://api.test/jobs"), api.send, {
          schedule: Schedule.spaced("1 second")
        })
      )
      expect(Exit.map(exit, asJson)).toEqual(Exit.succeed({ done: true }))
      expect(api.seen.length).toBe(4)
      expect(api.seen.map((s) => s.at)).toEqual([0, 1000, 8000, 15_000])
    }))

  it.effect("a monitor's Retry-After as an HTTP-date", () =>
    Effect.gen(function*() {
      const api = fakeApi((_, n) =>
        n === 1
          ? { status: 202, headers: { "operation-location": "/op" } }
          : n === 2
          ? { body: { status: "Running" }, headers: { "retry-after": new Date(2000 + 12_000).toUTCString() } }
          : { body: { status: "Succeeded" } }
      )
      yield* settle(Poll.operation(HttpClientRequestM.del("https://api.test/x"), api.send))
      expect(api.seen.map((s) => s.at)).toEqual([0, 2000, 14_000])
    }))

  it.effect("Failed and Canceled statuses: PollError with the error code and the monitor's body as last", () =>
    Effect.gen(function*() {
      const body = { status: "failed", error: { code: "QuotaExceeded", message: "token=abc123 was used" } }
      const api = fakeApi((_, n) => n === 1 ? { status: 202, headers: { "operation-location": "/op" } } : { body })
      const exit = yield* settle(Poll.operation(HttpClientRequestM.post("https://api.test/jobs"), api.send))
      const error = failureOf(exit)
      expect(error).toMatchObject({ _tag: "PollError", reason: "Failed", polls: 1, last: body, method: "POST" })
      expect(error.message).toContain("QuotaExceeded")
      expect(error.message).not.toContain("abc123")
      for (const status of ["Canceled", "cancelled"]) {
        const api2 = fakeApi((_, n) =>
          n === 1 ? { status: 202, headers: { "operation-location": "/op" } } : { body: { status } }
        )
        const exit2 = yield* settle(Poll.operation(HttpClientRequestM.post("https://api.test/jobs"), api2.send))
        expect(failureOf(exit2)).toMatchObject({ reason: "Canceled" })
      }
    }))

  it.effect("a status that is not a string is InvalidMonitor", () =>
    Effect.gen(function*() {
      const api = fakeApi((_, n) =>
        n === 1 ? { status: 202, headers: { "operation-location": "/op" } } : { body: { status: 3 } }
      )
      const exit = yield* settle(Poll.operation(HttpClientRequestM.post("https://api.test/jobs"), api.send))
      expect(failureOf(exit)).toMatchObject({ reason: "InvalidMonitor", polls: 1 })
    }))

  it.effect("no status field: a 202 is pending, a 200 done", () =>
    Effect.gen(function*() {
      const api = fakeApi((_, n) =>
        n === 1
          ? { status: 202, headers: { "operation-location": "/op" } }
          : n === 2
          ? { status: 202 }
          : { status: 200, body: { ok: true } }
      )
      const exit = yield* settle(Poll.operation(HttpClientRequestM.del("https://api.test/jobs/1"), api.send))
      expect(Exit.map(exit, asJson)).toEqual(Exit.succeed({ ok: true }))
      expect(api.seen.length).toBe(3)
    }))

  const refusedMonitor = (monitor: string, options?: Poll.OperationOptions, first = "https://api.test/jobs") =>
    Effect.gen(function*() {
      const api = fakeApi((_, n) =>
        n === 1 ? { status: 202, headers: { "operation-location": monitor } } : { body: { status: "Succeeded" } }
      )
      const exit = yield* settle(Poll.operation(HttpClientRequestM.post(first), api.send, options))
      return { exit, seen: api.seen }
    })

  it.effect("monitor URLs: cross-origin, downgrade, javascript:, userinfo are typed, nothing is polled", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["https://evil.test/op?api_key=hunter2", "CrossOrigin"],
        ["http://api.test/op", "Downgrade"],
        ["javascript:alert(1)", "InvalidMonitor"],
        ["https://user:hunter2@api.test/op", "InvalidMonitor"],
        ["https://[::1", "InvalidMonitor"]
      ]
      for (const [monitor, reason] of cases) {
        const { exit, seen } = yield* refusedMonitor(monitor)
        const error = failureOf(exit)
        expect(error).toMatchObject({ reason, polls: 0 })
        expect(error.message).not.toContain("hunter2")
        expect(seen.length).toBe(1)
      }
    }))

  it.effect("an allowed other origin is polled without credentials", () =>
    Effect.gen(function*() {
      const api = fakeApi((_, n) =>
        n === 1
          ? { status: 202, headers: { "operation-location": "https://status.test/op" } }
          : { body: { status: "Succeeded" } }
      )
      const request = HttpClientRequestM.del("https://api.test/jobs/1").pipe(
        HttpClientRequestM.setHeader("authorization", "Bearer t0ken"),
        HttpClientRequestM.setHeader("cookie", "sid=1")
      )
      const exit = yield* settle(Poll.operation(request, api.send, { allowedOrigins: ["https://status.test"] }))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(api.seen[1].url).toBe("https://status.test/op")
      expect(api.seen[1].headers["authorization"]).toBeUndefined()
      expect(api.seen[1].headers["cookie"]).toBeUndefined()
    }))

  it.effect("a pending answer's new monitor is followed, and held to the same rules", () =>
    Effect.gen(function*() {
      const api = fakeApi(({ url }, n) =>
        n === 1
          ? { status: 202, headers: { "operation-location": "/op/1" } }
          : url.pathname === "/op/1"
          ? { status: 202, body: { status: "Running" }, headers: { "operation-location": "/op/2" } }
          : { body: { status: "Succeeded" } }
      )
      yield* settle(Poll.operation(HttpClientRequestM.del("https://api.test/jobs/1"), api.send))
      expect(api.seen.map((s) => new URL(s.url).pathname)).toEqual(["/jobs/1", "/op/1", "/op/2"])
      const moved = fakeApi((_, n) =>
        n === 1
          ? { status: 202, headers: { location: "/queue/1" } }
          : { status: 202, headers: { location: "https://evil.test/queue?token=hunter2" } }
      )
      const exit = yield* settle(Poll.operation(HttpClientRequestM.post("https://api.test/jobs"), moved.send))
      const error = failureOf(exit)
      expect(error).toMatchObject({ reason: "CrossOrigin", polls: 1 })
      expect(error.message).not.toContain("hunter2")
      expect(moved.seen.length).toBe(2)
    }))

  it.effect("PATCH: finalStateVia's URL, else the request's; original-uri for a POST", () =>
    Effect.gen(function*() {
      const run = (method: "PATCH" | "POST", options?: Poll.OperationOptions) =>
        Effect.gen(function*() {
          const api = fakeApi((_, n) =>
            n === 1
              ? { status: 202, headers: { "operation-location": "/op" } }
              : n === 2
              ? { body: { status: "Succeeded" } }
              : { body: { final: true } }
          )
          const request = HttpClientRequestM.make(method)("https://api.test/things/1")
          yield* settle(Poll.operation(request, api.send, options))
          return api.seen.map((s) => `${s.method} ${new URL(s.url).pathname}`)
        })
      expect(yield* run("PATCH")).toEqual(["PATCH /things/1", "GET /op", "GET /things/1"])
      expect(yield* run("POST", { finalStateVia: "original-uri" })).toEqual([
        "POST /things/1",
        "GET /op",
        "GET /things/1"
      ])
      // a POST without a Location: the monitor's last answer
      expect(yield* run("POST")).toEqual(["POST /things/1", "GET /op"])
    }))

  it.effect("a final resource URL is held to the same rules", () =>
    Effect.gen(function*() {
      const api = fakeApi((_, n) =>
        n === 1
          ? { status: 202, headers: { "operation-location": "/op" } }
          : { body: { status: "Succeeded", resourceLocation: "https://other.test/r" } }
      )
      const exit = yield* settle(Poll.operation(HttpClientRequestM.post("https://api.test/jobs"), api.send))
      expect(failureOf(exit)).toMatchObject({ reason: "CrossOrigin", polls: 1 })
      expect(api.seen.length).toBe(2)
    }))

  it.effect("a 202's Retry-After beyond maxRetryAfter fails at once with TimedOut", () =>
    Effect.gen(function*() {
      const api = fakeApi(() => ({ status: 202, headers: { "operation-location": "/op", "retry-after": "3600" } }))
      const fiber = yield* Effect.fork(Poll.operation(HttpClientRequestM.post("https://api.test/jobs"), api.send))
      yield* TestClock.adjust("1 millis")
      expect(failureOf(yield* Fiber.await(fiber))).toMatchObject({ reason: "TimedOut", polls: 0 })
      expect(api.seen.length).toBe(1)
    }))

  it.effect("a transient failure of one poll is retried by the caller's policy, not by the poller", () =>
    Effect.gen(function*() {
      const api = fakeApi((_, n) =>
        n === 1
          ? { status: 202, headers: { "operation-location": "/op" } }
          : n === 2
          ? { status: 503, body: { error: "busy" } }
          : { body: { status: "Succeeded" } }
      )
      const exit = yield* settle(
        Poll.operation(HttpClientRequestM.del("https://api.test/jobs/1"), (r) => Policy.send(api.client, r)).pipe(
          Effect.provide(Policy.layer({ retry: { maxAttempts: 3 } }))
        )
      )
      expect(exit).toMatchObject({ _tag: "Success" })
      expect(api.seen.length).toBe(3)
    }))

  it.effect("a poll that fails for good fails the operation with that failure", () =>
    Effect.gen(function*() {
      const api = fakeApi((_, n) =>
        n === 1 ? { status: 202, headers: { "operation-location": "/op" } } : { status: 404 }
      )
      const exit = yield* settle(Poll.operation(HttpClientRequestM.del("https://api.test/jobs/1"), api.send))
      expect(failureOf(exit)).toMatchObject({ _tag: "ClientError", status: 404 })
    }))

  it.effect("span http.client.poll DELETE counts the monitor's polls", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const api = fakeApi((_, n) =>
        n === 1
          ? { status: 202, headers: { "operation-location": "/op" } }
          : { body: { status: n < 4 ? "Running" : "Succeeded" } }
      )
      yield* settle(
        Poll.operation(HttpClientRequestM.del("https://api.test/jobs/1"), api.send).pipe(Effect.withTracer(tracer))
      )
      const [span] = spans.filter((s) => s.name === "http.client.poll DELETE")
      expect(span.attributes.get("sturdy.polls")).toBe(3)
      expect(span.attributes.get("sturdy.outcome")).toBe("success")
    }))

  it.effect("a relative request URL is InvalidOptions, before anything is sent", () =>
    Effect.gen(function*() {
      const api = fakeApi(() => ({ status: 200 }))
      const result = yield* Effect.either(Poll.operation(HttpClientRequestM.post("/jobs"), api.send))
      expect(Either.isLeft(result) && result.left).toMatchObject({ reason: "InvalidOptions" })
      expect(api.seen.length).toBe(0)
    }))
})

describe("Poll.operationJson", () => {
  const Export = Schema.Struct({ id: Schema.String, rows: Schema.Number })
  const exportApi = (result: Answer) =>
    fakeApi((_, n) =>
      n === 1
        ? { status: 202, headers: { "operation-location": "/op/1", location: "/exports/1", "retry-after": "5" } }
        : n === 2
        ? { body: { status: "Succeeded" } }
        : result
    )

  it.effect("the final result decoded with the schema, after the same polls as Poll.operation", () =>
    Effect.gen(function*() {
      const api = exportApi({ body: { id: "e1", rows: 12 } })
      const exit = yield* settle(
        Poll.operationJson(HttpClientRequestM.post("https://api.test/exports"), api.send, Export)
      )
      expect(exit).toEqual(Exit.succeed({ id: "e1", rows: 12 }))
      expect(api.seen.map((s) => `${s.method} ${new URL(s.url).pathname} ${s.at}`)).toEqual([
        "POST /exports 0",
        "GET /op/1 5000",
        "GET /exports/1 5000"
      ])
    }))

  it.effect("a result that is not JSON is InvalidJson; one the schema refuses is SchemaMismatch (HttpFailure's)", () =>
    Effect.gen(function*() {
      const notJson = exportApi({ raw: "<html>oops</html>" })
      const invalid = failureOf(
        yield* settle(Poll.operationJson(HttpClientRequestM.post("https://api.test/exports"), notJson.send, Export))
      )
      expect(invalid).toMatchObject({ _tag: "InvalidJson", status: 200 })
      const wrong = exportApi({ body: { id: "e1", rows: "twelve" } })
      const mismatch = failureOf(
        yield* settle(Poll.operationJson(HttpClientRequestM.post("https://api.test/exports"), wrong.send, Export))
      )
      expect(mismatch).toMatchObject({ _tag: "SchemaMismatch", status: 200 })
      expect(mismatch.message).toContain("rows")
    }))

  it.effect("a DELETE's 204 gives the schema undefined (Schema.Void); a PollError is left as it is", () =>
    Effect.gen(function*() {
      const deleted = fakeApi((_, n) => n === 1 ? { status: 202, headers: { location: "/queue/1" } } : { status: 204 })
      const exit = yield* settle(
        Poll.operationJson(HttpClientRequestM.del("https://api.test/things/1"), deleted.send, Schema.Void)
      )
      expect(exit).toEqual(Exit.succeed(undefined))
      const failing = fakeApi((_, n) =>
        n === 1 ? { status: 202, headers: { "operation-location": "/op" } } : { body: { status: "Failed" } }
      )
      const failed = failureOf(
        yield* settle(Poll.operationJson(HttpClientRequestM.post("https://api.test/exports"), failing.send, Export))
      )
      expect(failed).toMatchObject({ _tag: "PollError", reason: "Failed", polls: 1 })
    }))

  it.effect("with initial: \"any\", an ARM PUT body polled to Succeeded, decoded", () =>
    Effect.gen(function*() {
      const Vm = Schema.Struct({ id: Schema.String, properties: Schema.Struct({ provisioningState: Schema.String }) })
      const api = fakeApi((_, n) => ({
        status: n === 1 ? 201 : 200,
        body: { id: "vm1", properties: { provisioningState: n < 3 ? "Creating" : "Succeeded" } }
      }))
      const exit = yield* settle(
        Poll.operationJson(HttpClientRequestM.put("https://api.test/vms/vm1"), api.send, Vm, { initial: "any" })
      )
      expect(exit).toEqual(Exit.succeed({ id: "vm1", properties: { provisioningState: "Succeeded" } }))
      expect(api.seen.length).toBe(3)
    }))

  it.effect("maxJsonDepth: a deeper result is InvalidJson; out of range it is InvalidOptions with the others", () =>
    Effect.gen(function*() {
      const Deep = Schema.Unknown
      const api = exportApi({ body: { a: { b: { c: [1] } } } })
      const deep = failureOf(
        yield* settle(
          Poll.operationJson(HttpClientRequestM.post("https://api.test/exports"), api.send, Deep, { maxJsonDepth: 2 })
        )
      )
      expect(deep).toMatchObject({ _tag: "InvalidJson" })
      const within = exportApi({ body: { a: { b: { c: [1] } } } })
      const exit = yield* settle(
        Poll.operationJson(HttpClientRequestM.post("https://api.test/exports"), within.send, Deep, { maxJsonDepth: 4 })
      )
      expect(exit).toEqual(Exit.succeed({ a: { b: { c: [1] } } }))
      const refused = fakeApi(() => ({ status: 200, body: {} }))
      const error = failureOf(
        yield* settle(
          Poll.operationJson(HttpClientRequestM.post("https://api.test/exports"), refused.send, Deep, {
            maxJsonDepth: -1,
            finalStateVia: "nowhere" as Poll.FinalStateVia
          })
        )
      )
      expect(error).toMatchObject({ _tag: "PollError", reason: "InvalidOptions", polls: 0 })
      expect(error.message).toContain("maxJsonDepth")
      expect(error.message).toContain("finalStateVia")
      expect(refused.seen.length).toBe(0)
    }))
})
