import { HttpClient, type HttpClientRequest, HttpClientResponse } from "@effect/platform"
import * as HttpClientRequestM from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Paginate, Policy, Redaction } from "@sturdy/http"
import { TestTracer } from "@sturdy/testing"
import {
  Chunk,
  Data,
  Deferred,
  Effect,
  Either,
  FastCheck as fc,
  Fiber,
  Option,
  Redacted,
  Schema,
  Stream,
  TestClock
} from "effect"
import { counterValue, renderedSpans } from "./utils/telemetryProbes.js"

// -----------------------------------------------------------------------------
// a fake API: pages of `items` by link, cursor, page number or offset
// -----------------------------------------------------------------------------

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

type Answer = { readonly status?: number; readonly body: unknown; readonly headers?: Record<string, string> }

const fakeApi = (respond: (url: URL, n: number) => Answer) => {
  const seen: Array<Seen> = []
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      seen.push({ method: request.method, url: url.toString(), headers: request.headers })
      const answer = respond(url, seen.length)
      return HttpClientResponse.fromWeb(
        request,
        new Response(JSON.stringify(answer.body), {
          status: answer.status ?? 200,
          headers: { "content-type": "application/json", ...answer.headers }
        })
      )
    })
  )
  return { client, seen }
}

type Strategy = "link" | "cursor" | "offset" | "page"

/** A server paging `items` by `size`, as `strategy` says; it ignores what it does not read. */
const server = (items: ReadonlyArray<number>, size: number, strategy: Strategy) =>
  fakeApi((url) => {
    const q = url.searchParams
    switch (strategy) {
      case "link": {
        const page = Number(q.get("page") ?? "1")
        const from = (page - 1) * size
        const more = from + size < items.length
        return {
          body: items.slice(from, from + size),
          headers: more ? { link: `</items?page=${page + 1}>; rel="next", </items?page=1>; rel="first"` } : {}
        }
      }
      case "cursor": {
        const from = Number((q.get("cursor") ?? "c0").slice(1))
        const more = from + size < items.length
        return { body: { items: items.slice(from, from + size), next: more ? `c${from + size}` : null } }
      }
      case "offset": {
        const from = Number(q.get("offset") ?? "0")
        return { body: items.slice(from, from + Number(q.get("limit"))) }
      }
      case "page": {
        const from = (Number(q.get("page")) - 1) * size
        return { body: items.slice(from, from + size) }
      }
    }
  })

const asArray = (received: Attempt.Received) => JSON.parse(received.text) as ReadonlyArray<number>

/** The items of `strategy` over `client`, through `Attempt.send`. */
const itemsOf = (
  client: HttpClient.HttpClient,
  strategy: Strategy,
  size: number,
  options: Paginate.Options = {}
): Stream.Stream<number, unknown> => {
  const send = (request: HttpClientRequest.HttpClientRequest) => Attempt.send(client, request)
  const first = HttpClientRequestM.get("https://api.test/items")
  switch (strategy) {
    case "link":
      return Paginate.links(first, send, options).pipe(Paginate.items(asArray))
    case "cursor":
      return Paginate.cursor(first, send, {
        ...options,
        cursor: (page) => (JSON.parse(page.text) as { next: string | null }).next
      }).pipe(Paginate.items((page) => (JSON.parse(page.text) as { items: ReadonlyArray<number> }).items))
    case "offset":
      return Paginate.offsets(first, send, { ...options, items: asArray, pageSize: size, sizeParam: "limit" }).pipe(
        Paginate.items(asArray)
      )
    case "page":
      return Paginate.pageNumbers(first, send, { ...options, items: asArray, pageSize: size }).pipe(
        Paginate.items(asArray)
      )
  }
}

const collect = <A, E, R>(stream: Stream.Stream<A, E, R>) =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

const failureOf = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.map(Effect.either(collect(stream)), (either) => Either.getLeft(either).pipe(Option.getOrThrow))

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

// -----------------------------------------------------------------------------
// parseLinkHeader
// -----------------------------------------------------------------------------

