// Properties of `@sturdy/testing`'s `TestTracer` (src/TestTracer.ts), checked against its doc comments.
//
// Model: a random program tree, run with plain `Effect.withSpan` under the TestClock, predicts every span the tracer
// must collect. A span node annotates itself (`withSpan`'s `attributes`, then `Effect.annotateCurrentSpan`, the last
// write winning over `Effect.annotateSpans` set by its ancestors, the innermost of those winning), records events
// (`span.event` and log lines), sleeps, runs its children sequentially, concurrently (`Effect.forEach` unbounded) or
// forked (`Effect.fork` + join), each child's failure caught, then succeeds or fails. Leaves may also be a span that
// is never ended (`Effect.makeSpan`), one interrupted by a timeout, or a daemon fiber's span that is still running.
// Some roots run under an external parent (`Tracer.externalSpan`) that carries the ids of a span collected earlier.
//
// Documented rules encoded: every span started is collected, in start order (start times never decrease, a parent
// comes before its children, sequential siblings in program order); the parent is the span object current where the
// child started (forks included); `children` and `tree` follow parent objects (a span under an external parent is a
// root, and shares its trace id); a child shares its parent's trace id, a root without an external parent gets its own;
// span ids are 16 hex digits and trace ids 32, the tracer's number first, then the span's number in start order;
// `status` is `Started` until the span ends, then `Ended` with the exit (success, failure, interruption) and the end
// time on the TestClock; kind, links, attributes and events are as set; `byName` and `find` search in start order.
//
// Rules taken from Effect rather than the docs: a log line becomes an event named after its message with
// `effect.logLevel` among its attributes; Effect adds a `code.stacktrace` attribute to some spans, left out of the
// attribute comparison.
//
// Mutation checks (each on a copy, seen to fail with a counterexample, then restored): `isChildOf` by span id
// instead of object (fails the external-parent roots); the trace id of a child taken fresh (not the parent's);
// `end` not recording the exit; events pushed in reverse.
//
// Left out: span links added after the start (`addLinks`), several tracers in one program, sampling.
import { describe, expect, it } from "@effect/vitest"
import { TestTracer } from "@sturdy/testing"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import * as Tracer from "effect/Tracer"

// -----------------------------------------------------------------------------
// program trees
// -----------------------------------------------------------------------------

type Value = string | number | boolean

interface EventSpec {
  readonly via: "event" | "log"
  readonly name: string
  readonly attributes: Readonly<Record<string, Value>>
}

interface SpanNode {
  readonly _tag: "Span"
  name: string
  readonly kind: Tracer.SpanKind | undefined
  readonly initial: Readonly<Record<string, Value>>
  readonly annotations: ReadonlyArray<readonly [string, Value]>
  /** `Effect.annotateSpans` around the children. */
  readonly inherited: ReadonlyArray<readonly [string, Value]>
  readonly events: ReadonlyArray<EventSpec>
  readonly links: number
  readonly sleep: number
  readonly mode: "sequential" | "concurrent" | "forked"
  readonly children: ReadonlyArray<Node>
  readonly fails: boolean
}

interface LeafNode {
  readonly _tag: "Open" | "Daemon" | "Interrupted"
  name: string
  readonly after: number
}

type Node = SpanNode | LeafNode

const keyArb = fc.constantFrom("a", "b", "http.status", "retry")
const valueArb: fc.Arbitrary<Value> = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom("x", "y"), fc.boolean())
const pairsArb = fc.array(fc.tuple(keyArb, valueArb), { maxLength: 3 })

const eventArb: fc.Arbitrary<EventSpec> = fc.record({
  via: fc.constantFrom("event" as const, "log" as const),
  name: fc.constantFrom("retry", "wait", "attempt failed"),
  attributes: fc.dictionary(keyArb, valueArb, { maxKeys: 2 })
})

const leafArb: fc.Arbitrary<LeafNode> = fc.record({
  _tag: fc.constantFrom("Open" as const, "Daemon" as const, "Interrupted" as const),
  name: fc.constant(""),
  after: fc.integer({ min: 1, max: 50 })
})

