import { describe, expect, it } from "@effect/vitest"
import { Backoff } from "@sturdy/policy"
import { SchedulePlot } from "@sturdy/testing"
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"

describe("SchedulePlot", () => {
  it("summarises a deterministic schedule: min, median and max coincide", () => {
    const rows = SchedulePlot.summary(Schedule.exponential("100 millis"), { attempts: 4, seeds: 10 })
    expect(rows).toEqual([
      { attempt: 1, count: 10, min: 100, median: 100, max: 100 },
      { attempt: 2, count: 10, min: 200, median: 200, max: 200 },
      { attempt: 3, count: 10, min: 400, median: 400, max: 400 },
      { attempt: 4, count: 10, min: 800, median: 800, max: 800 }
    ])
  })

  it("summarises jitter: Effect's jittered stays within 0.8x..1.2x with the median near 1x", () => {
    const rows = SchedulePlot.summary(Schedule.jittered(Schedule.spaced("1 second")), { attempts: 3, seeds: 2_000 })
    for (const row of rows) {
      expect(row.count).toBe(2_000)
      expect(row.min).toBeGreaterThanOrEqual(800)
      expect(row.min).toBeLessThan(810)
      expect(row.max).toBeLessThanOrEqual(1_200)
      expect(row.max).toBeGreaterThan(1_190)
      expect(Math.abs(row.median - 1_000)).toBeLessThan(20)
    }
  })

  it("summarises Backoff's equal jitter inside the envelope Backoff documents", () => {
    const options: Backoff.Options = { baseDelay: "100 millis", maxDelay: "2 seconds", jitter: "equal", maxAttempts: 8 }
    const rows = SchedulePlot.summary(Backoff.exponential(options), { attempts: 10, seeds: 1_000 })
    expect(rows).toHaveLength(7)
    rows.forEach((row, retry) => {
      const { lower, upper } = Backoff.envelope(options, retry)
      expect(row.count).toBe(1_000)
      expect(row.min).toBeGreaterThanOrEqual(Duration.toMillis(lower))
      expect(row.max).toBeLessThanOrEqual(Duration.toMillis(upper))
      // 1,000 uniform draws reach within 2% of both ends, and their median sits near the middle.
      const width = Duration.toMillis(upper) - Duration.toMillis(lower)
      expect(row.min - Duration.toMillis(lower)).toBeLessThanOrEqual(0.02 * width + 1)
      expect(Duration.toMillis(upper) - row.max).toBeLessThanOrEqual(0.02 * width + 1)
      expect(Math.abs(row.median - (Duration.toMillis(lower) + width / 2))).toBeLessThan(0.1 * width + 1)
    })
  })

  it("counts only the seeds that reached a retry", () => {
    const rows = SchedulePlot.summary(Schedule.spaced("1 second").pipe(Schedule.upTo("2500 millis")), {
      attempts: 5,
      seeds: [1, 2, 3]
    })
    expect(rows.map((row) => row.count)).toEqual([3, 3, 3])
  })

  it("medians of an even count average the two middle values", () => {
    const rows = SchedulePlot.summary(Schedule.jittered(Schedule.spaced("1 second")), { attempts: 1, seeds: [1, 2] })
    expect(rows[0].median).toBeCloseTo((rows[0].min + rows[0].max) / 2, 9)
  })

  it("renders a well-formed SVG with axes, labels, the band and the three series", () => {
    const rows = SchedulePlot.summary(Schedule.jittered(Schedule.exponential("100 millis")), {
      attempts: 6,
      seeds: 100
    })
    const svg = SchedulePlot.toSvg(rows, { title: "exponential <jittered> & capped" })
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true)
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
    expect(svg).toContain("exponential &lt;jittered&gt; &amp; capped")
    expect(svg).toContain("class=\"axes\"")
    expect(svg).toContain(">retry</text>")
    expect(svg).toContain(">delay</text>")
    expect(svg).toContain("class=\"band\"")
    for (const name of ["min", "median", "max"]) {
      const match = svg.match(new RegExp(`data-series="${name}" points="([^"]+)"`))
      expect(match).not.toBeNull()
      expect(match![1].split(" ")).toHaveLength(6)
    }
    // Every opened element is closed: a minimal well-formedness check without an XML parser.
    const tags = [...svg.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)]
    const stack: Array<string> = []
    for (const [, closing, name, selfClosing] of tags) {
      if (selfClosing === "/") continue
      if (closing === "/") expect(stack.pop()).toBe(name)
      else stack.push(name)
    }
    expect(stack).toEqual([])
    // The y axis is labelled with round values up to (at least) the largest delay.
    expect(svg).toMatch(/>0ms<\/text>/)
    expect(svg).toMatch(/>[\d.]+s<\/text>/)
  })

  it("renders sparklines scaled to the largest value", () => {
    expect(SchedulePlot.sparkline([1, 2, 4, 8])).toBe("▂▃▅█")
    expect(SchedulePlot.sparkline([0, 0])).toBe("▁▁")
    expect(SchedulePlot.sparkline([5], { max: 10 })).toBe("▅")
    const lines = SchedulePlot.toSparklines(SchedulePlot.summary(Schedule.exponential("1 second"), {
      attempts: 4,
      seeds: 1
    })).split("\n")
    expect(lines).toEqual(["max    ▂▃▅█ 8s", "median ▂▃▅█ 8s", "min    ▂▃▅█ 8s"])
  })

  describe("bad inputs are refused, and what is accepted draws a plot of numbers", () => {
    it("sparkline refuses a value that is not finite (it used to drop its character) and a bad max", () => {
      for (const bad of [Number.NaN, Infinity, -Infinity]) {
        expect(() => SchedulePlot.sparkline([1, bad, 3])).toThrow(
          new RangeError(`SchedulePlot.sparkline: value 1 must be a finite number, got ${bad}`)
        )
        expect(() => SchedulePlot.sparkline([1, 2], { max: bad })).toThrow(/SchedulePlot\.sparkline: max must be/)
      }
      expect(() => SchedulePlot.sparkline([1, 2], { max: -1 })).toThrow(RangeError)
      expect(SchedulePlot.sparkline([-5, 0, 10], { max: 0 })).toBe("▁▁▁")
    })

    it("toSparklines and toSvg refuse rows no summary gives (it used to print NaNms and NaN coordinates)", () => {
      const row = { attempt: 1, count: 1, min: 1, median: 2, max: 3 }
      const bad = [
        { ...row, median: Number.NaN },
        { ...row, max: Infinity },
        { ...row, min: -1 },
        { ...row, attempt: 2 },
        { ...row, min: 5 }
      ]
      for (const spoiled of bad) {
        expect(() => SchedulePlot.toSparklines([spoiled])).toThrow(/^SchedulePlot\.toSparklines: /)
        expect(() => SchedulePlot.toSvg([spoiled])).toThrow(/^SchedulePlot\.toSvg: /)
      }
      for (const size of [Number.NaN, -5, 0, 90]) {
        expect(() => SchedulePlot.toSvg([row], { width: size })).toThrow(/^SchedulePlot\.toSvg: width must be/)
        expect(() => SchedulePlot.toSvg([row], { height: size })).toThrow(/^SchedulePlot\.toSvg: height must be/)
      }
    })

    it("a title with control characters or a lone surrogate still gives well-formed XML", () => {
      const svg = SchedulePlot.toSvg([], { title: "a\u0000b\u001bc\ud800d\ufffe" })
      expect(svg).toContain("<title>a\ufffdb\ufffdc\ufffdd\ufffd</title>")
      // eslint-disable-next-line no-control-regex
      expect(svg).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/)
    })

    it("a tiny largest delay (down to a denormal) gets a y axis of distinct labels, no NaN", () => {
      for (const tiny of [5e-324, 1e-9, 0.004]) {
        const svg = SchedulePlot.toSvg([{ attempt: 1, count: 1, min: 0, median: 0, max: tiny }])
        expect(svg).not.toContain("NaN")
        const labels = [...svg.matchAll(/>([\d.]+ms)<\/text>/g)].map((match) => match[1])
        expect(labels).toEqual(["0ms", "0.01ms"])
      }
    })

    it("summary refuses a count of seeds or attempts that is not an integer ≥ 0 (NaN used to summarise no seed)", () => {
      const schedule = Schedule.exponential("10 millis")
      for (const seeds of [Number.NaN, 1.5, -1, Infinity]) {
        expect(() => SchedulePlot.summary(schedule, { attempts: 2, seeds })).toThrow(
          new RangeError(`SchedulePlot.summary: seeds must be an integer ≥ 0 or a list, got ${seeds}`)
        )
      }
      for (const attempts of [Number.NaN, 1.5, -1]) {
        expect(() => SchedulePlot.summary(schedule, { attempts, seeds: [] })).toThrow(/attempts must be an integer/)
      }
      expect(SchedulePlot.summary(schedule, { attempts: 2, seeds: 0 })).toEqual([])
    })
  })
})