describe("Paginate.parseLinkHeader (RFC 8288 §3)", () => {
  it("several links, <uri> with commas and semicolons, quoted values with escapes and commas", () => {
    const links = Paginate.parseLinkHeader(
      `<https://a.test/x?a=1,2;b=3>; rel="next"; title="a, \\"b\\"; c", <https://a.test/y>;rel=prev`
    )
    expect(links).toEqual([
      { uri: "https://a.test/x?a=1,2;b=3", rels: ["next"], params: { rel: "next", title: `a, "b"; c` } },
      { uri: "https://a.test/y", rels: ["prev"], params: { rel: "prev" } }
    ])
  })

  it("several header lines, several relation types, names and rels case-insensitive", () => {
    const links = Paginate.parseLinkHeader([`</a>; REL="Next  Last"`, `</b>; Rel=PREV; Title=x`])
    expect(links.map((l) => l.rels)).toEqual([["next", "last"], ["prev"]])
    expect(links[1]!.params).toEqual({ rel: "PREV", title: "x" })
  })

  it("the first occurrence of a parameter wins (§3.4.1: a second rel is ignored)", () => {
    const [link] = Paginate.parseLinkHeader(`</a>; rel=next; rel=prev; title=one; TITLE=two`)
    expect(link!.rels).toEqual(["next"])
    expect(link!.params["title"]).toBe("one")
  })

  it("malformed links are skipped, the others kept", () => {
    const links = Paginate.parseLinkHeader(
      `garbage, </ok1>; rel=next, </bad> junk; rel=x, </bad2>; rel="unterminated , </ok2>; rel=last`
    )
    // the unterminated quoted-string takes the rest of the value with it
    expect(links.map((l) => l.uri)).toEqual(["/ok1"])
    const again = Paginate.parseLinkHeader(`</bad> junk; rel=x, </ok2>; rel=last; , <>; rel=self;`)
    expect(again.map((l) => [l.uri, l.rels])).toEqual([["/ok2", ["last"]], ["", ["self"]]])
    expect(Paginate.parseLinkHeader(`</a; rel=next`)).toEqual([])
    expect(Paginate.parseLinkHeader("")).toEqual([])
    expect(Paginate.parseLinkHeader(undefined)).toEqual([])
  })

  it("an unquoted value that is no token (type=text/html, an extension rel URI) keeps its link", () => {
    const links = Paginate.parseLinkHeader(`</a>; rel=alternate; type=text/html, </b>; rel=http://example.net/foo next`)
    expect(links.map((l) => [l.uri, l.params["type"], l.rels])).toEqual([
      ["/a", "text/html", ["alternate"]]
      // `next` after the space is not part of the unquoted value: the link is malformed and skipped
    ])
    expect(Paginate.parseLinkHeader(`</b>; rel=http://example.net/foo`)[0]!.rels).toEqual(["http://example.net/foo"])
  })

  it("a parameter without value is kept as empty; __proto__ as a name is only a name", () => {
    const [link] = Paginate.parseLinkHeader(`</a>; rel=next; crossorigin; __proto__=x`)
    expect(link!.params["crossorigin"]).toBe("")
    expect(link!.params["__proto__"]).toBe("x")
    expect(Object.getPrototypeOf(link!.params)).toBe(null)
  })

  it("a 1 MB hostile header takes linear time", () => {
    const mb = 1 << 20
    const hostile = [
      "<".repeat(mb),
      `<a>${"; x".repeat(mb / 3)}`,
      `<a>; rel="${"\\,".repeat(mb / 2)}`,
      `${"\"".repeat(mb)}`,
      `${"<a>; rel=next, ".repeat(mb / 15)}`,
      `<a>; rel="${"next ".repeat(mb / 5)}"`,
      ",".repeat(mb),
      `${"x;\"".repeat(mb / 3)}`
    ]
    for (const value of hostile) {
      const started = performance.now()
      Paginate.parseLinkHeader(value)
      expect(performance.now() - started, value.slice(0, 20)).toBeLessThan(1500)
    }
    expect(Paginate.parseLinkHeader(`${"<a>; rel=next, ".repeat(1000)}`)).toHaveLength(1000)
  })
})

describe("Paginate.nextLink", () => {
  it("resolves a relative rel=next against the request URL; None without one", () => {
    const base = "https://api.test/v1/items?page=2"
    expect(Paginate.nextLink({ link: `<?page=3>; rel="next"` }, base)).toEqual(
      Option.some(new URL("https://api.test/v1/items?page=3"))
    )
    expect(Paginate.nextLink({ headers: { link: `<../x>; rel="prev next"` } }, base)).toEqual(
      Option.some(new URL("https://api.test/x"))
    )
    expect(Paginate.nextLink({ Link: `</p2>; rel=NEXT` }, base)).toEqual(Option.some(new URL("https://api.test/p2")))
    expect(Paginate.nextLink({ link: `</p2>; rel=prev` }, base)).toEqual(Option.none())
    expect(Paginate.nextLink({}, base)).toEqual(Option.none())
    // a link whose context is another resource (anchor) is not this resource's next page
    expect(Paginate.nextLink({ link: `</p2>; rel=next; anchor="#x"` }, base)).toEqual(Option.none())
  })
})

// -----------------------------------------------------------------------------
// the strategies
// -----------------------------------------------------------------------------

