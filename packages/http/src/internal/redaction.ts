import type * as Headers from "@effect/platform/Headers"

/** @internal */
export const placeholder = "<redacted>"

const secretHeaderExact = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "www-authenticate",
  "proxy-authenticate"
])

const secretNamePattern = /api[-_]?key|token|secret|session|passw(or)?d|signature|credential|private[-_]?key|auth/i

const secretParamExact = new Set([
  "key",
  "sig",
  "pwd",
  "pass",
  "code",
  "apikey",
  "client_secret",
  "x-amz-security-token"
])

/** @internal */
export const isSecretHeaderName = (name: string): boolean => {
  const lower = name.toLowerCase()
  return secretHeaderExact.has(lower) || secretNamePattern.test(lower)
}

/** @internal */
export const isSecretParamName = (name: string): boolean => {
  const lower = name.toLowerCase()
  return secretParamExact.has(lower) || secretNamePattern.test(lower)
}

/** @internal */
export const redactHeaders = (
  headers: Headers.Headers | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name of Object.keys(headers)) {
    const value = (headers as Record<string, unknown>)[name]
    if (value === undefined) continue
    out[name.toLowerCase()] = isSecretHeaderName(name) ? placeholder : String(value)
  }
  return out
}

const redactParams = (params: URLSearchParams): string => {
  const parts: Array<string> = []
  for (const [name, value] of params) {
    parts.push(
      `${encodeURIComponent(name)}=${isSecretParamName(name) ? placeholder : encodeURIComponent(value)}`
    )
  }
  return parts.join("&")
}

// Used when a URL does not parse: secrets can still sit in `user:pass@` or `name=value` pairs.
const redactUnparsedUrl = (url: string): string =>
  url
    .replace(/\/\/[^/?#@\s]*@/g, `//${placeholder}@`)
    .replace(/([?&#;]|^)([^=&?#;\s]+)=([^&#;\s]*)/g, (match, separator: string, name: string) => {
      let decoded = name
      try {
        decoded = decodeURIComponent(name)
      } catch {
        // keep the raw name
      }
      return isSecretParamName(decoded) ? `${separator}${name}=${placeholder}` : match
    })
    .replace(/[\r\n]/g, " ")

/** @internal */
export const redactUrl = (url: string | URL): string => {
  let parsed: URL
  try {
    parsed = typeof url === "string" ? new URL(url) : url
  } catch {
    return redactUnparsedUrl(String(url))
  }
  const userInfo = parsed.username !== "" || parsed.password !== "" ? `${placeholder}@` : ""
  const search = parsed.search === "" ? "" : `?${redactParams(parsed.searchParams)}`
  const hash = parsed.hash.includes("=") ? `#${redactParams(new URLSearchParams(parsed.hash.slice(1)))}` : parsed.hash
  return `${parsed.protocol}//${userInfo}${parsed.host}${parsed.pathname}${search}${hash}`
}

/** @internal */
export const redactUrlWithParams = (url: string, urlParams: ReadonlyArray<readonly [string, string]>): string => {
  if (urlParams.length === 0) return redactUrl(url)
  const params = new URLSearchParams()
  for (const [name, value] of urlParams) params.append(name, value)
  return redactUrl(`${url}${url.includes("?") ? "&" : "?"}${params.toString()}`)
}

// Matches `"name": "value"`, `name=value` and `Bearer xxx` where the name looks secret.
const jsonPairPattern = /"([^"\\]{1,64})"\s*:\s*"((?:[^"\\]|\\.)*)"/g
const formPairPattern = /(^|[\s?&;,])([A-Za-z0-9_.-]{1,64})=([^\s&;,"]+)/g
const bearerPattern = /\b(Bearer|Basic|Digest|Token)\s+[A-Za-z0-9._~+/=-]+/gi

const urlInText = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi

/** @internal */
export const redactText = (text: string): string =>
  text
    .replace(urlInText, (url) => redactUrl(url))
    .replace(jsonPairPattern, (match, name: string) => isSecretParamName(name) ? `"${name}":"${placeholder}"` : match)
    .replace(formPairPattern, (match, prefix: string, name: string) =>
      isSecretParamName(name) ? `${prefix}${name}=${placeholder}` : match)
    .replace(bearerPattern, (_, scheme: string) =>
      `${scheme} ${placeholder}`)

/** @internal */
export const headerNamesToRedact: ReadonlyArray<string | RegExp> = [
  ...secretHeaderExact,
  secretNamePattern
]
