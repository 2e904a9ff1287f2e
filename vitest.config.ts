import { defineConfig } from "vitest/config"

// Tests run the packages from source: the "@sturdy/source" export condition maps every `@sturdy/*` import to
// `src/*.ts`, ahead of Vite's default server conditions (plain node and consumers resolve `types`/`default`, the
// compiled build). Vitest also passes these conditions to its worker processes.
const conditions = ["@sturdy/source", "module", "node", "development|production"]

export default defineConfig({
  ssr: { resolve: { conditions } },
  test: {
    include: [
      "packages/*/test/**/*.test.ts",
      "test/**/*.test.ts",
      "bench/test/**/*.test.ts",
      "examples/test/**/*.test.ts"
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    sequence: { concurrent: false },
    pool: "forks",
    // the transport's test of unread responses collects garbage on purpose
    poolOptions: { forks: { execArgv: ["--expose-gc"] } },
    // one line at the end of a run that skipped the Redis-backed suites (no redis-server, CI unset)
    reporters: ["default", "./packages/policy/test/utils/redisSkipReporter.ts"]
  }
})