describe("Paginate strategies", () => {
  it.effect("links: every item once, in order; the caller's headers on every page; the Link URL replaces the query", () =>
    Effect.gen(function*() {
      const api = server(range(7), 3, "link")
      const first = HttpClientRequestM.get("https://api.test/items?page=1&sort=asc").pipe(
        HttpClientRequestM.bearerToken("tok-123456"),
        HttpClientRequestM.setHeader("x-trace", "t")
      )
      const pages = Paginate.links(first, (request) => Attempt.send(api.client, request))
      expect(yield* collect(Paginate.items(pages, asArray))).toEqual(range(7))
      expect(api.seen.map((s) => s.url)).toEqual([
        "https://api.test/items?page=1&sort=asc",
        "https://api.test/items?page=2",
        "https://api.test/items?page=3"
      ])
      for (const seen of api.seen) {
        expect(seen.method).toBe("GET")
        expect(seen.headers["authorization"]).toBe("Bearer tok-123456")
        expect(seen.headers["x-trace"]).toBe("t")
      }
    }))

  it.effect("cursor: into a query parameter (replacing one in the URL), or a request the caller builds", () =>
    Effect.gen(function*() {
      const api = server(range(5), 2, "cursor")
      const send = (request: HttpClientRequest.HttpClientRequest) => Attempt.send(api.client, request)
      const cursorOf = (page: Attempt.Received) => (JSON.parse(page.text) as { next: string | null }).next
      const first = HttpClientRequestM.get("https://api.test/items?cursor=c0&q=x")
      const pages = yield* collect(Paginate.cursor(first, send, { cursor: cursorOf }))
      expect(pages).toHaveLength(3)
      expect(api.seen.map((s) => s.url)).toEqual([
        "https://api.test/items?cursor=c0&q=x",
        "https://api.test/items?q=x&cursor=c2",
        "https://api.test/items?q=x&cursor=c4"
      ])
      const built = server(range(5), 2, "cursor")
      yield* collect(
        Paginate.cursor(first, (request) => Attempt.send(built.client, request), {
          cursor: cursorOf,
          request: (c, request) => HttpClientRequestM.setUrl(request, `https://api.test/items?cursor=${c}`)
        })
      )
      expect(built.seen.map((s) => s.url).slice(1)).toEqual([
        "https://api.test/items?cursor=c2",
        "https://api.test/items?cursor=c4"
      ])
    }))

  it.effect("pageNumbers and offsets: stop on a short page, or on an empty one without pageSize", () =>
    Effect.gen(function*() {
      const short = server(range(5), 2, "page")
      const send = (request: HttpClientRequest.HttpClientRequest) => Attempt.send(short.client, request)
      const first = HttpClientRequestM.get("https://api.test/items")
      const got = yield* collect(
        Paginate.pageNumbers(first, send, { items: asArray, pageSize: 2 }).pipe(Paginate.items(asArray))
      )
      expect(got).toEqual(range(5))
      expect(short.seen.map((s) => new URL(s.url).searchParams.get("page"))).toEqual(["1", "2", "3"])
      // without pageSize, the exact multiple needs one empty page to know the end
      const exact = server(range(4), 2, "page")
      yield* collect(Paginate.pageNumbers(first, (r) => Attempt.send(exact.client, r), { items: asArray }))
      expect(exact.seen).toHaveLength(3)
      const offsets = server(range(5), 2, "offset")
      const byOffset = yield* collect(
        Paginate.offsets(first, (r) => Attempt.send(offsets.client, r), {
          items: asArray,
          pageSize: 2,
          sizeParam: "limit"
        }).pipe(Paginate.items(asArray))
      )
      expect(byOffset).toEqual(range(5))
      expect(offsets.seen.map((s) => s.url)).toEqual([
        "https://api.test/items?limit=2&offset=0",
        "https://api.test/items?limit=2&offset=2",
        "https://api.test/items?limit=2&offset=4"
      ])
    }))

  it.effect("lazy: taking the first items fetches only their pages, and nothing before a pull", () =>
    Effect.gen(function*() {
      for (const strategy of ["link", "cursor", "offset", "page"] as const) {
        const api = server(range(100), 10, strategy)
        const stream = itemsOf(api.client, strategy, 10)
        expect(api.seen, strategy).toHaveLength(0)
        expect(yield* collect(Stream.take(stream, 15)), strategy).toEqual(range(15))
        expect(api.seen, strategy).toHaveLength(2)
        const again = server(range(100), 10, strategy)
        yield* collect(Stream.take(itemsOf(again.client, strategy, 10), 10))
        expect(again.seen, strategy).toHaveLength(1)
      }
    }))

  it.effect("Policy.json: page 2 answers 503 once; only page 2 is retried, every item once", () =>
    Effect.gen(function*() {
      let failed = false
      const api = fakeApi((url) => {
        const from = Number((url.searchParams.get("cursor") ?? "c0").slice(1))
        if (from === 3 && !failed) {
          failed = true
          return { status: 503, body: { error: "busy" } }
        }
        const items = range(9).slice(from, from + 3)
        return { body: { items, next: from + 3 < 9 ? `c${from + 3}` : null } }
      })
      const Page = Schema.Struct({ items: Schema.Array(Schema.Number), next: Schema.NullOr(Schema.String) })
      const program = Paginate.cursor(
        HttpClientRequestM.get("https://api.test/items"),
        (request) => Policy.json(api.client, request, Page),
        { cursor: (page) => page.next }
      ).pipe(Paginate.items((page) => page.items), collect, Effect.provide(Policy.layer({ retry: { maxAttempts: 3 } })))
      const fiber = yield* Effect.fork(program)
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toEqual(range(9))
      expect(api.seen.map((s) => new URL(s.url).searchParams.get("cursor"))).toEqual([null, "c3", "c3", "c6"])
    }))
})

// -----------------------------------------------------------------------------
// safety
// -----------------------------------------------------------------------------

const linkServer = (next: (n: number) => string | undefined) =>
  fakeApi((_, n) => {
    const link = next(n)
    return { body: [n], headers: link === undefined ? {} : { link: `<${link}>; rel="next"` } }
  })

const linkPages = (
  api: ReturnType<typeof fakeApi>,
  options?: Paginate.LinkOptions,
  first: HttpClientRequest.HttpClientRequest = HttpClientRequestM.get("https://api.test/items")
) => Paginate.links(first, (request) => Attempt.send(api.client, request), options)

