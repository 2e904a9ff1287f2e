import { Transform, type TransformCallback } from "node:stream"
import * as Zlib from "node:zlib"
import type * as UndiciHttpClient from "../UndiciHttpClient.js"

/** @internal The content codings this transport can decode, in the order it advertises them. */
export type Coding = UndiciHttpClient.ContentCoding

// Node 20's zlib has no zstd; Node 22.15+ and 23.8+ have `createZstdDecompress`
const createZstdDecompress = (Zlib as {
  readonly createZstdDecompress?: (options?: object) => Transform
}).createZstdDecompress

/** @internal Whether this Node's zlib decodes zstd. */
export const zstdSupported: boolean = typeof createZstdDecompress === "function"

/** @internal What this runtime decodes, in the order `Accept-Encoding` names them. */
export const supportedCodings: ReadonlyArray<Coding> = zstdSupported
  ? ["gzip", "deflate", "br", "zstd"]
  : ["gzip", "deflate", "br"]

const knownCodings: ReadonlyArray<string> = ["gzip", "deflate", "br", "zstd"]

/** @internal The decompression a dispatcher's responses get. */
export interface Decompression {
  readonly codings: ReadonlySet<Coding>
  /** The `Accept-Encoding` sent with a request that has none. */
  readonly acceptEncoding: string
  /** Decoded bytes may be at most this many times the bytes on the wire (past `ratioGraceBytes`). */
  readonly maxRatio: number
}

/** @internal A decoded body may reach this size whatever its ratio: a small body compresses far past any ratio. */
export const ratioGraceBytes = 1024 * 1024

/** @internal The default `maxDecompressionRatio`. */
export const defaultMaxRatio = 100

/**
 * @internal Content codings past this many in one `Content-Encoding` are not decoded (the body is handed over as
 * sent): each stage holds a decompressor's state, and undici's `fetch` refuses more than 5 for the same reason.
 */
export const maxStages = 5

const shown = (input: unknown): string =>
  typeof input === "string"
    ? JSON.stringify(input)
    : typeof input === "number" || typeof input === "boolean"
    ? String(input)
    : input === null
    ? "null"
    : Array.isArray(input)
    ? "an array"
    : `of type ${typeof input}`

/**
 * @internal The `decompress` and `maxDecompressionRatio` options, or a `RangeError` naming the one out of range;
 * `undefined` when decompression is off.
 */
export const toDecompression = (input: unknown, ratioInput: unknown): Decompression | undefined => {
  let maxRatio = defaultMaxRatio
  if (ratioInput !== undefined && ratioInput !== null) {
    if (typeof ratioInput !== "number" || Number.isNaN(ratioInput) || ratioInput < 1) {
      throw new RangeError(
        `UndiciHttpClient: maxDecompressionRatio (${shown(ratioInput)}) must be a number >= 1 (Infinity: no limit)`
      )
    }
    maxRatio = ratioInput
  }
  if (input === undefined || input === null || input === false) return undefined
  let codings: ReadonlyArray<Coding>
  if (input === true) {
    codings = supportedCodings
  } else if (Array.isArray(input)) {
    if (input.length === 0) {
      throw new RangeError("UndiciHttpClient: decompress is an empty list (use false to turn decompression off)")
    }
    for (const coding of input as ReadonlyArray<unknown>) {
      if (typeof coding !== "string" || !knownCodings.includes(coding)) {
        throw new RangeError(
          `UndiciHttpClient: decompress (${shown(coding)}) must be true, false or a list of "gzip", "deflate", "br", ` +
            `"zstd"`
        )
      }
      if (coding === "zstd" && !zstdSupported) {
        throw new RangeError(
          `UndiciHttpClient: decompress ("zstd") is not supported by this Node's zlib (${process.version})`
        )
      }
    }
    // advertised in a fixed order, each once
    codings = supportedCodings.filter((coding) => (input as ReadonlyArray<unknown>).includes(coding))
  } else {
    throw new RangeError(
      `UndiciHttpClient: decompress (${shown(input)}) must be true, false or a list of "gzip", "deflate", "br", "zstd"`
    )
  }
  return { codings: new Set(codings), acceptEncoding: codings.join(", "), maxRatio }
}

/**
 * @internal The decoding steps a `Content-Encoding` asks for, in the order they apply (the reverse of the header's:
 * `gzip, br` was gzipped, then brotli'd), `identity` left out; `undefined` when there is nothing to decode, or when
 * one coding is not among `codings` or there are more than `maxStages` (the body is then handed over as sent).
 */
