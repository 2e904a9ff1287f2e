import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Scheduler from "effect/Scheduler"

/** @internal */
export interface Timer {
  readonly time: number
  readonly sequence: number
  callback: (() => void) | undefined
}

/**
 * A discrete-event loop for Effect fibers: a binary heap of timers in virtual time, and a task queue that replaces
 * Effect's scheduler so that "every fiber is suspended" is simply "the task queue is empty".
 *
 * @internal
 */
export class VirtualTime {
  now = 0
  private sequence = 0
  private readonly heap: Array<Timer> = []
  private tasks: Array<Scheduler.Task> = []

  readonly scheduler: Scheduler.Scheduler = {
    // Fibers are never pre-empted: the simulation is cooperative and every fiber suspends on a virtual sleep.
    shouldYield: () => false,
    scheduleTask: (task) => {
      this.tasks.push(task)
    }
  }

  readonly clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => this.now,
    currentTimeMillis: Effect.sync(() => this.now),
    unsafeCurrentTimeNanos: () => BigInt(Math.round(this.now * 1_000_000)),
    currentTimeNanos: Effect.sync(() => BigInt(Math.round(this.now * 1_000_000))),
    sleep: (duration) => this.sleep(Duration.toMillis(duration))
  }

  at(time: number, callback: () => void): Timer {
    const timer: Timer = { time, sequence: this.sequence++, callback }
    const heap = this.heap
    let index = heap.length
    heap.push(timer)
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (!before(timer, heap[parent])) break
      heap[index] = heap[parent]
      index = parent
    }
    heap[index] = timer
    return timer
  }

  sleep(millis: number): Effect.Effect<void> {
    if (!(millis > 0)) return Effect.yieldNow()
    if (!Number.isFinite(millis)) return Effect.never
    return Effect.async<void>((resume) => {
      const timer = this.at(this.now + millis, () => resume(Effect.void))
      return Effect.sync(() => {
        timer.callback = undefined
      })
    })
  }

  private pop(): Timer | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    let index = 0
    const length = heap.length
    while (true) {
      const left = 2 * index + 1
      if (left >= length) break
      const right = left + 1
      const child = right < length && before(heap[right], heap[left]) ? right : left
      if (!before(heap[child], last)) break
      heap[index] = heap[child]
      index = child
    }
    heap[index] = last
    return top
  }

  private drainTasks(): void {
    // Tasks scheduled while draining are appended and run in the same pass.
    let tasks = this.tasks
    while (tasks.length > 0) {
      this.tasks = []
      for (let index = 0; index < tasks.length; index++) tasks[index]()
      tasks = this.tasks
    }
  }

  /** Runs until `fiber` has exited, or until no timer is left (then the fiber is stuck forever). */
  runUntilDone<A, E>(fiber: Fiber.RuntimeFiber<A, E>, until: number): void {
    this.runFor(fiber, until, Number.POSITIVE_INFINITY)
  }

  /**
   * Fires at most `timers` timers; `true` when the run is over (`fiber` has exited, or no timer is left before
   * `until`), `false` when more is left for the next slice.
   */
  runFor<A, E>(fiber: Fiber.RuntimeFiber<A, E>, until: number, timers: number): boolean {
    let fired = 0
    while (fired < timers) {
      this.drainTasks()
      if (fiber.unsafePoll() !== null) return true
      const timer = this.pop()
      if (timer === undefined || timer.time > until) return true
      const callback = timer.callback
      if (callback === undefined) continue
      timer.callback = undefined
      if (timer.time > this.now) this.now = timer.time
      callback()
      fired++
    }
    return false
  }
}

const before = (left: Timer, right: Timer): boolean =>
  left.time < right.time || (left.time === right.time && left.sequence < right.sequence)