describe("Paginate safety", () => {
  it.effect("Loop: a next link already fetched fails after the pages before it are emitted", () =>
    Effect.gen(function*() {
      const api = linkServer((n) => (n === 1 ? "/items?page=2" : "/items#top"))
      const exit = yield* Effect.either(collect(Paginate.items(linkPages(api), asArray)))
      expect(exit).toMatchObject(Either.left({ _tag: "PaginationError", reason: "Loop", pages: 2 }))
      expect(api.seen).toHaveLength(2)
      // a loop that does not come back to the first page: 1 → 2 → 3 → 2
      const later = linkServer((n) => `/items?page=${n === 3 ? 2 : n + 1}`)
      expect(yield* failureOf(linkPages(later))).toMatchObject({ reason: "Loop", pages: 3 })
      expect(later.seen).toHaveLength(3)
      // a cursor repeated is a loop too
      const cursors = fakeApi(() => ({ body: { next: "same" } }))
      const failure = yield* failureOf(
        Paginate.cursor(HttpClientRequestM.get("https://api.test/x"), (r) => Attempt.send(cursors.client, r), {
          cursor: (page) => (JSON.parse(page.text) as { next: string }).next
        })
      )
      expect(failure).toMatchObject({ reason: "Loop", pages: 2 })
    }))

  it.effect("Loop: a next link back to a first URL that carries credentials is a loop at once, not a page fetched twice", () =>
    Effect.gen(function*() {
      const api = linkServer(() => "/items")
      const failure = yield* failureOf(
        linkPages(api, undefined, HttpClientRequestM.get("https://ada:pw@api.test/items"))
      )
      expect(failure).toMatchObject({ reason: "Loop", pages: 1 })
      expect(api.seen.map((s) => s.url)).toEqual(["https://ada:pw@api.test/items"])
    }))

  it.effect("Loop: a page answering the cursor the first request already carries is a loop at once", () =>
    Effect.gen(function*() {
      const api = fakeApi(() => ({ body: { next: "c1" } }))
      const failure = yield* failureOf(
        Paginate.cursor(HttpClientRequestM.get("https://api.test/x?cursor=c1"), (r) => Attempt.send(api.client, r), {
          cursor: (page) => (JSON.parse(page.text) as { next: string }).next
        })
      )
      expect(failure).toMatchObject({ reason: "Loop", pages: 1 })
      expect(api.seen).toHaveLength(1)
      // with a request the caller builds, the first cursor is not known: the repeat is found one page later
      const built = fakeApi(() => ({ body: { next: "c1" } }))
      const later = yield* failureOf(
        Paginate.cursor(HttpClientRequestM.get("https://api.test/x?cursor=c1"), (r) => Attempt.send(built.client, r), {
          cursor: (page) => (JSON.parse(page.text) as { next: string }).next,
          request: (cursor, first) => HttpClientRequestM.setUrlParam(first, "cursor", cursor)
        })
      )
      expect(later).toMatchObject({ reason: "Loop", pages: 2 })
    }))

  it.effect("a cursor that is a number is sent written out; one of another type fails instead of ending the listing", () =>
    Effect.gen(function*() {
      const api = fakeApi((url) => ({ body: { next: url.searchParams.get("after") === null ? 42 : null } }))
      const pages = yield* collect(
        Paginate.cursor(HttpClientRequestM.get("https://api.test/x"), (r) => Attempt.send(api.client, r), {
          cursor: (page) => (JSON.parse(page.text) as { next: string | null }).next,
          param: "after"
        })
      )
      expect(pages).toHaveLength(2)
      expect(api.seen[1]!.url).toBe("https://api.test/x?after=42")
      for (const next of [true, { id: 1 }, NaN]) {
        const wrong = fakeApi(() => ({ body: {} }))
        const failure = yield* failureOf(
          Paginate.cursor(HttpClientRequestM.get("https://api.test/x"), (r) => Attempt.send(wrong.client, r), {
            cursor: () => next as unknown as string
          })
        )
        expect(failure, String(next)).toMatchObject({ reason: "InvalidLink", pages: 1 })
      }
    }))

  it.effect("CrossOrigin refused by default; an allowed origin gets no credentials, the first origin gets them again", () =>
    Effect.gen(function*() {
      const refused = linkServer(() => "https://evil.test/items?page=2")
      const first = HttpClientRequestM.get("https://ada:pw@api.test/items").pipe(
        HttpClientRequestM.bearerToken("tok-abcdef"),
        HttpClientRequestM.setHeaders({ cookie: "s=1", "x-api-key": "k-123456", accept: "application/json" })
      )
      const failure = yield* failureOf(linkPages(refused, undefined, first))
      expect(failure).toMatchObject({ reason: "CrossOrigin", pages: 1 })
      expect(refused.seen).toHaveLength(1)
      const api = linkServer((n) =>
        n === 1 ? "https://other.test/p2" : n === 2 ? "https://api.test/items?page=3" : undefined
      )
      yield* collect(linkPages(api, { allowedOrigins: ["https://other.test"] }, first))
      expect(api.seen.map((s) => s.url)).toEqual([
        "https://ada:pw@api.test/items",
        "https://other.test/p2",
        "https://ada:pw@api.test/items?page=3"
      ])
      const [, other, back] = api.seen
      for (const name of ["authorization", "cookie", "x-api-key"]) {
        expect(other!.headers[name], name).toBeUndefined()
        expect(back!.headers[name], name).toBeDefined()
      }
      expect(other!.headers["accept"]).toBe("application/json")
    }))

  it.effect("a relative next link on a URL with credentials goes on with them (got), not refused as userinfo", () =>
    Effect.gen(function*() {
      const api = linkServer((n) => (n === 1 ? "/items?page=2" : undefined))
      const pages = yield* collect(linkPages(api, undefined, HttpClientRequestM.get("https://ada:pw@api.test/items")))
      expect(pages).toHaveLength(2)
      expect(api.seen.map((s) => s.url)).toEqual([
        "https://ada:pw@api.test/items",
        "https://ada:pw@api.test/items?page=2"
      ])
    }))

  it.effect("Downgrade, non-http schemes and userinfo in a next link are refused", () =>
    Effect.gen(function*() {
      for (
        const [link, reason] of [
          ["http://api.test/items?page=2", "Downgrade"],
          ["javascript:alert(1)", "InvalidLink"],
          ["file:///etc/passwd", "InvalidLink"],
          ["data:text/plain,hi", "InvalidLink"],
          ["https://user:secret-pw@api.test/p2", "InvalidLink"],
          ["https://[::1", "InvalidLink"]
        ] as const
      ) {
        const api = linkServer(() => link)
        const failure = yield* failureOf(
          linkPages(api, { allowedOrigins: ["http://api.test"] })
        )
        expect(failure, link).toMatchObject({ _tag: "PaginationError", reason, pages: 1 })
        expect(failure.message).not.toContain("secret-pw")
        expect(api.seen).toHaveLength(1)
      }
    }))

  it.effect("TooManyPages: maxPages pages are emitted, then a typed failure; taking maxPages does not fail", () =>
    Effect.gen(function*() {
      const endless = () => linkServer((n) => `/items?page=${n + 1}`)
      const api = endless()
      const failure = yield* failureOf(linkPages(api, { maxPages: 3 }))
      expect(failure).toMatchObject({ reason: "TooManyPages", pages: 3 })
      expect(api.seen).toHaveLength(3)
      const taken = endless()
      expect(yield* collect(Stream.take(linkPages(taken, { maxPages: 3 }), 3))).toHaveLength(3)
      // the default bound holds too
      const unbounded = endless()
      expect(yield* failureOf(linkPages(unbounded))).toMatchObject({
        reason: "TooManyPages",
        pages: Paginate.defaultMaxPages
      })
    }))

  it.effect("errors redact URLs: secret query parameters and registered secrets never appear", () =>
    Effect.gen(function*() {
      const api = linkServer(() => "https://evil.test/p?access_token=sekrit-value-1")
      const first = HttpClientRequestM.get("https://api.test/items?api_key=sekrit-key-2")
      const failure = yield* failureOf(linkPages(api, undefined, first))
      expect(failure.message).toContain("evil.test")
      expect(failure.message).not.toMatch(/sekrit/)
      expect(failure.url).not.toMatch(/sekrit/)
      yield* Redaction.registerSecretValues(Redacted.make("registered-secret-3"))
      const loop = linkServer(() => "/items/registered-secret-3")
      const again = yield* failureOf(linkPages(loop, { maxPages: 1 }))
      expect(again.message).not.toMatch(/registered-secret-3/)
    }))

  it.effect("bad options are refused naming the option, before anything is sent", () =>
    Effect.gen(function*() {
      const first = HttpClientRequestM.get("https://api.test/items")
      const cases: ReadonlyArray<readonly [string, Stream.Stream<unknown, unknown>, string]> = [
        ["maxPages NaN", linkPages(linkServer(() => undefined), { maxPages: NaN }), "maxPages"],
        ["maxPages -1", linkPages(linkServer(() => undefined), { maxPages: -1 }), "maxPages"],
        ["maxPages 1.5", linkPages(linkServer(() => undefined), { maxPages: 1.5 }), "maxPages"],
        ["maxPages 0", linkPages(linkServer(() => undefined), { maxPages: 0 }), "maxPages"],
        ["allowedOrigins", linkPages(linkServer(() => undefined), { allowedOrigins: ["ftp://x"] }), "allowedOrigins"],
        ["relative", linkPages(linkServer(() => undefined), {}, HttpClientRequestM.get("/items")), "absolute"],
        [
          "baseUrl relative",
          linkPages(linkServer(() => undefined), { baseUrl: "/v1" }, HttpClientRequestM.get("/items")),
          "baseUrl"
        ],
        [
          "baseUrl ftp",
          Paginate.cursor(first, () => Effect.succeed(1), { cursor: () => null, baseUrl: "ftp://files.test/" }),
          "baseUrl"
        ],
        [
          "baseUrl number",
          Paginate.offsets(first, () => Effect.succeed([]), {
            items: (p) => p,
            ...({ baseUrl: 42 } as unknown as Paginate.Options)
          }),
          "baseUrl"
        ],
        [
          "pageSize",
          Paginate.pageNumbers(first, () => Effect.succeed([]), { items: (p) => p, pageSize: 0 }),
          "pageSize"
        ],
        ["start", Paginate.offsets(first, () => Effect.succeed([]), { items: (p) => p, start: -1 }), "start"],
        ["param", Paginate.cursor(first, () => Effect.succeed(1), { cursor: () => null, param: "" }), "param"]
      ]
      for (const [label, stream, option] of cases) {
        const failure = yield* failureOf(stream)
        expect(failure, label).toMatchObject({ _tag: "PaginationError", reason: "InvalidOptions", pages: 0 })
        expect((failure as Paginate.PaginationError).message, label).toContain(option)
      }
    }))
})

