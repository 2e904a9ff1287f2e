// Properties of `@sturdy/testing`'s `SchedulePlot` (src/SchedulePlot.ts), checked against its doc comments.
//
// Models:
// - `summary`: for each retry, the min, median (the mean of the two middle values for an even count) and max of the
//   delays `ScheduleKit.delaysSync` gives the same schedule for each seed that reached that retry, and how many did;
//   a count of seeds n is the list 0..n−1. Schedules: `Backoff` through `ScheduleKit.backoffSchedule` on
//   `backoffConfigArbitrary` (every jitter, caps, maxElapsed), and Effect's jittered/unjittered spaced and exponential
//   with `upTo` (so seeds stop at different retries).
// - `sparkline`: one block character per value (▁ to █), the level `round(clamp(value / max, 0, 1) × 7)`, so a larger
//   value never gets a lower block, the largest gets █ on the default scale, and everything is ▁ when max is 0.
// - `toSparklines`: three lines (max, median, min), each the sparkline of that column on the scale of the largest
//   max, then the last value.
// - `toSvg`: the output parses as XML (a small strict parser below: nesting, quoted attributes, entity references,
//   XML 1.0 characters only); the root's width, height and viewBox are the options; the title reads back as given
//   (a character XML cannot hold as U+FFFD); each series has one point per row, inside the plot area, with x rising
//   with the retry and y falling as the delay rises (one shared scale for the three series and the band); the y axis
//   ticks rise from 0 to at least the largest delay.
// - bad inputs: a non-integer or negative `attempts` or count of `seeds`, a sparkline value that is not finite, a
//   negative or non-finite `max`, rows that no summary gives (attempts out of order, a NaN/infinite/negative delay,
//   min > median or median > max), a width or height that leaves no plot: a `RangeError` naming the function.
//
// Rules taken from the code: the margins (left 70, right 100, top 40, bottom 50), coordinates rounded to 0.01,
// the delay label format.
//
// Found and fixed (regression tests in SchedulePlot.test.ts): `sparkline` dropped the character of a NaN or infinite
// value (a line shorter than its values) and `toSparklines` printed "NaNms"; `toSvg` wrote NaN coordinates for an
// infinite delay, a negative width or height into the SVG, and a title with a control character made it ill-formed
// XML; `summary` summarised no seed for `seeds: NaN`, fewer for a fraction, and threw "Invalid array length" for a
// negative count.
//
// Mutation checks (each on a copy, seen to fail with a counterexample, then restored): the median of an even count
// taken as the upper middle; `y` not inverted (delay grows downwards); the sparkline level floored instead of
// rounded; the title escaping of control characters dropped.
//
// Left out: colours, legend placement, tick spacing beyond monotony, schedules with inputs.
import { describe, expect, it } from "@effect/vitest"
import { ScheduleKit, SchedulePlot } from "@sturdy/testing"
import * as fc from "effect/FastCheck"
import * as Schedule from "effect/Schedule"

// -----------------------------------------------------------------------------
// schedules
// -----------------------------------------------------------------------------

const effectScheduleArb: fc.Arbitrary<Schedule.Schedule<unknown>> = fc.tuple(
  fc.constantFrom("spaced", "exponential"),
  fc.integer({ min: 1, max: 2_000 }),
  fc.boolean(),
  fc.option(fc.integer({ min: 1, max: 20_000 }), { nil: undefined })
).map(([kind, millis, jittered, upTo]) => {
  let schedule: Schedule.Schedule<unknown> = kind === "spaced" ? Schedule.spaced(millis) : Schedule.exponential(millis)
  if (jittered) schedule = Schedule.jittered(schedule)
  if (upTo !== undefined) schedule = schedule.pipe(Schedule.upTo(upTo))
  return schedule
})

const scheduleArb: fc.Arbitrary<Schedule.Schedule<unknown>> = fc.oneof(
  ScheduleKit.backoffConfigArbitrary().map(ScheduleKit.backoffSchedule),
  effectScheduleArb
)

const seedsArb = fc.oneof(
  fc.integer({ min: 0, max: 12 }),
  fc.array(ScheduleKit.seedArbitrary, { maxLength: 12 })
)

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

