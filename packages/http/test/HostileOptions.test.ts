// Hostile option values for `Policy.validate` / `Policy.make`: every field of every section (retry, circuitBreaker,
// bulkhead, rateLimit, hedging, the top level, and the same sections under `endpoints`), and the entries of `hosts`,
// `endpoints` and `retry.statuses`/`retry.methods`, fed wrong types, NaN, ±Infinity, -0, negatives, fractions, huge
// numbers, durations that do not parse, null, symbols, bigints, objects whose `valueOf` throws, in options that are
// plain, frozen, or carry `__proto__`/`constructor` keys (fast-check, fixed seed; the values are those of
// `@sturdy/policy`'s HostileOptions suite). `validate` must answer: a Right, or a Left `InvalidPolicy` whose problems
// name the field; never a throw (before the fix: a bigint threw from `JSON.stringify`, a symbol from a template, a
// throwing `valueOf` from a comparison), and the fields documented as numbers or functions accept nothing else. A
// throwing getter's own error passing through unchanged is allowed. `Attempt` options are covered by Attempt.test.ts
// ("Attempt options out of range"); `Redirect.follow` below.
import { describe, expect, it } from "@effect/vitest"
import * as Policy from "@sturdy/http/Policy"
import * as Redirect from "@sturdy/http/Redirect"
import * as Either from "effect/Either"
import { describeValue, GetterError, hostileValue, optionsWith, wrapper } from "../../policy/test/utils/hostile.js"

const fastCheck = { fastCheck: { seed: 20261206, numRuns: 60 } }

const sections: Readonly<Record<string, ReadonlyArray<string>>> = {
  "": ["totalTimeout", "attemptTimeout", "deadlineHeader", "retryCountHeader", "upstreamKey", "onEvent", "telemetry"],
  retry: [
    "maxAttempts",
    "baseDelay",
    "maxDelay",
    "jitter",
    "maxElapsed",
    "schedule",
    "delay",
    "statuses",
    "methods",
    "respectRetryAfter",
    "retryAfterStatuses",
    "maxRetryAfter",
    "retryAfterJitter",
    "budget",
    "idempotencyKey",
    "retryUnsent",
    "retryOn"
  ],
  circuitBreaker: [
    "failureRateThreshold",
    "minimumThroughput",
    "slidingWindow",
    "breakDuration",
    "consecutiveFailures",
    "failureCountThreshold",
    "halfOpenMaxProbes",
    "successThreshold",
    "maxProbeDuration",
    "countsAsFailure",
    "waitForProbe"
  ],
  bulkhead: ["maxConcurrent", "maxQueued", "maxWait"],
  rateLimit: ["limit", "window", "algorithm", "onExceeded"],
  hedging: ["delay", "maxHedges", "failure"]
}
const bases: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  rateLimit: { limit: 5, window: "1 second" },
  hedging: { delay: "1 second" }
}

// the fields documented as a number or a function: whatever else is accepted was read as something it does not say
const domains: Readonly<Record<string, (value: unknown) => boolean>> = {
  retryAfterJitter: (v) => typeof v === "number",
  failureRateThreshold: (v) => typeof v === "number",
  upstreamKey: (v) => typeof v === "function",
  onEvent: (v) => typeof v === "function",
  telemetry: (v) => typeof v === "boolean"
}

const judge = (field: string, value: unknown, validate: () => Either.Either<unknown, Policy.InvalidPolicy>) => {
  const label = `${field} <- ${describeValue(value)}`
  let answer: Either.Either<unknown, Policy.InvalidPolicy>
  try {
    answer = validate()
  } catch (error) {
    expect(error, `${label}: validate threw`).toBeInstanceOf(GetterError)
    return
  }
  if (Either.isLeft(answer)) {
    expect(answer.left._tag, label).toBe("InvalidPolicy")
    // options carrying `__proto__`/`constructor` keys are refused for those unknown keys, which is typed too
    expect(answer.left.message.includes(field) || answer.left.message.includes("__proto__"), label).toBe(true)
    return
  }
  const domain = domains[field]
  if (domain !== undefined && value !== null) expect(domain(value), `${label}: accepted`).toBe(true)
}

describe("HostileOptions: Policy.validate", () => {
  for (const [section, fields] of Object.entries(sections)) {
    for (const field of fields) {
      const name = section === "" ? field : `${section}.${field}`
      it.prop(name, [wrapper, hostileValue], ([wrap, value]) => {
        const options = section === ""
          ? optionsWith(wrap, {}, field, value)
          : { [section]: optionsWith(wrap, bases[section] ?? {}, field, value) }
        judge(field, value, () => Policy.validate(options))
        // an endpoint takes the timeouts, retry and hedging (the other sections are a host's)
        if (section === "retry" || section === "hedging") {
          judge(field, value, () => Policy.validate({ endpoints: { "GET /users/{id}": options } }))
        }
      }, fastCheck)
    }
  }
  it.prop("entries of hosts, endpoints, statuses and methods", [hostileValue], ([value]) => {
    judge("hosts", value, () => Policy.validate({ hosts: { "api.example.com": value } } as Policy.Options))
    judge("endpoints", value, () => Policy.validate({ endpoints: { "GET /users": value } } as Policy.Options))
    judge("statuses", value, () => Policy.validate({ retry: { statuses: [503, value as number] } }))
    judge("methods", value, () => Policy.validate({ retry: { methods: ["GET", value as "GET"] } }))
    judge("options", value, () => Policy.validate(value as Policy.Options))
  }, fastCheck)
})

describe("HostileOptions: Redirect.follow", () => {
  it.prop("maxRedirects and allowDowngrade", [wrapper, hostileValue], ([wrap, value]) => {
    for (const field of ["maxRedirects", "allowDowngrade"]) {
      try {
        Redirect.follow(optionsWith(wrap, {}, field, value))
      } catch (error) {
        if (error instanceof GetterError) continue
        expect(error, `${field} <- ${describeValue(value)}`).toBeInstanceOf(RangeError)
        expect((error as Error).message).toContain(field)
      }
    }
  }, fastCheck)
})