// -----------------------------------------------------------------------------
// property
// -----------------------------------------------------------------------------

describe("Paginate property", () => {
  it("every strategy yields exactly the items in order, a request a page, and take(k) fetches what it must", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom<Strategy>("link", "cursor", "offset", "page"),
        fc.integer({ min: 0, max: 70 }),
        async (count, size, strategy, k) => {
          const items = range(count)
          const pages = Math.max(1, Math.ceil(count / size))
          // offsets and page numbers with pageSize: a full last page needs one (empty) page more to end
          const mustFetch = count > 0 && (strategy === "offset" || strategy === "page") && count % size === 0
            ? pages + 1
            : pages
          const all = server(items, size, strategy)
          expect(await Effect.runPromise(collect(itemsOf(all.client, strategy, size)))).toEqual(items)
          expect(all.seen).toHaveLength(mustFetch)
          const some = server(items, size, strategy)
          expect(await Effect.runPromise(collect(Stream.take(itemsOf(some.client, strategy, size), k)))).toEqual(
            items.slice(0, k)
          )
          // Stream.take ends once it has k; with k beyond the items, every page the whole run needs
          const expected = k === 0 ? 0 : k <= count ? Math.ceil(k / size) : mustFetch
          expect(some.seen).toHaveLength(expected)
        }
      ),
      { seed: 20261207, numRuns: 300 }
    ))
})

