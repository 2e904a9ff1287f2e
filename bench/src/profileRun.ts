import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Sample } from "./harness.js"
import { summarizeFile, summaryMarkdown } from "./profile.js"

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/**
 * Profiles one contender in a fresh process with `node --cpu-prof` (concurrency 64 for `durationMs`) and returns
 * the summary as markdown; the `.cpuprofile` is kept in `bench/.profiles/` for a closer look (Chrome DevTools,
 * speedscope).
 */
export const profileEntry = async (
  name: string,
  options: { readonly durationMs: number; readonly pin: boolean }
): Promise<string> => {
  const slug = name.replace(/[^a-z0-9]+/gi, "-")
  const directory = path.join(benchDir, ".profiles", slug)
  fs.rmSync(directory, { recursive: true, force: true })
  fs.mkdirSync(directory, { recursive: true })
  const output = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      [
        "--cpu-prof",
        "--cpu-prof-dir",
        directory,
        "--import",
        "tsx",
        path.join(benchDir, "src", "profileTarget.ts"),
        name,
        String(options.durationMs),
        ...(options.pin ? ["pin"] : [])
      ],
      { cwd: benchDir },
      (error, stdout, stderr) =>
        error === null ? resolve(stdout.trim()) : reject(new Error(`${error.message}\n${stderr}`))
    )
  )
  const file = fs.readdirSync(directory).find((f) => f.endsWith(".cpuprofile"))
  if (file === undefined) throw new Error(`no profile written for ${name}`)
  const report = JSON.parse(output.split("\n").at(-1) ?? "{}") as {
    readonly window: readonly [number, number]
    readonly sample: Sample
  }
  const summary = summarizeFile(path.join(directory, file), 15, report.window)
  return summaryMarkdown(
    `${name}, concurrency 64, ${options.durationMs} ms (${report.sample.throughput.toFixed(0)} req/s, ${
      report.sample.cpuMicrosPerRequest.toFixed(1)
    } µs CPU/req; samples from the measured load only)`,
    summary
  )
}
