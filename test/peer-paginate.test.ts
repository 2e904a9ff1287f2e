/**
 * Black-box cases from peer clients' pagination suites, run against `Paginate` over `@sturdy/node`'s undici transport
 * and real `node:http` servers on 127.0.0.1 (`test/utils/loopbackServer.ts`); two servers on two ports are two
 * origins. The parser's vectors come from the Link-header parsers' own suites. Each case names its source.
 *
 * - got (sindresorhus/got, `test/pagination.ts`): ported are the Link-header following (absolute and relative, no
 *   next, empty header), URL credentials kept for a relative next link, `countLimit` (here `Stream.take`),
 *   `requestLimit` (here `maxPages`, a deliberate difference: got stops silently, Sturdy fails with
 *   `TooManyPages` after emitting the pages), the cross-origin cases (got follows and strips `Authorization` and
 *   `Cookie`; Sturdy refuses by default and strips them when the origin is listed), "next url in json response" and
 *   "pagination using searchParams" (a cursor). Skipped: `transform`/`filter`/`shouldContinue`/`stackAllItems` (a
 *   `Stream.map`/`Stream.filter`/`Stream.takeWhile` of the caller's), hooks and `allowGetBody` (no such concepts),
 *   `backoff` (a caller's `Stream.schedule`; and it sleeps for real), the option-shape `TypeError` cases (typed here).
 * - Octokit (octokit/plugin-paginate-rest.js, `test/paginate.test.ts`): `.paginate()` following a Link to another
 *   host (allowed only when listed here), to another path, early exit, `iterator` pulling one page at a time, an
 *   endpoint that does not paginate, results in a namespace (`items`) with `prev`/`first` but no `next`. Skipped: the
 *   route/endpoint-method call forms (Octokit's own API).
 * - http-link-header (jhermsmeier/node-http-link-header, `test/index.js`, `test/rfc-examples.js`, `test/quotes.js`,
 *   `test/in-the-wild.js`) and parse-link-header (thlorenz/parse-link-header, `test/parse-link-header.js`): their
 *   vectors. Differences: `title*` (RFC 8187) is kept as written, not decoded; "multiple links with same rel" keeps
 *   both links (§3.4.1's "rel MUST NOT appear more than once" is about one link-value, which is tested in
 *   Paginate.test.ts); `rel="example; start"` is one link with the types `example;` and `start`, not two links; a
 *   `<uri` without `>` (parse-link-header's "comma in the url") is malformed and yields no link.
 * - Over the wire, Sturdy's own: a non-ASCII `Link` target read as UTF-8 (the case test/redirect-loopback.test.ts
 *   runs for a `Location`, as browsers, fetch and got read it), `baseUrl`, and the listing's span over a real
 *   transport.
 */
import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Attempt, Paginate } from "@sturdy/http"
import { TestTracer } from "@sturdy/testing"
import { Chunk, Effect, Either, Option, Stream } from "effect"
import type * as Http from "node:http"
import * as Loopback from "./utils/loopbackServer.js"
import { undiciClient } from "./utils/undiciClient.js"

const json = (response: Http.ServerResponse, body: unknown, headers: Record<string, string> = {}) => {
  response.writeHead(200, { "content-type": "application/json", ...headers })
  response.end(JSON.stringify(body))
}

const pageOf = (request: Http.IncomingMessage) =>
  Number(new URL(request.url ?? "/", "http://x").searchParams.get("page") ?? "1")

const numbers = (received: Attempt.Received) => JSON.parse(received.text) as ReadonlyArray<unknown>

/** Every item of the Link-paged resource at `url`. */
const allByLinks = (url: string, options?: Paginate.LinkOptions, request = HttpClientRequest.get(url)) =>
  Effect.gen(function*() {
    const client = yield* undiciClient
    const items = yield* Paginate.links(request, (r) => Attempt.send(client, r), options).pipe(
      Paginate.items(numbers),
      Stream.runCollect
    )
    return Chunk.toReadonlyArray(items)
  })

/** got's `attachHandler`: `count` pages `[page]`, each linking the next (absolute, or relative). */
const gotPages = (count: number, relative = false) =>
  Effect.gen(function*() {
    let url = ""
    const server = yield* Loopback.start({
      "/": (request, response) => {
        const page = pageOf(request)
        json(response, [page], page < count ? { link: `<${relative ? "" : url}/?page=${page + 1}>; rel="next"` } : {})
      }
    })
    url = server.url
    return server
  })

