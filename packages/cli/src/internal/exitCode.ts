import type * as ExitCode from "../ExitCode.js"

/** @internal */
export const codes = {
  Ok: 0,
  Internal: 1,
  Usage: 2,
  InvalidRequest: 3,
  ClientError: 4,
  ServerError: 5,
  RateLimited: 6,
  Connection: 7,
  Timeout: 8,
  UnexpectedStatus: 9,
  InvalidResponse: 10,
  SchemaMismatch: 11,
  BodyIncomplete: 12,
  CircuitOpen: 13,
  Rejected: 14,
  Interrupted: 130
} as const satisfies Record<ExitCode.Kind, number>

/** @internal */
export const descriptions: Record<ExitCode.Kind, string> = {
  Ok: "the request succeeded (2xx), or the command finished",
  Internal: "unexpected internal error (a bug: please report it)",
  Usage: "usage error: unknown option, bad value, unreadable --policy/--schema file, invalid policy",
  InvalidRequest:
    "the request could not be sent: malformed or non-http(s) URL, header with CR/LF, body that failed to encode",
  ClientError: "the server answered 4xx (other than 429)",
  ServerError: "the server answered 5xx",
  RateLimited: "the server answered 429, or a client-side rate limit / server pause refused the call",
  Connection:
    "connection failed: refused, DNS lookup, TLS, proxy refused the tunnel or the SOCKS5 connection, reset before a response",
  Timeout: "an attempt timed out (--timeout) or the whole call ran past its deadline (--deadline)",
  UnexpectedStatus: "the server answered 1xx or an unfollowed 3xx, or a redirect could not be followed",
  InvalidResponse: "the body is not valid JSON or does not decompress, or its Content-Type is not the expected one",
  SchemaMismatch: "the JSON body does not match --schema",
  BodyIncomplete: "the body was cut off mid-way, or is larger than the size limit",
  CircuitOpen: "the circuit breaker for the upstream is open",
  Rejected:
    "another policy rejected the call (bulkhead full, adaptive throttle, concurrency limit reached, rate limiter store unavailable)",
  Interrupted: "interrupted by Ctrl-C (SIGINT, 128 + 2); a SIGTERM exits 143 (128 + 15)"
}

/** @internal */
export const kindOf = (failure: ExitCode.Failure): ExitCode.Kind => {
  switch (failure._tag) {
    case "ConnectionError":
      return "Connection"
    case "Timeout":
      return "Timeout"
    case "ClientError":
      return "ClientError"
    case "RateLimited":
      return "RateLimited"
    case "ServerError":
      return "ServerError"
    case "UnexpectedStatus":
    case "RedirectFailed":
      return "UnexpectedStatus"
    case "BodyTruncated":
    case "BodyTooLarge":
      return "BodyIncomplete"
    case "BodyUndecodable":
    case "UnexpectedContentType":
    case "InvalidJson":
      return "InvalidResponse"
    case "SchemaMismatch":
      return "SchemaMismatch"
    // `AuthenticationFailed`: not sent either, its credentials could not be had (the command uses no token source)
    case "InvalidRequest":
    case "AuthenticationFailed":
      return "InvalidRequest"
    case "CircuitOpen":
      return "CircuitOpen"
    case "RateLimitExceeded":
      return "RateLimited"
    case "BulkheadRejected":
    case "AdaptiveThrottleRejected":
    case "ConcurrencyLimitExceeded":
    case "RateLimitStoreError":
      return "Rejected"
    case "RetryBudgetExhausted":
      // the budget only stopped the retries: the call failed for the reason of its last attempt
      return kindOf(failure.failure)
  }
}

/** @internal */
export const fromFailure = (failure: ExitCode.Failure): number => codes[kindOf(failure)]

/** @internal */
export const markdownTable = (): string => {
  const rows = (Object.keys(codes) as Array<ExitCode.Kind>).map((kind) =>
    `| ${codes[kind]} | \`${kind}\` | ${descriptions[kind]} |`
  )
  return ["| code | kind | meaning |", "| ---: | --- | --- |", ...rows].join("\n")
}
