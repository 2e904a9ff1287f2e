import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as P from "../Policy.js"
import * as redaction from "./redaction.js"

// -----------------------------------------------------------------------------
// upstream keys and endpoint patterns
// -----------------------------------------------------------------------------

/**
 * @internal scheme, host (a bracketed IPv6 literal or a name), port and path of an absolute URL, read as the URL
 * standard reads an http(s) URL, which is what the transport connects to: the user info ends at the authority's last
 * `@` (a password may hold an unencoded `@`), and a `\` ends the authority as a `/` does
 * (`http://a:8080\@b/` goes to `a:8080`).
 */
export const originPattern = /^([a-z][a-z0-9+.-]*):[/\\]{2}(?:[^/?#\\]*@)?(\[[^\]]*\]|[^:/?#\\]*)(?::(\d*))?([^?#]*)/i
/** @internal */
export const defaultPorts: Readonly<Record<string, string>> = { http: "80", https: "443", ws: "80", wss: "443" }

/** @internal */
export interface Target {
  /** scheme://host:port, the default upstream key */
  readonly origin: string
  readonly host: string
  readonly hostPort: string
  readonly path: string
}

// Most calls go to the URL of the call before: its parse is kept.
let lastParsedUrl: string | undefined
let lastTarget: Target | undefined

/** @internal */
export const parseTarget = (url: string): Target => {
  if (url === lastParsedUrl) return lastTarget!
  const target = parseTargetOnce(url)
  lastParsedUrl = url
  lastTarget = target
  return target
}

const parseTargetOnce = (url: string): Target => {
  const match = originPattern.exec(url)
  // not an absolute URL (it fails as `MalformedUrl`): its key, shown in events and breaker metrics, is redacted
  if (match === null) return { origin: redaction.redactUrl(url), host: "", hostPort: "", path: url }
  const scheme = match[1].toLowerCase()
  const host = asciiHost(match[2].toLowerCase())
  const port = match[3] === undefined || match[3] === "" ? (defaultPorts[scheme] ?? "") : match[3]
  const hostPort = `${host}:${port}`
  // a `\` in an http(s) path is a `/` to the URL standard
  const slashed = match[4] === "" ? "/" : match[4].includes("\\") ? match[4].replaceAll("\\", "/") : match[4]
  // and its dot segments are resolved (`/a/../b` is sent as `/b`): endpoint patterns match the path as sent
  const path = Object.hasOwn(defaultPorts, scheme) ? encodePath(removeDotSegments(slashed)) : slashed
  return { origin: `${scheme}://${hostPort}`, host, hostPort, path }
}

// A host name past ASCII in its ASCII form (`bücher.example` → `xn--bcher-kva.example`), as the URL standard and
// every transport send it: written either way, it is one upstream, and one `hosts` entry.
const asciiHost = (host: string): string => {
  if (!/[^\x20-\x7e]/.test(host)) return host
  try {
    return new URL(`http://${host}/`).hostname
  } catch {
    return host
  }
}

const hostEntryPattern = /^(\[[^\]]+\]|[^\s:/?#\\@[\]]+)(?::(\d{1,5}))?$/

/**
 * @internal The key a `hosts` entry is looked up by (`host` or `host:port`, lower case, an IDN in ASCII), or `undefined`
 * when no request URL can have that host.
 */
export const hostEntryKey = (name: string): string | undefined => {
  const match = hostEntryPattern.exec(name)
  if (match === null) return undefined
  const host = asciiHost(match[1].toLowerCase())
  return match[2] === undefined ? host : `${host}:${match[2]}`
}

// What the URL standard's path percent-encode set encodes (controls, space, `"`, `<`, `>`, `` ` ``, `{`, `}` and
// every code point past ASCII), matched by code point; a tab or newline it drops.
const unsentPathCharacter = /[^\x21-\x7e]|["<>`{}]/u
const unsentPathCharacters = /[^\x21-\x7e]|["<>`{}]/gu

/**
 * @internal a path as an http(s) URL sends it: a space as `%20`, `é` as `%C3%A9` (UTF-8), a lone surrogate as the
 * replacement character's bytes; a tab, a line feed or a carriage return dropped; escapes already there kept as
 * written. Endpoint patterns are encoded alike, so that `"/a b"`, `"/a%20b"`, a request to either and the path on the
 * wire all match.
 */
export const encodePath = (path: string): string => {
  if (!unsentPathCharacter.test(path)) return path
  return path.replace(unsentPathCharacters, (character) => {
    if (character === "\t" || character === "\n" || character === "\r") return ""
    try {
      return encodeURIComponent(character)
    } catch {
      return "%EF%BF%BD"
    }
  })
}

const singleDot = /^(?:\.|%2e)$/i
const doubleDot = /^(?:\.|%2e){2}$/i

/**
 * @internal the URL standard's path parsing of an http(s) URL: `.` and `..` segments, or their percent-encoded forms
 * (`%2e`, `.%2E`), are removed, `..` with the segment before it; a last dot segment leaves a trailing `/`.
 */
export const removeDotSegments = (path: string): string => {
  if (!path.startsWith("/") || (!path.includes(".") && !path.includes("%2"))) return path
  const input = path.split("/")
  const output: Array<string> = []
  for (let i = 1; i < input.length; i++) {
    const segment = input[i]
    const last = i === input.length - 1
    if (doubleDot.test(segment)) {
      output.pop()
      if (last) output.push("")
    } else if (singleDot.test(segment)) {
      if (last) output.push("")
    } else {
      output.push(segment)
    }
  }
  return `/${output.join("/")}`
}

/** @internal */
export const upstreamKey = (request: HttpClientRequest.HttpClientRequest): string => parseTarget(request.url).origin

/** @internal */
export interface EndpointMatcher {
  readonly name: string
  readonly method: string | undefined
  readonly path: RegExp
  readonly options: P.EndpointOptions
}

const endpointKey = /^(?:([A-Za-z]+|\*)\s+)?(\/.*)$/

/** @internal */
export const compileEndpoint = (
  name: string,
  options: P.EndpointOptions
): EndpointMatcher | { readonly field: string; readonly detail: string } => {
  const match = endpointKey.exec(name.trim())
  if (match === null) {
    return {
      field: `endpoints[${JSON.stringify(name)}]`,
      detail:
        "must be \"METHOD /path\" or \"/path\" (a segment may be * or :name, one segment, or **, any number of them)"
    }
  }
  const method = match[1] === undefined || match[1] === "*" ? undefined : match[1].toUpperCase()
  const source = encodePath(match[2])
    .split("/")
    .map((segment) =>
      segment === "**"
        ? "\u0000"
        : segment === "*" || segment.startsWith(":")
        ? "[^/]+"
        : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    )
    .join("/")
    // every `**`, not only a last one: a second was left a character no path holds, and its pattern never matched
    .replaceAll("/\u0000", "(?:/.*)?")
  return { name, method, path: new RegExp(`^${source}/?$`), options }
}