describe("got test/pagination.ts", () => {
  // got: "the link header has no next value", "the link header is empty"
  it.scopedLive("a Link without next, or empty, is the last page", () =>
    Effect.gen(function*() {
      for (const link of ["<https://example.com>; rel=\"prev\"", ""]) {
        const server = yield* Loopback.start({ "/": (_, response) => json(response, [1], { link }) })
        expect(yield* allByLinks(`${server.url}/`)).toEqual([1])
        expect(server.requests).toHaveLength(1)
      }
    }))

  // got: "retrieves all elements", "retrieves all elements - relative url", "iterator works"
  it.scopedLive("retrieves all elements, absolute and relative links", () =>
    Effect.gen(function*() {
      expect(yield* allByLinks(`${(yield* gotPages(2)).url}/`)).toEqual([1, 2])
      expect(yield* allByLinks(`${(yield* gotPages(5, true)).url}/`)).toEqual([1, 2, 3, 4, 5])
    }))

  // got: "preserves URL credentials for relative next-page links"
  it.scopedLive("URL credentials go on to a relative next link on the same origin", () =>
    Effect.gen(function*() {
      const expected = `Basic ${Buffer.from("hello:world").toString("base64")}`
      const server = yield* Loopback.start({
        "/": (request, response) => {
          if (request.headers.authorization !== expected) {
            response.writeHead(401).end("Unauthorized")
            return
          }
          const page = pageOf(request)
          json(response, [page], page < 2 ? { link: `</?page=2>; rel="next"` } : {})
        }
      })
      const url = new URL(server.url)
      url.username = "hello"
      url.password = "world"
      expect(yield* allByLinks(`${url.href}`)).toEqual([1, 2])
    }))

  // got: "`countLimit` works" (here Stream.take: one page fetched)
  it.scopedLive("taking one item fetches one page", () =>
    Effect.gen(function*() {
      const server = yield* gotPages(2)
      const client = yield* undiciClient
      const items = yield* Paginate.links(HttpClientRequest.get(`${server.url}/`), (r) => Attempt.send(client, r)).pipe(
        Paginate.items(numbers),
        Stream.take(1),
        Stream.runCollect
      )
      expect(Chunk.toReadonlyArray(items)).toEqual([1])
      expect(server.requests).toHaveLength(1)
    }))

  // got: "`requestLimit` works" (got stops silently at [1]; here the first page is emitted, then TooManyPages)
  it.scopedLive("maxPages: the pages up to it, then a typed failure instead of a silent stop", () =>
    Effect.gen(function*() {
      const server = yield* gotPages(2)
      const client = yield* undiciClient
      const seen: Array<unknown> = []
      const result = yield* Paginate.links(HttpClientRequest.get(`${server.url}/`), (r) => Attempt.send(client, r), {
        maxPages: 1
      }).pipe(Paginate.items(numbers), Stream.runForEach((n) => Effect.sync(() => seen.push(n))), Effect.either)
      expect(seen).toEqual([1])
      expect(result).toMatchObject(Either.left({ _tag: "PaginationError", reason: "TooManyPages", pages: 1 }))
      expect(server.requests).toHaveLength(1)
    }))

  // got: "strips sensitive headers when pagination navigates cross-origin", "strips cookie header when pagination
  // navigates cross-origin" (got follows without them; Sturdy refuses unless the origin is listed, then strips them)
  it.scopedLive("a next link to another origin: refused by default; listed, sent without Authorization or Cookie", () =>
    Effect.gen(function*() {
      const evil = yield* Loopback.start({ "/steal": (_, response) => json(response, []) })
      const trusted = yield* Loopback.start({
        "/items": (_, response) => json(response, [1], { link: `<${evil.url}/steal>; rel="next"` })
      })
      const request = HttpClientRequest.get(`${trusted.url}/items`).pipe(
        HttpClientRequest.setHeaders({ authorization: "Bearer SECRET", cookie: "session=SECRET" })
      )
      const refused = yield* Effect.either(allByLinks(`${trusted.url}/items`, undefined, request))
      expect(refused).toMatchObject(Either.left({ _tag: "PaginationError", reason: "CrossOrigin", pages: 1 }))
      expect(evil.requests).toHaveLength(0)
      expect(yield* allByLinks(`${trusted.url}/items`, { allowedOrigins: [evil.url] }, request)).toEqual([1])
      expect(evil.requests).toHaveLength(1)
      expect(evil.requests[0]!.headers.authorization).toBeUndefined()
      expect(evil.requests[0]!.headers.cookie).toBeUndefined()
      expect(trusted.requests.every((r) => r.headers.authorization === "Bearer SECRET")).toBe(true)
    }))

  // got: "next url in json response" (a caller-built request from a URL in the body)
  it.scopedLive("the next URL in the JSON body, through a caller-built request", () =>
    Effect.gen(function*() {
      let url = ""
      const server = yield* Loopback.start({
        "/": (request, response) => {
          const page = Number(new URL(request.url!, url).searchParams.get("page") ?? 0)
          json(response, { currentUrl: request.url, next: page < 3 ? `${url}/?page=${page + 1}` : undefined })
        }
      })
      url = server.url
      const client = yield* undiciClient
      type Page = { readonly currentUrl: string; readonly next?: string }
      const all = yield* Paginate.cursor(
        HttpClientRequest.get(`${url}/?page=0`),
        (r) => Effect.map(Attempt.send(client, r), (received) => JSON.parse(received.text) as Page),
        { cursor: (page) => page.next, request: (next, first) => HttpClientRequest.setUrl(first, next) }
      ).pipe(Paginate.items((page) => [page.currentUrl]), Stream.runCollect)
      expect(Chunk.toReadonlyArray(all)).toEqual(["/?page=0", "/?page=1", "/?page=2", "/?page=3"])
    }))

  // got: "pagination using searchParams" (the next page number as a cursor into `page`)
  it.scopedLive("the page number in a query parameter while the body says there is a next", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start({
        "/": (request, response) => {
          const page = Number(new URL(request.url!, "http://x").searchParams.get("page") ?? 0)
          json(response, { currentUrl: request.url, next: page < 3, page })
        }
      })
      const client = yield* undiciClient
      type Page = { readonly currentUrl: string; readonly next: boolean; readonly page: number }
      const all = yield* Paginate.cursor(
        HttpClientRequest.get(`${server.url}/?page=0`),
        (r) => Effect.map(Attempt.send(client, r), (received) => JSON.parse(received.text) as Page),
        { cursor: (page) => (page.next ? String(page.page + 1) : null), param: "page" }
      ).pipe(Paginate.items((page) => [page.currentUrl]), Stream.runCollect)
      expect(Chunk.toReadonlyArray(all)).toEqual(["/?page=0", "/?page=1", "/?page=2", "/?page=3"])
    }))
})

