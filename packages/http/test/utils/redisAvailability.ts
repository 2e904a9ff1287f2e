// A copy of packages/policy/test/utils/redisAvailability.ts (test utils are per package): keep the two in step.
import * as Fs from "node:fs"
import * as Path from "node:path"

/** What a newcomer runs to get the Redis-backed tests going. */
export const REDIS_INSTALL_HINT = "apt-get install redis-server"

/** Appended to the name of a suite skipped because redis-server is missing; the reporter counts these. */
export const REDIS_SKIP_MARKER = "[skipped: redis-server not on the PATH]"

/** `CI` set to anything but "", "0" or "false": a missing redis-server fails the run instead of skipping. */
export const isCi = (env: NodeJS.ProcessEnv = process.env): boolean => {
  const value = env.CI?.trim().toLowerCase()
  return value !== undefined && value !== "" && value !== "0" && value !== "false"
}

/** The path of the `redis-server` executable the tests would start, or `undefined` when it is not on the PATH. */
export const redisServerOnPath = (env: NodeJS.ProcessEnv = process.env): string | undefined => {
  for (const dir of (env.PATH ?? "").split(Path.delimiter)) {
    if (dir === "") continue
    const candidate = Path.join(dir, "redis-server")
    try {
      Fs.accessSync(candidate, Fs.constants.X_OK)
      if (Fs.statSync(candidate).isFile()) return candidate
    } catch {
      // not here
    }
  }
  return undefined
}