// -----------------------------------------------------------------------------
// baseUrl
// -----------------------------------------------------------------------------

describe("Paginate baseUrl", () => {
  it.effect("links: a relative first URL is resolved as SturdyClient resolves it; the origin rules are the resolved URL's", () =>
    Effect.gen(function*() {
      const api = linkServer((n) => (n === 1 ? "/v1/items?page=2" : n === 2 ? "https://evil.test/p3" : undefined))
      const failure = yield* failureOf(
        linkPages(api, { baseUrl: "https://api.test/v1" }, HttpClientRequestM.get("/items"))
      )
      expect(failure).toMatchObject({ reason: "CrossOrigin", pages: 2 })
      expect(api.seen.map((s) => s.url)).toEqual(["https://api.test/v1/items", "https://api.test/v1/items?page=2"])
      // the downgrade rule too, even to a listed origin; a URL object is a base as well
      const down = linkServer(() => "http://api.test/items?page=2")
      expect(
        yield* failureOf(
          linkPages(
            down,
            { baseUrl: new URL("https://api.test/"), allowedOrigins: ["http://api.test"] },
            HttpClientRequestM.get("items")
          )
        )
      ).toMatchObject({ reason: "Downgrade", pages: 1 })
      expect(down.seen.map((s) => s.url)).toEqual(["https://api.test/items"])
      // an absolute first URL is left alone
      const absolute = linkServer(() => undefined)
      yield* collect(
        linkPages(absolute, { baseUrl: "https://api.test/v1" }, HttpClientRequestM.get("https://b.test/x"))
      )
      expect(absolute.seen.map((s) => s.url)).toEqual(["https://b.test/x"])
    }))

  it.effect("cursor, pageNumbers and offsets send the resolved URL, their parameters added to its query", () =>
    Effect.gen(function*() {
      const send = (client: HttpClient.HttpClient) => (request: HttpClientRequest.HttpClientRequest) =>
        Attempt.send(client, request)
      const relative = HttpClientRequestM.get("/items?sort=asc")
      const baseUrl = "https://api.test/v1"
      const cursorApi = server(range(3), 2, "cursor")
      yield* collect(Paginate.cursor(relative, send(cursorApi.client), {
        baseUrl,
        cursor: (page) => (JSON.parse(page.text) as { next: string | null }).next
      }))
      expect(cursorApi.seen.map((s) => s.url)).toEqual([
        "https://api.test/v1/items?sort=asc",
        "https://api.test/v1/items?sort=asc&cursor=c2"
      ])
      const pageApi = server(range(3), 2, "page")
      yield* collect(Paginate.pageNumbers(relative, send(pageApi.client), { baseUrl, items: asArray, pageSize: 2 }))
      expect(pageApi.seen.map((s) => s.url)).toEqual([
        "https://api.test/v1/items?sort=asc&page=1",
        "https://api.test/v1/items?sort=asc&page=2"
      ])
    }))

  it.effect("a baseUrl that is not an absolute http(s) URL is refused, shown redacted", () =>
    Effect.gen(function*() {
      const failure = yield* failureOf(
        linkPages(linkServer(() => undefined), { baseUrl: "ftp://ada:pw-sekrit@files.test/?api_key=sekrit-2" })
      )
      expect(failure).toMatchObject({ reason: "InvalidOptions", pages: 0 })
      expect(failure.message).toContain("baseUrl")
      expect(failure.message).not.toMatch(/sekrit/)
      // hostile values: refused naming the option, never a throw, nothing sent
      const throwing = {
        valueOf: () => {
          throw new Error("valueOf")
        },
        toString: () => {
          throw new Error("toString")
        }
      }
      for (
        const value of [null, "", "https://", "mailto:a@b.test", NaN, 10n, Symbol("base"), throwing, ["https://a.test"]]
      ) {
        const api = linkServer(() => undefined)
        const refused = yield* failureOf(
          linkPages(api, { baseUrl: value } as unknown as Paginate.LinkOptions, HttpClientRequestM.get("/items"))
        )
        expect(refused, String(typeof value)).toMatchObject({ reason: "InvalidOptions", pages: 0 })
        expect(refused.message).toContain("baseUrl")
        expect(api.seen).toHaveLength(0)
      }
    }))
})

