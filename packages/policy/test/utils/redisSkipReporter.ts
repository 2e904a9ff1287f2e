import type { Reporter, TestModule } from "vitest/node"
import { REDIS_INSTALL_HINT, REDIS_SKIP_MARKER } from "./redisAvailability.js"

/**
 * Ends a run that skipped Redis-backed suites (redis-server missing, `CI` unset) with one line saying so and what to
 * install. Registered in `vitest.config.ts` after the default reporter, so the line comes after the summary.
 */
export default class RedisSkipReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let skipped = 0
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        if (test.fullName.includes(REDIS_SKIP_MARKER)) skipped++
      }
    }
    if (skipped > 0) {
      process.stdout.write(
        `\nRedis-backed tests skipped (${skipped}): redis-server is not on the PATH. ` +
          `Install it to run them: ${REDIS_INSTALL_HINT} (with CI=true a missing redis-server fails the run).\n`
      )
    }
  }
}