const summaryModel = (
  schedule: Schedule.Schedule<unknown>,
  attempts: number,
  seeds: number | ReadonlyArray<number>
): Array<SchedulePlot.AttemptSummary> => {
  const list = typeof seeds === "number" ? Array.from({ length: seeds }, (_, i) => i) : seeds
  const columns: Array<Array<number>> = []
  for (const seed of list) {
    ScheduleKit.delaysSync(schedule, { attempts, seed }).forEach((delay, i) => (columns[i] ??= []).push(delay))
  }
  return columns.map((column, i) => {
    const sorted = [...column].sort((a, b) => a - b)
    const n = sorted.length
    const median = n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    return { attempt: i + 1, count: n, min: sorted[0], median, max: sorted[n - 1] }
  })
}

const blocks = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

const sparklineModel = (values: ReadonlyArray<number>, max?: number): string => {
  const top = max ?? Math.max(0, ...values)
  return values.map((value) => blocks[top > 0 ? Math.round(Math.min(1, Math.max(0, value / top)) * 7) : 0]).join("")
}

// -----------------------------------------------------------------------------
// a strict little XML parser: enough to say the SVG is well-formed and to read it back
// -----------------------------------------------------------------------------

interface XmlElement {
  readonly name: string
  readonly attributes: Readonly<Record<string, string>>
  readonly children: ReadonlyArray<XmlElement>
  readonly text: string
}

const isXmlChar = (code: number) =>
  code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) ||
  (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff)

const decodeEntities = (raw: string, at: number): string => {
  if (raw.includes("<")) throw new Error(`raw < at ${at}`)
  return raw.replace(/&([^;]*);?/g, (whole, body: string) => {
    if (!whole.endsWith(";")) throw new Error(`unterminated entity at ${at}`)
    const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'" }
    if (body in named) return named[body]
    const numeric = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(body)
    if (numeric === null) throw new Error(`unknown entity &${body}; at ${at}`)
    const code = numeric[1] !== undefined ? parseInt(numeric[1], 16) : parseInt(numeric[2], 10)
    if (!isXmlChar(code)) throw new Error(`entity for a character XML cannot hold at ${at}`)
    return String.fromCodePoint(code)
  })
}

const parseXml = (source: string): XmlElement => {
  for (const char of source) {
    if (!isXmlChar(char.codePointAt(0)!)) throw new Error(`character U+${char.codePointAt(0)!.toString(16)}`)
  }
  let at = 0
  const name = /[A-Za-z_:][-A-Za-z0-9_:.]*/y
  const space = /\s*/y
  const skipSpace = () => {
    space.lastIndex = at
    space.exec(source)
    at = space.lastIndex
  }
  const readName = () => {
    name.lastIndex = at
    const match = name.exec(source)
    if (match === null) throw new Error(`name expected at ${at}`)
    at = name.lastIndex
    return match[0]
  }
  const element = (): XmlElement => {
    if (source[at] !== "<") throw new Error(`< expected at ${at}`)
    at++
    const tag = readName()
    const attributes: Record<string, string> = {}
    for (;;) {
      const before = at
      skipSpace()
      if (source.startsWith("/>", at)) {
        at += 2
        return { name: tag, attributes, children: [], text: "" }
      }
      if (source[at] === ">") {
        at++
        break
      }
      if (at === before) throw new Error(`space expected before an attribute at ${at}`)
      const attribute = readName()
      if (attribute in attributes) throw new Error(`duplicate attribute ${attribute} at ${at}`)
      skipSpace()
      if (source[at] !== "=") throw new Error(`= expected at ${at}`)
      at++
      skipSpace()
      const quote = source[at]
      if (quote !== "\"" && quote !== "'") throw new Error(`quoted value expected at ${at}`)
      const end = source.indexOf(quote, at + 1)
      if (end === -1) throw new Error(`unterminated value at ${at}`)
      attributes[attribute] = decodeEntities(source.slice(at + 1, end), at)
      at = end + 1
    }
    const children: Array<XmlElement> = []
    let text = ""
    for (;;) {
      const next = source.indexOf("<", at)
      if (next === -1) throw new Error(`</${tag}> expected`)
      text += decodeEntities(source.slice(at, next), at)
      at = next
      if (source.startsWith("</", at)) {
        at += 2
        const closing = readName()
        if (closing !== tag) throw new Error(`</${tag}> expected, got </${closing}> at ${at}`)
        skipSpace()
        if (source[at] !== ">") throw new Error(`> expected at ${at}`)
        at++
        return { name: tag, attributes, children, text }
      }
      children.push(element())
    }
  }
  skipSpace()
  const root = element()
  skipSpace()
  if (at !== source.length) throw new Error(`content after the root element at ${at}`)
  return root
}