/** Trees up to `depth` spans deep. */
const nodeArbOf = (depth: number): fc.Arbitrary<Node> => {
  const span: fc.Arbitrary<SpanNode> = fc.record({
    _tag: fc.constant("Span" as const),
    name: fc.constant(""),
    kind: fc.constantFrom(undefined, "internal", "server", "client", "producer", "consumer"),
    initial: fc.dictionary(keyArb, valueArb, { maxKeys: 2 }),
    annotations: pairsArb,
    inherited: fc.oneof({ arbitrary: fc.constant([]), weight: 3 }, { arbitrary: pairsArb, weight: 1 }),
    events: fc.array(eventArb, { maxLength: 3 }),
    links: fc.nat(2),
    sleep: fc.constantFrom(0, 0, 1, 5, 20),
    mode: fc.constantFrom("sequential" as const, "concurrent" as const, "forked" as const),
    children: depth <= 1 ? fc.constant([]) : fc.array(nodeArbOf(depth - 1), { maxLength: 3 }),
    fails: fc.boolean()
  })
  return fc.oneof({ arbitrary: span, weight: 3 }, { arbitrary: leafArb, weight: 1 })
}

const nodeArb = nodeArbOf(4)

interface Root {
  readonly node: Node
  readonly external: boolean
}

const label = (node: Node, name: string): Node => {
  node.name = name
  if (node._tag === "Span") node.children.forEach((child, i) => label(child, `${name}.${i}`))
  return node
}

const rootsArb: fc.Arbitrary<ReadonlyArray<Root>> = fc.array(
  fc.record({ node: nodeArb, external: fc.boolean() }),
  { minLength: 1, maxLength: 3 }
).map((roots) => {
  // fast-check may hand the same object twice: copy before naming
  const copy = structuredClone(roots) as Array<Root>
  copy.forEach((root, i) => label(root.node, `r${i}`))
  return copy
})

const externalOf = (name: string) =>
  Tracer.externalSpan({ spanId: `ext-${name}`, traceId: `trace-${name}`, sampled: true })

// -----------------------------------------------------------------------------
// running a tree
// -----------------------------------------------------------------------------

const run = (node: Node, daemons: Array<Fiber.RuntimeFiber<unknown>>): Effect.Effect<void, string> => {
  switch (node._tag) {
    case "Open":
      return Effect.asVoid(Effect.makeSpan(node.name))
    case "Interrupted":
      return Effect.never.pipe(Effect.withSpan(node.name), Effect.timeoutOption(node.after), Effect.asVoid)
    case "Daemon":
      return Effect.gen(function*() {
        const started = yield* Deferred.make<void>()
        const fiber = yield* Effect.forkDaemon(
          Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(Effect.withSpan(node.name))
        )
        daemons.push(fiber)
        yield* Deferred.await(started)
      })
    case "Span": {
      const body = Effect.gen(function*() {
        for (const [key, value] of node.annotations) yield* Effect.annotateCurrentSpan(key, value)
        for (const event of node.events) {
          if (event.via === "log") yield* Effect.log(event.name).pipe(Effect.annotateLogs(event.attributes))
          else (yield* Effect.orDie(Effect.currentSpan)).event(event.name, 0n, event.attributes)
        }
        if (node.sleep > 0) yield* Effect.sleep(node.sleep)
        const child = (c: Node) => Effect.exit(run(c, daemons))
        let children: Effect.Effect<unknown> = node.mode === "sequential"
          ? Effect.forEach(node.children, child)
          : node.mode === "concurrent"
          ? Effect.forEach(node.children, child, { concurrency: "unbounded" })
          : Effect.flatMap(Effect.forEach(node.children, (c) => Effect.fork(child(c))), Fiber.joinAll)
        for (const [key, value] of node.inherited) children = Effect.annotateSpans(children, key, value)
        yield* children
        if (node.fails) yield* Effect.fail(node.name)
      })
      const links = Array.from({ length: node.links }, (_, i): Tracer.SpanLink => ({
        _tag: "SpanLink",
        span: externalOf(`${node.name}-link${i}`),
        attributes: { i }
      }))
      return body.pipe(
        Effect.withSpan(node.name, {
          attributes: node.initial,
          links,
          ...(node.kind === undefined ? {} : { kind: node.kind })
        })
      )
    }
  }
}

// -----------------------------------------------------------------------------
// the model
// -----------------------------------------------------------------------------

interface Expected {
  readonly node: Node
  readonly parent: Node | undefined
  readonly external: boolean
  readonly root: Root
  readonly start: number
  /** `undefined` for a span never ended. */
  readonly end: number | undefined
  readonly attributes: Readonly<Record<string, Value>>
}

