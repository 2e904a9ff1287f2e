import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { CommandFailed } from "./errors.js"
import * as exitCode from "./exitCode.js"
import * as jsonSchema from "./jsonSchema.js"

const usage = (detail: string) => new CommandFailed({ code: exitCode.codes.Usage, detail })

const isSchemaWithoutContext = (u: unknown): u is Schema.Schema.AnyNoContext => Schema.isSchema(u)

const moduleExtensions = new Set([".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"])

/**
 * Loads `--schema FILE`: a JSON Schema (`.json`), or a module whose default export or `schema` export is an Effect
 * Schema (a `.ts` module needs a Node that strips types, or `node --import tsx`; `pnpm sturdy` runs under tsx).
 */
export const load = (
  file: string
): Effect.Effect<jsonSchema.JsonValueSchema, CommandFailed, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const absolute = path.resolve(file)
    const extension = path.extname(absolute).toLowerCase()
    if (moduleExtensions.has(extension)) {
      const url = yield* path.toFileUrl(absolute).pipe(
        Effect.mapError(() => usage(`--schema ${file}: not a valid file path`))
      )
      const module: Record<string, unknown> = yield* Effect.tryPromise({
        try: () => import(url.href),
        catch: (error) =>
          usage(`--schema ${file}: cannot load the module (${error instanceof Error ? error.message : String(error)})`)
      })
      const candidate = module.default !== undefined && Schema.isSchema(module.default) ? module.default : module.schema
      if (!isSchemaWithoutContext(candidate)) {
        return yield* usage(`--schema ${file}: the module exports no Effect Schema (as \`default\` or \`schema\`)`)
      }
      return candidate
    }
    const text = yield* fs.readFileString(absolute).pipe(
      Effect.mapError((error) => usage(`--schema ${file}: cannot read the file (${error.message})`))
    )
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (error) {
      return yield* usage(
        `--schema ${file}: not valid JSON (${error instanceof Error ? error.message : String(error)})`
      )
    }
    return yield* Either.match(jsonSchema.toSchema(parsed), {
      onLeft: (detail) => Effect.fail(usage(`--schema ${file}: ${detail}`)),
      onRight: Effect.succeed
    })
  })
