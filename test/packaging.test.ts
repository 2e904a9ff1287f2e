/**
 * The published shape, checked as a user meets it: build, `pnpm pack` every package, install the tarballs into a
 * project outside the workspace together with effect and @effect/platform from the npm registry (the pnpm store
 * makes this fast after `pnpm install`), type-check a consumer program under NodeNext with `skipLibCheck: false`,
 * run it with plain node against a loopback server, count the copies of effect, and run the installed `sturdy`.
 *
 * Set STURDY_KEEP_PACKAGING_DIR=1 to keep the temporary project for a look.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { isCi, redisServerOnPath, startRedisServer } from "../packages/policy/test/utils/redis.js"

const root = Path.resolve(import.meta.dirname, "..")
const packages = ["cli", "http", "node", "policy", "testing"] as const
// the package graph users install: @sturdy/node needs @sturdy/policy (its Deadline) and @sturdy/http (the
// ClientResponse base of its responses), nothing else of Sturdy
const sturdyDependencies: Record<(typeof packages)[number], ReadonlyArray<string>> = {
  cli: ["@sturdy/http", "@sturdy/node", "@sturdy/policy", "@sturdy/testing"],
  http: ["@sturdy/policy"],
  node: ["@sturdy/http", "@sturdy/policy"],
  policy: [],
  testing: ["@sturdy/http", "@sturdy/policy"]
}
const rootManifest = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")) as {
  readonly packageManager: string
}
const pnpm = ["npx", "--yes", rootManifest.packageManager] as const
const manifestOf = (name: string) =>
  JSON.parse(Fs.readFileSync(Path.join(root, "packages", name, "package.json"), "utf8")) as {
    readonly version: string
    readonly peerDependencies: Record<string, string>
  }

interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * The environment for the tools the test runs: without the package-manager variables of the `pnpm test` that
 * started us (they describe this workspace, not the temporary project) except registry and proxy settings, and
 * without a `--conditions` in NODE_OPTIONS (the consumer must resolve the published `types`/`default`).
 */
const childEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm|pnpm)_/i.test(key) && !/registry|proxy|cafile|strict_ssl|_ca$/i.test(key)) continue
    env[key] = value
  }
  if (env.NODE_OPTIONS !== undefined) {
    env.NODE_OPTIONS = env.NODE_OPTIONS.split(/\s+/).filter((o) => !/^(--conditions|-C)\b/.test(o)).join(" ")
  }
  return env
}

const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly timeout?: number }
): Promise<Result> =>
  new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: childEnv(), timeout: options.timeout ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
        resolve({ code, stdout, stderr: error !== null && code === null ? `${stderr}\n${error.message}` : stderr })
      }
    )
  })

const describeResult = (what: string, result: Result) =>
  `${what} exited with ${result.code}\n--- stdout\n${result.stdout.slice(-4000)}\n--- stderr\n${
    result.stderr.slice(-4000)
  }`

const expectSuccess = (what: string, result: Result) => {
  if (result.code !== 0) throw new Error(describeResult(what, result))
}

const registryUrl = () => {
  const configured = process.env.npm_config_registry ?? process.env.NPM_CONFIG_REGISTRY ?? "https://registry.npmjs.org/"
  return configured.endsWith("/") ? configured : `${configured}/`
}

/** Why the registry cannot be reached, or undefined when it answers. */
const registryUnreachable = async (): Promise<string | undefined> => {
  try {
    const response = await fetch(`${registryUrl()}effect`, {
      method: "HEAD",
      signal: AbortSignal.timeout(10_000)
    })
    return response.ok ? undefined : `HTTP ${response.status}`
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : ""
    return `${error instanceof Error ? error.message : String(error)}${cause}`
  }
}

/**
 * Every installed copy of `name` under the `node_modules` directory `dir`, by real path: nested `node_modules` (npm's
 * layout) and pnpm's `.pnpm/<id>/node_modules` directories included.
 */