/** Every span the program starts, with its start and end on the TestClock; returns the node's duration. */
const expect_ = (
  node: Node,
  parent: Node | undefined,
  root: Root,
  start: number,
  inherited: Readonly<Record<string, Value>>,
  out: Map<string, Expected>
): number => {
  const base = { node, parent, root, external: root.external && parent === undefined, start }
  switch (node._tag) {
    case "Open":
    case "Daemon":
      out.set(node.name, { ...base, end: undefined, attributes: inherited })
      return 0
    case "Interrupted":
      out.set(node.name, { ...base, end: start + node.after, attributes: inherited })
      return node.after
    case "Span": {
      const attributes: Record<string, Value> = { ...inherited, ...node.initial }
      for (const [key, value] of node.annotations) attributes[key] = value
      const inner: Record<string, Value> = { ...inherited }
      // the innermost annotateSpans wraps first, so the last pair is outermost
      for (const [key, value] of [...node.inherited].reverse()) inner[key] = value
      const childrenStart = start + node.sleep
      let phase = 0
      for (const child of node.children) {
        const duration = expect_(
          child,
          node,
          root,
          node.mode === "sequential" ? childrenStart + phase : childrenStart,
          inner,
          out
        )
        phase = node.mode === "sequential" ? phase + duration : Math.max(phase, duration)
      }
      const duration = node.sleep + phase
      out.set(node.name, { ...base, end: start + duration, attributes })
      return duration
    }
  }
}

const model = (roots: ReadonlyArray<Root>) => {
  const out = new Map<string, Expected>()
  let now = 0
  for (const root of roots) now += expect_(root.node, undefined, root, now, {}, out)
  return out
}

const millis = (nanos: bigint) => Number(nanos / 1_000_000n)

const withoutStack = (attributes: ReadonlyMap<string, unknown>) =>
  Object.fromEntries([...attributes].filter(([key]) => key !== "code.stacktrace"))

const shape = (tree: TestTracer.SpanTree): unknown => [
  tree.span.name,
  tree.children.map(shape).sort((a, b) => String((a as [string])[0]).localeCompare(String((b as [string])[0])))
]

const modelShape = (node: Node): unknown => [
  node.name,
  (node._tag === "Span" ? node.children.map(modelShape) : []).sort((a, b) =>
    String((a as [string])[0]).localeCompare(String((b as [string])[0]))
  )
]

// -----------------------------------------------------------------------------
// the property
// -----------------------------------------------------------------------------

const collect = (roots: ReadonlyArray<Root>) =>
  Effect.gen(function*() {
    const collected = TestTracer.make()
    const daemons: Array<Fiber.RuntimeFiber<unknown>> = []
    // an external parent carries the ids of the last span collected so far (a propagated context that names one
    // of ours, as a traceparent echoed back would), or ids of its own when there is none
    const externals = new Map<string, Tracer.ExternalSpan>()
    const program = Effect.forEach(roots, (root) => {
      const effect = Effect.exit(run(root.node, daemons))
      return root.external ?
        Effect.suspend(() => {
          const last = collected.spans.at(-1)
          const external = last === undefined
            ? externalOf(root.node.name)
            : Tracer.externalSpan({ spanId: last.spanId, traceId: last.traceId })
          externals.set(root.node.name, external)
          return Effect.withParentSpan(effect, external)
        }) :
        effect
    })
    const fiber = yield* Effect.fork(program.pipe(Effect.withTracer(collected.tracer)))
    yield* TestClock.adjust("1 hour")
    yield* Fiber.join(fiber)
    // a snapshot of the statuses before the daemons go
    const statuses = collected.spans.map((span) => span.status)
    return { collected, statuses, daemons, externals }
  })

