/**
 * discordjs/discord.js `packages/rest/__tests__/RequestHandler.test.ts` (commit
 * 219ad7ba07cccc256aa0a169d551a43686c14e23): the rate-limit headers its mocked Discord answers with, read by
 * `RetryHeaders`. discord.js has no header-parsing unit test: its headers are read inside `SequentialHandler.runRequest`
 * (`src/lib/handlers/SequentialHandler.ts`, same commit), and each `it` here takes the headers one peer test sends and
 * compares the reading of that code (in the comment) with Sturdy's (asserted). Named `<peer test>: <which answer>`.
 * The same cases over a real server are in `test/peer-discord-rest.test.ts`.
 *
 * Mapping: discord.js reads `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset-After` (seconds, with a
 * fraction), `Retry-After` (`Number(value) * 1000`, so fractional seconds too), `X-RateLimit-Bucket`,
 * `X-RateLimit-Global` and `X-RateLimit-Scope`, and adds its `offset` (default 50 ms) to every wait. Sturdy's
 * `RetryHeaders.parse` is the reading: `limit`, `remaining`, `reset`, and `wait` (what `Policy` waits).
 *
 * Deliberate differences (each test says which):
 * - `Retry-After` is RFC 9110 delay-seconds, digits only: `0.998` (the sublimit mocks' value) is no hint for Sturdy
 *   (its backoff applies); discord.js waits 998 ms. Discord's own 429s send whole seconds in the header (the fraction is
 *   in the body's `retry_after`, which neither library reads).
 * - `X-RateLimit-Reset-After` is not read by Sturdy (a difference, not a misreading: `RetryHeaders` does not document
 *   it); Sturdy reads Discord's `X-RateLimit-Reset` (epoch seconds, which discord.js does not read) instead.
 * - A negative `X-RateLimit-Remaining` (`-1`, as the sublimit mock sends past its 10 requests) is no count for Sturdy;
 *   discord.js takes `Number("-1")`, an exhausted bucket.
 * - `X-RateLimit-Bucket`, `X-RateLimit-Global` and `X-RateLimit-Scope` are not read: Sturdy has no per-route buckets
 *   (its server pause is per upstream key: `upstreamKey`, `endpoints`), and every 429 with a wait pauses the whole key,
 *   global or not.
 * - No `offset`: Sturdy's `Policy` adds its `retry.retryAfterJitter` (up to 10 %, at most 1 s) instead.
 *
 * Not ported: the headers of "Handle global rate limits" (none: its mock answers 200 with a `{ global: true }` body),
 * and the tests without rate-limit headers. The last `it` is Discord's documented header example, which discord.js's
 * `RESTRateLimit` docs link; it is not a discord.js test.
 */
import * as Headers from "@effect/platform/Headers"
import { describe, expect, it } from "@effect/vitest"
import { RetryHeaders } from "@sturdy/http"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

const now = Date.UTC(2026, 11, 6, 1, 0, 0)

/** what Sturdy reads from `input`: the summary and the wait (with the header it came from) */
const read = (input: Record<string, string>, at = now) => {
  const parsed = RetryHeaders.parse(Headers.fromInput(input), at)
  return {
    limit: Option.getOrUndefined(parsed.limit),
    remaining: Option.getOrUndefined(parsed.remaining),
    reset: Option.getOrUndefined(Option.map(parsed.reset, (d) => Duration.toMillis(d.duration))),
    wait: Option.getOrUndefined(Option.map(parsed.wait, (w) => [Duration.toMillis(w.duration), w.source] as const))
  }
}

const bucket = "80c17d2f203122d936070c88c8d10f33"

