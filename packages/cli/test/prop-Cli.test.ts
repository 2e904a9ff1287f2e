/**
 * Property tests of the `sturdy` command's parsers and of `sturdy simulate`, each against a small reference model.
 *
 * Models (from `Cli.ts`'s doc comment, `ExitCode.ts`, `packages/cli/README.md`; rules taken from the code where the
 * docs are silent are marked "(code)"):
 * - durations: `<digits>[.<digits>]<unit>` with unit ms, s, m, h; `none` (and `infinity`, code) is no limit. From the
 *   code: surrounding whitespace and case are ignored, a space may sit before the unit, the long unit names
 *   (`millis`, `seconds`, `minutes`, `hours`...) are accepted, and the value is rounded to the millisecond. Anything
 *   else (signs, exponents, `.5`, `1.`, NaN, empty, other units, digits that overflow to Infinity) is refused: a
 *   `Left` with a message quoting the input, and through the command exit 2 with the flag named on stderr.
 * - `--header`: the name is the trimmed text before the first `:`, an RFC 9110 token; the value is the trimmed rest
 *   (colons included, empty allowed); a name given twice is sent once with both values (`, `; `Cookie` with `; `).
 *   A malformed header never shows its value. `--data` is accepted iff `JSON.parse` accepts it. An empty value of a
 *   repeatable option is a usage error like a missing one.
 * - `--policy FILE`: each generated field is known valid or invalid for the file's schema (durations as above, or a
 *   non-negative finite number of ms, or Effect's `"2 seconds"` form, not negative); the file is refused (2) with
 *   exactly the invalid fields' paths (up to five, then "and n more"), or, when it decodes, the command refuses it
 *   iff `Policy.validate` does, printing that error's message (an `ftp:` URL makes a valid policy end in exit 3 with
 *   nothing sent).
 * - `sturdy simulate`: the same arguments give the same table; scenario and policy names are matched ignoring case,
 *   `-`, `_` and spaces, `naive` meaning `naiveLoop` (code); any other name is refused (2) before anything runs;
 *   `--duration` is a positive virtual time of at most 1h.
 *
 * Left out: `--schema` and `sturdy schedule` are in `prop-Cli.schema.test.ts`, the request subcommands over a loopback
 * server in `prop-Cli.request.test.ts`; the simulation's numbers themselves (the Simulator's own tests).
 */
import { describe, expect, it } from "@effect/vitest"
import { Policy } from "@sturdy/http"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as durations from "../src/internal/duration.js"
import * as policyFile from "../src/internal/policyFile.js"
import * as request from "../src/internal/request.js"
import { check, sturdy, tempFile } from "./utils.js"

// -----------------------------------------------------------------------------
// durations
// -----------------------------------------------------------------------------

const unitMillis: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }
const longUnits: Record<string, string> = {
  millis: "ms",
  milli: "ms",
  millisecond: "ms",
  milliseconds: "ms",
  sec: "s",
  secs: "s",
  second: "s",
  seconds: "s",
  min: "m",
  mins: "m",
  minute: "m",
  minutes: "m",
  hour: "h",
  hours: "h"
}

/** The reference parser: milliseconds, `Infinity` for no limit, or `undefined` when refused. */
const referenceDuration = (text: string): number | undefined => {
  const trimmed = text.replace(/^[\s\uFEFF\xA0]+|[\s\uFEFF\xA0]+$/g, "").toLowerCase()
  if (trimmed === "none" || trimmed === "infinity") return Infinity
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)$/.exec(trimmed)
  if (match === null) return undefined
  const unit = unitMillis[match[2]] ?? unitMillis[longUnits[match[2]] ?? ""]
  if (unit === undefined) return undefined
  const millis = Math.round(Number(match[1]) * unit)
  return Number.isFinite(millis) ? millis : undefined
}

const parsedMillis = (text: string): number | undefined =>
  Either.match(durations.parse(text), { onLeft: () => undefined, onRight: Duration.toMillis })

