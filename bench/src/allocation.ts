import { Session } from "node:inspector/promises"
import type { Client } from "./harness.js"
import { runLoad } from "./harness.js"

interface ProfileNode {
  readonly selfSize: number
  readonly children: ReadonlyArray<ProfileNode>
}

/**
 * The bytes a sampling heap profile's tree accounts for.
 */
export const sumSelfSize = (root: ProfileNode): number => {
  let total = 0
  const stack: Array<ProfileNode> = [root]
  while (stack.length > 0) {
    const node = stack.pop()!
    total += node.selfSize
    for (const child of node.children) stack.push(child)
  }
  return total
}

/**
 * Bytes allocated per request by a contender: V8's sampling heap profiler runs over `requests` requests at
 * `concurrency`, keeping the samples of objects the garbage collector has already freed, so the sum of the sampled
 * sizes estimates everything allocated in the client process (the harness's own small share included, alike for
 * all contenders), not only what survived. One sample every `samplingInterval` bytes on average.
 */
export const bytesPerRequest = async (
  client: Client,
  options: { readonly concurrency: number; readonly requests: number; readonly samplingInterval?: number | undefined }
): Promise<number> => {
  const session = new Session()
  session.connect()
  try {
    await session.post("HeapProfiler.enable")
    await session.post("HeapProfiler.startSampling", {
      samplingInterval: options.samplingInterval ?? 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true
    })
    let requests = 0
    let bytes = 0
    try {
      requests = (await runLoad(client, options.concurrency, { count: options.requests })).requests
    } finally {
      const { profile } = await session.post("HeapProfiler.stopSampling")
      bytes = sumSelfSize(profile.head)
      await session.post("HeapProfiler.disable")
    }
    return bytes / Math.max(1, requests)
  } finally {
    session.disconnect()
  }
}
