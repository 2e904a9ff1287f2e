import * as Policy from "@sturdy/http/Policy"
import { Backoff, CircuitBreaker, Retry, RetryBudget } from "@sturdy/policy"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Simulator from "../Simulator.js"
import { sparkline } from "./schedulePlot.js"
import { VirtualTime } from "./virtualTime.js"

/** @internal */
export class UpstreamFailure extends Data.TaggedError("UpstreamFailure")<{
  readonly reason: Simulator.FailureReason
  readonly status: number
  readonly retryAfter: Duration.Duration | undefined
}> {
  override get message(): string {
    const hint = this.retryAfter === undefined ? "" : `, retry after ${Duration.format(this.retryAfter)}`
    return `simulated upstream failed: ${this.reason} (${this.status}${hint})`
  }
}

// murmur3's finaliser: a bijection on 32 bits that maps 0 to 0 and spreads every other input.
const mix32 = (value: number): number => {
  let h = value >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

// The low 32 bits of the seed, with the bits above them (or a negative sign) mixed in: seeds that differ by 2³² no
// longer share a stream, and every seed in [0, 2³²) keeps the stream it has always had (mix32(0) is 0), so
// published figures stay reproducible.
const seedWord = (seed: number): number => ((seed >>> 0) ^ mix32(Math.floor(seed / 4294967296))) >>> 0

// mulberry32: tiny, fast and good enough to draw latencies and arrivals; the policies draw from Effect's `Random`.
const makePrng = (word: number) => {
  let state = (word >>> 0) ^ 0x9e3779b9
  return (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const inWindow = (windows: ReadonlyArray<Simulator.Window> | undefined, time: number): boolean => {
  if (windows === undefined) return false
  for (const window of windows) if (time >= window.start && time < window.end) return true
  return false
}

interface Request {
  settled: boolean
  resume: ((effect: Effect.Effect<Simulator.Response, UpstreamFailure>) => void) | undefined
  timer: { callback: (() => void) | undefined } | undefined
}

const success: Effect.Effect<Simulator.Response> = Effect.succeed({ status: 200 })

class Simulation {
  readonly time = new VirtualTime()
  // Separate streams, so that every policy faces the same arrivals and the same service times.
  private readonly arrivals: () => number
  private readonly random: () => number
  private readonly bucketSize: number
  private readonly buckets: { offered: Array<number>; succeeded: Array<number>; upstream: Array<number> } = {
    offered: [],
    succeeded: [],
    upstream: []
  }
  private busy = 0
  private queue: Array<Request> = []
  private queueHead = 0
  private rateWindowStart = -1
  private rateWindowCount = 0
  private readonly failures = new Map<string, Effect.Effect<never, UpstreamFailure>>()
  private spare = Number.NaN

  logicalCalls = 0
  succeeded = 0
  failed = 0
  inFlight = 0
  upstreamRequests = 0
  served = 0
  wasted = 0
  rejected = 0
  readonly latencies: Array<number> = []

  constructor(readonly scenario: Simulator.Scenario, readonly options: Simulator.RunOptions) {
    // Known and kept (changing it would change every published figure): seed s + 0x5bd1e995 draws its arrivals
    // from seed s's service stream. Neighbouring seeds, the usual sweep, are unrelated.
    const word = seedWord(options.seed)
    this.arrivals = makePrng(word)
    this.random = makePrng(word + 0x5bd1e995)
    this.bucketSize = options.bucket ?? 1_000
  }

  private count(series: Array<number>, time: number): void {
    const index = Math.floor(time / this.bucketSize)
    series[index] = (series[index] ?? 0) + 1
  }

  private failure(
    reason: Simulator.FailureReason,
    status: number,
    retryAfter?: number
  ): Effect.Effect<never, UpstreamFailure> {
    // Failures are immutable, so one instance per kind saves building an Error (and its stack) per request.
    const key = `${reason}:${retryAfter ?? ""}`
    let cached = this.failures.get(key)
    if (cached === undefined) {
      cached = Effect.fail(
        new UpstreamFailure({
          reason,
          status,
          retryAfter: retryAfter === undefined ? undefined : Duration.millis(retryAfter)
        })
      )
      this.failures.set(key, cached)
    }
    return cached
  }

  private normal(): number {
    if (!Number.isNaN(this.spare)) {
      const value = this.spare
      this.spare = Number.NaN
      return value
    }
    const u = 1 - this.random()
    const v = this.random()
    const radius = Math.sqrt(-2 * Math.log(u))
    this.spare = radius * Math.sin(2 * Math.PI * v)
    return radius * Math.cos(2 * Math.PI * v)
  }

  private serviceTime(): number {
    const upstream = this.scenario.upstream
    const tail = upstream.slowTail
    const base = tail !== undefined && this.random() < tail.probability ?
      tail.latency :
      upstream.latency.median * Math.exp(upstream.latency.sigma * this.normal())
    const queued = this.queue.length - this.queueHead
    const slowdown = upstream.slowdown ?? 0
    // Past capacity a real server thrashes (context switches, GC, lock contention): service slows with the queue.
    return slowdown > 0 && upstream.queueCapacity > 0 ? base * (1 + slowdown * queued / upstream.queueCapacity) : base
  }

  private settle(request: Request, outcome: Effect.Effect<Simulator.Response, UpstreamFailure>): void {
    if (request.settled) return
    request.settled = true
    if (request.timer !== undefined) request.timer.callback = undefined
    const resume = request.resume
    request.resume = undefined
    if (resume !== undefined) resume(outcome)
  }

  private fastFail(request: Request, outcome: Effect.Effect<never, UpstreamFailure>): void {
    this.rejected++
    this.time.at(this.time.now + (this.scenario.upstream.fastFailLatency ?? 1), () => this.settle(request, outcome))
  }

  private startService(request: Request): void {
    this.busy++
    this.time.at(this.time.now + this.serviceTime(), () => {
      this.served++
      if (request.settled) {
        // The client gave up while this request queued or ran: the server did the work for nobody.
        this.wasted++
      } else {
        const errorRate = this.scenario.upstream.errorRate ?? 0
        this.settle(request, errorRate > 0 && this.random() < errorRate ? this.failure("Unavailable", 503) : success)
      }
      this.busy--
      if (this.queueHead < this.queue.length) {
        const next = this.queue[this.queueHead]
        this.queue[this.queueHead++] = undefined as never
        if (this.queueHead > 4_096 && this.queueHead * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.queueHead)
          this.queueHead = 0
        }
        this.startService(next)
      }
    })
  }

  private upstreamIdle(): boolean {
    return this.busy === 0 && this.queueHead >= this.queue.length
  }

  private submit(request: Request): void {
    const now = this.time.now
    const upstream = this.scenario.upstream
    this.upstreamRequests++
    this.count(this.buckets.upstream, now)
    if (inWindow(upstream.outages, now)) return this.fastFail(request, this.failure("Unavailable", 503))
    const limit = upstream.rateLimit
    if (limit !== undefined && now >= limit.window.start && now < limit.window.end) {
      const second = Math.floor(now / 1_000)
      if (second !== this.rateWindowStart) {
        this.rateWindowStart = second
        this.rateWindowCount = 0
      }
      if (++this.rateWindowCount > limit.perSecond) {
        return this.fastFail(request, this.failure("RateLimited", 429, limit.retryAfter))
      }
    }
    if (this.busy < upstream.servers) return this.startService(request)
    if (this.queue.length - this.queueHead < upstream.queueCapacity) {
      this.queue.push(request)
      return
    }
    this.fastFail(request, this.failure("Overloaded", 503))
  }

  readonly call: Effect.Effect<Simulator.Response, UpstreamFailure> = Effect.async<Simulator.Response, UpstreamFailure>(
    (resume) => {
      const request: Request = { settled: false, resume, timer: undefined }
      const timeout = this.scenario.workload.attemptTimeout
      if (Number.isFinite(timeout)) {
        request.timer = this.time.at(
          this.time.now + timeout,
          () => this.settle(request, this.failure("Timeout", 504))
        )
      }
      this.submit(request)
      return Effect.sync(() => {
        // Interrupted by the policy (a deadline, a hedge): the request stays on the server, unanswered.
        request.settled = true
        request.resume = undefined
        if (request.timer !== undefined) request.timer.callback = undefined
      })
    }
  )

  private rateAt(time: number): number {
    const workload = this.scenario.workload
    if (workload.spikes !== undefined) {
      for (const spike of workload.spikes) {
        if (time >= spike.window.start && time < spike.window.end) return spike.rate
      }
    }
    return workload.rate
  }

  // The first time after `time` at which the offered rate may change: the edge of a spike's window, or `duration`.
  private nextEdge(time: number): number {
    const workload = this.scenario.workload
    let next = workload.duration
    for (const { window } of workload.spikes ?? []) {
      if (window.start > time && window.start < next) next = window.start
      if (window.end > time && window.end < next) next = window.end
    }
    return next
  }

  // A client's guarded call is built once and run for each of its logical calls: an Effect is a description, and
  // building the policy's wrapper per call would cost more than some of the calls.
  private tracked(guard: Simulator.Guard): Effect.Effect<void> {
    const guarded = guard(this.call)
    return Effect.suspend(() => {
      const started = this.time.now
      return Effect.map(Effect.exit(guarded), (exit) => {
        this.inFlight--
        this.latencies.push(this.time.now - started)
        if (Exit.isSuccess(exit)) {
          this.succeeded++
          this.count(this.buckets.succeeded, this.time.now)
        } else {
          this.failed++
        }
      })
    })
  }

  private startCall(tracked: Effect.Effect<void>): Effect.Effect<unknown> {
    this.logicalCalls++
    this.inFlight++
    this.count(this.buckets.offered, this.time.now)
    return Effect.forkDaemon(tracked)
  }

  program(policy: Simulator.Policy): Effect.Effect<void> {
    const workload = this.scenario.workload
    return Effect.scoped(Effect.gen(this, function*() {
      const guards: Array<Effect.Effect<void>> = []
      for (let client = 0; client < workload.clients; client++) guards.push(this.tracked(yield* policy.make(client)))
      const pick = () => guards[Math.floor(this.arrivals() * guards.length)]
      for (let index = 0; index < (workload.burst ?? 0); index++) yield* this.startCall(pick())
      // A Poisson process whose rate changes at the spikes' edges: each arrival draws one unit of exponential
      // "work" and spends it at the rate of each stretch it crosses, so a gap drawn at a low rate does not leap over
      // a spike (nor a spike's gap over its end), and a stretch of rate 0 spends nothing.
      arrivals: while (true) {
        let work = -Math.log(1 - this.arrivals())
        while (true) {
          const now = this.time.now
          const rate = this.rateAt(now)
          const edge = this.nextEdge(now)
          if (rate > 0) {
            const gap = work * 1_000 / rate
            if (now + gap < edge) {
              yield* this.time.sleep(gap)
              break
            }
            work = Math.max(0, work - (edge - now) * rate / 1_000)
          }
          if (edge >= workload.duration) break arrivals
          yield* this.time.sleep(edge - now)
        }
        yield* this.startCall(pick())
      }
      const deadline = workload.duration + (this.scenario.drain ?? 60_000)
      // Run on until the upstream is idle as well, not just the calls: a request its client abandoned (a timeout)
      // is still queued or in service, and is served for nobody (wasted work) only if time goes on. Both within the
      // same deadline, so that a run always ends.
      while ((this.inFlight > 0 || !this.upstreamIdle()) && this.time.now < deadline) yield* this.time.sleep(100)
    }))
  }

  report(policy: Simulator.Policy): Simulator.Report {
    const duration = this.scenario.workload.duration
    const bucketCount = Math.ceil(duration / this.bucketSize)
    const timeline: Array<Simulator.Bucket> = []
    for (let index = 0; index < bucketCount; index++) {
      timeline.push({
        start: index * this.bucketSize,
        offered: this.buckets.offered[index] ?? 0,
        succeeded: this.buckets.succeeded[index] ?? 0,
        upstreamRequests: this.buckets.upstream[index] ?? 0
      })
    }
    const sorted = Float64Array.from(this.latencies).sort()
    const percentile = (p: number) =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]
    return {
      scenario: this.scenario.name,
      policy: policy.name,
      seed: this.options.seed,
      logicalCalls: this.logicalCalls,
      succeeded: this.succeeded,
      failed: this.failed,
      unfinished: this.inFlight,
      successRate: this.logicalCalls === 0 ? 1 : this.succeeded / this.logicalCalls,
      goodput: this.succeeded / (duration / 1_000),
      upstreamRequests: this.upstreamRequests,
      amplification: this.logicalCalls === 0 ? 0 : this.upstreamRequests / this.logicalCalls,
      servedRequests: this.served,
      wastedWork: this.wasted,
      rejected: this.rejected,
      latency: {
        p50: percentile(0.5),
        p99: percentile(0.99),
        max: sorted.length === 0 ? 0 : sorted[sorted.length - 1]
      },
      recoveryTime: recoveryTime(timeline, this.scenario.disruption, this.bucketSize),
      timeline
    }
  }
}

// Recovered: from this bucket on, three buckets in a row deliver at least 90% of what was offered in them.
const recoveryTime = (
  timeline: ReadonlyArray<Simulator.Bucket>,
  disruption: Simulator.Window | undefined,
  bucketSize: number
): number | undefined => {
  if (disruption === undefined) return undefined
  const healthy = (bucket: Simulator.Bucket | undefined) =>
    bucket !== undefined && bucket.succeeded >= 0.9 * bucket.offered
  const first = Math.ceil(disruption.end / bucketSize)
  for (let index = first; index + 2 < timeline.length; index++) {
    if (healthy(timeline[index]) && healthy(timeline[index + 1]) && healthy(timeline[index + 2])) {
      return Math.max(0, timeline[index].start - disruption.end)
    }
  }
  return undefined
}

// An option that is NaN, infinite or out of range makes a run hang (a 0 ms bucket, an infinite arrival rate) or
// report NaN (a 0 ms duration): refuse it up front, naming the option.
const validate = (scenario: Simulator.Scenario, options: Simulator.RunOptions): void => {
  const fail = (path: string, rule: string, value: unknown): never => {
    throw new RangeError(`Simulator: ${path} must be ${rule}, got ${String(value)} (scenario "${scenario.name}")`)
  }
  const finite = (path: string, value: number, min: number, strict = false) => {
    if (!(Number.isFinite(value) && (strict ? value > min : value >= min))) {
      fail(path, `a finite number ${strict ? ">" : "≥"} ${min}`, value)
    }
  }
  const integer = (path: string, value: number, min: number) => {
    if (!(Number.isSafeInteger(value) && value >= min)) fail(path, `an integer ≥ ${min}`, value)
  }
  const probability = (path: string, value: number) => {
    if (!(value >= 0 && value <= 1)) fail(path, "a probability from 0 to 1", value)
  }
  const window = (path: string, value: Simulator.Window) => {
    if (!(value.start >= 0 && value.end >= value.start)) {
      fail(path, "a window with 0 ≤ start ≤ end", `{ start: ${value.start}, end: ${value.end} }`)
    }
  }
  integer("options.seed", options.seed, Number.MIN_SAFE_INTEGER)
  const bucket = options.bucket ?? 1_000
  finite("options.bucket", bucket, 0, true)
  const { upstream, workload } = scenario
  finite("workload.duration", workload.duration, 0, true)
  if (workload.duration / bucket > 1_000_000) {
    fail("options.bucket", `at least duration / 1,000,000 (${workload.duration / 1_000_000} ms)`, bucket)
  }
  integer("workload.clients", workload.clients, 1)
  finite("workload.rate", workload.rate, 0)
  workload.spikes?.forEach((spike, index) => {
    window(`workload.spikes[${index}].window`, spike.window)
    finite(`workload.spikes[${index}].rate`, spike.rate, 0)
  })
  if (workload.burst !== undefined) integer("workload.burst", workload.burst, 0)
  if (!(workload.attemptTimeout > 0)) {
    fail("workload.attemptTimeout", "a number > 0 (Infinity for none)", workload.attemptTimeout)
  }
  integer("upstream.servers", upstream.servers, 1)
  if (upstream.queueCapacity !== Number.POSITIVE_INFINITY) integer("upstream.queueCapacity", upstream.queueCapacity, 0)
  finite("upstream.latency.median", upstream.latency.median, 0)
  finite("upstream.latency.sigma", upstream.latency.sigma, 0)
  if (upstream.slowTail !== undefined) {
    probability("upstream.slowTail.probability", upstream.slowTail.probability)
    finite("upstream.slowTail.latency", upstream.slowTail.latency, 0)
  }
  if (upstream.errorRate !== undefined) probability("upstream.errorRate", upstream.errorRate)
  upstream.outages?.forEach((outage, index) => window(`upstream.outages[${index}]`, outage))
  if (upstream.rateLimit !== undefined) {
    window("upstream.rateLimit.window", upstream.rateLimit.window)
    finite("upstream.rateLimit.perSecond", upstream.rateLimit.perSecond, 0)
    finite("upstream.rateLimit.retryAfter", upstream.rateLimit.retryAfter, 0)
  }
  if (upstream.slowdown !== undefined) finite("upstream.slowdown", upstream.slowdown, 0)
  if (upstream.fastFailLatency !== undefined) finite("upstream.fastFailLatency", upstream.fastFailLatency, 0)
  if (scenario.disruption !== undefined) window("disruption", scenario.disruption)
  if (scenario.drain !== undefined) finite("drain", scenario.drain, 0)
}

interface Started {
  readonly simulation: Simulation
  readonly fiber: Fiber.RuntimeFiber<void>
}

// Policies build tagged errors by the thousand; a simulation never reads their stacks, and capturing them is the
// single most expensive thing an Error does.
const withoutStacks = <A>(f: () => A): A => {
  const stackTraceLimit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return f()
  } finally {
    Error.stackTraceLimit = stackTraceLimit
  }
}

