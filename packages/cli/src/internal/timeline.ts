import type * as HttpFailure from "@sturdy/http/HttpFailure"
import * as durations from "./duration.js"

/** What happened to one attempt. */
export type Outcome =
  | { readonly _tag: "Ok"; readonly status: number }
  | { readonly _tag: "Failed"; readonly label: string; readonly status: number | undefined }
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "NotSent"; readonly label: string }

/** The retry decision taken after an attempt failed. */
export interface Decision {
  readonly retrying: boolean
  readonly delayMillis: number
  readonly reason: string
}

/** One row of the timeline. */
export interface Row {
  readonly attempt: number
  readonly startedAt: number
  endedAt: number | undefined
  outcome: Outcome | undefined
  decision: Decision | undefined
}

/** How an attempt ended (the fields of the policy's `AttemptEnded` event that a row shows). */
export interface Ended {
  readonly outcome: "success" | "failure" | "interrupted" | "defect"
  readonly status: number | undefined
  readonly failure: HttpFailure.HttpFailure | undefined
}

/** A line to print as it happens. */
export type Event =
  | { readonly _tag: "Finished"; readonly row: Row }
  | { readonly _tag: "Decided"; readonly row: Row }
  | { readonly _tag: "Done" }

const describeFailure = (failure: HttpFailure.HttpFailure): string => {
  switch (failure._tag) {
    case "ConnectionError":
      return `ConnectionError (${failure.reason}${notSent(failure)})`
    case "Timeout":
      return `Timeout (${failure.phase}${notSent(failure)})`
    case "InvalidRequest":
      return `InvalidRequest (${failure.reason})`
    default:
      return failure._tag
  }
}

// why a POST was repeated after a timeout or a reset: the transport knows it never wrote the request
const notSent = (failure: HttpFailure.ConnectionError | HttpFailure.Timeout): string =>
  failure.requestSent === false ? ", not sent" : ""

const statusOf = (failure: HttpFailure.HttpFailure): number | undefined =>
  "status" in failure ? failure.status : undefined

/**
 * Collects the attempts of one call and the retry decisions between them. Attempt numbers follow the retry
 * stage's: a retry decision about attempt `n` is about the failure of attempt `n - 1`.
 */
export class Recorder {
  readonly rows: Array<Row> = []
  private nextAttempt = 1

  readonly startedAt: number

  constructor(readonly clock: () => number, readonly emit: (event: Event) => void) {
    this.startedAt = clock()
  }

  /** Milliseconds since the call started. */
  elapsed(): number {
    return this.clock() - this.startedAt
  }

  // the rows of the attempts under way, by attempt and hedge
  private readonly running = new Map<string, Row>()

  /** Records the start of an attempt (or of one of its hedges), from the policy's `AttemptStarted` event. */
  started(attempt: number, hedge: number): void {
    const row: Row = { attempt, startedAt: this.elapsed(), endedAt: undefined, outcome: undefined, decision: undefined }
    this.rows.push(row)
    this.running.set(`${attempt}/${hedge}`, row)
  }

  /** Records the end and outcome of an attempt, from the policy's `AttemptEnded` event. */
  ended(attempt: number, hedge: number, ended: Ended): void {
    const key = `${attempt}/${hedge}`
    const row = this.running.get(key)
    if (row === undefined) return
    this.running.delete(key)
    row.endedAt = this.elapsed()
    row.outcome = ended.outcome === "success"
      ? { _tag: "Ok", status: ended.status ?? 0 }
      : ended.failure !== undefined
      ? { _tag: "Failed", label: describeFailure(ended.failure), status: statusOf(ended.failure) }
      : { _tag: "Interrupted" }
    this.emit({ _tag: "Finished", row })
  }

  /** Records an attempt a policy refused to send (an open breaker, a full bulkhead), labelled with the refusal. */
  reject(attempt: number, label: string): void {
    this.rowOf(attempt, label)
  }

