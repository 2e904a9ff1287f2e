/**
 * Property tests of `sturdy get|post|put|patch|delete|head` against `FaultServer` scripts on 127.0.0.1.
 *
 * The model (from `ExitCode.ts`'s table, `Cli.ts`, `packages/cli/README.md` and `@sturdy/http`'s `Policy` docs):
 * - a status answers its kind: 2xx → 0, 429 → `RateLimited` (6), other 4xx → `ClientError` (4), 5xx →
 *   `ServerError` (5), an unfollowed 3xx → `UnexpectedStatus` (9); a reset before the response → `Connection` (7),
 *   an attempt past `--timeout` or a call past `--deadline` → `Timeout` (8), a JSON body that does not parse →
 *   `InvalidResponse` (10), a cut-off body → `BodyIncomplete` (12), a body that does not match `--schema` →
 *   `SchemaMismatch` (11);
 * - retries (Policy's rules): a GET is retried after 429 and 5xx other than 501, 505 and 511, up to
 *   `retry.maxAttempts` attempts (`--retries N` makes it N + 1); no other status is retried;
 * - the timeline (`--json`'s `attempts`) has one row per attempt the server saw, each with its status, every row but
 *   the last saying `retrying: true`, the last `next: null` on success or the reason the command gave up
 *   (`attempts exhausted` or `not retryable`); the server saw exactly that many requests;
 * - a breaker with `consecutiveFailures: n` opens after n failed attempts: the next attempt is not sent and the call
 *   ends in `CircuitOpen` (13);
 * - `--json` is one document `{ ok, exitCode, method, url, status, headers|error, body?, attempts, elapsedMs }` with
 *   `error.kind` the kind whose code is the exit code.
 *
 * - `--header NAME:VALUE` goes out as the trimmed value (RFC 9110 field-value: visible ASCII, obs-text, space and
 *   tab); a value holding anything else (CR, LF, NUL, DEL, a character past U+00FF) is `InvalidRequest` (3) with
 *   nothing sent; `--data` goes out byte for byte as `application/json`.
 *
 * Real time: the server and the transport are real, so retries use 1 ms backoffs and the timeouts are 100–200 ms; no
 * test sleeps. Left out: redirects, 1xx, the size limit (10 MiB), Retry-After (example tests cover them).
 */
import { describe, expect, it } from "@effect/vitest"
import { ExitCode } from "@sturdy/cli"
import { FaultScript, FaultServer } from "@sturdy/testing"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import { jsonArbitrary, referenceValid, schemaArbitrary } from "./jsonSchemaModel.js"
import { check, loopback, sturdy, tempFile } from "./utils.js"

const kindOfCode = (code: number) =>
  (Object.keys(ExitCode.codes) as Array<ExitCode.Kind>).find((kind) => ExitCode.codes[kind] === code)

const codeOfStatus = (status: number) => status < 300 ? 0 : status < 400 ? 9 : status === 429 ? 6 : status < 500 ? 4 : 5
const retriedByDefault = (status: number) => status === 429 || (status >= 500 && ![501, 505, 511].includes(status))

const fastPolicy = (maxAttempts: number) =>
  tempFile("policy.json", {
    retry: { maxAttempts, baseDelay: "1ms", maxDelay: "2ms", jitter: "none", budget: false },
    circuitBreaker: false
  })

/** `--json`'s document, checked for its shape. */
const jsonResult = (stdout: string, code: number) => {
  const result = JSON.parse(stdout)
  expect(result.ok).toBe(code === 0)
  expect(result.exitCode).toBe(code)
  expect(typeof result.elapsedMs).toBe("number")
  expect(Array.isArray(result.attempts)).toBe(true)
  if (code === 0) {
    expect(Object.keys(result).sort()).toEqual(
      ["attempts", "body", "elapsedMs", "exitCode", "headers", "method", "ok", "status", "url"]
    )
  } else {
    expect(Object.keys(result).sort()).toEqual(
      ["attempts", "elapsedMs", "error", "exitCode", "method", "ok", "status", "url"]
    )
    expect(result.error.kind).toBe(kindOfCode(code))
    expect(typeof result.error.message).toBe("string")
  }
  for (const row of result.attempts) {
    expect(Object.keys(row).sort()).toEqual(["attempt", "durationMs", "next", "outcome", "startedAtMs", "status"])
  }
  return result
}

