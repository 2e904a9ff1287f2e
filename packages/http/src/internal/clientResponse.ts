import * as Cookies from "@effect/platform/Cookies"
import type * as Headers from "@effect/platform/Headers"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import type * as Stream from "effect/Stream"

const utf8 = new TextDecoder()

/** @internal */
export abstract class Class extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId

  abstract readonly request: HttpClientRequest.HttpClientRequest
  abstract readonly status: number
  abstract readonly headers: Headers.Headers
  abstract readonly stream: Stream.Stream<Uint8Array, HttpClientError.ResponseError>
  abstract readonly bytes: Effect.Effect<Uint8Array, HttpClientError.ResponseError>

  /** One header by its lower-case name, as `headers[name]` has it (repeated headers joined with ", "). */
  header(name: string): string | undefined {
    return this.headers[name]
  }

  get cookies(): Cookies.Cookies {
    const header = this.headers["set-cookie"]
    return header === undefined ? Cookies.empty : Cookies.fromSetCookie([header])
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  /**
   * The body's bytes received so far as they came over the wire: before any decompression the transport did, after
   * its transfer coding (chunked) was removed. `undefined` (the default): the transport cannot tell, and telemetry
   * falls back on the bytes read. Read by `http.response.body.size` once the body has been read to its end.
   *
   * @since 0.2.0
   */
  get receivedBodyBytes(): number | undefined {
    return undefined
  }

  decodeError(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  /** Decodes the whole body; when `bytes` is already an `Exit` (the body arrived), without another Effect step. */
  decodeBytes<A>(decode: (bytes: Uint8Array) => A): Effect.Effect<A, HttpClientError.ResponseError> {
    const bytes = this.bytes
    if (Exit.isExit(bytes)) {
      const whole = bytes as Exit.Exit<Uint8Array, HttpClientError.ResponseError>
      return whole._tag === "Success" ? this.tryDecode(decode, whole.value) : Exit.failCause(whole.cause)
    }
    return Effect.flatMap(bytes, (value) => this.tryDecode(decode, value))
  }

  private tryDecode<A>(
    decode: (bytes: Uint8Array) => A,
    bytes: Uint8Array
  ): Exit.Exit<A, HttpClientError.ResponseError> {
    try {
      return Exit.succeed(decode(bytes))
    } catch (cause) {
      return Exit.fail(this.decodeError(cause))
    }
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return this.decodeBytes(decodeText)
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return this.decodeBytes(decodeJson)
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return this.decodeBytes(copyToArrayBuffer)
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return this.decodeBytes((bytes) => UrlParams.fromInput(new URLSearchParams(decodeText(bytes))))
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.flatMap(this.bytes, (bytes) =>
      Effect.tryPromise({
        try: () =>
          new Response(copyToArrayBuffer(bytes), { headers: { "content-type": this.headers["content-type"] ?? "" } })
            .formData(),
        catch: (cause) => this.decodeError(cause)
      }))
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

const decodeText = (bytes: Uint8Array): string => utf8.decode(bytes)

// an empty body is `null`, as the platform's own responses read it
const decodeJson = (bytes: Uint8Array): unknown => {
  const text = utf8.decode(bytes)
  return text === "" ? null : JSON.parse(text)
}

const copyToArrayBuffer = (bytes: Uint8Array): ArrayBuffer => {
  const copy = new Uint8Array(bytes.byteLength)
  copy.set(bytes)
  return copy.buffer
}