  /** Records a retry decision (from the policy's `RetryDecision` events) on the row of the attempt that failed. */
  decide(attempt: number, decision: Decision): void {
    // the policy reports a refused attempt before deciding about it: the fallback only keeps a decision from being lost
    const row = this.rowOf(attempt - 1, "rejected by policy")
    row.decision = decision
    if (decision.retrying) this.nextAttempt = attempt
    this.emit({ _tag: "Decided", row })
  }

  // The last row of `attempt` (a hedge shares its attempt's number), or a new not-sent row for it.
  private rowOf(attempt: number, notSentLabel: string): Row {
    for (let index = this.rows.length - 1; index >= 0; index--) {
      if (this.rows[index].attempt === attempt) return this.rows[index]
    }
    const row: Row = {
      attempt,
      startedAt: this.elapsed(),
      endedAt: undefined,
      outcome: { _tag: "NotSent", label: notSentLabel },
      decision: undefined
    }
    this.rows.push(row)
    this.emit({ _tag: "Finished", row })
    return row
  }

  /** Labels the last row with the call's final failure when no attempt could be sent at all. */
  finishWith(label: string): void {
    const last = this.rows.at(-1)
    if (last === undefined) {
      const row: Row = {
        attempt: this.nextAttempt,
        startedAt: this.elapsed(),
        endedAt: undefined,
        outcome: { _tag: "NotSent", label },
        decision: undefined
      }
      this.rows.push(row)
      this.emit({ _tag: "Finished", row })
    } else if (last.outcome?._tag === "NotSent") {
      last.outcome = { _tag: "NotSent", label }
    }
  }
}

const reasonLabels: Record<string, string> = {
  "backoff": "backoff",
  "retry-after": "retry-after",
  "budget-refused": "budget",
  "deadline": "deadline",
  "retry-after-too-long": "retry-after too long",
  "exhausted": "attempts exhausted",
  "not-retryable": "not retryable"
}

/** The label of a retry reason as the timeline prints it. */
export const reasonLabel = (reason: string): string => reasonLabels[reason] ?? reason

const pad = (text: string, width: number): string =>
  text.length >= width ? text : text + " ".repeat(width - text.length)

/** The outcome of an attempt as a short label: `200`, `503 ServerError`, `ConnectionError (Refused)`. */
export const outcomeLabel = (outcome: Outcome | undefined): string => {
  if (outcome === undefined) return "…"
  switch (outcome._tag) {
    case "Ok":
      return `${outcome.status} OK`
    case "Failed":
      return outcome.status === undefined ? outcome.label : `${outcome.status} ${outcome.label}`
    case "Interrupted":
      return "interrupted (timeout)"
    case "NotSent":
      return `not sent: ${outcome.label}`
  }
}

/** The line printed when an attempt ends. */
export const formatFinished = (row: Row): string => {
  const took = row.endedAt === undefined ? "" : ` in ${durations.format(row.endedAt - row.startedAt)}`
  return `  #${pad(String(row.attempt), 3)}${pad(`+${durations.format(row.startedAt)}`, 10)}${
    outcomeLabel(row.outcome)
  }${took}`
}

/** The line printed when a retry decision is taken. */
export const formatDecision = (decision: Decision): string => {
  const delay = durations.format(decision.delayMillis)
  if (decision.retrying) return `        ↳ retry in ${delay} (${reasonLabel(decision.reason)})`
  switch (decision.reason) {
    case "deadline":
      return `        ↳ giving up: the next attempt (in ${delay}) would start past the deadline (deadline)`
    case "budget-refused":
      return `        ↳ giving up: the retry budget is spent (budget)`
    case "retry-after-too-long":
      return `        ↳ giving up: the wait asked for (${delay}) is longer than allowed (retry-after)`
    default:
      return `        ↳ giving up (${reasonLabel(decision.reason)})`
  }
}