describe("TestTracer collects what Effect.withSpan programs start", () => {
  it("spans, parents under forks, trees, ids, attributes, events, links and ended vs open statuses", async () => {
    await fc.assert(
      fc.asyncProperty(rootsArb, async (roots) => {
        const { collected, daemons, externals, statuses } = await Effect.runPromise(
          collect(roots).pipe(
            Effect.provide(TestContext.TestContext),
            Effect.provide(Logger.remove(Logger.defaultLogger))
          )
        )
        try {
          const expected = model(roots)
          const spans = collected.spans
          expect(spans.map((span) => span.name).sort()).toEqual([...expected.keys()].sort())
          const byName = new Map(spans.map((span) => [span.name, span]))
          const spanOf = (node: Node) => byName.get(node.name)!
          const prefix = spans[0].spanId.slice(0, 8)

          spans.forEach((span, index) => {
            const want = expected.get(span.name)!
            // ids: the tracer's number, then the span's number in start order
            expect(span.spanId).toBe(prefix + (index + 1).toString(16).padStart(8, "0"))
            expect(span.traceId).toMatch(/^[0-9a-f]{32}$|^trace-/)
            // start order on the clock, parents first
            if (index > 0) expect(span.status.startTime).toBeGreaterThanOrEqual(spans[index - 1].status.startTime)
            expect(millis(span.status.startTime)).toBe(want.start)
            // parent: the span object current where it started
            if (want.parent !== undefined) {
              expect(Option.getOrThrow(span.parent) === spanOf(want.parent)).toBe(true)
              expect(spans.indexOf(spanOf(want.parent))).toBeLessThan(index)
              expect(span.traceId).toBe(spanOf(want.parent).traceId)
            } else if (want.external) {
              const external = externals.get(span.name)!
              expect(Option.getOrThrow(span.parent) === external).toBe(true)
              expect(span.traceId).toBe(external.traceId)
            } else {
              expect(Option.isNone(span.parent)).toBe(true)
              expect(span.traceId).toBe(prefix.padStart(16, "0") + (index + 1).toString(16).padStart(16, "0"))
            }
            // status at the end of the run: open spans Started, the rest Ended at their time with their exit
            const status = statuses[index]
            if (want.end === undefined) expect(status._tag).toBe("Started")
            else {
              expect(status._tag).toBe("Ended")
              if (status._tag === "Ended") {
                expect(millis(status.endTime)).toBe(want.end)
                const node = want.node
                if (node._tag === "Interrupted") expect(Exit.isInterrupted(status.exit)).toBe(true)
                else if (node._tag === "Span" && node.fails) {
                  expect(status.exit).toMatchObject({ _tag: "Failure" })
                  if (Exit.isFailure(status.exit)) {
                    expect(Cause.failureOption(status.exit.cause)).toEqual(Option.some(node.name))
                  }
                } else expect(Exit.isSuccess(status.exit)).toBe(true)
              }
            }
            expect(withoutStack(span.attributes)).toEqual(want.attributes)
            const node = want.node
            if (node._tag === "Span") {
              expect(span.kind).toBe(node.kind ?? "internal")
              expect(span.links.map((link) => [link.span.spanId, link.attributes])).toEqual(
                Array.from({ length: node.links }, (_, i) => [`ext-${node.name}-link${i}`, { i }])
              )
              expect(span.events.map((event) => event.name)).toEqual(node.events.map((event) => event.name))
              span.events.forEach((event, i) => {
                const spec = node.events[i]
                if (spec.via === "event") expect(event.attributes).toEqual(spec.attributes)
                else expect(event.attributes).toMatchObject({ ...spec.attributes, "effect.logLevel": "INFO" })
              })
              // children in start order: program order when sequential
              const names = collected.children(span).map((child) => child.name)
              const modelNames = node.children.map((child) => child.name)
              if (node.mode === "sequential") expect(names).toEqual(modelNames)
              else expect([...names].sort()).toEqual([...modelNames].sort())
            } else {
              expect(span.events).toEqual([])
              expect(collected.children(span)).toHaveLength(0)
            }
            const named = collected.byName(span.name)
            expect(named.length === 1 && named[0] === span).toBe(true)
            expect(Option.getOrThrow(collected.find(span.name)) === span).toBe(true)
          })
          // the trees: one per root, in program order
          expect(collected.tree().map(shape)).toEqual(roots.map((root) => modelShape(root.node)))
          // find with a predicate: the first in start order
          const failed = spans.find((span) => span.status._tag === "Ended" && Exit.isFailure(span.status.exit))
          const found = collected.find((span) => span.status._tag === "Ended" && Exit.isFailure(span.status.exit))
          expect(Option.getOrUndefined(found) === failed).toBe(true)
          expect(Option.isNone(collected.find("missing"))).toBe(true)
        } finally {
          await Effect.runPromise(Fiber.interruptAll(daemons))
        }
      }),
      { seed: 20261206, numRuns: 150 }
    )
  })
})
