#!/usr/bin/env node
/**
 * Type-checks every `@example` in the JSDoc of packages/*\/src (what @effect/docgen's example check does, without
 * its doc generation): each ```ts block becomes a module of its own in packages/<pkg>/build/examples, compiled
 * in one TypeScript program against the packages' build output (`types` condition: the .d.ts a user gets), with
 * `strict` and `exactOptionalPropertyTypes`. An example must carry its own imports; `declare const x: T` stands for
 * values it assumes. Errors are reported at the line of the example in the source file.
 *
 * Usage: node scripts/check-examples.mjs (builds first with `tsc -b tsconfig.build.json`, a no-op when up to date)
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "..")
const require = createRequire(import.meta.url)
const ts = require("typescript")

/** @typedef {{ file: string, line: number, index: number, code: string }} Example */

/** @returns {Array<string>} */
const sourceFiles = (dir) =>
  Fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = Path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : []
  })

/**
 * The ```ts blocks that follow an `@example` tag in the JSDoc comments of `file`.
 * @returns {Array<Example>}
 */
const examplesIn = (file) => {
  const lines = Fs.readFileSync(file, "utf8").split("\n")
  /** @type {Array<Example>} */
  const found = []
  let inExample = false
  let code = null
  let start = 0
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const trimmed = line.trim()
    if (!trimmed.startsWith("*") && !trimmed.startsWith("/**")) {
      inExample = false
      continue
    }
    const text = trimmed.replace(/^\/?\*+\/?\s?/, "")
    if (code !== null) {
      if (text.startsWith("```")) {
        found.push({ file, line: start, index: found.length + 1, code: code.join("\n") + "\n" })
        code = null
        inExample = false
      } else {
        code.push(line.replace(/^\s*\* ?/, ""))
      }
      continue
    }
    if (text.startsWith("@example")) inExample = true
    else if (inExample && /^```(ts|typescript)\s*$/.test(text)) {
      code = []
      start = i + 2 // 1-based line of the first line of code
    } else if (inExample && text.startsWith("@")) inExample = false
  }
  return found
}

const packagesDir = Path.join(root, "packages")
const packages = Fs.readdirSync(packagesDir).filter((name) => Fs.existsSync(Path.join(packagesDir, name, "src")))

execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-b", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit"
})

/** generated file -> example */
const origin = new Map()
for (const name of packages) {
  const outDir = Path.join(packagesDir, name, "build", "examples")
  Fs.rmSync(outDir, { recursive: true, force: true })
  Fs.mkdirSync(outDir, { recursive: true })
  for (const file of sourceFiles(Path.join(packagesDir, name, "src"))) {
    for (const example of examplesIn(file)) {
      const module = Path.relative(Path.join(packagesDir, name, "src"), file).replace(/\.ts$/, "").replaceAll(
        Path.sep,
        "_"
      )
      const generated = Path.join(outDir, `${module}.${example.index}.ts`)
      Fs.writeFileSync(generated, example.code)
      origin.set(generated, example)
    }
  }
}

const program = ts.createProgram([...origin.keys()], {
  target: ts.ScriptTarget.ES2022,
  lib: ["lib.es2022.d.ts"],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  moduleDetection: ts.ModuleDetectionKind.Force,
  strict: true,
  exactOptionalPropertyTypes: true,
  noEmit: true,
  skipLibCheck: true,
  types: ["node"],
  typeRoots: [Path.join(root, "node_modules", "@types")]
})

const diagnostics = ts.getPreEmitDiagnostics(program)
let errors = 0
for (const diagnostic of diagnostics) {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n  ")
  if (diagnostic.file === undefined) {
    errors++
    console.error(`error TS${diagnostic.code}: ${message}`)
    continue
  }
  const example = origin.get(Path.resolve(diagnostic.file.fileName))
  const { character, line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0)
  errors++
  if (example === undefined) {
    console.error(
      `${Path.relative(root, diagnostic.file.fileName)}:${line + 1}:${character + 1} TS${diagnostic.code}: ${message}`
    )
  } else {
    console.error(
      `${Path.relative(root, example.file)}:${example.line + line}:${character + 1} (@example ${example.index}) ` +
        `TS${diagnostic.code}: ${message}`
    )
  }
}
if (errors > 0) {
  console.error(`\n${errors} error(s) in the @example blocks of packages/*/src (${origin.size} examples checked)`)
  process.exit(1)
}
console.log(`${origin.size} @example blocks in ${packages.length} packages type-check`)
