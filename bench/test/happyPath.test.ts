import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { effectClient } from "../src/effectClient.js"
import { entries, nativeNames } from "../src/entries.js"
import { type HappyPathOptions, runHappyPath } from "../src/happyPath.js"
import { type Client, runLoad, runNative } from "../src/harness.js"
import { type Server, startServer } from "../src/server.js"
import { stackBreakdown } from "../src/sturdyClients.js"

// how each contender reports a 200 whose JSON has the wrong shape: `payload.validate`'s TypeError for the plain
// clients, the Schema decode failure (`Expected string, actual 2`) for Sturdy's
const shapeError = /payload: unexpected shape|Expected/

describe("happy-path benchmark (smoke)", () => {
  let server: Server
  let wrongServer: Server
  beforeAll(async () => {
    server = await startServer()
    // 200 with JSON of the wrong shape: a contender that does not validate would count it as a success
    wrongServer = await startServer({ document: JSON.stringify({ id: "1", name: 2 }) })
  })
  afterAll(async () => {
    await server.close()
    await wrongServer.close()
  })

  it("lists every contender the brief asks for, each once", () => {
    const names = entries.map((entry) => entry.name)
    expect(new Set(names).size).toBe(names.length)
    expect(names).toEqual(
      expect.arrayContaining(["undici", "undici in Effect.promise", "platform", "cockatiel + undici", "ky", "got"])
    )
    // the floor is read against raw undici: it comes right after it
    expect(names.indexOf("undici in Effect.promise")).toBe(names.indexOf("undici") + 1)
    expect(nativeNames.every((name) => names.includes(name))).toBe(true)
  })

  // five requests one after the other, then `count` four at a time: the second load's sample
  const expectCompletes = async (load: typeof runLoad, client: Client, count: number) => {
    expect((await load(client, 1, { count: 5 })).requests).toBe(5)
    const parallel = await load(client, 4, { count })
    expect(parallel.p99Ms).toBeGreaterThanOrEqual(parallel.p50Ms)
    expect(parallel.cpuMicrosPerRequest).toBeGreaterThan(0)
    return parallel
  }

  for (const entry of entries) {
    it(`${entry.name}: completes a handful of requests at concurrency 1 and 4`, async () => {
      const client = await entry.setup(server.url)
      try {
        const parallel = await expectCompletes(runLoad, client, 12)
        expect(parallel.requests).toBeGreaterThanOrEqual(12)
      } finally {
        await client.close()
      }
    })

    it(`${entry.name}: rejects a body of the wrong shape, and only for its shape`, async () => {
      const client = await entry.setup(wrongServer.url)
      try {
        const error: unknown = await client.request().then(() => undefined, (e: unknown) => e ?? "rejected")
        // a refused connection or a bad status would reject too: the reason must be the decoded body's shape
        expect(String(error)).toMatch(shapeError)
        expect(String(error)).not.toMatch(/ECONNREFUSED|status \d/)
      } finally {
        await client.close()
      }
    })
  }

  for (const entry of entries.filter((e) => nativeNames.includes(e.name))) {
    it(`${entry.name}: as an Effect-native caller, completes exactly the requested count`, async () => {
      const client = await entry.setup(server.url)
      try {
        // raw undici has no Effect-native form: its native caller is the Promise loop itself
        expect(client.native === undefined).toBe(entry.name === "undici")
        const parallel = await expectCompletes(runNative, client, 13)
        expect(parallel.requests).toBe(13)
      } finally {
        await client.close()
      }
    })

    it(`${entry.name}: as an Effect-native caller, a failed request fails the whole load at once`, async () => {
      const client = await entry.setup(wrongServer.url)
      try {
        // a load that went on after the failure would run for the full minute and time the test out
        const error: unknown = await runNative(client, 4, { durationMs: 60_000 }).then(
          () => undefined,
          (e: unknown) => e ?? "rejected"
        )
        expect(String(error)).toMatch(shapeError)
      } finally {
        await client.close()
      }
    })
  }

  it("an Effect-native load runs the request effect in as many fibers as asked, and nothing else per request", async () => {
    let runs = 0
    let running = 0
    let most = 0
    const request = Effect.zipRight(
      Effect.sync(() => {
        runs++
        most = Math.max(most, ++running)
      }),
      Effect.zipRight(Effect.yieldNow(), Effect.sync(() => running--))
    )
    const client = await effectClient(Layer.empty, Effect.succeed(request))
    try {
      const sample = await runNative(client, 3, { count: 30 })
      expect(sample.requests).toBe(30)
      expect(runs).toBe(30)
      expect(most).toBe(3)
      expect(running).toBe(0)
    } finally {
      await client.close()
    }
  })

  for (const entry of stackBreakdown) {
    it(`stack breakdown "${entry.name}": completes a handful of requests`, async () => {
      const client = await entry.setup(server.url)
      try {
        expect((await runLoad(client, 4, { count: 8 })).requests).toBeGreaterThanOrEqual(8)
      } finally {
        await client.close()
      }
    })
  }

  // two short rounds at c=1 and c=4; each row has both samples, a throughput and its ratio
  const twoRounds = async (names: ReadonlyArray<string>, load?: HappyPathOptions["load"]) => {
    const rows = await runHappyPath(names.map((name) => entries.find((e) => e.name === name)!), server, {
      rounds: 2,
      durationMs: 40,
      warmupMs: 0,
      concurrencies: [1, 4],
      baselines: { platform: "platform", undici: "undici" },
      load
    })
    expect(rows.map((row) => `${row.name}@${row.concurrency}`)).toEqual(
      [1, 4].flatMap((concurrency) => names.map((name) => `${name}@${concurrency}`))
    )
    for (const row of rows) {
      expect(row.samples).toHaveLength(2)
      expect(row.throughput).toBeGreaterThan(0)
      expect(row.vsUndici).toBeGreaterThan(0)
    }
    expect(rows.filter((row) => row.name === "undici").every((row) => row.vsUndici === 1)).toBe(true)
    return rows
  }

  it("runs interleaved rounds and takes ratios against the baselines of the same round", async () => {
    const rows = await twoRounds(["undici", "platform"])
    expect(rows.filter((row) => row.name === "platform").every((row) => row.vsPlatform === 1)).toBe(true)
  })

  it("runs the same rounds with Effect-native callers", async () => {
    await twoRounds(["undici", "sturdy attempt"], runNative)
  })
})