const start = (scenario: Simulator.Scenario, policy: Simulator.Policy, options: Simulator.RunOptions): Started => {
  validate(scenario, options)
  const simulation = new Simulation(scenario, options)
  const time = simulation.time
  const program = simulation.program(policy).pipe(
    Effect.withClock(time.clock),
    Effect.withRandom(Random.make(options.seed)),
    Effect.withScheduler(time.scheduler)
  )
  return { simulation, fiber: withoutStacks(() => Effect.runFork(program, { scheduler: time.scheduler })) }
}

const finish = (scenario: Simulator.Scenario, policy: Simulator.Policy, started: Started): Simulator.Report => {
  const exit = started.fiber.unsafePoll()
  if (exit !== null && Exit.isFailure(exit)) {
    throw new Error(`the simulation of ${scenario.name} with ${policy.name} failed`, { cause: exit.cause })
  }
  return started.simulation.report(policy)
}

/** @internal */
export const runSync = (
  scenario: Simulator.Scenario,
  policy: Simulator.Policy,
  options: Simulator.RunOptions
): Simulator.Report => {
  const started = start(scenario, policy, options)
  withoutStacks(() => started.simulation.time.runUntilDone(started.fiber, Number.POSITIVE_INFINITY))
  return finish(scenario, policy, started)
}