describe("statuses, retries and the timeline", () => {
  const statuses = fc.constantFrom(200, 201, 204, 300, 400, 404, 409, 429, 500, 501, 502, 503, 504, 505, 511)

  it.scopedLive("exit code, attempts and statuses follow the model for any scripted sequence of statuses", () =>
    check(
      fc.record({
        script: fc.array(statuses, { minLength: 1, maxLength: 4 }),
        maxAttempts: fc.integer({ min: 1, max: 4 }),
        method: fc.constantFrom("get", "delete", "put")
      }),
      ({ maxAttempts, method, script }) =>
        Effect.scoped(Effect.gen(function*() {
          const route = `${method.toUpperCase()} /items`
          const api = yield* FaultServer.make(FaultScript.routes({
            [route]: FaultScript.sequence(
              ...script.map((status) => FaultScript.status(status)) as [FaultScript.Fault, ...Array<FaultScript.Fault>]
            )
          }))
          const ran = yield* sturdy(method, `${api.url}/items`, "--policy", fastPolicy(maxAttempts), "--json")
          // the model: each attempt takes the next status (the last repeats) until one is not retried
          const seen: Array<number> = []
          for (let attempt = 0; attempt < maxAttempts; attempt++) {
            const status = script[Math.min(attempt, script.length - 1)]
            seen.push(status)
            if (!retriedByDefault(status)) break
          }
          const last = seen.at(-1)!
          const code = codeOfStatus(last)
          const context = { script, maxAttempts, method, stderr: ran.stderr }
          expect([context, ran.code]).toEqual([context, code])
          const result = jsonResult(ran.stdout, code)
          expect([context, result.attempts.map((row: any) => row.status)]).toEqual([context, seen])
          expect(result.status).toBe(last)
          expect(result.attempts.map((row: any) => row.attempt)).toEqual(seen.map((_, index) => index + 1))
          expect(result.attempts.slice(0, -1).every((row: any) => row.next?.retrying === true)).toBe(true)
          const next = result.attempts.at(-1).next
          if (code === 0) expect(next).toBeNull()
          else {
            expect([context, next]).toEqual([context, {
              retrying: false,
              delayMs: expect.any(Number),
              reason: retriedByDefault(last) ? "attempts exhausted" : "not retryable"
            }])
          }
          expect((yield* api.requests).length).toBe(seen.length)
          // the timeline on stderr has the same rows
          expect(ran.stderr.split("\n").filter((line) => /^\s+#\d/.test(line))).toHaveLength(seen.length)
        })),
      { seed: 4701, numRuns: 40 }
    ))

  it.scopedLive("--retries N: a server that always fails sees N + 1 attempts, whatever the policy file says", () =>
    check(
      fc.record({ retries: fc.integer({ min: 0, max: 4 }), fileAttempts: fc.integer({ min: 1, max: 5 }) }),
      ({ fileAttempts, retries }) =>
        Effect.scoped(Effect.gen(function*() {
          const api = yield* FaultServer.make(FaultScript.routes({ "GET /down": FaultScript.status(503) }))
          const ran = yield* sturdy(
            "get",
            `${api.url}/down`,
            "--policy",
            fastPolicy(fileAttempts),
            "--retries",
            String(retries),
            "--json"
          )
          expect(ran.code).toBe(ExitCode.codes.ServerError)
          const result = jsonResult(ran.stdout, 5)
          expect([retries, result.attempts.length]).toEqual([retries, retries + 1])
          expect((yield* api.requests).length).toBe(retries + 1)
          expect(ran.stderr.split("\n")[0]).toContain(`${retries + 1} attempt${retries === 0 ? "" : "s"}`)
        })),
      { seed: 4702, numRuns: 12 }
    ))
})

describe("an open circuit breaker", () => {
  it.scopedLive("after consecutiveFailures failures the next attempt is not sent and the call ends in CircuitOpen (13)", () =>
    check(
      fc.record({ failures: fc.integer({ min: 1, max: 3 }), maxAttempts: fc.integer({ min: 1, max: 4 }) }),
      ({ failures, maxAttempts }) =>
        Effect.scoped(Effect.gen(function*() {
          const api = yield* FaultServer.make(FaultScript.routes({ "GET /down": FaultScript.status(503) }))
          const policy = tempFile("policy.json", {
            retry: { maxAttempts, baseDelay: "1ms", maxDelay: "2ms", jitter: "none", budget: false },
            circuitBreaker: { consecutiveFailures: failures, breakDuration: "1m" }
          })
          const ran = yield* sturdy("get", `${api.url}/down`, "--policy", policy, "--json")
          const opens = failures < maxAttempts
          const sent = Math.min(failures, maxAttempts)
          const context = { failures, maxAttempts, stderr: ran.stderr }
          expect([context, ran.code]).toEqual([context, opens ? 13 : 5])
          expect((yield* api.requests).length).toBe(sent)
          const result = jsonResult(ran.stdout, opens ? 13 : 5)
          expect(result.attempts.filter((row: any) => row.status === 503)).toHaveLength(sent)
          if (opens) expect(result.attempts.at(-1).outcome).toMatch(/^not sent/)
        })),
      { seed: 4703, numRuns: 12 }
    ))
})

describe("every failure kind has its exit code", () => {
  type Kind = "ok" | "reset" | "hang" | "malformed" | "truncated" | "mismatch" | "deadline"
  const faults: Record<
    Kind,
    { readonly fault: FaultScript.Fault; readonly code: number; readonly args: Array<string> }
  > = {
    ok: { fault: FaultScript.json({ id: 1 }), code: 0, args: [] },
    reset: { fault: FaultScript.reset("beforeHeaders"), code: 7, args: [] },
    hang: { fault: FaultScript.hang, code: 8, args: ["--timeout", "100ms"] },
    deadline: { fault: FaultScript.hang, code: 8, args: ["--deadline", "150ms"] },
    malformed: { fault: FaultScript.malformedJson(), code: 10, args: [] },
    truncated: { fault: FaultScript.truncated({ body: { items: [1, 2, 3] } }), code: 12, args: [] },
    mismatch: { fault: FaultScript.json({ id: "one" }), code: 11, args: ["--schema", "SCHEMA"] }
  }

  it.scopedLive("one attempt under --policy none; --json's error names the kind of the exit code", () =>
    check(
      fc.record({
        kind: fc.constantFrom(...(Object.keys(faults) as Array<Kind>)),
        method: fc.constantFrom("get", "delete", "put", "patch", "post"),
        json: fc.boolean()
      }),
      ({ json, kind, method }) =>
        Effect.scoped(Effect.gen(function*() {
          const { args, code, fault } = faults[kind]
          const api = yield* FaultServer.make(FaultScript.routes({ [`${method.toUpperCase()} /x`]: fault }))
          const schema = tempFile("schema.json", { type: "object", properties: { id: { type: "integer" } } })
          const ran = yield* sturdy(
            method,
            `${api.url}/x`,
            "--policy",
            "none",
            ...args.map((arg) => arg === "SCHEMA" ? schema : arg),
            ...(json ? ["--json"] : [])
          )
          const context = { kind, method, json, stderr: ran.stderr }
          expect([context, ran.code]).toEqual([context, code])
          if (json) {
            const result = jsonResult(ran.stdout, code)
            expect(result.attempts).toHaveLength(1)
            expect(result.method).toBe(method.toUpperCase())
            if (code === 0) expect(result.body).toEqual({ id: 1 })
          } else if (code === 0) {
            expect(JSON.parse(ran.stdout)).toEqual({ id: 1 })
          } else {
            expect(ran.stdout).toBe("")
            expect(ran.stderr).toContain(`(exit ${code})`)
          }
          expect((yield* api.requests).length).toBe(1)
        })),
      { seed: 4801, numRuns: 30 }
    ))

  it.scopedLive("--timeout and --deadline: a hanging server ends the call in Timeout (8) after the limit", () =>
    check(
      fc.record({ flag: fc.constantFrom("--timeout", "--deadline"), millis: fc.constantFrom(100, 150, 200) }),
      ({ flag, millis }) =>
        Effect.scoped(Effect.gen(function*() {
          const api = yield* FaultServer.make(FaultScript.routes({ "GET /slow": FaultScript.hang }))
          const ran = yield* sturdy("get", `${api.url}/slow`, "--policy", "none", flag, `${millis}ms`, "--json")
          expect(ran.code).toBe(8)
          const result = jsonResult(ran.stdout, 8)
          expect(result.error.tag).toBe("Timeout")
          expect(result.elapsedMs).toBeGreaterThanOrEqual(millis - 5)
          expect(result.elapsedMs).toBeLessThan(millis + 2_000)
        })),
      { seed: 4802, numRuns: 6 }
    ))
})

describe("--schema FILE through the command", () => {
  it.scopedLive("a served body passes iff the reference validator accepts it, and --json prints it as it came", () =>
    check(
      fc.tuple(schemaArbitrary, jsonArbitrary),
      ([schema, value]) =>
        Effect.scoped(Effect.gen(function*() {
          const api = yield* FaultServer.make(FaultScript.routes({ "GET /body": FaultScript.json(value) }))
          const file = tempFile("schema.json", schema)
          const ran = yield* sturdy("get", `${api.url}/body`, "--policy", "none", "--schema", file, "--json")
          const valid = referenceValid(schema, value)
          expect([schema, value, ran.code]).toEqual([schema, value, valid ? 0 : 11])
          const result = jsonResult(ran.stdout, valid ? 0 : 11)
          if (valid) expect(result.body).toEqual(value)
          else expect(result.error.message).toMatch(/\$/)
        })),
      { seed: 4901, numRuns: 40 }
    ))
})

describe("--header and --data on the wire", () => {
  const fieldValue = /^[\t\x20-\x7e\x80-\xff]*$/
  const valueText = fc.array(
    fc.constantFrom(
      "a",
      "Z",
      " ",
      "\t",
      ":",
      ",",
      ";",
      "=",
      "é",
      "ÿ",
      "\r",
      "\n",
      "\u0000",
      "\u007f",
      "😀",
      "€",
      "\"",
      "'"
    ),
    { maxLength: 8 }
  ).map((chars) => chars.join(""))

  it.scopedLive("a header goes out as its trimmed value, or the call is InvalidRequest (3) with nothing sent", () =>
    Effect.gen(function*() {
      const api = yield* loopback((_, response) => {
        response.writeHead(200, { "content-type": "text/plain" })
        response.end("ok")
      })
      yield* check(
        fc.record({ value: valueText, data: fc.option(fc.json({ maxDepth: 2 }), { nil: undefined }) }),
        ({ data, value }) =>
          Effect.gen(function*() {
            const before = api.seen.length
            const ran = yield* sturdy(
              "put",
              `${api.url}/x`,
              "--policy",
              "none",
              "-H",
              `X-Value:${value}`,
              ...(data === undefined ? [] : ["--data", data])
            )
            const sent = value.trim()
            if (fieldValue.test(sent)) {
              expect([value, ran.code]).toEqual([value, 0])
              expect(api.seen.length).toBe(before + 1)
              const seen = api.seen.at(-1)!
              // Node reads obs-text as latin1, as it was sent
              expect([value, seen.headers["x-value"] ?? ""]).toEqual([value, sent])
              expect(seen.body).toBe(data ?? "")
              if (data !== undefined) expect(seen.headers["content-type"]).toBe("application/json")
            } else {
              expect([value, ran.code]).toEqual([value, 3])
              expect(api.seen.length).toBe(before)
              expect(ran.stderr).toContain("invalid header")
            }
          }),
        { seed: 5001, numRuns: 60 }
      )
    }))
})
