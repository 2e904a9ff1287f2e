import type * as Schedule from "effect/Schedule"
import type * as SchedulePlot from "../SchedulePlot.js"
import * as scheduleKit from "./scheduleKit.js"

const median = (sorted: ReadonlyArray<number>): number => {
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

// What would draw a plot of nothing or of NaN (a NaN count of seeds summarises no seed, a NaN delay drops a sparkline
// character and puts NaN coordinates in the SVG) is refused where it is passed.
const invalid = (where: string, what: string, got: unknown): never => {
  throw new RangeError(`SchedulePlot.${where}: ${what}, got ${typeof got === "string" ? got : String(got)}`)
}

const isCount = (value: number): boolean => Number.isSafeInteger(value) && value >= 0

const requireRows = (where: string, rows: ReadonlyArray<SchedulePlot.AttemptSummary>): void => {
  rows.forEach((row, index) => {
    if (row.attempt !== index + 1) invalid(where, `row ${index} must be attempt ${index + 1}`, row.attempt)
    for (const field of ["min", "median", "max"] as const) {
      const value = row[field]
      if (!(Number.isFinite(value) && value >= 0)) {
        invalid(where, `attempt ${row.attempt}'s ${field} must be a finite delay ≥ 0`, value)
      }
    }
    if (!(row.min <= row.median && row.median <= row.max)) {
      invalid(where, `attempt ${row.attempt} must have min ≤ median ≤ max`, `${row.min}, ${row.median}, ${row.max}`)
    }
  })
}

/** @internal */
export const summary = <Out>(
  schedule: Schedule.Schedule<Out, any, never>,
  options: SchedulePlot.SummaryOptions
): Array<SchedulePlot.AttemptSummary> => {
  if (!isCount(options.attempts)) invalid("summary", "attempts must be an integer ≥ 0", options.attempts)
  if (typeof options.seeds === "number" && !isCount(options.seeds)) {
    invalid("summary", "seeds must be an integer ≥ 0 or a list", options.seeds)
  }
  const perAttempt: Array<Array<number>> = []
  for (const seed of scheduleKit.seedList(options.seeds)) {
    const delays = scheduleKit.delaysSync(schedule, { attempts: options.attempts, seed, input: options.input })
    for (let index = 0; index < delays.length; index++) {
      ;(perAttempt[index] ??= []).push(delays[index])
    }
  }
  return perAttempt.map((values, index) => {
    const sorted = values.slice().sort((left, right) => left - right)
    return {
      attempt: index + 1,
      count: sorted.length,
      min: sorted[0],
      median: median(sorted),
      max: sorted[sorted.length - 1]
    }
  })
}

// XML 1.0 has no way to write most control characters, U+FFFE, U+FFFF or a lone surrogate: they become U+FFFD.
const isXmlChar = (code: number): boolean =>
  code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) ||
  (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff)

const escapeXml = (text: string): string =>
  Array.from(text, (char) => isXmlChar(char.codePointAt(0)!) ? char : "\ufffd").join("")
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const round = (value: number): string => String(Math.round(value * 100) / 100)

const formatMillis = (millis: number): string =>
  millis >= 60_000 ?
    `${round(millis / 60_000)}m` :
    millis >= 1_000 ?
    `${round(millis / 1_000)}s` :
    `${round(millis)}ms`

// 1, 2 or 5 times a power of ten, so axis labels read as round numbers.
const niceStep = (range: number, ticks: number): number => {
  const raw = range / ticks
  const power = 10 ** Math.floor(Math.log10(raw))
  const fraction = raw / power
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power
}

