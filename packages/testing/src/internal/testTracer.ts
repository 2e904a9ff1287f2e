import type * as Context from "effect/Context"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Predicate } from "effect/Predicate"
import * as Tracer from "effect/Tracer"
import type * as TestTracer from "../TestTracer.js"

class CollectedSpanImpl implements TestTracer.CollectedSpan {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly sampled = true
  status: Tracer.SpanStatus
  readonly attributes = new Map<string, unknown>()
  readonly events: Array<TestTracer.CollectedEvent> = []
  readonly links: Array<Tracer.SpanLink>
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    tracerNumber: number,
    sequence: number
  ) {
    this.links = [...links]
    this.status = { _tag: "Started", startTime }
    // W3C-shaped ids (16 and 32 hex digits) so that propagated `traceparent` headers are valid. The tracer's number
    // comes first: a client tracer and a server tracer in one test must not hand out the same ids.
    this.spanId = hex(tracerNumber, 8) + hex(sequence, 8)
    this.traceId = Option.isSome(parent) ? parent.value.traceId : hex(tracerNumber, 16) + hex(sequence, 16)
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }
  event(name: string, _startTime: bigint, attributes?: Record<string, unknown>): void {
    this.events.push({ name, attributes: attributes ?? {} })
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }
}

const hex = (value: number, digits: number): string => (value >>> 0).toString(16).padStart(digits, "0")

// Effect hands a child span the very object its tracer returned for the parent, so identity is exact; ids are not
// (an external parent from a `traceparent` header can carry any ids, including ones this tracer also hands out).
const isChildOf = (span: TestTracer.CollectedSpan, parent: TestTracer.CollectedSpan): boolean =>
  Option.isSome(span.parent) && span.parent.value === parent

// Numbers the tracers made in this process, so that each hands out its own ids (deterministic for a given order of
// `make` calls, as a test file's are).
let tracers = 0

/** @internal */
export const make = (): TestTracer.TestTracer => {
  const tracerNumber = ++tracers
  const spans: Array<CollectedSpanImpl> = []
  const collected = new Set<Tracer.AnySpan>()
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const span = new CollectedSpanImpl(name, parent, context, links, startTime, kind, tracerNumber, spans.length + 1)
      collected.add(span)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  const children = (parent: TestTracer.CollectedSpan): ReadonlyArray<TestTracer.CollectedSpan> =>
    spans.filter((span) => isChildOf(span, parent))
  const treeOf = (span: TestTracer.CollectedSpan): TestTracer.SpanTree => ({
    span,
    children: children(span).map(treeOf)
  })
  // a span whose parent was not collected here (none, or an external span) is a root
  const isRoot = (span: TestTracer.CollectedSpan): boolean =>
    Option.match(span.parent, {
      onNone: () => true,
      onSome: (parent) => !collected.has(parent)
    })
  return {
    tracer,
    spans,
    layer: Layer.setTracer(tracer),
    byName: (name) => spans.filter((span) => span.name === name),
    find: (nameOrPredicate: string | Predicate<TestTracer.CollectedSpan>) => {
      const matches: Predicate<TestTracer.CollectedSpan> = typeof nameOrPredicate === "string"
        ? (span) => span.name === nameOrPredicate
        : nameOrPredicate
      return Option.fromNullable(spans.find(matches))
    },
    children,
    tree: () => spans.filter(isRoot).map(treeOf)
  }
}