const digits = fc.stringMatching(/^[0-9]{1,6}$/)
const canonicalDuration = fc.tuple(
  digits,
  fc.option(fc.stringMatching(/^[0-9]{1,3}$/), { nil: undefined }),
  fc.constantFrom("ms", "s", "m", "h")
).map(([whole, fraction, unit]) => `${whole}${fraction === undefined ? "" : `.${fraction}`}${unit}`)

const variedDuration = fc.tuple(
  canonicalDuration,
  fc.constantFrom("", " ", "  ", "\t"),
  fc.constantFrom("", " ", "\n"),
  fc.boolean(),
  fc.boolean()
).map(([text, before, after, upper, long]) => {
  const [, number, unit] = /^([0-9.]+)([a-z]+)$/.exec(text)!
  const name = long ? Object.keys(longUnits).find((key) => longUnits[key] === unit)! : unit
  const written = `${before}${number}${long ? " " : ""}${name}${after}`
  return upper ? written.toUpperCase() : written
})

/** Near misses of a duration: each is refused. */
const nearMiss = fc.oneof(
  canonicalDuration.map((text) => `-${text}`),
  canonicalDuration.map((text) => `+${text}`),
  canonicalDuration.map((text) => text.replace(/^([0-9]+)/, "$1e3")),
  canonicalDuration.map((text) => `.${text}`),
  canonicalDuration.map((text) => text.replace(/([a-z]+)$/, ".$1")),
  canonicalDuration.map((text) => text.replace(/([a-z]+)$/, ",5$1")),
  canonicalDuration.map((text) => text.replace(/[a-z]+$/, "")),
  canonicalDuration.map((text) => text.replace(/[a-z]+$/, (unit) => `${unit}${unit}`)),
  canonicalDuration.map((text) => text.replace(/[a-z]+$/, "d")),
  canonicalDuration.map((text) => text.replace(/[a-z]+$/, "µs")),
  canonicalDuration.map((text) => text.replace(/^([0-9]*)([0-9])/, "$1 $2")).filter((text) => !/^ /.test(text)),
  canonicalDuration.map((text) => `${text} 5s`),
  fc.constantFrom("", " ", "\t\n", "ms", "s", "NaN", "NaNms", "Infinityms", "-none", "none5", "1e400ms", "٣s", "0x10s"),
  // digits that overflow a double: a finite-looking duration that would read as no limit at all
  fc.integer({ min: 309, max: 400 }).chain((length) =>
    fc.constantFrom("ms", "s", "m", "h").map((unit) => `${"9".repeat(length)}${unit}`)
  ),
  fc.integer({ min: 305, max: 308 }).chain((length) =>
    fc.constantFrom("h", "m").map((unit) => `1${"0".repeat(length)}${unit}`)
  )
)

