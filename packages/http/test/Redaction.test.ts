import { Headers, HttpClientRequest, UrlParams } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Redaction } from "@sturdy/http"
import { Effect, Either, FastCheck, Option, Redacted } from "effect"
import * as internal from "../src/internal/redaction.js"

describe("Redaction", () => {
  it("recognises secret header names, case-insensitively", () => {
    for (const name of ["Authorization", "proxy-authorization", "Cookie", "Set-Cookie", "X-Api-Key", "api_key"]) {
      expect(Redaction.isSecretHeaderName(name)).toBe(true)
    }
    for (const name of ["X-Auth-Token", "X-Session-Id", "X-Client-Secret", "X-Amz-Signature"]) {
      expect(Redaction.isSecretHeaderName(name)).toBe(true)
    }
    for (const name of ["Content-Type", "Accept", "X-Request-Id", "User-Agent", "Retry-After"]) {
      expect(Redaction.isSecretHeaderName(name)).toBe(false)
    }
  })

  it("recognises secret query parameter names", () => {
    const secret = [
      "api_key",
      "apikey",
      "access_token",
      "token",
      "key",
      "signature",
      "sig",
      "password",
      "secret",
      "client_secret",
      "X-Amz-Signature",
      // OpenTelemetry's default list for `url.full` (S3 signature version 2)
      "AWSAccessKeyId"
    ]
    for (const name of secret) expect(Redaction.isSecretParamName(name)).toBe(true)
    for (const name of ["page", "limit", "q", "sort", "monkey", "keyword"]) {
      expect(Redaction.isSecretParamName(name)).toBe(false)
    }
  })

  it("redacts header values and lower-cases names", () => {
    const headers = Headers.fromInput({ Authorization: "Bearer abc", "X-Api-Key": "k1", Accept: "application/json" })
    expect(Redaction.redactHeaders(headers)).toEqual({
      authorization: "<redacted>",
      "x-api-key": "<redacted>",
      accept: "application/json"
    })
  })

  it("drops user info and the fragment, redacts secret query parameters, keeps the rest", () => {
    expect(Redaction.redactUrl("https://ada:pw@api.example.com/v1/items?api_key=abc&page=2#access_token=xyz"))
      .toBe("https://api.example.com/v1/items?api_key=<redacted>&page=2")
    expect(Redaction.redactUrl("https://api.example.com/v1#section")).toBe("https://api.example.com/v1")
    expect(Redaction.redactUrlWithParams("https://api.example.com/v1", [["token", "t"], ["q", "x y"]]))
      .toBe("https://api.example.com/v1?token=<redacted>&q=x+y")
  })

  it("with its request, the request's secrets are redacted wherever the URL holds them", () => {
    const request = HttpClientRequest.get("https://ada:pw-77@api.example.com/v1/t-0123456789/items", {
      headers: { authorization: "Bearer t-0123456789" },
      urlParams: { api_key: "k-abcdef", echo: "k-abcdef" }
    })
    const url = "https://api.example.com/v1/t-0123456789/items?echo=k-abcdef&login=pw-77&page=2"
    expect(Redaction.redactUrl(url, request))
      .toBe("https://api.example.com/v1/<redacted>/items?echo=<redacted>&login=<redacted>&page=2")
    // without the request, only what the URL itself shows as secret
    expect(Redaction.redactUrl(url)).toBe(url)
  })

  it("shows the query as the transport sends it: a pair with nothing redacted keeps its encoding", () => {
    const cases: ReadonlyArray<readonly [string, ReadonlyArray<readonly [string, string]>]> = [
      ["https://h.test/p?q=a+b", []],
      ["https://h.test/p?q=a%20b", []],
      ["https://h.test/p?fields=a,b,c&path=/x/y:z&at=@me", []],
      ["https://h.test/p?q=it's&e=~!()*", []],
      ["https://h.test/p?a&&b=&c=%zz&%C3%A9=%c3%bc", []],
      ["https://h.test/p", [["q", "a b"], ["f", "a,b/c"]]],
      ["https://h.test/p?x=a%20b&y=1,2", [["q", "a b"]]]
    ]
    for (const [url, params] of cases) {
      const sent = UrlParams.makeUrl(url, params, Option.none())
      expect(Either.isRight(sent)).toBe(true)
      if (Either.isRight(sent)) expect(Redaction.redactUrlWithParams(url, params)).toBe(sent.right.href)
    }
    // only a pair with something redacted is written anew
    expect(Redaction.redactUrl("https://h.test/p?fields=a,b&token=abc&next=/l?sig=s1&q=a+b"))
      .toBe("https://h.test/p?fields=a,b&token=<redacted>&next=%2Fl%3Fsig%3D<redacted>&q=a+b")
  })

  it.effect("a known secret in a query pair is redacted whatever the mix of its encoding", () =>
    Effect.gen(function*() {
      yield* Redaction.registerSecretValues(Redacted.make("k/ey s3cret,42"))
      // as a URL parser leaves it: the space escaped, the slash and the comma not (no echoed form of the value)
      expect(Redaction.redactUrl("https://h.test/p?key=k/ey%20s3cret,42&page=2"))
        .toBe("https://h.test/p?key=<redacted>&page=2")
      expect(Redaction.redactUrl("https://h.test/p?k/ey+s3cret,42=1&page=2"))
        .toBe("https://h.test/p?<redacted>=1&page=2")
    }))

  it("leaves a URL object it is given as it was", () => {
    const url = new URL("https://user:secret@api.test/x?token=abc#frag")
    expect(Redaction.redactUrl(url)).not.toContain("secret")
    expect(url.href).toBe("https://user:secret@api.test/x?token=abc#frag")
  })

  it("keeps the shape of a URL without an authority (about:, mailto:, javascript:, data:)", () => {
    expect(Redaction.redactUrl("about:blank")).toBe("about:blank")
    expect(Redaction.redactUrl("javascript:alert(1)")).toBe("javascript:alert(1)")
    expect(Redaction.redactUrl("data:text/plain,hi")).toBe("data:text/plain,hi")
    expect(Redaction.redactUrl("mailto:ada@example.com?subject=hi&token=t-1#x"))
      .toBe("mailto:ada@example.com?subject=hi&token=<redacted>")
    expect(Redaction.redactUrl("file:///etc/passwd?api_key=k")).toBe("file:///etc/passwd?api_key=<redacted>")
    expect(Redaction.redactUrl("foo://ada:pw@host.test/p?q=1#f")).toBe("foo://host.test/p?q=1")
  })

  it("widens the query rule by pattern: JWTs, OAuth codes, *_token, *_key, sessions", () => {
    const secret = [
      "jwt",
      "id_token",
      "refresh_token",
      "code",
      "auth",
      "session",
      "secret",
      "my_token",
      "license_key",
      "x-functions-key",
      "signingKey",
      "SESSION_ID",
      "code_verifier",
      "client_assertion",
      "otp"
    ]
    for (const name of secret) expect([name, Redaction.isSecretParamName(name)]).toEqual([name, true])
    for (const name of ["page", "per_page", "keyword", "monkey", "keys", "state", "id", "q"]) {
      expect([name, Redaction.isSecretParamName(name)]).toEqual([name, false])
    }
    for (const name of ["X-Functions-Key", "Ocp-Apim-Subscription-Key", "X-Jwt", "X-Session"]) {
      expect([name, Redaction.isSecretHeaderName(name)]).toEqual([name, true])
    }
  })

  it.effect("refuses a declared name that is neither a string nor a RegExp where it is given, not in every redaction", () =>
    Effect.gen(function*() {
      // found porting the HAR sanitizers: a number in the list made each redaction in scope die with a TypeError
      const names = ["x-tenant", 12] as unknown as Array<string>
      expect(() => Redaction.withSecretNames(Effect.void, names)).toThrow(
        new TypeError("Redaction.withSecretNames: names[1] (number) must be a string or a RegExp")
      )
      expect(() => Redaction.layerSecretNames([/x/, null] as unknown as Array<string>)).toThrow(
        /Redaction.layerSecretNames: names\[1\] \(object\)/
      )
      expect(() => Redaction.withSecretNames("x" as unknown as Array<string>)(Effect.void)).toThrow(/must be an array/)
      // a valid list still works
      expect(
        yield* Effect.sync(() => Redaction.isSecretHeaderName("x-tenant")).pipe(Redaction.withSecretNames(["x-tenant"]))
      )
        .toBe(true)
    }))

  it("a query pair after a `;` is judged by its own name, as servers that split on `;` read it", () => {
    // found by the dd-trace port: the URL standard splits on `&` only, so `token` hid inside `a`'s value
    expect(Redaction.redactUrl("https://h.test/x?a=1;token=abc;page=2&q=ok")).toBe(
      "https://h.test/x?a=1;token=<redacted>;page=2&q=ok"
    )
    expect(Redaction.redactUrl("https://h.test/x?flag;api_key=abc")).toBe("https://h.test/x?flag%3Bapi_key=<redacted>")
    // nothing secret: the value as it was, its `;` kept
    expect(Redaction.redactUrl("https://h.test/x?a=1;b=2")).toBe("https://h.test/x?a=1;b=2")
    // a relative URL splits on `;` as before
    expect(Redaction.redactUrl("/x?a=1;token=abc")).toBe("/x?a=1;token=<redacted>")
  })

  it("collects the value of a query pair after a `;` as a request secret, so an echo of it is found", () => {
    for (
      const request of [
        HttpClientRequest.get("https://h.test/x?a=1;token=t-abc1;page=2&q=ok"),
        HttpClientRequest.get("/x?flag;api_key=t-abc1"),
        HttpClientRequest.get("https://h.test/x", { urlParams: { a: "1;token=t-abc1" } })
      ]
    ) {
      expect(internal.secretsOf(request)).toContain("t-abc1")
      expect(internal.redactText(`echo: "t-abc1"`, internal.secretsOf(request))).toBe(`echo: "<redacted>"`)
    }
    expect(internal.secretsOf(HttpClientRequest.get("https://h.test/x?a=1;b=2"))).toEqual([])
  })

  it("collects the secret query values of a URL the request names in a header (Referer), so an echo of one is found", () => {
    const request = HttpClientRequest.get("https://api.test/x").pipe(
      HttpClientRequest.setHeader("referer", "https://app.test/cb?code=c-ref1&page=2#state"),
      HttpClientRequest.setHeader("x-callback", "https://app.test/hook?next=%2Fdone%3Faccess_token%3Dt-ref2")
    )
    const secrets = internal.secretsOf(request)
    expect(secrets).toContain("c-ref1")
    expect(secrets).toContain("t-ref2")
    expect(secrets).not.toContain("2")
    expect(internal.redactText(`seen c-ref1 and t-ref2`, secrets)).toBe("seen <redacted> and <redacted>")
    // a header without a query adds nothing
    expect(internal.secretsOf(HttpClientRequest.setHeader(HttpClientRequest.get("/x"), "referer", "https://a.test/")))
      .toEqual([])
  })

  it.effect("adds the names a user declares, as strings or patterns, for headers and parameters", () =>
    Effect.gen(function*() {
      expect(Redaction.isSecretParamName("state")).toBe(false)
      const inside = yield* Effect.sync(() => ({
        state: Redaction.isSecretParamName("STATE"),
        partner: Redaction.isSecretHeaderName("X-Partner-Id"),
        url: Redaction.redactUrl("https://x.test/cb?state=s3cr3t&page=1"),
        headers: Redaction.redactHeaders({ "x-partner-id": "p-77", accept: "a" })
      })).pipe(Redaction.withSecretNames(["state", /^x-partner-/i]))
      expect(inside).toEqual({
        state: true,
        partner: true,
        url: "https://x.test/cb?state=<redacted>&page=1",
        headers: { "x-partner-id": "<redacted>", accept: "a" }
      })
      const viaLayer = yield* Effect.sync(() => Redaction.isSecretParamName("tenant")).pipe(
        Effect.provide(Redaction.layerSecretNames(["tenant"]))
      )
      expect(viaLayer).toBe(true)
      // outside, the built-in rule only
      expect(Redaction.isSecretParamName("state")).toBe(false)
      expect(yield* Effect.sync(() => Redaction.isSecretParamName("tenant"))).toBe(false)
    }))

  it("applies the query rule to URL-valued response headers", () => {
    const headers = Redaction.redactHeaders({
      location: "https://app.test/cb?code=OAUTH-CODE-1&state=ok#id_token=T",
      "content-location": "/items?access_token=AT-2&page=3",
      link: "<https://api.test/items?page=2&sig=SIG-3>; rel=\"next\"",
      refresh: "0; url=https://app.test/?session=SESS-4"
    })
    const text = JSON.stringify(headers)
    for (const secret of ["OAUTH-CODE-1", "AT-2", "SIG-3", "SESS-4", "id_token"]) expect(text).not.toContain(secret)
    expect(headers.location).toBe("https://app.test/cb?code=<redacted>&state=ok")
    expect(headers["content-location"]).toBe("/items?access_token=<redacted>&page=3")
    expect(headers.link).toBe("<https://api.test/items?page=2&sig=<redacted>>; rel=\"next\"")
  })

  it.effect("redacts registered secret values wherever they appear, as written and URL-encoded", () =>
    Effect.gen(function*() {
      yield* Redaction.registerSecretValues(Redacted.make("Tenant/Secret+77"), "plain-secret-88")
      const text = Redaction.redactText("echo: Tenant/Secret+77 and Tenant%2FSecret%2B77, plain-secret-88!")
      expect(text).toBe("echo: <redacted> and <redacted>, <redacted>!")
      expect(Redaction.redactUrl("https://x.test/?q=plain-secret-88")).toBe("https://x.test/?q=<redacted>")
      expect(Redaction.redactHeaders({ "x-echo": "got plain-secret-88" })).toEqual({ "x-echo": "got <redacted>" })
    }))

  it.effect("redacts the other forms a server echoes a secret in: lower-case hex, form encoding, JSON's \\/", () =>
    Effect.gen(function*() {
      yield* Redaction.registerSecretValues("Echo/Token+9 x")
      const forms = [
        "Echo%2FToken%2B9%20x",
        "Echo%2fToken%2b9%20x",
        "Echo%2FToken%2B9+x",
        "Echo%2fToken%2b9+x",
        JSON.stringify({ echoed: "Echo/Token+9 x" }).replaceAll("/", "\\/")
      ]
      for (const form of forms) expect(Redaction.redactText(`got ${form}`)).not.toContain("Token")
    }))

  it.effect("registers a value with a lone surrogate, and finds its echo with U+FFFD in its place, as sent", () =>
    Effect.gen(function*() {
      // `encodeURIComponent` throws on a lone surrogate: registering such a value died with a URIError
      const secret = "lone\uD800-secret-41"
      yield* Redaction.registerSecretValues(secret)
      const sent = new URLSearchParams({ k: secret }).toString().slice("k=".length)
      expect(sent).toBe("lone%EF%BF%BD-secret-41")
      expect(Redaction.redactText(`got ${sent}`)).toBe("got <redacted>")
      expect(Redaction.redactText(`got ${secret}`)).toBe("got <redacted>")
    }))

  it("hides a Link's or a Refresh's query value whole, quotes and brackets in it included", () => {
    // `encodeURIComponent` leaves `'`, `(` and `)` as they are: a URL found as text would end at the quote
    const headers = Redaction.redactHeaders({
      link: `<https://api.test/next?sig=',x7(b)%24&page=2>; rel="next", </prev?token=a'b>; rel="prev"`,
      refresh: `0; url=https://api.test/x?code=ab'cd(e)&y=1`
    })
    expect(headers.link).toBe(
      `<https://api.test/next?sig=<redacted>&page=2>; rel="next", </prev?token=<redacted>>; rel="prev"`
    )
    expect(headers.refresh).toBe("0; url=https://api.test/x?code=<redacted>&y=1")
    expect(Redaction.redactHeaders({ refresh: "5;URL='/x?code=ab(cd'" }).refresh).toBe("5;URL='/x?code=<redacted>'")
  })

  it.effect("finds a registered value in the form encoding a query is sent in, which escapes ! ' ( ) ~ too", () =>
    Effect.gen(function*() {
      // `HttpClientRequest` writes query parameters with `URLSearchParams` (so `Auth.apiKeyQuery`'s key goes out so)
      const secret = "Ke(y)!~'9f3a x"
      yield* Redaction.registerSecretValues(secret)
      expect(new URLSearchParams({ k: secret }).toString()).toBe("k=Ke%28y%29%21%7E%279f3a+x")
      for (const form of ["Ke%28y%29%21%7E%279f3a+x", "Ke%28y%29%21%7e%279f3a+x", "Ke%28y%29%21%7E%279f3a%20x"]) {
        expect(Redaction.redactText(`GET /v1?k=${form} HTTP/1.1`)).toBe("GET /v1?k=<redacted> HTTP/1.1")
      }
    }))

  describe("registered values: pinned for good, a token source's tokens while current or the one before", () => {
    const registered = (value: string) => Redaction.redactText(`got ${value}`) === "got <redacted>"

    it.effect("pinned values are never pushed out, however many are pinned or how many tokens rotate", () =>
      Effect.gen(function*() {
        const pinned = Array.from({ length: 2_000 }, (_, i) => `pinned-value-${i}`)
        yield* Redaction.registerSecretValues(...pinned)
        const source = {}
        for (let i = 0; i < 10_000; i++) internal.unsafeRegisterRotatingSecret(source, `rotated-token-${i}`)
        expect(pinned.filter((value) => !registered(value))).toEqual([])
        expect(pinned.filter((value) => !internal.holdsRegisteredSecret(value))).toEqual([])
      }))

    it("a source keeps its current and previous token; older ones are let go, so the registry stays bounded", () => {
      const source = {}
      const before = internal.registeredSecretCount()
      for (let i = 1; i <= 3; i++) internal.unsafeRegisterRotatingSecret(source, `token-${i}-abcdef`)
      expect([1, 2, 3].map((i) => registered(`token-${i}-abcdef`))).toEqual([false, true, true])
      for (let i = 4; i <= 5_000; i++) internal.unsafeRegisterRotatingSecret(source, `token-${i}-abcdef`)
      expect(internal.registeredSecretCount() - before).toBe(2)
      // the same token attached again (every request between refreshes) changes nothing
      internal.unsafeRegisterRotatingSecret(source, "token-5000-abcdef")
      expect([4_998, 4_999, 5_000].map((i) => registered(`token-${i}-abcdef`))).toEqual([false, true, true])
    })

    it("a source that goes back to its previous token keeps both", () => {
      const source = {}
      for (const token of ["back-1-abcdef", "back-2-abcdef", "back-1-abcdef"]) {
        internal.unsafeRegisterRotatingSecret(source, token)
      }
      expect([registered("back-1-abcdef"), registered("back-2-abcdef")]).toEqual([true, true])
      internal.unsafeRegisterRotatingSecret(source, "back-3-abcdef")
      expect([registered("back-1-abcdef"), registered("back-2-abcdef")]).toEqual([true, false])
    })

    it("a rotating token is searched in every echoed form, and let go in every form", () => {
      const source = {}
      const token = "Rot/Token+7 q"
      const forms = [
        "Rot%2FToken%2B7%20q",
        "Rot%2fToken%2b7%20q",
        "Rot%2FToken%2B7+q",
        "Rot%2fToken%2b7+q",
        "Rot\\/Token+7 q"
      ]
      internal.unsafeRegisterRotatingSecret(source, token)
      for (const form of [token, ...forms]) expect(registered(form)).toBe(true)
      internal.unsafeRegisterRotatingSecret(source, "next-1-abcdef")
      internal.unsafeRegisterRotatingSecret(source, "next-2-abcdef")
      for (const form of [token, ...forms]) expect(Redaction.redactText(`got ${form}`)).toContain("Token")
    })

    it.effect("a token two sources hold, or one that is also pinned, stays until nothing holds it", () =>
      Effect.gen(function*() {
        const [one, two] = [{}, {}]
        internal.unsafeRegisterRotatingSecret(one, "shared-token-abc")
        internal.unsafeRegisterRotatingSecret(two, "shared-token-abc")
        for (const token of ["one-1-abcdef", "one-2-abcdef"]) internal.unsafeRegisterRotatingSecret(one, token)
        expect(registered("shared-token-abc")).toBe(true)
        for (const token of ["two-1-abcdef", "two-2-abcdef"]) internal.unsafeRegisterRotatingSecret(two, token)
        expect(registered("shared-token-abc")).toBe(false)

        yield* Redaction.registerSecretValues("pinned-and-rotating")
        internal.unsafeRegisterRotatingSecret(one, "pinned-and-rotating")
        for (const token of ["one-3-abcdef", "one-4-abcdef"]) internal.unsafeRegisterRotatingSecret(one, token)
        expect(registered("pinned-and-rotating")).toBe(true)
      }))

    // vitest's workers run with --expose-gc (vitest.config.ts)
    const gc = (globalThis as { gc?: () => void }).gc
    it.live.skipIf(gc === undefined)(
      "a source that is garbage collected lets its tokens go",
      () =>
        Effect.gen(function*() {
          const held = () => ["collected-1-abcdef", "collected-2-abcdef"].filter(internal.holdsRegisteredSecret)
          ;(() => {
            const source = {}
            internal.unsafeRegisterRotatingSecret(source, "collected-1-abcdef")
            internal.unsafeRegisterRotatingSecret(source, "collected-2-abcdef")
          })()
          expect(held()).toHaveLength(2)
          for (let i = 0; i < 50 && held().length > 0; i++) {
            gc!()
            yield* Effect.sleep("10 millis")
          }
          expect(held()).toEqual([])
          expect(registered("collected-2-abcdef")).toBe(false)
        })
    )
  })

  it("redacting text twice changes nothing: a URL already redacted keeps its placeholders whole", () => {
    const messages = [
      "503 Service Unavailable GET http://h.test/x?api_key=<redacted>",
      "GET https://h.test/a?page=2&token=<redacted>&q=x failed",
      `{"url":"https://h.test/?sig=s1"} Bearer b1 password=p1`
    ]
    for (const message of messages) {
      const once = Redaction.redactText(message)
      expect(Redaction.redactText(once)).toBe(once)
      expect(once).not.toContain("<redacted><redacted>")
    }
    expect(Redaction.redactText(messages[0]!)).toBe(messages[0])
  })

  it("keeps prose after a lower-case scheme word, and still redacts what looks like a credential there", () => {
    const prose = [
      "the token endpoint could not be reached",
      "the bearer token is not a compact JWT (three dot-separated parts)",
      "no token within the 10s the request had left",
      "the token endpoint answered with an unreadable token response"
    ]
    for (const text of prose) expect(Redaction.redactText(text)).toBe(text)
    expect(Redaction.redactText("sent bearer eyJhbGciOi.x9 by mistake")).toBe("sent bearer <redacted> by mistake")
    expect(Redaction.redactText("Authorization was Bearer abc")).toBe("Authorization was Bearer <redacted>")
  })

  it("redactHeaders with the request they answer also redacts that request's secrets wherever they are echoed", () => {
    const request = HttpClientRequest.get("https://ada:pw-77881@api.example.com/?access_token=qs-99887766", {
      headers: { "x-api-key": "k-12345678", authorization: "Bearer tok-5566778899" }
    })
    const echoed = Headers.fromInput({
      "x-echo": "Bearer tok-5566778899",
      "x-key-seen": "k-12345678",
      location: "https://api.example.com/next?state=k-12345678",
      "x-note": "pw-77881 / qs-99887766"
    })
    const redacted = Redaction.redactHeaders(echoed, request)
    for (const secret of ["tok-5566778899", "k-12345678", "pw-77881", "qs-99887766"]) {
      expect(JSON.stringify(redacted)).not.toContain(secret)
    }
    // without the request, only names and registered values count
    expect(Redaction.redactHeaders(echoed)["x-key-seen"]).toBe("k-12345678")
  })

  it("redacts header-like lines in free text", () => {
    const text = Redaction.redactText("GET /x HTTP/1.1\r\nX-Api-Key: k-123\r\nAccept: */*\r\nCookie: sid=abc")
    expect(text).toBe("GET /x HTTP/1.1\r\nX-Api-Key: <redacted>\r\nAccept: */*\r\nCookie: <redacted>")
  })

  it("redacts URLs that do not parse", () => {
    const redacted = Redaction.redactUrl("http://ada:pw@exa mple/?sig=s1&page=2\r\nx")
    expect(redacted).not.toContain("pw")
    expect(redacted).not.toContain("s1")
    expect(redacted).toContain("page=2")
    expect(redacted).not.toMatch(/[\r\n]/)
  })

  it("drops the user info of a URL that does not parse even when its password holds a raw /, ? or #", () => {
    // base64 passwords hold `/`; such a URL fails to parse (its port is not a number), so no URL parser strips it
    for (const password of ["abc/def+g==", "SEC?RET", "SEC#RET", "a/b?c#d"]) {
      const url = `http://user:${password}@api.example.test/v1?sig=s3cr3t&page=2`
      for (const redacted of [Redaction.redactUrl(url), Redaction.redactText(`calling ${url} failed`)]) {
        expect(redacted).not.toContain(password)
        expect(redacted).not.toContain(password.slice(0, 3))
        expect(redacted).not.toContain("s3cr3t")
        expect(redacted).toContain("<redacted>@api.example.test/v1")
      }
      // a request's url.full, as spans, logs and failures render it
      const request = HttpClientRequest.get(url)
      expect(internal.redactRequestUrl(request)).toBe("http://<redacted>@api.example.test/v1?sig=<redacted>&page=2")
    }
  })

  it("redacts secret pairs, bearer credentials and URLs in free text", () => {
    const text = `{"access_token": "a1", "user":"ada"} password=p1 Bearer b1.b2 see https://x.test/?token=t1`
    const redacted = Redaction.redactText(text)
    for (const secret of ["a1", "p1", "b1.b2", "t1"]) expect(redacted).not.toContain(secret)
    expect(redacted).toContain(`"user":"ada"`)
  })

  it("redacts the credential of a secret pair whose value starts with an auth scheme", () => {
    // `authorization=Bearer abc` (an env dump, a command line in an error body): the scheme and its credential are one
    // value; replacing the scheme alone left the credential in the text
    expect(Redaction.redactText("AUTHORIZATION=Bearer top-secret-value npm test")).toBe(
      "AUTHORIZATION=<redacted> npm test"
    )
    for (const text of ["auth=Basic dXNlcjpwYXNz rest", "password=token abcdefgh12 rest", "x_token=DIGEST a1b2 rest"]) {
      const redacted = Redaction.redactText(text)
      expect(redacted).toMatch(/=<redacted> rest$/)
    }
    // after a lower-case scheme word, a word that does not look like a credential stays, as for a bare scheme
    expect(Redaction.redactText("auth=token expired")).toBe("auth=<redacted> expired")
    // a name that is not secret keeps its value; its bearer credential is still redacted
    expect(Redaction.redactText("header=Bearer abc")).toBe("header=Bearer <redacted>")
    // and twice is once
    const once = Redaction.redactText("authorization=Bearer top-secret-value")
    expect(Redaction.redactText(once)).toBe(once)
  })

  it("redacts a name=value pair that starts a quoted string or follows any non-name character", () => {
    // a form body echoed inside JSON (`"received": "client_secret=...&grant_type=..."`, a HAR's `postData.text`) or
    // quoted in a message: the pair starts right after the quote, not after a blank or `&`
    expect(Redaction.redactText(`{"text": "client_secret=s3cr3t-v4lue&grant_type=client_credentials"}`)).toBe(
      `{"text": "client_secret=<redacted>&grant_type=client_credentials"}`
    )
    expect(Redaction.redactText(`sent "token=t0k3n-abc" and "x=1"`)).toBe(`sent "token=<redacted>" and "x=1"`)
    // a fragment or bracket written without a URL around it
    expect(Redaction.redactText("back to /cb#access_token=at-123456&state=s1")).toBe(
      "back to /cb#access_token=<redacted>&state=s1"
    )
    // a value runs to a blank or a separator, so a closing quote or bracket goes with it: a secret may hold one
    expect(Redaction.redactText("('password=hunter2') [api_key=k-123456]")).toBe(
      "('password=<redacted> [api_key=<redacted>"
    )
    // a name that merely ends in a secret word after a name character is still judged whole
    expect(Redaction.redactText("zipcode=12345")).toBe("zipcode=12345")
  })

  it("redacts a secret JSON member whose value is an array of strings or numbers", () => {
    // headers echoed as JSON (node's `headers` object, an echo endpoint) carry repeated ones as arrays
    expect(
      Redaction.redactText(`{"set-cookie": ["sid=s-0123456789; Path=/", "theme=dark"], "vary": ["accept"]}`)
    ).toBe(`{"set-cookie":"<redacted>", "vary": ["accept"]}`)
    expect(Redaction.redactText(`{"authorization":["Bearer a","Basic b"],"api_keys":[12345678, 87654321],"x":1}`)).toBe(
      `{"authorization":"<redacted>","api_keys":"<redacted>","x":1}`
    )
    // an array of objects is judged by the objects' own keys; an empty array has nothing to hide
    expect(Redaction.redactText(`{"tokens": [{"id": 1, "token": "t-0123456789"}]}`)).toBe(
      `{"tokens": [{"id": 1, "token":"<redacted>"}]}`
    )
    // and twice is once
    const once = Redaction.redactText(`{"cookie":["a=1","b=2"]}`)
    expect(Redaction.redactText(once)).toBe(once)
    // an array that never closes is no pair, and costs a pass, not a blow-up (the test's timeout would catch one)
    const open = `{"token": [${`"aaaa", `.repeat(20_000)}`
    expect(Redaction.redactText(open)).toBe(open)
  })

  describe("format characters (Unicode Cf) in names", () => {
    it("judges a name without the invisible characters that split it", () => {
      for (const name of ["to\u200Bken", "pass\u00ADword", "api\uFEFF_key", "s\u200Cig", "\u202Eaccess_token"]) {
        expect([name, Redaction.isSecretParamName(name)]).toEqual([name, true])
      }
      expect(Redaction.isSecretHeaderName("Author\u200Dization")).toBe(true)
      expect(Redaction.isSecretHeaderName("x-api\u2060-key")).toBe(true)
      for (const name of ["pa\u200Bge", "\u00ADq", "monkey\u200B"]) {
        expect([name, Redaction.isSecretParamName(name)]).toEqual([name, false])
      }
    })

    it("redacts pairs, lines, JSON members and query parameters whose names hold them", () => {
      expect(Redaction.redactText("to\u200Bken=abc&page=2")).toBe("to\u200Bken=<redacted>&page=2")
      expect(Redaction.redactText("sent pass\u00ADword=hunter2 twice")).toBe("sent pass\u00ADword=<redacted> twice")
      expect(Redaction.redactText("a\r\nAuthor\u200Bization: Basic x\r\n")).toBe(
        "a\r\nAuthor\u200Bization: <redacted>\r\n"
      )
      expect(Redaction.redactText(`{"to\u200Bken": "abc"}`)).toBe(`{"to\u200Bken":"<redacted>"}`)
      // what follows the last of them is still judged on its own, as it was before
      expect(Redaction.redactText("x\u200Bsig=abc")).toBe("x\u200Bsig=<redacted>")
      expect(Redaction.redactUrl("https://h.test/x?to\u200Bken=abc&page=2")).toBe(
        "https://h.test/x?to%E2%80%8Bken=<redacted>&page=2"
      )
      expect(Redaction.redactUrl("https://h.test/x?s%C2%ADig=abc&page=2")).toBe(
        "https://h.test/x?s%C2%ADig=<redacted>&page=2"
      )
      expect(Redaction.redactUrl("/x?to\uFEFFken=abc&page=2")).toBe("/x?to\uFEFFken=<redacted>&page=2")
    })

    it.effect("matches the names a user adds without them too", () =>
      Effect.gen(function*() {
        const judged = yield* Effect.sync(() => [
          Redaction.isSecretParamName("ten\u200Bant"),
          Redaction.isSecretHeaderName("x-\u200Bpartner-id"),
          Redaction.isSecretHeaderName("x-\u200Bother")
        ]).pipe(Redaction.withSecretNames(["tenant", /^x-partner-/]))
        expect(judged).toEqual([true, true, false])
      }))

    it("costs a pass on long runs of them", () => {
      const texts = ["\u200B".repeat(20_000), "a\u200B".repeat(10_000) + ": ", `?${"\uFEFF".repeat(20_000)}`]
      for (const text of texts) expect(Redaction.redactText(text)).toBe(text)
      expect(Redaction.redactUrl(`/x?${"\uFEFF\u200B".repeat(10_000)}`)).toBe(`/x?${"\uFEFF\u200B".repeat(10_000)}`)
    })
  })

  describe("percent-encoded names", () => {
    it("judges a pair's name in text decoded, as a server reads it", () => {
      expect(Redaction.redactText("GET /x?access%5Ftoken=abc&%74oken=def&page=2 failed")).toBe(
        "GET /x?access%5Ftoken=<redacted>&%74oken=<redacted>&page=2 failed"
      )
      // an exact name (`sig`), and a run of escapes that is not UTF-8, whose ASCII escapes a server still decodes
      expect(Redaction.redactText("%73ig=s-1 %70assword=hunter2 %74oken%FF=t-1")).toBe(
        "%73ig=<redacted> %70assword=<redacted> %74oken%FF=<redacted>"
      )
      // names that decode to nothing secret, and escapes in values, stay as written
      for (const text of ["q=100%25&a%20b=c", "%70age=2", "%zztoken"]) expect(Redaction.redactText(text)).toBe(text)
    })

    it("judges a query parameter's name decoded in redactUrl, relative or absolute", () => {
      expect(Redaction.redactUrl("/x?access%5Ftoken=abc&%74oken=def&page=2")).toBe(
        "/x?access%5Ftoken=<redacted>&%74oken=<redacted>&page=2"
      )
      expect(Redaction.redactUrl("/x?%74oken%FF=abc&page=2")).toBe("/x?%74oken%FF=<redacted>&page=2")
      // an absolute URL is parsed, its names decoded by the URL standard (and written decoded)
      expect(Redaction.redactUrl("https://h.test/x?access%5Ftoken=abc&%74oken=def&page=2")).toBe(
        "https://h.test/x?access_token=<redacted>&token=<redacted>&page=2"
      )
    })

    it("costs a pass on long runs of escapes", () => {
      for (const text of ["%41".repeat(7_000) + "=x", "%".repeat(20_000), "a%2".repeat(7_000) + "="]) {
        expect(Redaction.redactText(text)).toBe(text)
      }
      expect(Redaction.redactText("%74".repeat(7_000) + "oken=abc")).toMatch(/%74oken=<redacted>$/)
    })
  })

  describe("pairs percent-encoded in a value (a URL inside a URL)", () => {
    const nested = "https://h.test/cb?next=https%3A%2F%2Fidp.test%2Fx%3Faccess_token%3Dabc%26page%3D2"
    const redacted = "https://h.test/cb?next=https%3A%2F%2Fidp.test%2Fx%3Faccess_token%3D<redacted>%26page%3D2"

    it("replaces only the secret value of a URL encoded in a parameter, in redactUrl and in text", () => {
      expect(Redaction.redactUrl(nested)).toBe(redacted)
      expect(Redaction.redactText(`GET ${nested} failed`)).toBe(`GET ${redacted} failed`)
      // a relative URL, and free text (a form body, a log line)
      expect(Redaction.redactUrl(nested.slice("https://h.test".length))).toBe(redacted.slice("https://h.test".length))
      expect(Redaction.redactText("redirect_uri=https%3A%2F%2Fapp%2Fcb%3Fcode%3Dxyz%26state%3Ds1 sent")).toBe(
        "redirect_uri=https%3A%2F%2Fapp%2Fcb%3Fcode%3D<redacted>%26state%3Ds1 sent"
      )
      // a value that is an encoded query, or a URL written without encoding (the URL standard reads it as the value)
      expect(Redaction.redactUrl("https://h.test/x?q=token%3Dabc&page=2")).toBe(
        "https://h.test/x?q=token%3D<redacted>&page=2"
      )
      expect(Redaction.redactUrl("https://h.test/x?r=/cb?token=abc&page=2")).toBe(
        "https://h.test/x?r=%2Fcb%3Ftoken%3D<redacted>&page=2"
      )
      // after a `;`, and with a name encoded in the nested URL
      expect(Redaction.redactUrl("https://h.test/cb?a=1;next=%2Fx%3F%2574oken%3Dabc")).toBe(
        "https://h.test/cb?a=1;next=%2Fx%3F%2574oken%3D<redacted>"
      )
    })

    it("decodes two levels: a URL encoded twice, and one inside a URL inside a URL", () => {
      expect(
        Redaction.redactUrl(
          "https://h.test/cb?next=https%253A%252F%252Fidp%252Fx%253Faccess_token%253Dabc%2526page%253D2"
        )
      ).toBe("https://h.test/cb?next=https%253A%252F%252Fidp%252Fx%253Faccess_token%253D<redacted>%2526page%253D2")
      const twice = "https://idp.test/authorize?redirect_uri=https%3A%2F%2Fapp%2Fcb%3Fnext%3Dhttps%253A%252F%252Fapi" +
        "%252Fx%253Fapi_key%253Dk1%2526p%253D1%26x%3D1&client_id=c"
      expect(Redaction.redactText(`see ${twice}`)).toBe(`see ${twice.replace("%253Dk1", "%253D<redacted>")}`)
      expect(Redaction.redactText("state=%2Fcb%253Ftoken%253Dabc%2526p%253D1")).toBe(
        "state=%2Fcb%253Ftoken%253D<redacted>%2526p%253D1"
      )
    })

    it("keeps what holds no secret byte for byte, a path segment included, and twice is once", () => {
      const kept = [
        "https://h.test/cb?next=https%3A%2F%2Fidp%2Fx%3Fpage%3D2%26q%3Da%2Bb",
        "https://h.test/x%2Ftoken%3Dabc?page=2",
        "see /a/token%3Dabc and x%2Ftoken%3Dabc",
        "https://h.test/cb?next=%2Fx%3Fmonkey%3D1%26keys%3D2"
      ]
      for (const text of kept) {
        expect(Redaction.redactText(text)).toBe(text)
        if (!text.startsWith("see")) expect(Redaction.redactUrl(text)).toBe(text)
      }
      expect(Redaction.redactUrl(redacted)).toBe(redacted)
      expect(Redaction.redactText(Redaction.redactText(`x ${nested}`))).toBe(`x ${redacted}`)
    })

    it("judges a pair after a `?` in a value written without encoding, in text and in a relative URL", () => {
      // found with the nested-URL fix: a value ran to the next blank or `&`, so the pairs of a URL inside it were never
      // judged (`next=/login?token=abc`)
      for (const text of ["next=/login?token=abc", "GET /cb?next=/login?token=abc&x=1"]) {
        const expected = text.replace("token=abc", "token=<redacted>")
        expect(Redaction.redactText(text)).toBe(expected)
        expect(Redaction.redactUrl(text)).toBe(expected)
      }
      // a value ends at the next `?name=`, a secret one still runs to the end (of the value that holds it too)
      expect(Redaction.redactText("next=/a?b=1?api_key=k2?c=3 end")).toBe("next=/a?b=1?api_key=<redacted> end")
      expect(Redaction.redactText("password=ab?cd twice")).toBe("password=<redacted> twice")
      for (const text of ["next=/login?page=2", "/x?a=" + "?b=c".repeat(5_000), "a=" + "?bbbb=".repeat(3_400)]) {
        expect(Redaction.redactText(text)).toBe(text)
        expect(Redaction.redactUrl(text)).toBe(text)
      }
    })

    it("hides a secret value whole, with what follows a second `?` in it, as the server that reads it does", () => {
      // found in review: a secret pair's value inside another's ended at the next `?name=` (`%3Fname%3D` encoded), so
      // `next=/login?token=abc?x=1` showed `?x=1`; a server splits a query on `&`, never on a second `?`: the token it
      // reads is `abc?x=1`
      expect(Redaction.redactText("next=/login?token=abc?x=1 end")).toBe("next=/login?token=<redacted> end")
      expect(Redaction.redactUrl("/cb?next=/login?token=abc?x=1&page=2")).toBe(
        "/cb?next=/login?token=<redacted>&page=2"
      )
      expect(Redaction.redactUrl("https://h.test/cb?next=/login?token=abc?x=1&page=2")).toBe(
        "https://h.test/cb?next=%2Flogin%3Ftoken%3D<redacted>&page=2"
      )
      const once = "https://h.test/cb?next=https%3A%2F%2Fidp%2Fcb%3Faccess_token%3Dabc%3Fx%3D1%26page%3D2&q=1"
      const onceRedacted = "https://h.test/cb?next=https%3A%2F%2Fidp%2Fcb%3Faccess_token%3D<redacted>%26page%3D2&q=1"
      expect(Redaction.redactUrl(once)).toBe(onceRedacted)
      expect(Redaction.redactText(`GET ${once} failed`)).toBe(`GET ${onceRedacted} failed`)
      const twice = "/cb?next=https%253A%252F%252Fidp%252Fcb%253Ftoken%253Dabc%253Fx%253D1%2526page%253D2"
      expect(Redaction.redactUrl(twice)).toBe(
        "/cb?next=https%253A%252F%252Fidp%252Fcb%253Ftoken%253D<redacted>%2526page%253D2"
      )
      // a value that starts with the `?`, and a secret one at the top, which always ran to its end
      expect(Redaction.redactText("next=/login?token=?x=1 r=%2Fa%3Ftoken%3D%3Fx%3D1")).toBe(
        "next=/login?token=<redacted> r=%2Fa%3Ftoken%3D<redacted>"
      )
      expect(Redaction.redactText("token=abc?x=1 and /cb?token=abc?x=1")).toBe(
        "token=<redacted> and /cb?token=<redacted>"
      )
      // the pairs before a secret one are judged and kept as before; an empty secret value stays empty; twice is once
      for (const text of ["next=/login?page=2?token=abc", "next=/a%3Fpage%3D2%3Ftoken%3Dabc"]) {
        const redacted = Redaction.redactText(text)
        expect(redacted).toBe(text.replace("abc", "<redacted>"))
        expect(Redaction.redactText(redacted)).toBe(redacted)
      }
      for (const text of ["next=/login?token=", "next=/a%3Ftoken%3D%26page%3D2"]) {
        expect(Redaction.redactText(text)).toBe(text)
      }
    })

    it("collects a secret in a URL nested in the request's own URL, so that an echo of it elsewhere is found", () => {
      // found in review: the token was replaced in the URL, but not counted among the request's secrets, so a server
      // that echoed it in a header or a body showed it
      const request = HttpClientRequest.get(
        "https://h.test/cb?next=https%3A%2F%2Fidp%2Fcb%3Faccess_token%3Dt1-abcdef%26page%3D2" +
          "&r=https%253A%252F%252Fapi%252Fx%253Fapi_key%253Dt2-abcdef%2526p%253D1" +
          "&back=/login?token=t3-abcdef?x=1&q=%3Fsig%3Dt4-abcdef%3Fy%3D2&page=3"
      ).pipe(HttpClientRequest.setUrlParam("then", "https://idp/cb?code=t5-abcdef&state=s1"))
      expect([...internal.secretsOf(request)].sort()).toEqual([
        "t1-abcdef",
        "t2-abcdef",
        "t3-abcdef?x=1",
        "t4-abcdef?y=2",
        "t5-abcdef"
      ])
      const echoed = {
        "x-echo": "t1-abcdef t2-abcdef t3-abcdef?x=1 t4-abcdef?y=2 t5-abcdef",
        "x-page": "2 3 s1"
      }
      expect(Redaction.redactHeaders(Headers.fromInput(echoed), request)).toEqual({
        "x-echo": "<redacted> <redacted> <redacted> <redacted> <redacted>",
        "x-page": "2 3 s1"
      })
      // a body that echoes one, encoded (a failure's excerpt)
      expect(internal.redactText(`{"seen":"t3-abcdef%3Fx%3D1"}`, internal.secretsOf(request))).toBe(
        `{"seen":"<redacted>"}`
      )
      // a URL that nests none adds nothing; a long value that almost nests one costs a pass
      expect(internal.secretsOf(HttpClientRequest.get("https://h.test/cb?next=%2Fx%3Fpage%3D2&a=b%3Dc"))).toEqual([])
      const long = HttpClientRequest.get(`https://h.test/cb?next=${"%253Fa%253Db".repeat(1_700)}%253Ftoken%253Dtttt`)
      expect(internal.secretsOf(long)).toEqual(["tttt"])
      expect(internal.secretsOf(HttpClientRequest.get(`/cb?next=${"%3D".repeat(7_000)}`))).toEqual([])
    })

    it("costs a pass on text that almost holds such pairs", () => {
      const adversarial = [
        "%26" + "a".repeat(20_000) + "%3D",
        "%26" + "%41".repeat(6_600) + "%3D",
        "%3F".repeat(6_600) + "%3D",
        "%253F".repeat(4_000) + "%253D",
        "%3D".repeat(6_600),
        "%253D".repeat(4_000),
        "%".repeat(20_000) + "3D",
        "=a%3D%25".repeat(2_500),
        "%26" + "\u200B".repeat(20_000) + "%3D",
        "https://h.test/cb?next=" + "%3Fa%3Db".repeat(2_500),
        "/cb?next=" + "%253Fa%253Db".repeat(1_600),
        "%3Fa%3D" + "%3F".repeat(6_600),
        "%253Fa%253D" + "%3F%253F".repeat(2_500),
        "/cb?next=/a" + "?a=".repeat(5_000)
      ]
      for (const text of adversarial) {
        expect(Redaction.redactText(text)).toBe(text)
        expect(Redaction.redactUrl(text)).toBe(text)
      }
      expect(Redaction.redactUrl("/cb?next=" + "%3Fa%3Db".repeat(2_500) + "%3Ftoken%3Dt")).toMatch(
        /%3Ftoken%3D<redacted>$/
      )
      // a secret value with a long tail after a `?` is hidden whole, in a pass
      for (const tail of ["%3Fa%3Db".repeat(2_500), "%3F".repeat(6_600), "%3F<redacted>".repeat(1_500)]) {
        expect(Redaction.redactText(`/cb?next=%3Ftoken%3Dt${tail}&x=1`)).toBe("/cb?next=%3Ftoken%3D<redacted>&x=1")
        expect(Redaction.redactText(`/cb?next=%253Ftoken%253Dt${tail.replaceAll("%", "%25")}&x=1`)).toBe(
          "/cb?next=%253Ftoken%253D<redacted>&x=1"
        )
      }
      for (const tail of ["?a=b".repeat(5_000), "?".repeat(20_000), "?a=?".repeat(5_000)]) {
        expect(Redaction.redactText(`next=/a?token=t${tail}`)).toBe("next=/a?token=<redacted>")
      }
    })
  })

  describe("name-value records (HAR, Postman)", () => {
    it("replaces the value of a record whose name or key is a secret header or parameter name, in any member order", () => {
      expect(Redaction.redactText(`{"name": "Authorization", "value": "Bearer abc"}`)).toBe(
        `{"name": "Authorization", "value": "<redacted>"}`
      )
      expect(Redaction.redactText(`{"name":"x-csrf-token","value":"csrf-1"}`)).toBe(
        `{"name":"x-csrf-token","value":"<redacted>"}`
      )
      // Postman's `key`, which names the parameter and is kept (see below)
      expect(Redaction.redactText(`{"key": "api_key", "value": "k-123", "type": "text"}`)).toBe(
        `{"key": "api_key", "value": "<redacted>", "type": "text"}`
      )
      expect(Redaction.redactText(`{"value": "sid=1", "name": "cookie"}`)).toBe(
        `{"value": "<redacted>", "name": "cookie"}`
      )
      // JSON spacing, an escaped quote in the value, other members around, a parameter-only name (`code`)
      expect(
        Redaction.redactText(`[\n  {\n    "name" :\t"code",\n    "value":  "a\\"b,}c",\n    "comment": ""\n  }\n]`)
      ).toBe(
        `[\n  {\n    "name" :\t"code",\n    "value":  "<redacted>",\n    "comment": ""\n  }\n]`
      )
      // a name with a JSON escape in it is read unescaped
      expect(Redaction.redactText(`{"name": "x-\\u0074oken", "value": "t-1"}`)).toBe(
        `{"name": "x-\\u0074oken", "value": "<redacted>"}`
      )
      // .NET's PascalCase, a non-string value, a flat object beside
      expect(Redaction.redactText(`{"Name":"X-Api-Key","Value":12345678,"description":{"content":"the key"}}`)).toBe(
        `{"Name":"X-Api-Key","Value":"<redacted>","description":{"content":"the key"}}`
      )
    })

    it("keeps a Postman record's key, which names the parameter, and still hides a key member outside a record", () => {
      // found in review: the `"name": "value"` rule took the member named `key` for a secret and hid the parameter's
      // name, so the record no longer said which parameter it was
      expect(Redaction.redactText(`[{"key":"api_key","value":"k-1"},{"Value":"t-1","Key":"X-Auth-Token"}]`)).toBe(
        `[{"key":"api_key","value":"<redacted>"},{"Value":"<redacted>","Key":"X-Auth-Token"}]`
      )
      // a record whose parameter is not secret is kept whole, its key included
      const page = `{"variable": [{"key": "page", "value": "2"}, {"key": "baseUrl", "value": "https://h.test/"}]}`
      expect(Redaction.redactText(page)).toBe(page)
      // a `key` member with no `value` beside it may be the secret itself, as it was
      expect(Redaction.redactText(`{"key": "k-0123456789", "id": 7}`)).toBe(`{"key":"<redacted>", "id": 7}`)
      expect(Redaction.redactText(`{"key": "k-1", "values": ["a"]} {"key": "k-2"}, "value": 1`)).toBe(
        `{"key":"<redacted>", "values": ["a"]} {"key":"<redacted>"}, "value": 1`
      )
      // after a record that changed length, the next record's key is still found where it now is; twice is once
      const two = `{"name":"Cookie","value":"sid=0123456789abcdef"}, {"key":"token","value":"t-2"}, {"key":"x"}`
      const once = Redaction.redactText(two)
      expect(once).toBe(
        `{"name":"Cookie","value":"<redacted>"}, {"key":"token","value":"<redacted>"}, {"key":"<redacted>"}`
      )
      expect(Redaction.redactText(once)).toBe(once)
    })

    it("replaces the value of a record written inside a JSON string, escaped once or twice, and nothing else", () => {
      // found in review: the record rule read JSON only, so a record logged as a string (`{"log": "{\"name\": ...}"}`),
      // a HAR's `postData.text` or a body kept as a string let its value through
      const record = (value: string) => ({ name: "Cookie", value })
      const once = (inner: unknown, space?: number) => JSON.stringify({ log: JSON.stringify(inner, null, space) })
      const twice = (inner: unknown) => JSON.stringify({ line: JSON.stringify({ log: JSON.stringify(inner) }) })
      expect(Redaction.redactText(once(record("sid=s-1")))).toBe(once(record("<redacted>")))
      expect(Redaction.redactText(twice(record("sid=s-1")))).toBe(twice(record("<redacted>")))
      expect(once(record("v"))).toBe(`{"log":"{\\"name\\":\\"Cookie\\",\\"value\\":\\"v\\"}"}`)
      // members in any order and case, pretty-printed (escaped `\n` for blanks), a value that holds an escaped quote and
      // ends with a backslash, Postman's key kept
      const postman = (value: string) => ({ Value: value, key: "api_key", type: "text" })
      expect(Redaction.redactText(once(postman(`a"b\\`), 2))).toBe(once(postman("<redacted>"), 2))
      expect(Redaction.redactText(twice(postman(`a"b\\`)))).toBe(twice(postman("<redacted>")))
      // a HAR's cookies array, escaped
      const har = (a: string, b: string) => ({ cookies: [{ name: "theme", value: a }, { name: "x", value: b }] })
      expect(Redaction.redactText(once(har("dark", "y"), 1))).toBe(once(har("<redacted>", "<redacted>"), 1))
      expect(Redaction.redactText(twice(har("dark", "y")))).toBe(twice(har("<redacted>", "<redacted>")))
      // records with other names, and the members around, are kept byte for byte; twice is once
      for (
        const kept of [
          once({ name: "Accept", value: "a/b" }),
          twice({ headers: [{ name: "x-request-id", value: "r-1" }] }),
          once({ value: "v" }, 2)
        ]
      ) expect(Redaction.redactText(kept)).toBe(kept)
      const redacted = Redaction.redactText(twice(record("sid=s-1")))
      expect(Redaction.redactText(redacted)).toBe(redacted)
    })

    it("replaces a secret member written inside a JSON string, escaped once or twice, as it does one written as JSON", () => {
      // found by the redaction review: `"access_token": "..."` was read as JSON only, so an upstream's error body kept as
      // a string in another (`{"error": "{\"access_token\": ...}"}`), or a log line's message, let it through
      const once = (inner: unknown, space?: number) => JSON.stringify({ text: JSON.stringify(inner, null, space) })
      const twice = (inner: unknown) => JSON.stringify({ line: JSON.stringify({ log: JSON.stringify(inner) }) })
      const body = (token: string) => ({ access_token: token, scope: "read", expires_in: 3600 })
      expect(Redaction.redactText(once(body("abc-123")))).toBe(once(body("<redacted>")))
      // pretty-printed: the member is written back as the JSON rule writes it, the rest as it was
      expect(Redaction.redactText(once(body("abc-123"), 2))).toBe(
        once(body("<redacted>"), 2).replace(`\\"access_token\\": \\"`, `\\"access_token\\":\\"`)
      )
      expect(Redaction.redactText(twice(body("abc-123")))).toBe(twice(body("<redacted>")))
      // an array of them, as headers echoed as JSON carry, and a value with escaped quotes
      const cookies = { "set-cookie": ["sid=1", "x=\"2\""], ok: "kept" }
      expect(Redaction.redactText(once(cookies))).toBe(once({ "set-cookie": "<redacted>", ok: "kept" }))
      // Postman's key beside a value is a name, kept; a key member on its own is judged as any member
      expect(Redaction.redactText(once({ key: "api_key", value: "v-1" }))).toBe(
        once({ key: "api_key", value: "<redacted>" })
      )
      expect(Redaction.redactText(once({ key: "k-1" }))).toBe(once({ key: "<redacted>" }))
      // nothing else changes: members with other names, text around the string, strings without a secret
      const kept = `prefix "x" ${once({ user: "ada", count: 2 })} "open \\" quote`
      expect(Redaction.redactText(kept)).toBe(kept)
      const mixed = `{"a": "plain", "b": ${JSON.stringify(JSON.stringify(body("t-9")))}, "c": "\\n"}`
      expect(Redaction.redactText(mixed)).toBe(
        `{"a": "plain", "b": ${JSON.stringify(JSON.stringify(body("<redacted>")))}, "c": "\\n"}`
      )
      // once is enough
      const redacted = Redaction.redactText(twice(body("abc-123")))
      expect(Redaction.redactText(redacted)).toBe(redacted)
      // a pass, not a blow-up, on strings that never close or hold nothing but escapes
      for (const text of [`"${`\\"`.repeat(10_000)}`, `"a\\"b" `.repeat(2_500), `"${"\\".repeat(20_000)}"`]) {
        expect(Redaction.redactText(text)).toBe(text)
      }
    })

    it("costs a pass, not a blow-up, on text that almost holds escaped records", () => {
      // a quote escaped once (`\"`) and twice (`\\\"`), and a run of backslashes of each length that matters
      const q1 = `\\"`
      const q2 = `\\\\\\"`
      const adversarial = [
        `{${q1}value${q1}:${q1}` + q2.repeat(5_000),
        `{${q1}a${q1}:${q1}`.repeat(2_500),
        "{" + "\\".repeat(20_000),
        `{${q1}value${q1}:${q1}v${q1}` + "\\n".repeat(10_000),
        `{${q1}value${q1}:${q1}v${q1},` + `${q1}a${q1}:1,`.repeat(2_500),
        `{${q1}value${q1}:[` + `${q1}a${q1},`.repeat(3_000),
        `{${q1}value${q1}:` + `{${q1}a${q1}:${q1}b${q1},`.repeat(1_500),
        `{${q1}value${q1}:${q1}` + "\\".repeat(20_000),
        `{${q1}value${q1}: ` + "\\\\\\\\n".repeat(4_000),
        `${q1}value${q1}` + "{\\n".repeat(7_000),
        `${q2}value${q2}` + `{${q2}k${q2}:1, `.repeat(1_500),
        `{${q2}value${q2}:${q2}` + "\\\\\\\\\\\\\\\"".repeat(2_500),
        `${q1}cookies${q1}:[` + `{${q1}name${q1}:${q1}x${q1},${q1}values${q1}:${q1}y${q1}},`.repeat(400)
      ]
      for (const text of adversarial) {
        expect(text.length).toBeGreaterThan(13_000)
        expect(Redaction.redactText(text)).toBe(text)
      }
      // and a record after such a prefix is still found
      expect(Redaction.redactText(`${adversarial[4]}{${q1}name${q1}:${q1}token${q1},${q1}value${q1}:${q1}t-1${q1}}`))
        .toMatch(/\\"value\\":\\"<redacted>\\"}$/)
    })

    it("keeps records whose name is not secret, and anything that is not a record", () => {
      const texts = [
        `{"name": "Accept", "value": "application/json"}`,
        `{"value": "2", "name": "page"}`,
        `{"name": "count", "value": 3, "nested": {"a": [1]}}`,
        `{"value": "v"}`,
        `{"name": {"first": "token"}, "value": "v"}`,
        `{"name": xtokenx, "value": "v"}`,
        `{"headers": [{"name": "x-request-id", "value": "r-1"}], "status": 500}`
      ]
      for (const text of texts) expect(Redaction.redactText(text)).toBe(text)
    })

    it.effect("judges a record's name with the names a user adds", () =>
      Effect.gen(function*() {
        const record = `{"name": "x-tenant", "value": "t-77"}`
        expect(Redaction.redactText(record)).toBe(record)
        expect(yield* Effect.sync(() => Redaction.redactText(record)).pipe(Redaction.withSecretNames(["X-Tenant"])))
          .toBe(`{"name": "x-tenant", "value": "<redacted>"}`)
      }))

    it("replaces every record of a HAR cookies array, whatever its name, and only there", () => {
      const har =
        `"cookies": [\n {"name": "theme", "value": "dark", "path": "/"},\n {"name": "sid", "value": "s-1"}\n],` +
        ` "headers": [{"name": "theme", "value": "dark"}], "x": [{"name": "sid", "value": "s-2"}]`
      expect(Redaction.redactText(har)).toBe(
        `"cookies": [\n {"name": "theme", "value": "<redacted>", "path": "/"},\n {"name": "sid", "value": "<redacted>"}\n],` +
          ` "headers": [{"name": "theme", "value": "dark"}], "x": [{"name": "sid", "value": "s-2"}]`
      )
      // twice is once
      const once = Redaction.redactText(har)
      expect(Redaction.redactText(once)).toBe(once)
    })

    it("replaces the same values in a parsed JSON body (a failure's payload)", () => {
      const body = {
        log: {
          headers: [{ name: "X-Api-Key", value: "k-1" }, { Name: "Accept", Value: "a/b" }, { key: "token", value: 42 }],
          cookies: [{ name: "theme", value: "dark", path: "/" }],
          queryString: [{ name: "page", value: "2" }],
          other: [{ name: "sid", value: "s-1" }]
        }
      }
      expect(internal.redactJson(body)).toEqual({
        log: {
          headers: [{ name: "X-Api-Key", value: "<redacted>" }, { Name: "Accept", Value: "a/b" }, {
            key: "token",
            value: "<redacted>"
          }],
          cookies: [{ name: "theme", value: "<redacted>", path: "/" }],
          queryString: [{ name: "page", value: "2" }],
          other: [{ name: "sid", value: "s-1" }]
        }
      })
    })

    it("costs a pass, not a blow-up, on text that almost holds records", () => {
      const adversarial = [
        `{"value":"v",` + `"a":1,`.repeat(3_400),
        "{".repeat(20_000),
        `{"a":"`.repeat(3_400),
        `{"value":"` + `\\"`.repeat(10_000),
        `"value"` + `{"k":1, `.repeat(2_500),
        `{"name":"x","value":[` + `"a",`.repeat(5_000),
        `{"value":` + `{"a":"b",`.repeat(2_500),
        `{"value":"v"` + " ".repeat(20_000),
        `"cookies":[` + `{"name":"x","value":"y"},`.repeat(800).replaceAll(`"value"`, `"values"`)
      ]
      for (const text of adversarial) expect(Redaction.redactText(text)).toBe(text)
      // and a record after such a prefix is still found
      expect(Redaction.redactText(`${adversarial[0]}{"name":"token","value":"t-1"}`)).toMatch(/"value":"<redacted>"}$/)
    })
  })

  it("never lets a secret query value through, whatever it is", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.constantFrom("api_key", "access_token", "token", "sig", "password", "client_secret"),
        FastCheck.string({ minLength: 6, maxLength: 30 }).filter((s) => !"<redacted>".includes(s)),
        (name, value) => {
          const url = `https://api.example.com/v1?${name}=${encodeURIComponent(value)}&page=2`
          const redacted = Redaction.redactUrl(url)
          return !redacted.includes(encodeURIComponent(value)) && redacted.includes("page=2")
        }
      ),
      { seed: 42, numRuns: 300 }
    )
  })

  it("shows the URL as sent except for the pairs it redacts, whatever the query's encoding", () => {
    // a query character as a URL may carry it: plain, a sub-delimiter, `+`, percent-escaped (either case), non-ASCII
    const queryChar = FastCheck.oneof(
      FastCheck.constantFrom(
        "a",
        "b",
        "z",
        "0",
        "-",
        "_",
        ".",
        "~",
        ",",
        "/",
        ":",
        "@",
        "!",
        "'",
        "(",
        ")",
        "*",
        "+",
        ";"
      ),
      FastCheck.constantFrom("%20", "%2C", "%2c", "%2F", "%3D", "%26", "%25", "%C3%A9", "é", " ", "\"")
    )
    const text = FastCheck.array(queryChar, { minLength: 1, maxLength: 8 }).map((chars) => chars.join(""))
    const plainName = FastCheck.constantFrom("q", "page", "fields", "sort", "filter", "next", "a")
    const secretName = FastCheck.constantFrom("token", "api_key", "sig", "access_token")
    const pair = FastCheck.record({ secret: FastCheck.boolean(), plain: plainName, name: secretName, value: text })
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(pair, { maxLength: 5 }),
        FastCheck.array(FastCheck.tuple(plainName, FastCheck.string({ maxLength: 8 })), { maxLength: 3 }),
        (pairs, params) => {
          const written = pairs.map((p) => `${p.secret ? p.name : p.plain}=${p.value}`)
          const url = `https://api.example.com/v1${written.length === 0 ? "" : `?${written.join("&")}`}`
          const sent = UrlParams.makeUrl(url, params, Option.none())
          if (Either.isLeft(sent)) return true
          const shown = Redaction.redactUrlWithParams(url, params)
          // the sent query with each secret pair's value replaced, and nothing else touched
          const [, sentQuery = ""] = sent.right.href.split("?")
          const expected = sentQuery.split("&").map((raw) => {
            const [name] = new URLSearchParams(raw).keys()
            return name !== undefined && Redaction.isSecretParamName(name) ? `${name}=<redacted>` : raw
          })
          const sentPairs = sentQuery.split("&")
          const shownQuery = shown.split("?").slice(1).join("?")
          // a value holding `?name=` pairs of its own may have some redacted within: such pairs are written anew
          const nested = sentPairs.map((raw) => /[?%]3F|\?/i.test(raw.slice(raw.indexOf("=") + 1)))
          const shownPairs = shownQuery === "" ? [] : shownQuery.split("&")
          return shown.startsWith("https://api.example.com/v1") &&
            shownPairs.length === (sentQuery === "" ? 0 : sentPairs.length) &&
            shownPairs.every((shownPair, i) => nested[i] || shownPair === expected[i])
        }
      ),
      { seed: 7, numRuns: 400 }
    )
  })
})
