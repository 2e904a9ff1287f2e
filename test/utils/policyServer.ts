import { HttpClient } from "@effect/platform"
import { Policy, SturdyClient } from "@sturdy/http"
import { FaultScript, FaultServer } from "@sturdy/testing"
import { Cause, Effect, Exit, Option, type Scope } from "effect"

/** The typed failure of an exit; throws (failing the test) on a success, a defect or an interruption. */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

/** A loopback FaultServer with `routes`, a Policy built from `options`, a SturdyClient.SturdyClient on the server, the client. */
export const serve = (
  routes: Parameters<typeof FaultScript.routes>[0],
  options: Policy.Options
): Effect.Effect<
  {
    readonly server: FaultServer.FaultServer
    readonly policy: Policy.Policy
    readonly api: SturdyClient.SturdyClient
    readonly client: HttpClient.HttpClient
  },
  Policy.InvalidPolicy,
  Scope.Scope | HttpClient.HttpClient
> =>
  Effect.gen(function*() {
    const server = yield* FaultServer.make(FaultScript.routes(routes))
    const policy = yield* Policy.make(options)
    const client = yield* HttpClient.HttpClient
    return { server, policy, client, api: SturdyClient.makeWith(client, { baseUrl: server.url, policy }) }
  })