// Timers fired between two turns of the event loop: a few milliseconds of work, so that a long run can be
// interrupted (Ctrl-C, a timeout around it) and the rest of the program is not starved meanwhile.
const timersPerSlice = 20_000

// A turn of the real event loop (not a microtask): signals and I/O are handled before the next slice.
const nextTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  const immediate = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(immediate))
})

/** @internal */
export const run = (
  scenario: Simulator.Scenario,
  policy: Simulator.Policy,
  options: Simulator.RunOptions
): Effect.Effect<Simulator.Report> =>
  Effect.suspend(() => {
    const started = start(scenario, policy, options)
    const time = started.simulation.time
    const slice: Effect.Effect<Simulator.Report> = Effect.flatMap(
      Effect.sync(() => withoutStacks(() => time.runFor(started.fiber, Number.POSITIVE_INFINITY, timersPerSlice))),
      (done) => done ? Effect.sync(() => finish(scenario, policy, started)) : Effect.zipRight(nextTurn, slice)
    )
    return slice
  })

/** @internal */
export const makePolicy = (
  name: string,
  make: (client: number) => Effect.Effect<Simulator.Guard, never, Scope.Scope>
): Simulator.Policy => ({ name, make })

const retryAfterHint = (failure: UpstreamFailure): Option.Option<Duration.Duration> =>
  Option.fromNullable(failure.retryAfter)