/** @internal */
export const toSvg = (rows: ReadonlyArray<SchedulePlot.AttemptSummary>, options?: SchedulePlot.SvgOptions): string => {
  const width = options?.width ?? 640
  const height = options?.height ?? 360
  const title = options?.title ?? "Delay before each retry (min, median, max over seeds)"
  const margin = { top: 40, right: 100, bottom: 50, left: 70 }
  if (!(Number.isFinite(width) && width > margin.left + margin.right)) {
    invalid("toSvg", `width must be a finite number > ${margin.left + margin.right} (the margins)`, width)
  }
  if (!(Number.isFinite(height) && height > margin.top + margin.bottom)) {
    invalid("toSvg", `height must be a finite number > ${margin.top + margin.bottom} (the margins)`, height)
  }
  requireRows("toSvg", rows)
  const plotWidth = width - margin.left - margin.right
  const plotHeight = height - margin.top - margin.bottom
  const lastAttempt = Math.max(1, rows.length)
  const maxDelay = rows.reduce((max, row) => Math.max(max, row.max), 0)
  // labels show 0.01 ms at finest: a scale below five such steps would repeat labels (and a denormal max has no step)
  const yStep = niceStep(maxDelay > 0 ? Math.max(maxDelay, 0.05) : 1, 5)
  const yTop = Math.max(yStep, Math.ceil(maxDelay / yStep) * yStep)
  const x = (attempt: number) =>
    margin.left + (lastAttempt === 1 ? plotWidth / 2 : (attempt - 1) / (lastAttempt - 1) * plotWidth)
  const y = (delay: number) => margin.top + plotHeight - delay / yTop * plotHeight
  const points = (pick: (row: SchedulePlot.AttemptSummary) => number) =>
    rows.map((row) => `${round(x(row.attempt))},${round(y(pick(row)))}`).join(" ")

  const parts: Array<string> = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="sans-serif" font-size="12">`
  )
  parts.push(`<title>${escapeXml(title)}</title>`)
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`)
  parts.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`)
  // Axes.
  const xAxisY = margin.top + plotHeight
  parts.push(
    `<g class="axes" stroke="black" stroke-width="1">` +
      `<line x1="${margin.left}" y1="${xAxisY}" x2="${margin.left + plotWidth}" y2="${xAxisY}"/>` +
      `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${xAxisY}"/></g>`
  )
  const xTicks: Array<string> = []
  const xEvery = Math.max(1, Math.ceil(lastAttempt / 10))
  for (let attempt = 1; attempt <= lastAttempt; attempt += xEvery) {
    xTicks.push(`<text x="${round(x(attempt))}" y="${xAxisY + 18}" text-anchor="middle">${attempt}</text>`)
  }
  parts.push(`<g class="x-ticks">${xTicks.join("")}</g>`)
  const yTicks: Array<string> = []
  for (let delay = 0; delay <= yTop + yStep / 2; delay += yStep) {
    yTicks.push(
      `<text x="${margin.left - 8}" y="${round(y(delay) + 4)}" text-anchor="end">${formatMillis(delay)}</text>` +
        `<line x1="${margin.left}" y1="${round(y(delay))}" x2="${margin.left + plotWidth}" y2="${round(y(delay))}" ` +
        `stroke="#ddd"/>`
    )
  }
  parts.push(`<g class="y-ticks">${yTicks.join("")}</g>`)
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 12}" text-anchor="middle">retry</text>`)
  parts.push(
    `<text x="16" y="${margin.top + plotHeight / 2}" text-anchor="middle" ` +
      `transform="rotate(-90 16 ${margin.top + plotHeight / 2})">delay</text>`
  )
  if (rows.length > 0) {
    // The band between min and max, then the three series on top of it.
    const band = `${points((row) => row.max)} ${
      rows.slice().reverse().map((row) => `${round(x(row.attempt))},${round(y(row.min))}`).join(" ")
    }`
    parts.push(`<polygon class="band" points="${band}" fill="#4c78a8" fill-opacity="0.15" stroke="none"/>`)
    const series = [
      { name: "max", color: "#e45756", pick: (row: SchedulePlot.AttemptSummary) => row.max },
      { name: "median", color: "#4c78a8", pick: (row: SchedulePlot.AttemptSummary) => row.median },
      { name: "min", color: "#54a24b", pick: (row: SchedulePlot.AttemptSummary) => row.min }
    ]
    series.forEach((line, index) => {
      parts.push(
        `<polyline class="series" data-series="${line.name}" points="${points(line.pick)}" fill="none" ` +
          `stroke="${line.color}" stroke-width="2"/>`
      )
      const legendY = margin.top + 14 + index * 18
      parts.push(
        `<g class="legend"><line x1="${width - margin.right + 12}" y1="${legendY - 4}" x2="${
          width - margin.right + 32
        }" y2="${legendY - 4}" stroke="${line.color}" stroke-width="2"/>` +
          `<text x="${width - margin.right + 38}" y="${legendY}">${line.name}</text></g>`
      )
    })
  }
  parts.push(`</svg>`)
  return parts.join("\n")
}

const bars = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

/** @internal */
export const sparkline = (values: ReadonlyArray<number>, options?: { readonly max?: number | undefined }): string => {
  values.forEach((value, index) => {
    if (!Number.isFinite(value)) invalid("sparkline", `value ${index} must be a finite number`, value)
  })
  if (options?.max !== undefined && !(Number.isFinite(options.max) && options.max >= 0)) {
    invalid("sparkline", "max must be a finite number ≥ 0", options.max)
  }
  const top = options?.max ?? values.reduce((max, value) => Math.max(max, value), 0)
  return values.map((value) => {
    if (!(top > 0)) return bars[0]
    const level = Math.round(Math.min(1, Math.max(0, value / top)) * (bars.length - 1))
    return bars[level]
  }).join("")
}

/** @internal */
export const toSparklines = (rows: ReadonlyArray<SchedulePlot.AttemptSummary>): string => {
  requireRows("toSparklines", rows)
  const max = rows.reduce((top, row) => Math.max(top, row.max), 0)
  const line = (name: string, pick: (row: SchedulePlot.AttemptSummary) => number) =>
    `${name.padEnd(6)} ${sparkline(rows.map(pick), { max })} ${
      formatMillis(rows.length > 0 ? pick(rows[rows.length - 1]) : 0)
    }`
  return [line("max", (row) => row.max), line("median", (row) => row.median), line("min", (row) => row.min)].join("\n")
}
