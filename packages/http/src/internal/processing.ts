import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"

/** @internal */
export interface Processing<E, R> {
  readonly preprocess: HttpClient.HttpClient.Preprocess<E, R>
  readonly postprocess: HttpClient.HttpClient.Postprocess<E, R>
}

// `preprocess`/`postprocess` are not on the public interface, but every client built by @effect/platform has them:
// middleware acts in `postprocess` to decide per redirect hop, and `execute` is `postprocess(preprocess(request))`.
/** @internal */
export const hasProcessing = <E, R>(
  client: HttpClient.HttpClient.With<E, R>
): client is HttpClient.HttpClient.With<E, R> & Processing<E, R> =>
  Predicate.hasProperty(client, "preprocess") && Predicate.isFunction(client.preprocess) &&
  Predicate.hasProperty(client, "postprocess") && Predicate.isFunction(client.postprocess)

/** @internal */
export const processingOf = <E, R>(client: HttpClient.HttpClient.With<E, R>): Processing<E, R> =>
  hasProcessing(client) ? client : {
    preprocess: Effect.succeed,
    postprocess: (request) => Effect.flatMap(request, client.execute)
  }