describe("durations against the reference parser", () => {
  it("the documented forms and their variants parse to the reference value", () => {
    fc.assert(
      fc.property(fc.oneof(canonicalDuration, variedDuration), (text) => {
        const expected = referenceDuration(text)
        expect(expected).toBeDefined()
        expect(parsedMillis(text)).toBe(expected)
      }),
      { seed: 4101, numRuns: 400 }
    )
    for (const none of ["none", "NONE", " infinity "]) expect(parsedMillis(none)).toBe(Infinity)
  })

  it("random text: the parser answers the reference's verdict and value, never a defect", () => {
    const alphabet = fc.constantFrom(..."0123456789.. -+emshnoMSH\t".split(""))
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 8 }).map((chars) => chars.join("")), (text) => {
        const expected = referenceDuration(text)
        const parsed = durations.parse(text)
        if (expected === undefined) expect(Either.isLeft(parsed)).toBe(true)
        else expect(parsedMillis(text)).toBe(expected)
      }),
      { seed: 4102, numRuns: 2_000 }
    )
  })

  it("every near miss is refused with a message quoting it, never a silent value", () => {
    fc.assert(
      fc.property(nearMiss, (text) => {
        expect(referenceDuration(text)).toBeUndefined()
        const parsed = durations.parse(text)
        expect([text, Either.isLeft(parsed)]).toEqual([text, true])
        if (Either.isLeft(parsed)) {
          expect(parsed.left).toMatch(/^invalid duration/)
          expect(parsed.left).toContain(`"${text}"`)
        }
      }),
      { seed: 4103, numRuns: 600 }
    )
  })

  it("format then parse gives the value back, to the precision format shows", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: 999 }),
          fc.integer({ min: 1_000, max: 59_999 }),
          fc.integer({ min: 60_000, max: 600_000 }),
          fc.integer({ min: 0, max: 400 * 3_600_000 })
        ),
        (millis) => {
          const shown = durations.format(millis)
          const back = parsedMillis(shown)
          expect(back).toBeDefined()
          // below 1s whole ms; then two decimals below 10 units, one above
          const unit = millis < 1_000 ? 1 : millis < 60_000 ? 1_000 : 60_000
          const decimals = millis < 1_000 ? 0 : millis / unit < 10 ? 2 : 1
          const tolerance = millis < 1_000 ? 0.5 : unit * 0.5 * 10 ** -decimals + 0.5
          expect(Math.abs(back! - millis)).toBeLessThanOrEqual(tolerance)
          // and what format shows reads back as itself (one value, one text: 59950ms shows as "1m")
          expect(parsedMillis(durations.format(back!))).toBe(back)
        }
      ),
      { seed: 4104, numRuns: 1_000 }
    )
  })

  it.effect("through the command: --timeout shows the parsed value, and every refusal is exit 2 naming the flag", () =>
    check(
      fc.oneof(canonicalDuration, variedDuration, nearMiss),
      (text) =>
        Effect.gen(function*() {
          // an ftp: URL: a policy that builds ends in InvalidRequest (3) with nothing sent
          const ran = yield* sturdy("get", "ftp://127.0.0.1:1/x", "--policy", "none", "--timeout", text)
          const millis = referenceDuration(text)
          if (millis === undefined) {
            expect([text, ran.code, ran.stdout]).toEqual([text, 2, ""])
            expect(ran.stderr).toContain("--timeout")
            expect(ran.stderr).toContain("invalid duration")
          } else if (millis === 0) {
            expect([text, ran.code]).toEqual([text, 2])
            expect(ran.stderr).toContain("attemptTimeout must be positive")
          } else if (millis > request.maxTimerMillis) {
            expect([text, ran.code]).toEqual([text, 2])
            expect(ran.stderr).toContain("at most 596h")
          } else {
            expect([text, ran.code]).toEqual([text, 3])
            expect(ran.stderr.split("\n")[0]).toContain(`attempt timeout ${durations.format(millis)}`)
          }
        }),
      { seed: 4105, numRuns: 60 }
    ))
})

// -----------------------------------------------------------------------------
// --header and --data
// -----------------------------------------------------------------------------

const tokenChars = "!#$%&'*+.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-"
const isToken = (name: string) => name.length > 0 && [...name].every((char) => tokenChars.includes(char))
const trimmed = (text: string) => text.trim()

/** The reference `--header` parser: `[name, value]`, or `undefined` when refused. */
const referenceHeader = (header: string): readonly [string, string] | undefined => {
  const colon = header.indexOf(":")
  if (colon === -1) return undefined
  const name = trimmed(header.slice(0, colon))
  return isToken(name) ? [name, trimmed(header.slice(colon + 1))] : undefined
}

const headerText = fc.array(
  fc.constantFrom(..."aZ-_:: \t,;\"()é\u0000\r\n=/09".split(""), "Bearer ", "X-Trace", "secret"),
  { maxLength: 10 }
).map((parts) => parts.join(""))

