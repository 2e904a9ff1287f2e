// The reference resolver of `Policy`'s request → profile mapping, written from the `Policy` module docs
// (`upstreamKey`, `Options.hosts`, `Options.endpoints`), shared by prop-PolicyOptions and prop-PolicyGrouping.

const defaultPorts: Record<string, string> = { http: "80", https: "443" }

/** A host name past ASCII in its ASCII form, as the URL standard sends it (`bücher.test` → `xn--bcher-kva.test`). */
export const asciiHost = (host: string): string =>
  /[^\x20-\x7e]/.test(host) ? new URL(`http://${host}/`).hostname : host

export interface Target {
  readonly origin: string
  readonly host: string
  readonly hostPort: string
  readonly path: string
}

/** scheme, host and port as the docs put them in the key, and the path as sent (dot segments resolved, encoded). */
export const targetOf = (url: string): Target => {
  const m = /^([a-z]+):\/\/([^:/?#]*)(?::(\d+))?([^?#]*)/i.exec(url)!
  const scheme = m[1].toLowerCase()
  const host = asciiHost(m[2].toLowerCase())
  const port = m[3] ?? defaultPorts[scheme]
  const segments: Array<string> = []
  const raw = (m[4] === "" ? "/" : m[4]).split("/").slice(1)
  raw.forEach((segment, i) => {
    const last = i === raw.length - 1
    if (segment === "..") {
      segments.pop()
      if (last) segments.push("")
    } else if (segment === ".") {
      if (last) segments.push("")
    } else segments.push(segment.replaceAll(" ", "%20"))
  })
  return { origin: `${scheme}://${host}:${port}`, host, hostPort: `${host}:${port}`, path: `/${segments.join("/")}` }
}

/** A pattern matches the path's segments: `*` / `:name` one non-empty segment, a last `**` zero or more. */
export const patternMatches = (pattern: string, method: string, path: string): boolean => {
  const [m, p] = pattern.includes(" /") && !pattern.startsWith("/")
    ? [pattern.slice(0, pattern.indexOf(" ")), pattern.slice(pattern.indexOf(" ") + 1)]
    : ["*", pattern]
  if (m !== "*" && m.toUpperCase() !== method) return false
  const want = p.replaceAll(" ", "%20").split("/").slice(1)
  let have = path.split("/").slice(1)
  // a trailing slash is the same path (from the code)
  if (have.length > 1 && have[have.length - 1] === "") have = have.slice(0, -1)
  for (let i = 0; i < want.length; i++) {
    if (want[i] === "**" && i === want.length - 1) return true
    if (i >= have.length) return false
    if (want[i] === "*" || want[i].startsWith(":")) {
      if (have[i] === "") return false
    } else if (want[i] !== have[i]) return false
  }
  return have.length === want.length
}

/** A `hosts` entry name as it is looked up: lower case, an IDN in ASCII, the port kept. */
export const hostEntryName = (name: string): string => {
  const m = /^([^:]+)(?::(\d+))?$/.exec(name)!
  const host = asciiHost(m[1].toLowerCase())
  return m[2] === undefined ? host : `${host}:${m[2]}`
}

/** The `hosts` entry a request uses: its `host:port` entry, else its `host` entry (case-insensitive, IDN either way). */
export const hostEntryOf = <A>(
  hosts: ReadonlyArray<readonly [string, A]>,
  target: Target
): readonly [string, A] | undefined =>
  hosts.find(([name]) => hostEntryName(name) === target.hostPort) ??
    hosts.find(([name]) => hostEntryName(name) === target.host)

/** The first `endpoints` entry whose pattern matches. */
export const endpointOf = <A>(
  endpoints: ReadonlyArray<readonly [string, A]>,
  method: string,
  path: string
): readonly [string, A] | undefined => endpoints.find(([pattern]) => patternMatches(pattern, method, path))