describe("Octokit test/paginate.test.ts", () => {
  const ORG1 = { id: 1 }
  const ORG2 = { id: 2 }

  /** api.github.com on one port, pagination-test.com on another */
  const twoHosts = (namespace?: string) =>
    Effect.gen(function*() {
      const wrap = (
        orgs: ReadonlyArray<unknown>
      ) => (namespace === undefined ? orgs : { total_count: 2, [namespace]: orgs })
      const other = yield* Loopback.start({ "/orgs/octokit/repos": (_, response) => json(response, wrap([ORG2])) })
      const github = yield* Loopback.start({
        "/orgs/octokit/repos": (_, response) =>
          json(response, wrap([ORG1]), {
            link: `<${other.url}/orgs/octokit/repos?page=2&per_page=1>; rel="next"`,
            "X-GitHub-Media-Type": "github.v3; format=json"
          })
      })
      return { github, other }
    })

  // octokit: ".paginate()" (the Link points to another host: followed only when it is listed)
  it.scopedLive(".paginate() with the next page on another host", () =>
    Effect.gen(function*() {
      const { github, other } = yield* twoHosts()
      const url = `${github.url}/orgs/octokit/repos?per_page=1`
      expect(yield* allByLinks(url, { allowedOrigins: [other.url] })).toEqual([ORG1, ORG2])
      expect(other.requests.map((r) => r.url)).toEqual(["/orgs/octokit/repos?page=2&per_page=1"])
      const refused = yield* Effect.either(allByLinks(url))
      expect(refused).toMatchObject(Either.left({ reason: "CrossOrigin" }))
    }))

  // octokit: ".paginate() with Link header pointing to different path"
  it.scopedLive(".paginate() with a Link to a different path on the same host", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start({
        "/orgs/octokit/repos": (_, response) =>
          json(response, [ORG1], { link: `</foobar?page=2&per_page=1>; rel="next"` }),
        "/foobar": (_, response) => json(response, [ORG2])
      })
      expect(yield* allByLinks(`${server.url}/orgs/octokit/repos?per_page=1`)).toEqual([ORG1, ORG2])
    }))

  // octokit: ".paginate() with early exit", "paginate.iterator(route)" (one page a pull)
  it.scopedLive("early exit and the iterator: a page is fetched only when pulled", () =>
    Effect.gen(function*() {
      const { github, other } = yield* twoHosts()
      const client = yield* undiciClient
      const pages = Paginate.links(
        HttpClientRequest.get(`${github.url}/orgs/octokit/repos?per_page=1`),
        (r) => Attempt.send(client, r),
        { allowedOrigins: [other.url] }
      )
      const first = yield* Stream.runHead(pages)
      expect(Option.map(first, numbers)).toEqual(Option.some([ORG1]))
      expect(other.requests).toHaveLength(0)
      const ids = yield* pages.pipe(
        Paginate.items(numbers),
        Stream.takeUntil((org) => (org as { id: number }).id === 1),
        Stream.runCollect
      )
      expect(Chunk.toReadonlyArray(ids)).toEqual([ORG1])
      expect(other.requests).toHaveLength(0)
    }))

  // octokit: ".paginate.iterator for endpoints that don’t paginate"
  it.scopedLive("an endpoint that does not paginate is one page", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start({ "/orgs/myorg": (_, response) => json(response, ORG1) })
      const client = yield* undiciClient
      const pages = yield* Paginate.links(HttpClientRequest.get(`${server.url}/orgs/myorg`), (r) =>
        Attempt.send(client, r)).pipe(Stream.runCollect)
      expect(
        Chunk.toReadonlyArray(pages).map((p) =>
          JSON.parse(p.text)
        )
      ).toEqual([ORG1])
    }))

  // octokit: ".paginate() with results namespace (search)" (the last page has prev and first, no next)
  it.scopedLive("results in a namespace; prev and first links are not followed", () =>
    Effect.gen(function*() {
      const q = encodeURIComponent("repo:web-platform-tests/wpt is:pr is:open updated:>2019-02-26")
      let url = ""
      const server = yield* Loopback.start({
        "/search/issues": (request, response) => {
          const page = pageOf(request)
          const search = `${url}/search/issues?q=${q}&per_page=1`
          json(
            response,
            { total_count: 2, incomplete_results: false, items: [{ id: page === 1 ? "123" : "456" }] },
            {
              link: page === 1
                ? `<${search}&page=2>; rel="next"`
                : `<${search}&page=1>; rel="prev", <${search}&page=1>; rel="first"`
            }
          )
        }
      })
      url = server.url
      const client = yield* undiciClient
      type Search = { readonly items: ReadonlyArray<{ readonly id: string }> }
      const all = yield* Paginate.links(
        HttpClientRequest.get(`${url}/search/issues?q=${q}&per_page=1`),
        (r) => Attempt.send(client, r)
      ).pipe(Paginate.items((page) => (JSON.parse(page.text) as Search).items), Stream.runCollect)
      expect(Chunk.toReadonlyArray(all)).toEqual([{ id: "123" }, { id: "456" }])
      expect(server.requests).toHaveLength(2)
    }))
})

