import * as Effect from "effect/Effect"
import type * as Tracer from "effect/Tracer"

/** A span as a test reads it: its name and attributes. */
export interface RecordedSpan {
  readonly name: string
  readonly attributes: ReadonlyMap<string, unknown>
}

/**
 * The current tracer, recording every span it starts into `spans`: provide `recording` with `Effect.withTracer` and
 * read `spans` afterwards.
 */
export const recordingTracer: Effect.Effect<{
  readonly spans: ReadonlyArray<RecordedSpan>
  readonly recording: Tracer.Tracer
}> = Effect.map(Effect.tracer, (tracer) => {
  const spans: Array<RecordedSpan> = []
  const recording: Tracer.Tracer = {
    ...tracer,
    span(...args: Parameters<typeof tracer.span>) {
      const span = tracer.span(...args)
      spans.push({ name: span.name, attributes: span.attributes })
      return span
    }
  }
  return { spans, recording }
})
