/**
 * An in-memory `Tracer` for tests: it keeps every span Effect asks it for, with attributes, events, links and
 * status, so a test can assert the spans a program produced, their names, their parent-child tree and what they
 * carry.
 *
 * @since 0.1.0
 */
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type { Predicate } from "effect/Predicate"
import type * as Tracer from "effect/Tracer"
import * as internal from "./internal/testTracer.js"

/**
 * An event recorded on a span (`Effect.annotateCurrentSpan` does not make one; `span.event` and log lines do).
 *
 * @since 0.1.0
 * @category models
 */
export interface CollectedEvent {
  readonly name: string
  readonly attributes: Readonly<Record<string, unknown>>
}

/**
 * A span as the test tracer collected it: Effect's `Tracer.Span` plus the events recorded on it. `status` is
 * `Started` until the span ends, then `Ended` with its exit. Span ids are 16 hex digits and trace ids 32: the
 * tracer's number in the process (first 8 and 16 digits) then the span's number in start order, so two tracers in one
 * test (a client's and a server's) never hand out the same ids. A child span shares its parent's trace id.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TestTracer } from "@sturdy/testing"
 *
 * const collected = TestTracer.make()
 * Effect.runSync(Effect.void.pipe(Effect.withSpan("work"), Effect.withTracer(collected.tracer)))
 * const span: TestTracer.CollectedSpan = collected.spans[0]
 * // span.name === "work", span.status._tag === "Ended"
 * ```
 * @since 0.1.0
 * @category models
 */
export interface CollectedSpan extends Tracer.Span {
  readonly events: ReadonlyArray<CollectedEvent>
}

/**
 * A collected span with the collected spans started under it, in start order.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpanTree {
  readonly span: CollectedSpan
  readonly children: ReadonlyArray<SpanTree>
}

/**
 * A tracer that collects spans, with the ways to install it and to look at what it collected.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestTracer {
  /** Install with `Effect.withTracer(tracer)`. */
  readonly tracer: Tracer.Tracer
  /** Every span started so far, in start order; a live view that grows as the program runs. */
  readonly spans: ReadonlyArray<CollectedSpan>
  /** `Layer.setTracer(tracer)`, to install the tracer for a whole program. */
  readonly layer: Layer.Layer<never>
  /** The spans with exactly this name, in start order. */
  byName(name: string): ReadonlyArray<CollectedSpan>
  /** The first span with this name, or the first that satisfies the predicate. */
  find(nameOrPredicate: string | Predicate<CollectedSpan>): Option.Option<CollectedSpan>
  /**
   * The spans whose parent is `span` itself (the same object), in start order. A span under an external parent
   * (from a `traceparent` header, say) is nobody's child here, even if that parent carries a collected span's ids.
   */
  children(span: CollectedSpan): ReadonlyArray<CollectedSpan>
  /**
   * The collected spans as trees: one per span whose parent is not a span object this tracer collected (no parent,
   * or an external one).
   */
  tree(): ReadonlyArray<SpanTree>
}

/**
 * Makes a tracer that keeps every span in memory. Each call makes an independent tracer with its own spans.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TestTracer } from "@sturdy/testing"
 *
 * const collected = TestTracer.make()
 * const program = Effect.void.pipe(Effect.withSpan("child"), Effect.withSpan("parent"))
 * Effect.runSync(program.pipe(Effect.provide(collected.layer)))
 * const [root] = collected.tree()
 * // root.span.name === "parent", root.children[0].span.name === "child"
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: () => TestTracer = internal.make