describe("discord.js RequestHandler.test.ts: the rate-limit headers", () => {
  it("Handle standard rate limits: the 204 that spends the bucket", () => {
    // discord.js: limit 1, remaining 0, reset 250 ms (+ offset) from now: the next request waits for it
    const headers = {
      "x-ratelimit-limit": "1",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset-after": "0.25",
      "x-ratelimit-bucket": bucket,
      via: "1.1 google"
    }
    // Sturdy: the counts, but no reset (`Reset-After` is not read), so no wait; and `Policy` acts on failures only,
    // so a 2xx with no requests left holds back no later call
    expect(read(headers)).toStrictEqual({ limit: 1, remaining: 0, reset: undefined, wait: undefined })
  })

  it("Handle standard rate limits: the 429", () => {
    // the mock's `retry-after` is `resetAfter - Date.now()`, milliseconds (250) written where seconds go; discord.js
    // reads it as seconds as Sturdy does: 250 s
    const headers = {
      "x-ratelimit-limit": "1",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset-after": "0.25",
      "x-ratelimit-bucket": bucket,
      "retry-after": "250",
      via: "1.1 google"
    }
    expect(read(headers)).toStrictEqual({ limit: 1, remaining: 0, reset: undefined, wait: [250_000, "retry-after"] })
  })

  it("Handle sublimits: the 429 of a third name change in a second", () => {
    // requests left in the bucket (7), so discord.js reads the Retry-After as a sublimit: 998 ms for this request alone
    const headers = {
      "x-ratelimit-limit": "10",
      "x-ratelimit-remaining": "7",
      "x-ratelimit-reset-after": "0.25",
      "retry-after": "0.998",
      via: "1.1 google",
      "content-type": "application/json"
    }
    // Sturdy: `0.998` is not RFC 9110 delay-seconds, and the bucket is not exhausted: no wait (the backoff applies)
    expect(read(headers)).toStrictEqual({ limit: 10, remaining: 7, reset: undefined, wait: undefined })
    expect(RetryHeaders.parseRetryAfter("0.998", now)).toStrictEqual(Option.none())
  })

  it("Handle sublimits: the 429 past the bucket's 10 requests", () => {
    // `${10 - sublimitRequests}` is "-1" on the 11th request: discord.js's bucket is exhausted for the Retry-After
    const headers = {
      "x-ratelimit-limit": "10",
      "x-ratelimit-remaining": "-1",
      "x-ratelimit-reset-after": "0.25",
      "retry-after": "0.25",
      via: "1.1 google",
      "content-type": "application/json"
    }
    // Sturdy: a negative count is no count, and `0.25` no Retry-After: nothing to wait for but the backoff
    expect(read(headers)).toStrictEqual({ limit: 10, remaining: undefined, reset: undefined, wait: undefined })
  })

  it("Handle unexpected 429: Retry-After 1 through Google's proxy", () => {
    // discord.js: 1,000 ms (+ offset)
    expect(read({ "retry-after": "1", via: "1.1 google" })).toStrictEqual({
      limit: undefined,
      remaining: undefined,
      reset: undefined,
      wait: [1_000, "retry-after"]
    })
  })

  it("Handle unexpected 429 cloudflare: Retry-After 1 alone", () => {
    // discord.js: 1,000 ms (+ offset); Cloudflare's 429 carries no `via`, and neither library looks at it
    expect(read({ "retry-after": "1" }).wait).toStrictEqual([1_000, "retry-after"])
  })

  it("Discord's documented headers (not a discord.js test): X-RateLimit-Reset is read, Reset-After is not", () => {
    const headers = {
      "x-ratelimit-limit": "5",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": "1470173023",
      "x-ratelimit-reset-after": "1",
      "x-ratelimit-bucket": "abcd1234"
    }
    // one second before the documented reset: the epoch-seconds reset of an exhausted quota is the wait
    const at = 1_470_173_022_000
    expect(read(headers, at)).toStrictEqual({ limit: 5, remaining: 0, reset: 1_000, wait: [1_000, "x-ratelimit"] })
    // `X-RateLimit-Global` and `X-RateLimit-Scope` change nothing in the reading
    expect(read({ ...headers, "x-ratelimit-global": "true", "x-ratelimit-scope": "shared" }, at))
      .toStrictEqual(read(headers, at))
    // with only the Reset-After, no reset at all
    const { "x-ratelimit-reset": _, ...resetAfterOnly } = headers
    expect(read(resetAfterOnly, at)).toStrictEqual({ limit: 5, remaining: 0, reset: undefined, wait: undefined })
  })
})