describe("Link header parsers' vectors", () => {
  const refs = (value: string) => Paginate.parseLinkHeader(value).map((l) => ({ uri: l.uri, ...l.params }))

  // http-link-header test/index.js
  it("http-link-header test/index.js", () => {
    expect(refs("<example.com>")).toEqual([{ uri: "example.com" }])
    expect(refs("<example.com>; rel=example")).toEqual([{ uri: "example.com", rel: "example" }])
    expect(refs(`<example.com>; rel="example"`)).toEqual([{ uri: "example.com", rel: "example" }])
    expect(refs(`<example.com>; rel="example", <example-01.com>; rel="alternate"`)).toEqual([
      { uri: "example.com", rel: "example" },
      { uri: "example-01.com", rel: "alternate" }
    ])
    expect(refs(`<example.com>; rel="example", <example-01.com>; rel=alternate`)).toEqual([
      { uri: "example.com", rel: "example" },
      { uri: "example-01.com", rel: "alternate" }
    ])
    // "multiple links with same rel": two links, both kept (§3.4.1 is about one link-value)
    expect(refs(`<example.com>; rel="example", <example-01.com>; rel="example"`)).toHaveLength(2)
  })

  // http-link-header test/rfc-examples.js (RFC 5988 §5.5, as in RFC 8288 §3.5)
  it("http-link-header test/rfc-examples.js", () => {
    expect(refs(`<http://example.com/TheBook/chapter2>; rel="previous"; title="previous chapter"`)).toEqual([
      { uri: "http://example.com/TheBook/chapter2", rel: "previous", title: "previous chapter" }
    ])
    expect(refs(`</>; rel="http://example.net/foo"`)).toEqual([{ uri: "/", rel: "http://example.net/foo" }])
    // title* kept as written (RFC 8187 decoding is not Paginate's business)
    expect(
      refs(
        `</TheBook/chapter2>; rel="previous"; title*=UTF-8'de'letztes%20Kapitel, </TheBook/chapter4>; rel="next"; title*=UTF-8'de'n%c3%a4chstes%20Kapitel`
      )
    ).toEqual([
      { uri: "/TheBook/chapter2", rel: "previous", "title*": "UTF-8'de'letztes%20Kapitel" },
      { uri: "/TheBook/chapter4", rel: "next", "title*": "UTF-8'de'n%c3%a4chstes%20Kapitel" }
    ])
    const [start] = Paginate.parseLinkHeader(`<http://example.org/>; rel="start http://example.net/relation/other"`)
    expect(start!.rels).toEqual(["start", "http://example.net/relation/other"])
  })

  // http-link-header test/quotes.js
  it("http-link-header test/quotes.js", () => {
    expect(refs(`<http://example.com/quotes/semicolons>; rel="previous"; title="previous; chapter"`)).toEqual([
      { uri: "http://example.com/quotes/semicolons", rel: "previous", title: "previous; chapter" }
    ])
    expect(refs(`<http://example.com/quotes/semicolons>; rel="previous"; title="previous, chapter"`)).toEqual([
      { uri: "http://example.com/quotes/semicolons", rel: "previous", title: "previous, chapter" }
    ])
    expect(refs(`<example.com>; rel="example,comma", <example-01.com>; rel="alternate;semicolon"`)).toEqual([
      { uri: "example.com", rel: "example,comma" },
      { uri: "example-01.com", rel: "alternate;semicolon" }
    ])
    expect(refs(`<example.com>; rel="example;semicolon", <example-01.com>; rel="alternate,comma"`)).toEqual([
      { uri: "example.com", rel: "example;semicolon" },
      { uri: "example-01.com", rel: "alternate,comma" }
    ])
    // "multiple rel types with semicolon": one link, two relation types
    expect(Paginate.parseLinkHeader(`<example.com>; rel="example; start"`).map((l) => l.rels)).toEqual([[
      "example;",
      "start"
    ]])
  })

  // http-link-header test/in-the-wild.js
  it("http-link-header test/in-the-wild.js", () => {
    expect(
      refs(
        `<https://acme-staging.api.letsencrypt.org/acme/new-authz>;rel="next", <https://letsencrypt.org/documents/LE-SA-v1.1.1-August-1-2016.pdf>;rel="terms-of-service"`
      )
    ).toEqual([
      { uri: "https://acme-staging.api.letsencrypt.org/acme/new-authz", rel: "next" },
      { uri: "https://letsencrypt.org/documents/LE-SA-v1.1.1-August-1-2016.pdf", rel: "terms-of-service" }
    ])
    const github =
      `<https://api.github.com/user/repos?page=3&per_page=100>; rel="next", <https://api.github.com/user/repos?page=50&per_page=100>; rel="last"`
    expect(refs(github)).toEqual([
      { uri: "https://api.github.com/user/repos?page=3&per_page=100", rel: "next" },
      { uri: "https://api.github.com/user/repos?page=50&per_page=100", rel: "last" }
    ])
  })

  // parse-link-header test/parse-link-header.js
  it("parse-link-header test/parse-link-header.js", () => {
    const base = "https://api.github.com/user/9287/repos"
    for (const quote of [`"`, ""]) {
      const value = `<${base}?client_id=1&client_secret=2&page=2&per_page=100>; rel=${quote}next${quote}, ` +
        `<${base}?client_id=1&client_secret=2&page=3&per_page=100>; rel=${quote}last${quote}`
      expect(Paginate.nextLink({ link: value }, base)).toEqual(
        Option.some(new URL(`${base}?client_id=1&client_secret=2&page=2&per_page=100`))
      )
      expect(Paginate.parseLinkHeader(value).map((l) => l.rels)).toEqual([["next"], ["last"]])
    }
    expect(
      Paginate.parseLinkHeader(
        `<${base}?page=3&per_page=100>; rel="next", <${base}?page=1&per_page=100>; rel="prev", <${base}?page=5&per_page=100>; rel="last"`
      ).map((l) => l.rels[0])
    ).toEqual(["next", "prev", "last"])
    expect(Paginate.parseLinkHeader("")).toEqual([])
    // a link without rel is kept, with no relation types, and is never the next page
    const withoutRel = `<${base}?page=3&per_page=100>; rel="next", <${base}?page=1&per_page=100>; pet="cat", `
    expect(Paginate.parseLinkHeader(withoutRel).map((l) => l.rels)).toEqual([["next"], []])
    expect(refs(`<${base}?page=3&per_page=100>; rel="next"; hello="world"; pet="cat"`)).toEqual([
      { uri: `${base}?page=3&per_page=100`, rel: "next", hello: "world", pet: "cat" }
    ])
    // "comma in the url" and "multi-word rel" lack the closing `>`: malformed, no link (a difference)
    expect(Paginate.parseLinkHeader(`<https://imaginary.url.notreal/?name=What,+me+worry; rel="next";`)).toEqual([])
    expect(Paginate.parseLinkHeader(`<https://imaginary.url.notreal/?name=What,+me+worry>; rel="next page"`)[0]!.rels)
      .toEqual(["next", "page"])
    expect(
      refs(
        `<http://example.com/one>; rel="service",<http://example.com/two>; rel="service",<http://example.com/three>; rel="service"`
      )
        .map((l) => l.uri)
    ).toEqual(["http://example.com/one", "http://example.com/two", "http://example.com/three"])
  })
})