const descendants = (element: XmlElement): Array<XmlElement> =>
  element.children.flatMap((child) => [child, ...descendants(child)])

const pointsOf = (element: XmlElement): Array<readonly [number, number]> =>
  element.attributes.points.split(" ").map((pair) => {
    const [x, y] = pair.split(",").map(Number)
    return [x, y] as const
  })

const millisOfLabel = (label: string): number => {
  const match = /^([\d.]+)(ms|s|m)$/.exec(label)
  if (match === null) throw new Error(`not a delay label: ${label}`)
  return Number(match[1]) * (match[2] === "ms" ? 1 : match[2] === "s" ? 1_000 : 60_000)
}

// -----------------------------------------------------------------------------
// properties
// -----------------------------------------------------------------------------

describe("summary agrees with ScheduleKit.delays", () => {
  it("min, median, max and count per retry are those of the seeds' delays", () => {
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: 0, max: 10 }), seedsArb, (schedule, attempts, seeds) => {
        const rows = SchedulePlot.summary(schedule, { attempts, seeds })
        expect(rows).toEqual(summaryModel(schedule, attempts, seeds))
        // counts never grow: a seed that stopped does not come back
        rows.forEach((row, i) => {
          if (i > 0) expect(row.count).toBeLessThanOrEqual(rows[i - 1].count)
        })
      }),
      { seed: 20261206, numRuns: 150 }
    )
  })

  it("a count of seeds n is the seeds 0..n-1", () => {
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 20 }), (schedule, a, n) => {
        expect(SchedulePlot.summary(schedule, { attempts: a, seeds: n })).toEqual(
          SchedulePlot.summary(schedule, { attempts: a, seeds: Array.from({ length: n }, (_, i) => i) })
        )
      }),
      { seed: 77, numRuns: 60 }
    )
  })
})

const rowsArb: fc.Arbitrary<Array<SchedulePlot.AttemptSummary>> = fc.oneof(
  fc.tuple(scheduleArb, fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 20 })).map((
    [schedule, attempts, seeds]
  ) => SchedulePlot.summary(schedule, { attempts, seeds })),
  // rows a summary could give, of any magnitude (sub-millisecond to hours), ties included
  fc.array(
    fc.tuple(
      fc.integer({ min: 1, max: 50 }),
      fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e7, noNaN: true })), { minLength: 3, maxLength: 3 })
    ),
    { maxLength: 25 }
  ).map((rows) =>
    rows.map(([count, values], i) => {
      const [min, median, max] = [...values].sort((a, b) => a - b)
      return { attempt: i + 1, count, min, median, max }
    })
  )
)

describe("sparkline and toSparklines", () => {
  const valuesArb = fc.array(
    fc.oneof(fc.double({ min: -10, max: 1e9, noNaN: true }), fc.integer({ min: 0, max: 100 })),
    { maxLength: 40 }
  )

  it("one block per value, at the level the scale gives, never lower for a larger value", () => {
    fc.assert(
      fc.property(valuesArb, fc.option(fc.double({ min: 0, max: 1e9, noNaN: true }), { nil: undefined }), (
        values,
        max
      ) => {
        const line = SchedulePlot.sparkline(values, max === undefined ? undefined : { max })
        const chars = Array.from(line)
        expect(chars).toHaveLength(values.length)
        expect(line).toBe(sparklineModel(values, max))
        const level = (i: number) => blocks.indexOf(chars[i])
        for (let i = 0; i < values.length; i++) {
          expect(level(i)).toBeGreaterThanOrEqual(0)
          for (let j = 0; j < values.length; j++) {
            if (values[i] < values[j]) expect(level(i)).toBeLessThanOrEqual(level(j))
          }
        }
        const top = Math.max(0, ...values)
        if (max === undefined && top > 0) expect(chars[values.indexOf(top)]).toBe("█")
      }),
      { seed: 4242, numRuns: 300 }
    )
  })

  it("toSparklines: max, median and min lines on the scale of the largest max, each with its last value", () => {
    fc.assert(
      fc.property(rowsArb, (rows) => {
        const lines = SchedulePlot.toSparklines(rows).split("\n")
        expect(lines).toHaveLength(3)
        const top = Math.max(0, ...rows.map((row) => row.max))
        const columns = [["max", "max"], ["median", "median"], ["min", "min"]] as const
        columns.forEach(([label, field], i) => {
          const expectedBlocks = sparklineModel(rows.map((row) => row[field]), top)
          expect(lines[i].startsWith(`${label.padEnd(6)} ${expectedBlocks} `)).toBe(true)
          const last = lines[i].slice(`${label.padEnd(6)} ${expectedBlocks} `.length)
          const lastValue = rows.length === 0 ? 0 : rows[rows.length - 1][field]
          // the label rounds to 0.01 of its unit
          expect(Math.abs(millisOfLabel(last) - lastValue)).toBeLessThanOrEqual(0.005 * 60_000)
          expect(Math.abs(millisOfLabel(last) - lastValue)).toBeLessThanOrEqual(Math.max(0.005, lastValue * 0.005))
        })
      }),
      { seed: 99, numRuns: 150 }
    )
  })
})