/** @internal */
export const noRetry: Simulator.Policy = makePolicy("no retry", () => Effect.succeed((call) => call))

/** @internal */
export const naiveLoop: Simulator.Policy = makePolicy("naive loop", () =>
  Effect.succeed((call) =>
    Retry.retry(call, {
      schedule: Backoff.exponential({
        baseDelay: "1 second",
        factor: 2,
        maxDelay: Duration.infinity,
        jitter: "none",
        maxAttempts: 4
      })
    })
  ))

/** @internal */
export const urllib3: Simulator.Policy = makePolicy("urllib3-like", () =>
  Effect.succeed((call) =>
    Retry.retry(call, {
      // urllib3's Retry(total=3, backoff_factor=0.5) with status_forcelist 429/5xx: 0.5 s, 1 s, 2 s, no jitter,
      // and Retry-After obeyed to the letter.
      schedule: Backoff.exponential({
        baseDelay: "500 millis",
        factor: 2,
        maxDelay: "120 seconds",
        jitter: "none",
        maxAttempts: 4
      }),
      delayHint: retryAfterHint,
      retryAfterJitter: 0
    })
  ))

/** @internal */
export const backoff = (options: Simulator.BackoffPolicyOptions): Simulator.Policy => {
  const { name, ...schedule } = options
  return makePolicy(
    name ?? `backoff (${schedule.jitter ?? Backoff.defaults.jitter} jitter)`,
    () =>
      Effect.succeed((call) =>
        Retry.retry(call, { schedule: Backoff.exponential(schedule), delayHint: retryAfterHint })
      )
  )
}