describe("over the wire", () => {
  it.scopedLive("a Link target in UTF-8 is followed as written, not double-encoded (as a Location is)", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start({
        // node writes a header string one byte a character: these are the UTF-8 bytes of "/café?q=ü"
        "/items": (_, response) =>
          json(response, [1], { link: `<${Buffer.from("/café?q=ü", "utf8").toString("latin1")}>; rel="next"` }),
        "/caf%C3%A9": (_, response) => json(response, [2])
      })
      expect(yield* allByLinks(`${server.url}/items`)).toEqual([1, 2])
      expect(server.requests.map((r) => r.url)).toEqual(["/items", "/caf%C3%A9?q=%C3%BC"])
    }))

  it.scopedLive("baseUrl: a relative first URL, its next links resolved against the resolved URL", () =>
    Effect.gen(function*() {
      const server = yield* Loopback.start({
        "/v1/items": (request, response) => {
          const page = pageOf(request)
          json(response, [page], page < 3 ? { link: `<items?page=${page + 1}>; rel="next"` } : {})
        }
      })
      expect(yield* allByLinks("", { baseUrl: `${server.url}/v1/` }, HttpClientRequest.get("/items"))).toEqual([
        1,
        2,
        3
      ])
      expect(server.requests.map((r) => r.url)).toEqual(["/v1/items", "/v1/items?page=2", "/v1/items?page=3"])
    }))

  it.scopedLive("one listing span over a real transport; each page's client span its child; take ends it", () =>
    Effect.gen(function*() {
      const collected = TestTracer.make()
      const server = yield* gotPages(5)
      const client = yield* undiciClient
      const items = yield* Paginate.links(HttpClientRequest.get(`${server.url}/`), (r) => Attempt.send(client, r)).pipe(
        Paginate.items(numbers),
        Stream.take(2),
        Stream.runCollect,
        Effect.withTracer(collected.tracer)
      )
      expect(Chunk.toReadonlyArray(items)).toEqual([1, 2])
      const [listing] = collected.byName("http.client.paginate GET")
      expect(listing.status._tag).toBe("Ended")
      expect(listing.attributes.get("sturdy.pages")).toBe(2)
      expect(listing.attributes.get("sturdy.outcome")).toBe("success")
      const pages = collected.children(listing)
      expect(pages.map((span) => span.kind)).toEqual(["client", "client"])
      expect(server.requests).toHaveLength(2)
    }))
})