const titleArb = fc.option(
  fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ maxLength: 30, unit: "binary" }),
    fc.constantFrom("a <b> & \"c\"", "tab\there", "nul\u0000", "\ud800lone", "\ufffe\uffff", "emoji \u{1f600}")
  ),
  { nil: undefined }
)

describe("toSvg", () => {
  it("well-formed XML with the options' size, the title read back, and monotone axes", () => {
    fc.assert(
      fc.property(
        rowsArb,
        titleArb,
        fc.option(fc.integer({ min: 171, max: 4_000 }), { nil: undefined }),
        fc.option(fc.integer({ min: 91, max: 4_000 }), { nil: undefined }),
        (rows, title, width, height) => {
          const svg = SchedulePlot.toSvg(rows, { title, width, height })
          const root = parseXml(svg)
          const w = width ?? 640
          const h = height ?? 360
          expect(root.name).toBe("svg")
          expect([root.attributes.width, root.attributes.height, root.attributes.viewBox]).toEqual([
            String(w),
            String(h),
            `0 0 ${w} ${h}`
          ])
          const all = descendants(root)
          const expectedTitle = Array.from(
            title ?? "Delay before each retry (min, median, max over seeds)",
            (char) => isXmlChar(char.codePointAt(0)!) ? char : "\ufffd"
          ).join("")
          expect(all.find((element) => element.name === "title")?.text).toBe(expectedTitle)

          const plot = { left: 70, right: w - 100, top: 40, bottom: h - 50 }
          const series = all.filter((element) => element.name === "polyline")
          expect(series.map((element) => element.attributes["data-series"])).toEqual(
            rows.length === 0 ? [] : ["max", "median", "min"]
          )
          const ys = new Map<number, Array<number>>()
          for (const element of series) {
            const field = element.attributes["data-series"] as "max" | "median" | "min"
            const points = pointsOf(element)
            expect(points).toHaveLength(rows.length)
            points.forEach(([x, y], i) => {
              expect(x).toBeGreaterThanOrEqual(plot.left - 0.01)
              expect(x).toBeLessThanOrEqual(plot.right + 0.01)
              expect(y).toBeGreaterThanOrEqual(plot.top - 0.01)
              expect(y).toBeLessThanOrEqual(plot.bottom + 0.01)
              if (i > 0) expect(x).toBeGreaterThan(points[i - 1][0])
              const delay = rows[i][field]
              ys.set(delay, [...(ys.get(delay) ?? []), y])
            })
          }
          // one scale for every series: a longer delay is never drawn lower (y grows downwards)
          const byDelay = [...ys.entries()].sort(([a], [b]) => a - b)
          for (let i = 1; i < byDelay.length; i++) {
            expect(Math.max(...byDelay[i][1])).toBeLessThanOrEqual(Math.min(...byDelay[i - 1][1]) + 0.011)
          }
          if (rows.length > 0) {
            const band = all.find((element) => element.attributes.class === "band")!
            expect(pointsOf(band)).toHaveLength(2 * rows.length)
          }
          // the y ticks rise from 0 to at least the largest delay, drawn from the bottom up
          const ticks = all.find((element) => element.attributes.class === "y-ticks")!.children
            .filter((element) => element.name === "text")
            .map((element) => ({ delay: millisOfLabel(element.text), y: Number(element.attributes.y) }))
          expect(ticks[0].delay).toBe(0)
          for (let i = 1; i < ticks.length; i++) {
            expect(ticks[i].delay).toBeGreaterThan(ticks[i - 1].delay)
            expect(ticks[i].y).toBeLessThan(ticks[i - 1].y)
          }
          const largest = Math.max(0, ...rows.map((row) => row.max))
          // labels round to 0.01 of their unit
          expect(ticks[ticks.length - 1].delay).toBeGreaterThanOrEqual(largest * 0.995)
        }
      ),
      { seed: 1206, numRuns: 200 }
    )
  })
})