const shipped = Policy.defaults

/** @internal */
export const standardDefaults: {
  readonly backoff: Backoff.Options
  readonly retryBudget: RetryBudget.RetryBudget.Options
  readonly breaker: CircuitBreaker.Options
} = {
  backoff: {
    baseDelay: shipped.retry.baseDelay,
    maxDelay: shipped.retry.maxDelay,
    jitter: shipped.retry.jitter,
    maxAttempts: shipped.retry.maxAttempts
  },
  retryBudget: {},
  breaker: {
    failureRateThreshold: shipped.circuitBreaker.failureRateThreshold,
    minimumThroughput: shipped.circuitBreaker.minimumThroughput,
    slidingWindow: shipped.circuitBreaker.slidingWindow,
    breakDuration: Schedule.spaced(shipped.circuitBreaker.breakDuration),
    consecutiveFailures: shipped.circuitBreaker.consecutiveFailures,
    halfOpenMaxProbes: shipped.circuitBreaker.halfOpenMaxProbes,
    successThreshold: shipped.circuitBreaker.successThreshold,
    // the pipeline's breaker counts what speaks against the upstream: 5xx and attempt timeouts, not a 429
    isFailure: (failure) => failure instanceof UpstreamFailure && failure.reason !== "RateLimited"
  }
}