// -----------------------------------------------------------------------------
// telemetry
// -----------------------------------------------------------------------------

const paginateSpans = (spans: ReadonlyArray<TestTracer.CollectedSpan>) =>
  spans.filter((span) => span.name === "http.client.paginate GET")

class Gone extends Data.TaggedError("Gone")<{ readonly reason: "Deleted" }> {}

describe("Paginate telemetry", () => {
  it.effect("one http.client.paginate span a listing: strategy, redacted first URL, pages; each page's call is its child", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const api = linkServer((n) => (n < 3 ? `/items?api_key=sekrit-9&page=${n + 1}` : undefined))
      const first = HttpClientRequestM.get("https://telemetry-links.test/items?api_key=sekrit-9")
      const pages = yield* collect(linkPages(api, undefined, first)).pipe(Effect.withTracer(tracer))
      expect(pages).toHaveLength(3)
      const [listing, ...others] = paginateSpans(spans)
      expect(others).toHaveLength(0)
      expect(listing.kind).toBe("internal")
      expect(listing.status._tag).toBe("Ended")
      expect(Object.fromEntries(listing.attributes)).toMatchObject({
        "http.request.method": "GET",
        "url.full": "https://telemetry-links.test/items?api_key=<redacted>",
        "server.address": "telemetry-links.test",
        "sturdy.strategy": "links",
        "sturdy.pages": 3,
        "sturdy.outcome": "success"
      })
      // links does not know a page's items: only a Paginate.items around it counts them
      expect(listing.attributes.has("sturdy.items")).toBe(false)
      const calls = spans.filter((span) => span !== listing)
      expect(calls).toHaveLength(3)
      expect(calls.every((span) => Option.getOrUndefined(span.parent) === listing)).toBe(true)
      expect(renderedSpans(spans)).not.toContain("sekrit-9")
      expect(yield* counterValue("sturdy_http_paginate_pages_total", { host: "telemetry-links.test:443" })).toBe(3)
    }))

  it.effect("Stream.take ends the span with the pages and items so far, for every strategy", () =>
    Effect.gen(function*() {
      for (
        const [strategy, name] of [
          ["link", "links"],
          ["cursor", "cursor"],
          ["page", "page_numbers"],
          ["offset", "offsets"]
        ] as const
      ) {
        const { spans, tracer } = TestTracer.make()
        const api = server(range(20), 2, strategy)
        expect(yield* collect(Stream.take(itemsOf(api.client, strategy, 2), 3)).pipe(Effect.withTracer(tracer)))
          .toEqual([1, 2, 3])
        expect(api.seen, strategy).toHaveLength(2)
        const [listing] = paginateSpans(spans)
        expect(listing.status._tag, strategy).toBe("Ended")
        expect(listing.attributes.get("sturdy.strategy"), strategy).toBe(name)
        expect(listing.attributes.get("sturdy.pages"), strategy).toBe(2)
        expect(listing.attributes.get("sturdy.outcome"), strategy).toBe("success")
        // the items of the pages fetched: numbered strategies count them, Paginate.items does for the others
        expect(listing.attributes.get("sturdy.items"), strategy).toBe(4)
      }
    }))

  it.effect("links and cursor: Paginate.items counts the items it flattens onto the listing's span (any iterable)", () =>
    Effect.gen(function*() {
      for (const strategy of ["link", "cursor"] as const) {
        const { spans, tracer } = TestTracer.make()
        const api = server(range(5), 2, strategy)
        expect(yield* collect(itemsOf(api.client, strategy, 2)).pipe(Effect.withTracer(tracer))).toEqual(range(5))
        const [listing] = paginateSpans(spans)
        expect(listing.attributes.get("sturdy.pages"), strategy).toBe(3)
        expect(listing.attributes.get("sturdy.items"), strategy).toBe(5)
      }
      // a page's items as a Set: counted as the items flattened
      const { spans, tracer } = TestTracer.make()
      const api = server(range(3), 2, "link")
      const first = HttpClientRequestM.get("https://api.test/items")
      const listed = Paginate.links(first, (request) => Attempt.send(api.client, request)).pipe(
        Paginate.items((page) => new Set(asArray(page)))
      )
      expect(yield* collect(listed).pipe(Effect.withTracer(tracer))).toEqual(range(3))
      expect(paginateSpans(spans)[0].attributes.get("sturdy.items")).toBe(3)
    }))

  it.effect("a failure ends the span: a PaginationError with its reason, a page's own failure with its tag", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const endless = linkServer((n) => `/items?page=${n + 1}`)
      yield* failureOf(linkPages(endless, { maxPages: 2 })).pipe(Effect.withTracer(tracer))
      const gone = Paginate.cursor(
        HttpClientRequestM.get("https://api.test/items"),
        (
          request
        ) => (request.urlParams.length === 0 ? Effect.succeed({ next: "c1" }) : new Gone({ reason: "Deleted" })),
        { cursor: (page) => page.next }
      )
      yield* failureOf(gone).pipe(Effect.withTracer(tracer))
      const [tooMany, failed] = paginateSpans(spans)
      expect(Object.fromEntries(tooMany.attributes)).toMatchObject({
        "sturdy.pages": 2,
        "sturdy.outcome": "failure",
        "error.type": "PaginationError",
        "sturdy.failure_tag": "PaginationError",
        "sturdy.failure_reason": "TooManyPages"
      })
      expect(Object.fromEntries(failed.attributes)).toMatchObject({
        "sturdy.strategy": "cursor",
        "sturdy.pages": 1,
        "sturdy.outcome": "failure",
        "sturdy.failure_tag": "Gone"
      })
      expect(tooMany.status._tag).toBe("Ended")
      expect(failed.status._tag).toBe("Ended")
    }))

  it.effect("an interrupted listing ends its span as interrupted, with the pages so far", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      const second = yield* Deferred.make<void>()
      let calls = 0
      const stream = Paginate.links(
        HttpClientRequestM.get("https://api.test/items"),
        () =>
          Effect.suspend(() =>
            ++calls === 1
              ? Effect.succeed({ headers: { link: `</items?page=2>; rel="next"` } })
              : Effect.zipRight(Deferred.succeed(second, undefined), Effect.never)
          )
      )
      const fiber = yield* Effect.fork(collect(stream).pipe(Effect.withTracer(tracer)))
      yield* Deferred.await(second)
      yield* Fiber.interrupt(fiber)
      const [listing] = paginateSpans(spans)
      expect(listing.status._tag).toBe("Ended")
      expect(listing.attributes.get("sturdy.outcome")).toBe("interrupted")
      expect(listing.attributes.get("sturdy.pages")).toBe(1)
    }))

  it.effect("without a tracer no span is built (a page's span has no parent), and pages still count", () =>
    Effect.gen(function*() {
      const api = linkServer((n) => (n < 2 ? `/items?page=${n + 1}` : undefined))
      const parents: Array<string | undefined> = []
      const client = HttpClient.make((request) =>
        Effect.flatMap(Effect.orDie(Effect.currentSpan), (span) => {
          parents.push(Option.match(span.parent, { onNone: () => undefined, onSome: (p) => String(p.spanId) }))
          return api.client.execute(request)
        })
      )
      const pages = yield* collect(
        Paginate.links(
          HttpClientRequestM.get("https://telemetry-untraced.test/items"),
          (request) => Attempt.send(client, request)
        )
      )
      expect(pages).toHaveLength(2)
      expect(parents).toEqual([undefined, undefined])
      expect(yield* counterValue("sturdy_http_paginate_pages_total", { host: "telemetry-untraced.test:443" })).toBe(2)
    }))

  it.effect("options refused with InvalidOptions start no span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = TestTracer.make()
      yield* failureOf(linkPages(linkServer(() => undefined), { maxPages: 0 })).pipe(Effect.withTracer(tracer))
      expect(spans).toHaveLength(0)
    }))
})

