/**
 * The README's quick start, kept here so CI type-checks it. It calls a public placeholder host, so the smoke test
 * does not run it; run the other examples (they start their own local server) to see Sturdy at work.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Policy, SturdyClient } from "@sturdy/http"
import { UndiciHttpClient } from "@sturdy/node"
import { Console, Effect, Layer, Schema } from "effect"

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
// the client's calls run through the Policy below it
const ApiLive = SturdyClient.layer({ baseUrl: "https://api.example.com" }).pipe(
  Layer.provide(Policy.layer({ totalTimeout: "10 seconds", retry: { maxAttempts: 4 } })),
  Layer.provide(UndiciHttpClient.layer({ connections: 64 }))
)
const program = Effect.flatMap(SturdyClient.SturdyClient, (api) => api.get("/users/1", { schema: User })).pipe(
  Effect.flatMap((user) => Console.log(`hello, ${user.name}`)),
  Effect.catchTags({
    ClientError: (e) => Console.log(`no such user (${e.status})`),
    CircuitOpen: (e) => Console.log(`upstream resting, retry in ${e.retryAfter}`)
  })
)
NodeRuntime.runMain(program.pipe(Effect.provide(ApiLive)))