export const decodingSteps = (
  header: string | undefined,
  codings: ReadonlySet<Coding>
): ReadonlyArray<Coding> | undefined => {
  if (header === undefined) return undefined
  const steps: Array<Coding> = []
  for (const part of header.split(",")) {
    const name = part.trim().toLowerCase()
    if (name === "" || name === "identity") continue
    const coding = name === "x-gzip" ? "gzip" : name
    if (!codings.has(coding as Coding)) return undefined
    steps.push(coding as Coding)
  }
  if (steps.length === 0 || steps.length > maxStages) return undefined
  return steps.reverse()
}

/**
 * `deflate` as browsers, curl and got read it: a zlib stream (RFC 1950) as RFC 9110 §8.4.1.2 says, or raw deflate
 * (RFC 1951) as some servers send it, told apart by the first two bytes (a zlib header has compression method 8 and
 * is a multiple of 31).
 */
class InflateAuto extends Transform {
  private inner: Transform | undefined = undefined
  private head: Buffer | undefined = undefined
  private doneFlushing: TransformCallback | undefined = undefined

  private start(head: Buffer): Transform {
    const zlibWrapped = head.length >= 2 && (head[0] & 0x0f) === 8 && ((head[0] << 8) | head[1]) % 31 === 0
    const options = { flush: Zlib.constants.Z_SYNC_FLUSH }
    const inner = zlibWrapped ? Zlib.createInflate(options) : Zlib.createInflateRaw(options)
    this.inner = inner
    inner.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) inner.pause()
    })
    inner.on("error", (error) => this.destroy(error))
    inner.on("end", () => {
      const done = this.doneFlushing
      this.doneFlushing = undefined
      done?.()
    })
    return inner
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let inner = this.inner
    if (inner === undefined) {
      const head = this.head === undefined ? chunk : Buffer.concat([this.head, chunk])
      if (head.length < 2) {
        this.head = head
        return callback()
      }
      this.head = undefined
      inner = this.start(head)
      chunk = head
    }
    if (inner.write(chunk)) callback()
    else inner.once("drain", () => callback())
  }

  override _flush(callback: TransformCallback): void {
    let inner = this.inner
    if (inner === undefined) {
      if (this.head === undefined) return callback()
      inner = this.start(this.head)
      inner.write(this.head)
      this.head = undefined
    }
    this.doneFlushing = callback
    inner.end()
  }

  override _read(size: number): void {
    this.inner?.resume()
    super._read(size)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner?.destroy()
    callback(error)
  }
}

const decoderOf = (coding: Coding): Transform => {
  switch (coding) {
    case "gzip":
      // each write decoded as far as it goes (Node's inflate hands that over whatever the flag; `Z_SYNC_FLUSH` as
      // undici's fetch): an event of a compressed stream (SSE, NDJSON) is handed over when its bytes arrive
      return Zlib.createGunzip({ flush: Zlib.constants.Z_SYNC_FLUSH })
    case "deflate":
      return new InflateAuto()
    case "br":
      return Zlib.createBrotliDecompress({ flush: Zlib.constants.BROTLI_OPERATION_FLUSH })
    case "zstd":
      return createZstdDecompress!()
  }
}

/**
 * @internal A body's decoders, piped one into the next: bytes from the wire are written in, decoded bytes are read
 * out of the last as its reader wants them (so a body nobody reads stops the decoders, and then the socket). Every
 * failure is reported once, by `onError`, with the coding named in its message and as its `contentEncoding` (the
 * response reaches the caller without the header); zlib's `code` is kept (`Z_DATA_ERROR` for corrupt data,
 * `Z_BUF_ERROR` for data cut short).
 */
export class Decoder {
  private readonly stages: ReadonlyArray<Transform>
  private readonly last: Transform
  private failed = false

  constructor(
    steps: ReadonlyArray<Coding>,
    onReadable: () => void,
    onEnd: () => void,
    onError: (error: Error) => void
  ) {
    this.stages = steps.map(decoderOf)
    this.stages.forEach((stage, index) => {
      stage.on("error", (error: Error) => {
        if (this.failed) return
        this.failed = true
        error.message = `Content-Encoding ${steps[index]}: ${error.message}`
        Object.assign(error, { contentEncoding: steps[index] })
        this.destroy()
        onError(error)
      })
      if (index > 0) this.stages[index - 1].pipe(stage)
    })
    this.last = this.stages[this.stages.length - 1]
    this.last.on("readable", onReadable)
    this.last.on("end", onEnd)
  }

  /** Whether more may be written now (otherwise wait for `onDrain`). */
  write(chunk: Buffer): boolean {
    return this.stages[0].write(chunk)
  }

  onDrain(callback: () => void): void {
    this.stages[0].once("drain", callback)
  }

  end(): void {
    this.stages[0].end()
  }

  read(): Buffer | null {
    return this.last.read() as Buffer | null
  }

  destroy(): void {
    for (const stage of this.stages) stage.destroy()
  }
}
