import { describe, expect, it } from "@effect/vitest"
import { TestTracer } from "@sturdy/testing"
import { Effect, Exit, Option, TestClock, Tracer } from "effect"

describe("TestTracer", () => {
  it.effect("collects spans in start order with attributes, events, links, kind and an ended status", () =>
    Effect.gen(function*() {
      const collected = TestTracer.make()
      const linked = yield* Effect.makeSpan("linked").pipe(Effect.withTracer(collected.tracer))
      yield* Effect.gen(function*() {
        yield* Effect.annotateCurrentSpan("answer", 42)
        const span = yield* Effect.currentSpan
        span.event("retry", 0n, { attempt: 2 })
        yield* TestClock.adjust("5 millis")
      }).pipe(
        Effect.withSpan("work", { kind: "client", links: [{ _tag: "SpanLink", span: linked, attributes: {} }] }),
        Effect.withTracer(collected.tracer)
      )

      expect(collected.spans.map((span) => span.name)).toEqual(["linked", "work"])
      const work = collected.spans[1]
      expect(work.kind).toBe("client")
      expect(work.attributes.get("answer")).toBe(42)
      expect(work.events).toEqual([{ name: "retry", attributes: { attempt: 2 } }])
      expect(work.links.map((link) => link.span.spanId)).toEqual([linked.spanId])
      expect(work.status._tag).toBe("Ended")
      if (work.status._tag === "Ended") {
        expect(work.status.endTime - work.status.startTime).toBe(5_000_000n)
        expect(Exit.isSuccess(work.status.exit)).toBe(true)
      }
      // never ended: still Started
      expect(collected.spans[0].status._tag).toBe("Started")
    }))

  it.effect("ids are W3C-shaped, and a child shares its parent's trace id", () =>
    Effect.gen(function*() {
      const collected = TestTracer.make()
      yield* Effect.void.pipe(Effect.withSpan("child"), Effect.withSpan("parent"), Effect.withTracer(collected.tracer))
      yield* Effect.void.pipe(Effect.withSpan("other"), Effect.withTracer(collected.tracer))

      const [parent, child, other] = collected.spans
      for (const span of collected.spans) {
        expect(span.spanId).toMatch(/^[0-9a-f]{16}$/)
        expect(span.traceId).toMatch(/^[0-9a-f]{32}$/)
      }
      expect(new Set(collected.spans.map((span) => span.spanId)).size).toBe(3)
      expect(child.traceId).toBe(parent.traceId)
      expect(Option.map(child.parent, (span) => span.spanId)).toEqual(Option.some(parent.spanId))
      expect(other.traceId).not.toBe(parent.traceId)
    }))

  it.effect("byName, find, children and tree look at what was collected", () =>
    Effect.gen(function*() {
      const collected = TestTracer.make()
      const attempt = (n: number) => Effect.annotateCurrentSpan("n", n).pipe(Effect.withSpan("attempt"))
      yield* Effect.all([attempt(1), attempt(2)]).pipe(Effect.withSpan("call"), Effect.withTracer(collected.tracer))
      yield* Effect.void.pipe(Effect.withSpan("after"), Effect.withTracer(collected.tracer))

      expect(collected.byName("attempt").map((span) => span.attributes.get("n"))).toEqual([1, 2])
      expect(collected.byName("missing")).toEqual([])
      expect(Option.map(collected.find("call"), (span) => span.name)).toEqual(Option.some("call"))
      expect(Option.map(collected.find((span) => span.attributes.get("n") === 2), (span) => span.spanId)).toEqual(
        Option.some(collected.byName("attempt")[1].spanId)
      )
      expect(Option.isNone(collected.find("missing"))).toBe(true)

      const call = Option.getOrThrow(collected.find("call"))
      expect(collected.children(call).map((span) => span.attributes.get("n"))).toEqual([1, 2])
      expect(collected.children(collected.byName("attempt")[0])).toEqual([])

      const shape = (tree: TestTracer.SpanTree): unknown => [tree.span.name, tree.children.map(shape)]
      expect(collected.tree().map(shape)).toEqual([["call", [["attempt", []], ["attempt", []]]], ["after", []]])
    }))

  it.effect("a span under an external parent is a root of the tree", () =>
    Effect.gen(function*() {
      const collected = TestTracer.make()
      const external = yield* Effect.makeSpan("external")
      yield* Effect.void.pipe(
        Effect.withSpan("inside"),
        Effect.withParentSpan(external),
        Effect.withTracer(collected.tracer)
      )

      expect(collected.spans.map((span) => span.name)).toEqual(["inside"])
      expect(collected.tree().map((tree) => tree.span.name)).toEqual(["inside"])
      expect(collected.spans[0].traceId).toBe(external.traceId)
    }))

  it.effect("the layer installs the tracer for a whole program; each make is independent", () =>
    Effect.gen(function*() {
      const first = TestTracer.make()
      const second = TestTracer.make()
      yield* Effect.void.pipe(Effect.withSpan("a"), Effect.withSpan("b"), Effect.provide(first.layer))
      yield* Effect.void.pipe(Effect.withSpan("c"), Effect.provide(second.layer))

      expect(first.spans.map((span) => span.name)).toEqual(["b", "a"])
      expect(second.spans.map((span) => span.name)).toEqual(["c"])
    }))

  it.effect("a parent is matched by object, not by id: an external parent carrying a collected span's ids is a root", () =>
    Effect.gen(function*() {
      const collected = TestTracer.make()
      const first = yield* Effect.makeSpan("first").pipe(Effect.withTracer(collected.tracer))
      // a propagated context (say a traceparent header) that names `first`, and one that names the next span's id
      const echo = Tracer.externalSpan({ spanId: first.spanId, traceId: first.traceId })
      yield* Effect.void.pipe(
        Effect.withSpan("under-echo"),
        Effect.withParentSpan(echo),
        Effect.withTracer(collected.tracer)
      )
      const [underEcho] = collected.byName("under-echo")
      expect(collected.children(first as TestTracer.CollectedSpan)).toEqual([])
      expect(collected.children(underEcho)).toEqual([])
      expect(collected.tree().map((tree) => tree.span.name)).toEqual(["first", "under-echo"])
    }))

  it.effect("each tracer hands out its own ids, so a client and a server tracer in one test never collide", () =>
    Effect.gen(function*() {
      const client = TestTracer.make()
      const server = TestTracer.make()
      const clientSpan = yield* Effect.makeSpan("client").pipe(Effect.withTracer(client.tracer))
      const serverSpan = yield* Effect.makeSpan("server").pipe(Effect.withTracer(server.tracer))
      expect(serverSpan.spanId).not.toBe(clientSpan.spanId)
      expect(serverSpan.traceId).not.toBe(clientSpan.traceId)
      // the server handles the client's call: its span has the client's span as an external parent
      yield* Effect.void.pipe(
        Effect.withSpan("handler-child"),
        Effect.withSpan("handler"),
        Effect.withParentSpan(Tracer.externalSpan({ spanId: clientSpan.spanId, traceId: clientSpan.traceId })),
        Effect.withTracer(server.tracer)
      )
      const [handler] = server.byName("handler")
      expect(handler.traceId).toBe(clientSpan.traceId)
      expect(server.children(handler).map((span) => span.name)).toEqual(["handler-child"])
      const shape = (tree: TestTracer.SpanTree): unknown => [tree.span.name, tree.children.map(shape)]
      expect(server.tree().map(shape)).toEqual([["server", []], ["handler", [["handler-child", []]]]])
    }))
})
