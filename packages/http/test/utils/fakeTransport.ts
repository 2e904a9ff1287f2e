import { HttpClient, HttpClientError, type HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Effect } from "effect"

/** A request as the fake transport saw it. */
export interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
}

/**
 * An in-memory `HttpClient`: `respond` returns a web `Response` (possibly after `Effect.sleep`, which runs on the
 * TestClock) or fails with a platform `RequestError` cause. Records what was sent.
 */
export const fakeClient = (
  respond: (
    request: HttpClientRequest.HttpClientRequest,
    url: URL
  ) => Effect.Effect<Response, { readonly cause: unknown }>
) => {
  const seen: Array<Seen> = []
  const client = HttpClient.make((request, url) => {
    const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : undefined
    seen.push({ method: request.method, url: url.toString(), headers: request.headers, body })
    return respond(request, url).pipe(
      Effect.map((response) => HttpClientResponse.fromWeb(request, response)),
      Effect.mapError(({ cause }) => new HttpClientError.RequestError({ request, reason: "Transport", cause }))
    )
  })
  return { client, seen }
}

/** A JSON `Response`. */
export const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

/** A `Response` whose body sends `chunks` and then never ends. */
export const openResponse = (chunks: ReadonlyArray<Uint8Array | string>, init: ResponseInit): Response =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) {
          controller.enqueue(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk)
        }
      }
    }),
    init
  )

/** A JSON `Response` whose body sends `first` and then never ends. */
export const stalledResponse = (first: string, headers: Record<string, string> = {}): Response =>
  openResponse([first], { status: 200, headers: { "content-type": "application/json", ...headers } })

/** A system-style error with a `code`, as node and undici raise them. */
export const systemError = (code: string, message = code): Error => Object.assign(new Error(message), { code })