/** @internal */
export const sturdy = (options?: Simulator.StandardOptions): Simulator.Policy =>
  makePolicy("sturdy (backoff + budget + breaker)", (client) =>
    Effect.gen(function*() {
      const budget = yield* RetryBudget.make(options?.retryBudget ?? standardDefaults.retryBudget)
      const breaker = yield* CircuitBreaker.make(`upstream-${client}`, options?.breaker ?? standardDefaults.breaker)
      const schedule = Backoff.exponential(options?.backoff ?? standardDefaults.backoff)
      return (call) =>
        Retry.retry(CircuitBreaker.withBreaker(call, breaker), {
          schedule,
          budgetKey: "upstream",
          delayHint: (failure) => failure._tag === "UpstreamFailure" ? retryAfterHint(failure) : Option.none(),
          maxRetryAfter: shipped.retry.maxRetryAfter,
          retryAfterJitter: shipped.retry.retryAfterJitter,
          // An open breaker already said "not now"; retrying it would only spin.
          while: (failure) => failure._tag === "UpstreamFailure"
        }).pipe(Effect.provideService(RetryBudget.RetryBudget, budget))
    }))

// About 950 requests per second: 50 servers, 50 ms median service time.
const standardUpstream: Simulator.Upstream = {
  servers: 50,
  queueCapacity: 2_000,
  latency: { median: 50, sigma: 0.3 }
}