describe("bad inputs are refused with a RangeError naming the function", () => {
  const notCount = fc.oneof(
    fc.constantFrom(Number.NaN, Infinity, -Infinity, -1, 0.5, 2.5),
    fc.double({ noNaN: false }).filter((x) => !(Number.isSafeInteger(x) && x >= 0))
  )
  const notFinite = fc.constantFrom(Number.NaN, Infinity, -Infinity)
  const schedule = Schedule.exponential("10 millis")

  it("summary: attempts and a count of seeds that are not integers ≥ 0", () => {
    fc.assert(
      fc.property(notCount, fc.integer({ min: 0, max: 5 }), (bad, good) => {
        expect(() => SchedulePlot.summary(schedule, { attempts: bad, seeds: good })).toThrow(
          /^SchedulePlot\.summary: attempts must be an integer ≥ 0, got /
        )
        expect(() => SchedulePlot.summary(schedule, { attempts: good, seeds: bad })).toThrow(
          /^SchedulePlot\.summary: seeds must be an integer ≥ 0 or a list, got /
        )
        expect(() => SchedulePlot.summary(schedule, { attempts: good, seeds: [] })).not.toThrow()
      }),
      { seed: 5, numRuns: 80 }
    )
  })

  it("sparkline: a value that is not finite, a max that is not a finite number ≥ 0", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 5 }),
        fc.nat(5),
        notFinite,
        (values, at, bad) => {
          const spoiled = [...values]
          spoiled.splice(Math.min(at, values.length), 0, bad)
          expect(() => SchedulePlot.sparkline(spoiled)).toThrow(RangeError)
          expect(() => SchedulePlot.sparkline(spoiled)).toThrow(
            /^SchedulePlot\.sparkline: value \d+ must be a finite number, got /
          )
          expect(() => SchedulePlot.sparkline(values, { max: bad })).toThrow(/SchedulePlot\.sparkline: max/)
          expect(() => SchedulePlot.sparkline(values, { max: -1 - at })).toThrow(/SchedulePlot\.sparkline: max/)
        }
      ),
      { seed: 6, numRuns: 80 }
    )
  })

  it("toSvg and toSparklines: rows no summary gives, and a size with no room for a plot", () => {
    const spoilArb = fc.oneof(
      fc.tuple(fc.constantFrom("min", "median", "max"), fc.oneof(notFinite, fc.double({ max: -1e-9, noNaN: true })))
        .map(([field, value]) => (row: SchedulePlot.AttemptSummary) => ({ ...row, [field]: value })),
      fc.constant((row: SchedulePlot.AttemptSummary) => ({ ...row, attempt: row.attempt + 1 })),
      fc.constant((row: SchedulePlot.AttemptSummary) => ({ ...row, min: row.max + 1, median: row.max + 1 })),
      fc.constant((row: SchedulePlot.AttemptSummary) => ({ ...row, median: row.max + 1 }))
    )
    fc.assert(
      fc.property(
        rowsArb.filter((rows) => rows.length > 0),
        fc.nat(),
        spoilArb,
        fc.oneof(notFinite, fc.integer({ min: -100, max: 170 })),
        fc.oneof(notFinite, fc.integer({ min: -100, max: 90 })),
        (rows, at, spoil, width, height) => {
          const spoiled = rows.map((row, i) => i === at % rows.length ? spoil(row) : row)
          expect(() => SchedulePlot.toSvg(spoiled)).toThrow(/^SchedulePlot\.toSvg: (row|attempt) /)
          expect(() => SchedulePlot.toSparklines(spoiled)).toThrow(/^SchedulePlot\.toSparklines: (row|attempt) /)
          expect(() => SchedulePlot.toSvg(rows, { width })).toThrow(/^SchedulePlot\.toSvg: width must be/)
          expect(() => SchedulePlot.toSvg(rows, { height })).toThrow(/^SchedulePlot\.toSvg: height must be/)
        }
      ),
      { seed: 7, numRuns: 80 }
    )
  })
})