const installedCopies = (dir: string, name: string): Array<string> => {
  const copies = new Set<string>()
  const visited = new Set<string>()
  const entries = (path: string) => {
    try {
      return Fs.readdirSync(path)
    } catch {
      return []
    }
  }
  const visit = (nodeModules: string) => {
    if (!Fs.existsSync(nodeModules)) return
    const real = Fs.realpathSync(nodeModules)
    if (visited.has(real)) return
    visited.add(real)
    for (const entry of entries(real)) {
      if (entry === ".pnpm") {
        for (const id of entries(Path.join(real, entry))) visit(Path.join(real, entry, id, "node_modules"))
        continue
      }
      const packageDirs = entry.startsWith("@")
        ? entries(Path.join(real, entry)).map((scoped) => Path.join(real, entry, scoped))
        : [Path.join(real, entry)]
      for (const packageDir of packageDirs) {
        if (Path.relative(real, packageDir).split(Path.sep).join("/") === name) {
          copies.add(Fs.realpathSync(packageDir))
        }
        visit(Path.join(packageDir, "node_modules"))
      }
    }
  }
  visit(dir)
  return [...copies]
}

/** Resolve hooks that append every resolved URL to the file named by STURDY_RESOLVE_LOG. */
const resolveHooks = `import * as Fs from "node:fs"
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  Fs.appendFileSync(process.env.STURDY_RESOLVE_LOG, result.url + "\\n")
  return result
}
`
const registerHooks = `import { register } from "node:module"
register("./resolve-hooks.mjs", import.meta.url)
`

/**
 * ioredis 6.1's index.d.ts re-exports its error classes, whose .d.ts files import `redis-errors`, a package without
 * types (ioredis names `@types/redis-errors` among its devDependencies only): under `skipLibCheck: false` and `strict`
 * that is TS7016 in ioredis's own files, whatever the consumer imports from it. A consumer on ioredis 6 adds
 * `@types/redis-errors` or declares the module, as this one does (ioredis 5's index.d.ts does not reach those files).
 */
const redisErrorsShim = `// ioredis 6.1's error classes import the untyped "redis-errors" (see packaging.test.ts)
declare module "redis-errors"
`