/** @internal */
export const randomErrors: Simulator.Scenario = {
  name: "20% random 503s",
  description: "Half of capacity offered; one response in five is a 503, independently of load.",
  upstream: { ...standardUpstream, errorRate: 0.2 },
  workload: { clients: 100, duration: 30_000, rate: 500, attemptTimeout: 1_000 }
}

/** @internal */
export const outage: Simulator.Scenario = {
  name: "full outage then recovery",
  description: "Half of capacity offered; every request fails fast with a 503 from 10 s to 20 s.",
  upstream: { ...standardUpstream, outages: [{ start: 10_000, end: 20_000 }] },
  workload: { clients: 100, duration: 40_000, rate: 500, attemptTimeout: 1_000 },
  disruption: { start: 10_000, end: 20_000 }
}

/** @internal */
export const retryStorm: Simulator.Scenario = {
  name: "retry storm",
  description: "75% of capacity offered, then 2.5x capacity for 5 s; requests that queue past the 1 s client " +
    "timeout are still served, for nobody.",
  upstream: standardUpstream,
  workload: {
    clients: 100,
    duration: 60_000,
    rate: 700,
    spikes: [{ window: { start: 10_000, end: 15_000 }, rate: 2_400 }],
    attemptTimeout: 1_000
  },
  disruption: { start: 10_000, end: 15_000 }
}

/** @internal */
export const slowTail: Simulator.Scenario = {
  name: "slow tail",
  description: "Half of capacity offered; 5% of responses take 3 s, past the 1 s client timeout.",
  // More servers: a 3 s response holds a server for 3 s, and 5% of them would otherwise exhaust 50 servers.
  upstream: { ...standardUpstream, servers: 200, slowTail: { probability: 0.05, latency: 3_000 } },
  workload: { clients: 100, duration: 30_000, rate: 500, attemptTimeout: 1_000 }
}

/** @internal */
export const rateLimitStorm: Simulator.Scenario = {
  name: "429 storm with Retry-After",
  description: "Half of capacity offered; from 10 s to 25 s the upstream admits 200 requests a second and answers " +
    "the rest 429 with Retry-After: 2 s.",
  upstream: {
    ...standardUpstream,
    rateLimit: { window: { start: 10_000, end: 25_000 }, perSecond: 200, retryAfter: 2_000 }
  },
  workload: { clients: 100, duration: 40_000, rate: 500, attemptTimeout: 1_000 },
  disruption: { start: 10_000, end: 25_000 }
}

/** @internal */
export const contention: Simulator.Scenario = {
  name: "contention",
  description: "1,000 clients call at the same instant an upstream with 20 servers and no queue: whoever does not " +
    "get a server is refused and retries (the AWS jitter experiment).",
  upstream: { servers: 20, queueCapacity: 0, latency: { median: 10, sigma: 0.1 } },
  workload: { clients: 1_000, duration: 1, rate: 0, burst: 1_000, attemptTimeout: Number.POSITIVE_INFINITY },
  drain: 600_000
}

/** @internal */
export const scenarios = { randomErrors, outage, retryStorm, slowTail, rateLimitStorm, contention }

/** @internal */
export const policies = { noRetry, naiveLoop, urllib3, sturdy: sturdy() }

/** @internal */
export const format = (report: Simulator.Report): string => {
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`
  const health = sparkline(
    report.timeline.map((bucket) => bucket.offered === 0 ? 1 : Math.min(1, bucket.succeeded / bucket.offered)),
    { max: 1 }
  )
  return [
    `${report.scenario} / ${report.policy} (seed ${report.seed})`,
    `  success ${percent(report.successRate)}, goodput ${report.goodput.toFixed(1)}/s, ` +
    `amplification ${report.amplification.toFixed(2)}x, wasted ${report.wastedWork}`,
    `  latency p50 ${report.latency.p50.toFixed(0)}ms, p99 ${report.latency.p99.toFixed(0)}ms, ` +
    `recovery ${report.recoveryTime === undefined ? "n/a" : `${report.recoveryTime}ms`}`,
    `  health ${health}`
  ].join("\n")
}
