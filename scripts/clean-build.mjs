// Removes every package's compiled output and the build's incremental state, so that a release compiles from
// scratch: `tsc -b` never deletes the output of a source file that was removed or renamed, and the packages' `./*`
// export would publish such a stale module as a public path.
import * as fs from "node:fs"
import * as path from "node:path"

const packages = path.resolve(import.meta.dirname, "..", "packages")
for (const name of fs.readdirSync(packages)) {
  const dir = path.join(packages, name)
  if (!fs.existsSync(path.join(dir, "package.json"))) continue
  fs.rmSync(path.join(dir, "build"), { recursive: true, force: true })
  fs.rmSync(path.join(dir, ".tsbuildinfo", "build.tsbuildinfo"), { force: true })
}