describe("--header against the reference parser", () => {
  it("parses as the reference does; a refusal never shows the value after the first word", () => {
    fc.assert(
      fc.property(headerText, (header) => {
        const expected = referenceHeader(header)
        const parsed = request.parseHeader(header)
        if (expected !== undefined) {
          expect(parsed).toEqual(Either.right(expected))
        } else {
          expect(Either.isLeft(parsed)).toBe(true)
          const message = Either.getLeft(parsed).pipe((left) => left._tag === "Some" ? left.value : "")
          expect(message).toMatch(/^--header/)
          expect(message).toContain("expected NAME:VALUE")
          // at most the first word is named, and only when something follows it
          const named = /^--header "([^"]*) …"/.exec(message)
          if (named !== null) expect(header.trimStart().startsWith(named[1])).toBe(true)
          const rest = named === null ? message : message.replace(named[0], "")
          for (const word of header.split(/[\s:]+/).filter((word) => word.length > 3 && word !== "NAME")) {
            if (
              !"--header expected NAME:VALUE (a name without spaces, then \":\") the before is empty".includes(word)
            ) {
              expect([header, rest.includes(word)]).toEqual([header, false])
            }
          }
        }
      }),
      { seed: 4201, numRuns: 3_000 }
    )
  })

  it("a name given several times is sent once with its values combined in order", () => {
    const entry = fc.tuple(
      fc.constantFrom("X-A", "x-a", "X-B", "Cookie", "cookie"),
      fc.stringMatching(/^[a-z0-9=]{0,4}$/)
    )
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (entries) => {
        const combined = request.combineHeaders(entries)
        const names = [...new Set(entries.map(([name]) => name.toLowerCase()))]
        expect(combined.map(([name]) => name.toLowerCase())).toEqual(names)
        for (const [name, value] of combined) {
          const values = entries.filter(([other]) => other.toLowerCase() === name.toLowerCase()).map(([, v]) => v)
          expect(value).toBe(values.join(name.toLowerCase() === "cookie" ? "; " : ", "))
          // as first written
          expect(name).toBe(entries.find(([other]) => other.toLowerCase() === name.toLowerCase())![0])
        }
      }),
      { seed: 4202, numRuns: 500 }
    )
  })

  it.effect("through the command: a refused --header or --data is exit 2 before anything is sent", () =>
    check(
      fc.record({
        header: fc.option(headerText, { nil: undefined }),
        data: fc.option(
          fc.oneof(fc.json({ maxDepth: 2 }), fc.json({ maxDepth: 2 }).map((json) => json.slice(0, -1)), fc.string()),
          { nil: undefined }
        )
      }),
      ({ data, header }) =>
        Effect.gen(function*() {
          const args = ["post", "ftp://127.0.0.1:1/x", "--policy", "none"]
          if (header !== undefined) args.push("--header", header)
          if (data !== undefined) args.push("--data", data)
          const ran = yield* sturdy(...args)
          const headerOk = header === undefined || referenceHeader(header) !== undefined
          let dataOk = true
          try {
            if (data !== undefined) JSON.parse(data)
          } catch {
            dataOk = false
          }
          // a header the parser takes may still hold a character no request may carry: InvalidRequest (3) too
          expect([header, data, ran.code]).toEqual([header, data, headerOk && dataOk ? 3 : 2])
          expect(ran.stdout).toBe("")
          if (!headerOk) expect(ran.stderr).toMatch(/--header|option -H/)
          else if (!dataOk) expect(ran.stderr).toContain("--data is not valid JSON")
        }),
      { seed: 4203, numRuns: 80 }
    ))
})

// -----------------------------------------------------------------------------
// --policy FILE
// -----------------------------------------------------------------------------

/** A generated field: where it goes, its JSON value, and whether the file's schema accepts it. */
interface Field {
  readonly path: ReadonlyArray<string>
  readonly value: unknown
  readonly valid: boolean
}

const validDuration = fc.constantFrom<unknown>("2s", "500ms", 1_500, "2 seconds", "1.5m", 0, "none", "0ms", "10 millis")
const invalidDuration = fc.constantFrom<unknown>(
  -5,
  "soon",
  true,
  {},
  [],
  null,
  "-1s",
  "1e3ms",
  `${"9".repeat(320)}ms`,
  `${"9".repeat(320)} millis`,
  "-5 seconds",
  "-0 millis"
)
const durationField = (path: ReadonlyArray<string>) =>
  fc.oneof(
    { weight: 3, arbitrary: validDuration.map((value): Field => ({ path, value, valid: true })) },
    { weight: 1, arbitrary: invalidDuration.map((value): Field => ({ path, value, valid: false })) }
  )