// -----------------------------------------------------------------------------
// non-ASCII Link targets
// -----------------------------------------------------------------------------

describe("Paginate non-ASCII Link targets", () => {
  // transports hand a header over one character a byte: these are the UTF-8 bytes of "/café?q=ü", as a server
  // writes them
  const utf8AsLatin1 = Buffer.from("/café?q=ü", "utf8").toString("latin1")

  it.effect("a Link target's UTF-8 bytes are read as UTF-8, as Redirect reads a Location (not sent double-encoded)", () =>
    Effect.gen(function*() {
      expect(Paginate.parseLinkHeader(`<${utf8AsLatin1}>; rel="next"`)[0]?.uri).toBe("/café?q=ü")
      expect(Paginate.nextLink({ link: `<${utf8AsLatin1}>; rel="next"` }, "https://api.test/items")).toEqual(
        Option.some(new URL("https://api.test/caf%C3%A9?q=%C3%BC"))
      )
      const api = linkServer((n) => (n === 1 ? utf8AsLatin1 : undefined))
      yield* collect(linkPages(api))
      expect(api.seen.map((s) => s.url)).toEqual(["https://api.test/items", "https://api.test/caf%C3%A9?q=%C3%BC"])
    }))

  it("bytes that are not UTF-8 (a Latin-1 é), and text already decoded, are kept as they are", () => {
    expect(Paginate.parseLinkHeader(`</caf\u00e9>; rel="next"`)[0]?.uri).toBe("/caf\u00e9")
    expect(Paginate.parseLinkHeader(`</café/\u{1F600}>; rel="next"`)[0]?.uri).toBe("/café/\u{1F600}")
  })
})
