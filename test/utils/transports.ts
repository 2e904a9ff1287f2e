import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { UndiciHttpClient } from "@sturdy/node"
import type { Layer } from "effect"

/**
 * The transports every `test/http-*.test.ts` runs on (`describe.each(transports)`); adding a transport is one line.
 */
export const transports: ReadonlyArray<readonly [name: string, layer: Layer.Layer<HttpClient.HttpClient>]> = [
  ["NodeHttpClient.layerUndici", NodeHttpClient.layerUndici],
  ["NodeHttpClient.layer", NodeHttpClient.layer],
  ["FetchHttpClient.layer", FetchHttpClient.layer],
  ["@sturdy/node UndiciHttpClient.layer", UndiciHttpClient.layer()]
]