const intField = (path: ReadonlyArray<string>, ints: ReadonlyArray<number>) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...ints).map((value): Field => ({ path, value, valid: true })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(3.5, "3", null, true).map((value) => ({ path, value, valid: false }))
    }
  )
const choiceField = (path: ReadonlyArray<string>, valid: ReadonlyArray<unknown>, invalid: ReadonlyArray<unknown>) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...valid).map((value): Field => ({ path, value, valid: true })) },
    { weight: 1, arbitrary: fc.constantFrom(...invalid).map((value): Field => ({ path, value, valid: false })) }
  )
const unknownField = (path: ReadonlyArray<string>) =>
  fc.constantFrom("retyr", "maxAtempts", "timeout", "base_delay").map((key): Field => ({
    path: [...path, key],
    value: 1,
    valid: false
  }))

/** A section (`retry`, `circuitBreaker`...): `false`, a wrong kind of value, or an object of generated fields. */
const section = (
  path: ReadonlyArray<string>,
  fields: ReadonlyArray<fc.Arbitrary<Field>>,
  canBeFalse: boolean
): fc.Arbitrary<ReadonlyArray<Field>> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(canBeFalse ? [{ path, value: false, valid: true }] : []) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(true, 3, "on").map((value) => [{ path, value, valid: false }]) },
    {
      weight: 5,
      arbitrary: fc.tuple(
        fc.subarray([...fields]).chain((chosen) => fc.tuple(...chosen)),
        fc.option(unknownField(path))
      )
        .map(([chosen, unknown]) => [...chosen, ...(unknown === null ? [] : [unknown])])
    }
  )

const retrySection = section(["retry"], [
  intField(["retry", "maxAttempts"], [0, 1, 2, 3, 11, -1]),
  durationField(["retry", "baseDelay"]),
  durationField(["retry", "maxDelay"]),
  choiceField(["retry", "jitter"], ["none", "full", "equal", "decorrelated"], ["wild", 1, "Full"]),
  choiceField(["retry", "budget"], [true, false], ["yes", 0])
], true)
const breakerSection = section(["circuitBreaker"], [
  intField(["circuitBreaker", "consecutiveFailures"], [1, 5, 0, -2]),
  durationField(["circuitBreaker", "breakDuration"]),
  choiceField(["circuitBreaker", "failureRateThreshold"], [0.5, 1, 2, 0], ["half", null])
], true)
const bulkheadSection = section(["bulkhead"], [
  intField(["bulkhead", "maxConcurrent"], [1, 10, 0]),
  intField(["bulkhead", "maxQueued"], [0, 5, -1])
], true)
const hostSection = fc.constantFrom("a.test", "api.example.com").chain((host) =>
  fc.oneof(
    durationField(["hosts", host, "attemptTimeout"]).map((field) => [field]),
    unknownField(["hosts", host]).map((field) => [field])
  )
)

const policyFields = fc.tuple(
  fc.option(durationField(["totalTimeout"])),
  fc.option(durationField(["attemptTimeout"])),
  fc.option(retrySection),
  fc.option(breakerSection),
  fc.option(bulkheadSection),
  fc.option(hostSection),
  fc.option(unknownField([])),
  // half the files keep their valid fields only: those decode, and Policy.validate decides
  fc.boolean()
).map(([...parts]) => {
  const onlyValid = parts.pop() as boolean
  const fields = parts.flatMap((part) => part === null ? [] : Array.isArray(part) ? part : [part as Field])
  return onlyValid ? fields.filter((field) => field.valid) : fields
})

const buildPolicy = (fields: ReadonlyArray<Field>): Record<string, unknown> => {
  const root: Record<string, unknown> = {}
  for (const field of fields) {
    let node = root
    for (const key of field.path.slice(0, -1)) {
      const next = node[key]
      if (typeof next !== "object" || next === null) node[key] = {}
      node = node[key] as Record<string, unknown>
    }
    node[field.path.at(-1)!] = field.value
  }
  return root
}

