import * as Data from "effect/Data"

/** A command that ended with a non-zero exit code; `message` (if any) is printed to stderr. */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{
  readonly code: number
  readonly detail?: string | undefined
}> {
  override get message(): string {
    return this.detail ?? `exit code ${this.code}`
  }
}