describe("published packages", () => {
  const work = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sturdy-packaging-"))
  const tarballs = Path.join(work, "tarballs")
  const consumer = Path.join(work, "consumer")
  const packed: Record<string, string> = {}

  beforeAll(async () => {
    // a clean clone has no build: produce it (a no-op when `pnpm check` already built it)
    expectSuccess(
      "tsc -b tsconfig.build.json",
      await run(process.execPath, [
        Path.join(root, "node_modules", "typescript", "bin", "tsc"),
        "-b",
        "tsconfig.build.json"
      ], {
        cwd: root,
        timeout: 240_000
      })
    )
    Fs.mkdirSync(tarballs, { recursive: true })
    expectSuccess(
      "pnpm pack",
      await run(pnpm[0], [...pnpm.slice(1), "-r", "--filter", "./packages/*", "pack", "--pack-destination", tarballs], {
        cwd: root
      })
    )
    for (const name of packages) {
      const file = Path.join(tarballs, `sturdy-${name}-${manifestOf(name).version}.tgz`)
      expect(Fs.existsSync(file), `pnpm pack made ${file}`).toBe(true)
      packed[`@sturdy/${name}`] = `file:${file}`
    }

    Fs.mkdirSync(Path.join(consumer, "src"), { recursive: true })
    const peers = { ...manifestOf("policy").peerDependencies, ...manifestOf("cli").peerDependencies }
    Fs.writeFileSync(
      Path.join(consumer, "package.json"),
      JSON.stringify(
        {
          name: "sturdy-consumer",
          private: true,
          type: "module",
          dependencies: {
            ...packed,
            // what the README's Install section asks for, plus the CLI's peer and the optional Redis peer
            effect: peers.effect,
            "@effect/platform": peers["@effect/platform"],
            "@effect/platform-node": peers["@effect/platform-node"],
            ioredis: peers.ioredis,
            "@types/node": "^20.19.0"
          },
          // the tarballs depend on each other by version (^0.1.0): take those from the tarballs, not the registry
          pnpm: { overrides: packed }
        },
        null,
        2
      )
    )
    Fs.copyFileSync(Path.join(import.meta.dirname, "packaging", "consumer.ts"), Path.join(consumer, "src", "main.ts"))
    Fs.copyFileSync(
      Path.join(import.meta.dirname, "packaging", "tsconfig.consumer.json"),
      Path.join(consumer, "tsconfig.json")
    )
    Fs.writeFileSync(Path.join(consumer, "src", "redis-errors.d.ts"), redisErrorsShim)
    Fs.writeFileSync(Path.join(consumer, "resolve-hooks.mjs"), resolveHooks)
    Fs.writeFileSync(Path.join(consumer, "register-hooks.mjs"), registerHooks)

    const install = await run(pnpm[0], [...pnpm.slice(1), "install", "--prefer-offline", "--no-frozen-lockfile"], {
      cwd: consumer,
      timeout: 240_000
    })
    if (install.code !== 0) {
      const unreachable = await registryUnreachable()
      if (unreachable !== undefined) {
        throw new Error(
          `The packaging test installs effect and @effect/platform from the npm registry (${registryUrl()}), ` +
            `which is not reachable (${unreachable}) and they are not all in the pnpm store. ` +
            `Run the tests with network access.\n${describeResult("pnpm install", install)}`
        )
      }
      throw new Error(describeResult("pnpm install (registry reachable)", install))
    }
  }, 420_000)

  afterAll(() => {
    if (process.env.STURDY_KEEP_PACKAGING_DIR) console.log(`packaging test project kept in ${work}`)
    else Fs.rmSync(work, { recursive: true, force: true })
  })

  it("packed manifests name real versions and point exports at the build", async () => {
    for (const name of packages) {
      const file = packed[`@sturdy/${name}`].slice("file:".length)
      const listing = await run("tar", ["-tzf", file], { cwd: work })
      expectSuccess("tar -t", listing)
      const manifest = await run("tar", ["-xzOf", file, "package/package.json"], { cwd: work })
      expectSuccess("tar -x", manifest)
      const json = JSON.parse(manifest.stdout) as {
        dependencies?: Record<string, string>
        exports: Record<string, unknown>
      }
      expect(manifest.stdout, `@sturdy/${name}`).not.toContain("workspace:")
      for (const [dep, range] of Object.entries(json.dependencies ?? {})) {
        if (dep.startsWith("@sturdy/")) expect(range).toBe(`^${manifestOf(dep.slice("@sturdy/".length)).version}`)
      }
      expect(
        Object.keys(json.dependencies ?? {}).filter((dep) => dep.startsWith("@sturdy/")).sort(),
        `@sturdy/${name}'s @sturdy dependencies`
      ).toEqual(sturdyDependencies[name])
      expect(json.exports["."]).toMatchObject({ types: "./build/esm/index.d.ts", default: "./build/esm/index.js" })
      expect(json.exports["./internal/*"]).toBeNull()
      const files = listing.stdout.split("\n")
      expect(files).toContain("package/build/esm/index.js")
      expect(files).toContain("package/build/esm/index.d.ts")
      expect(files).toContain("package/build/esm/index.d.ts.map")
      expect(files).toContain("package/build/esm/index.js.map")
      // the npm page's text, and the MIT notice the license asks to ship with every copy
      expect(files, `@sturdy/${name}`).toContain("package/README.md")
      expect(files, `@sturdy/${name}`).toContain("package/LICENSE")
      expect(files.filter((f) => f.includes(".tsbuildinfo") || f.includes("/test/"))).toEqual([])
    }
  })

  it(
    "a NodeNext consumer type-checks with skipLibCheck false and runs with plain node on a loopback server",
    async () => {
      const tsc = await run(
        process.execPath,
        [Path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"],
        { cwd: consumer, timeout: 300_000 }
      )
      expectSuccess("tsc -p tsconfig.json (consumer)", tsc)
      const program = await run(process.execPath, ["dist/main.js"], { cwd: consumer, timeout: 60_000 })
      expectSuccess("node dist/main.js", program)
      expect(JSON.parse(program.stdout.trim())).toEqual({
        user: { id: 1, name: "Ada" },
        hits: {
          "/users/1": 3,
          "/nowhere": 1,
          "/events": 2,
          "/file": 2,
          "/cached": 1,
          "/pages": 1,
          "/pages?page=2": 1,
          "/lines": 1,
          gzip: 1
        },
        missing: "ClientError 404",
        missingIsTransient: false,
        limited: "RateLimitExceeded",
        delays: [100, 200],
        exitCodeConnection: 7,
        cliVersion: manifestOf("cli").version,
        redisPrefix: "ratelimiter:",
        cacheRedisPrefix: "sturdy:http-cache:",
        runner: { user: { id: 1, name: "Ada" }, parked: 1 },
        coalescedRuns: 1,
        balanced: ["a", "b", "a"],
        streams: {
          events: ["1:a", "2:b"],
          file: "abcdefghij",
          provenances: ["miss", "fresh"],
          pages: [1, 2, 3],
          lines: ["Ada", "Grace"]
        },
        chaosStatus: 418
      })
    },
    420_000
  )

  it("exactly one copy of effect and of @effect/platform is installed", () => {
    const nodeModules = Path.join(consumer, "node_modules")
    expect(installedCopies(nodeModules, "effect")).toHaveLength(1)
    expect(installedCopies(nodeModules, "@effect/platform")).toHaveLength(1)
    // the walk does find nested copies: every @sturdy package is installed once
    expect(installedCopies(nodeModules, "@sturdy/policy")).toHaveLength(1)
  })

  it(
    "importing @sturdy/http and @sturdy/policy does not load ioredis; RateLimitRedis and HttpCacheRedis do",
    async () => {
      const resolvedBy = async (specifiers: ReadonlyArray<string>) => {
        const log = Path.join(work, `resolved-${specifiers.length}-${Date.now()}.log`)
        Fs.writeFileSync(log, "")
        const script = specifiers.map((s) => `await import(${JSON.stringify(s)})`).join("\n")
        const result = await new Promise<Result>((resolve) => {
          execFile(
            process.execPath,
            ["--import", "./register-hooks.mjs", "--input-type=module", "-e", script],
            { cwd: consumer, env: { ...childEnv(), STURDY_RESOLVE_LOG: log }, timeout: 60_000 },
            (error, stdout, stderr) =>
              resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
          )
        })
        expectSuccess(`node -e ${script}`, result)
        return Fs.readFileSync(log, "utf8").split("\n").filter((line) => line !== "")
      }
      const main = await resolvedBy(["@sturdy/http", "@sturdy/policy", "@sturdy/node"])
      expect(main.some((url) => url.includes("/build/esm/index.js"))).toBe(true)
      expect(main.filter((url) => url.includes("/ioredis/"))).toEqual([])
      const redis = await resolvedBy(["@sturdy/policy/RateLimitRedis"])
      expect(redis.some((url) => url.includes("/ioredis/"))).toBe(true)
      const cacheRedis = await resolvedBy(["@sturdy/http/HttpCacheRedis"])
      expect(cacheRedis.some((url) => url.includes("/ioredis/"))).toBe(true)
    },
    120_000
  )

  // The optional peer is `^5.0.0 || ^6.0.0`: the consumer above gets ioredis 6 (the newest), this one ioredis 5, from
  // the pnpm store the workspace's `ioredis5` devDependency (an alias of ioredis 5) filled. It type-checks the
  // published .d.ts files against ioredis 5's types and runs the Redis stores on it against a loopback redis-server
  // (skipped without redis-server unless CI is set, as the other Redis tests are).
  it.skipIf(redisServerOnPath() === undefined && !isCi())(
    "with ioredis 5 installed instead, a consumer type-checks and runs RateLimitRedis and HttpCacheRedis on it",
    async () => {
      const consumer5 = Path.join(work, "consumer-ioredis5")
      Fs.mkdirSync(Path.join(consumer5, "src"), { recursive: true })
      const peers = { ...manifestOf("policy").peerDependencies, ...manifestOf("http").peerDependencies }
      const ioredis5 = peers.ioredis.split("||").map((range) => range.trim()).find((range) => range.startsWith("^5"))
      expect(ioredis5, `the ioredis peer range ${peers.ioredis} names ioredis 5`).toBeDefined()
      Fs.writeFileSync(
        Path.join(consumer5, "package.json"),
        JSON.stringify(
          {
            name: "sturdy-consumer-ioredis5",
            private: true,
            type: "module",
            dependencies: {
              "@sturdy/http": packed["@sturdy/http"],
              "@sturdy/policy": packed["@sturdy/policy"],
              effect: peers.effect,
              "@effect/platform": peers["@effect/platform"],
              ioredis: ioredis5,
              "@types/node": "^20.19.0"
            },
            pnpm: { overrides: packed }
          },
          null,
          2
        )
      )
      Fs.copyFileSync(
        Path.join(import.meta.dirname, "packaging", "consumer-ioredis5.ts"),
        Path.join(consumer5, "src", "main.ts")
      )
      Fs.copyFileSync(
        Path.join(import.meta.dirname, "packaging", "tsconfig.consumer.json"),
        Path.join(consumer5, "tsconfig.json")
      )
      expectSuccess(
        "pnpm install (ioredis 5 consumer)",
        await run(pnpm[0], [...pnpm.slice(1), "install", "--prefer-offline", "--no-frozen-lockfile"], {
          cwd: consumer5,
          timeout: 240_000
        })
      )
      expectSuccess(
        "tsc -p tsconfig.json (ioredis 5 consumer)",
        await run(
          process.execPath,
          [Path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"],
          { cwd: consumer5, timeout: 300_000 }
        )
      )
      const output = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const server = yield* startRedisServer
        return yield* Effect.promise(() =>
          run(process.execPath, ["dist/main.js", String(server.port)], { cwd: consumer5, timeout: 60_000 })
        )
      })))
      expectSuccess("node dist/main.js (ioredis 5 consumer)", output)
      expect(JSON.parse(output.stdout.trim())).toEqual({
        ioredis: 5,
        limited: "RateLimitExceeded",
        cached: "hello",
        entries: 1
      })
    },
    420_000
  )

  it("./internal/* stays closed", async () => {
    const result = await run(
      process.execPath,
      ["--input-type=module", "-e", `await import("@sturdy/policy/internal/retry")`],
      { cwd: consumer, timeout: 60_000 }
    )
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain("ERR_PACKAGE_PATH_NOT_EXPORTED")
  }, 120_000)

  it("the installed sturdy bin runs with plain node: --help, and a request to a loopback server", async () => {
    const bin = Path.join(consumer, "node_modules", ".bin", "sturdy")
    const help = await run(bin, ["--help"], { cwd: consumer, timeout: 60_000 })
    expectSuccess("sturdy --help", help)
    for (const command of ["get", "post", "schedule", "simulate", "scenarios"]) {
      expect(help.stdout).toContain(`- ${command}`)
    }

    const server = Http.createServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: 7, name: "Grace" }))
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const { port } = server.address() as AddressInfo
      const get = await run(bin, ["get", `http://127.0.0.1:${port}/users/7`, "--policy", "none"], {
        cwd: consumer,
        timeout: 60_000
      })
      expectSuccess("sturdy get", get)
      expect(JSON.parse(get.stdout)).toEqual({ id: 7, name: "Grace" })
    } finally {
      server.close()
    }
  }, 120_000)
})