/** `retry.maxAttempts`, `hosts["a.test"].attemptTimeout`, as the command writes a path. */
const pathText = (path: ReadonlyArray<string>) =>
  path.map((key, index) =>
    /^[A-Za-z_$][\w$]*$/.test(key) ? `${index === 0 ? "" : "."}${key}` : `[${JSON.stringify(key)}]`
  ).join("")

describe("--policy FILE against the schema model and Policy.validate", () => {
  it("decode reports exactly the invalid fields' paths; a decoded file's options pass through unchanged", () => {
    fc.assert(
      fc.property(policyFields, (fields) => {
        const json = buildPolicy(fields)
        const decoded = policyFile.decode(JSON.stringify(json))
        const bad = [...new Set(fields.filter((field) => !field.valid).map((field) => pathText(field.path)))]
        if (bad.length === 0) {
          expect([json, Either.isRight(decoded)]).toEqual([json, true])
          return
        }
        expect(Either.isLeft(decoded)).toBe(true)
        if (Either.isRight(decoded)) return
        const problems = decoded.left.split("; ")
        const more = /^and (\d+) more$/.exec(problems.at(-1)!)
        const listed = more === null ? problems : problems.slice(0, -1)
        const paths = listed.map((problem) => problem.slice(0, problem.indexOf(": ")))
        expect(listed.length).toBe(Math.min(bad.length, 5))
        expect(listed.length + (more === null ? 0 : Number(more[1]))).toBe(bad.length)
        for (const path of paths) expect([json, bad]).toEqual([json, expect.arrayContaining([path])])
        // one line, and never the schema's TypeScript type
        expect(decoded.left).not.toContain("\n")
        expect(decoded.left).not.toContain("readonly")
      }),
      { seed: 4301, numRuns: 1_500 }
    )
  })

  it.effect("through the command: exit 2 with the decode problem or Policy.validate's message, else the request", () =>
    check(
      policyFields,
      (fields) =>
        Effect.gen(function*() {
          const json = buildPolicy(fields)
          const file = tempFile("policy.json", json)
          const ran = yield* sturdy("get", "ftp://127.0.0.1:1/x", "--policy", file)
          const decoded = policyFile.decode(JSON.stringify(json))
          if (Either.isLeft(decoded)) {
            expect([json, ran.code, ran.stderr.trim()]).toEqual([json, 2, `sturdy: --policy ${file}: ${decoded.left}`])
            return
          }
          const validated = Policy.validate(decoded.right)
          if (Either.isLeft(validated)) {
            expect([json, ran.code, ran.stderr.trim()]).toEqual([json, 2, `sturdy: ${validated.left.message}`])
            // every problem is named
            for (const problem of validated.left.problems) expect(ran.stderr).toContain(problem.field)
          } else {
            expect([json, ran.code]).toEqual([json, 3])
            expect(ran.stderr.split("\n")[0]).toContain(`(policy ${file}: `)
          }
          expect(ran.stdout).toBe("")
        }),
      { seed: 4302, numRuns: 120 }
    ))
})

// -----------------------------------------------------------------------------
// sturdy simulate and scenarios
// -----------------------------------------------------------------------------

const scenarioNames = ["randomErrors", "outage", "retryStorm", "slowTail", "rateLimitStorm", "contention"]
const policyNames = ["noRetry", "naiveLoop", "urllib3", "sturdy"]
const normalise = (name: string) => name.toLowerCase().replace(/[-_\s]/g, "")
const knownPolicy = (name: string) =>
  policyNames.some((known) => normalise(known) === (normalise(name) === "naive" ? "naiveloop" : normalise(name)))
const knownScenario = (name: string) =>
  normalise(name) === "list" || scenarioNames.some((known) => normalise(known) === normalise(name))

/** A name written another way: case, `-`, `_` or a space between its words. */
const spelled = (name: string) =>
  fc.tuple(fc.boolean(), fc.constantFrom("", "-", "_", " ")).map(([upper, separator]) => {
    const written = name.replace(/([a-z])([A-Z0-9])/g, `$1${separator}$2`)
    return upper ? written.toUpperCase() : written.toLowerCase()
  })

describe("sturdy simulate", () => {
  it.effect("the same seed and arguments give the same table; the seed is what varies it", () =>
    check(
      fc.record({
        scenario: fc.constantFrom("randomErrors", "slowTail", "outage"),
        policy: fc.constantFrom(...policyNames),
        seed: fc.integer({ min: 0, max: 10_000 })
      }),
      ({ policy, scenario, seed }) =>
        Effect.gen(function*() {
          const args = ["simulate", "--scenario", scenario, "--policy", policy, "--seed", String(seed), "--duration"]
          const first = yield* sturdy(...args, "500ms")
          const second = yield* sturdy(...args, "500ms")
          expect([first.code, second.code]).toEqual([0, 0])
          expect(second.stdout).toBe(first.stdout)
          expect(first.stderr).toContain(`seed ${seed}`)
        }),
      { seed: 4601, numRuns: 6 }
    ))

  it.effect("names are matched ignoring case and separators; any other name is refused (2) before anything runs", () =>
    check(
      fc.record({
        scenario: fc.oneof(
          fc.constantFrom(...scenarioNames).chain(spelled),
          fc.constantFrom("", "meteor", "out age x", "randomerrors2", "list", "LIST", "outage!")
        ),
        policies: fc.array(
          fc.oneof(fc.constantFrom(...policyNames, "naive").chain(spelled), fc.constantFrom("hope", "sturdy2", "none")),
          { maxLength: 3 }
        )
      }),
      ({ policies, scenario }) =>
        Effect.gen(function*() {
          const args = ["simulate", "--scenario", scenario, "--duration", "100ms", "--seed", "2"]
          for (const policy of policies) args.push("--policy", policy)
          const ran = yield* sturdy(...args)
          const list = normalise(scenario) === "list"
          if (!knownScenario(scenario)) {
            expect([scenario, ran.code, ran.stdout]).toEqual([scenario, 2, ""])
            expect(ran.stderr).toContain(`unknown scenario "${scenario}"`)
          } else if (!list && !policies.every(knownPolicy)) {
            const unknown = policies.find((policy) => !knownPolicy(policy))!
            expect([policies, ran.code, ran.stdout]).toEqual([policies, 2, ""])
            expect(ran.stderr).toContain(`unknown policy "${unknown}"`)
          } else {
            expect([scenario, policies, ran.code]).toEqual([scenario, policies, 0])
            if (list) expect(ran.stdout).toContain("policies: noRetry, naiveLoop, urllib3, sturdy")
            else {
              const rows = ran.stdout.split("\n").filter((line) => /\d+\.\d%/.test(line))
              expect(rows).toHaveLength(policies.length === 0 ? policyNames.length : policies.length)
            }
          }
        }),
      { seed: 4602, numRuns: 40 }
    ))

  it.effect("--duration: a positive virtual time up to 1h; zero, none and longer are usage errors, never a defect", () =>
    check(
      fc.constantFrom(
        "0ms",
        "0.4ms",
        "0s",
        "none",
        "infinity",
        "61m",
        "2h",
        "1ms",
        "0.6ms",
        "-1s",
        `${"9".repeat(320)}ms`
      ),
      (duration) =>
        Effect.gen(function*() {
          const ran = yield* sturdy("simulate", "--scenario", "outage", "--policy", "noRetry", "--duration", duration)
          const millis = referenceDuration(duration)
          const ok = millis !== undefined && millis > 0 && millis <= 3_600_000
          expect([duration, ran.code]).toEqual([duration, ok ? 0 : 2])
          if (!ok) {
            expect(ran.stdout).toBe("")
            expect(ran.stderr).toContain("--duration")
            expect(ran.stderr).not.toContain("internal error")
          }
        }),
      { seed: 4603, numRuns: 30 }
    ))
})
