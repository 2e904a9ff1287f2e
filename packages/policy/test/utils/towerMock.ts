/**
 * tower-test's `mock::pair()` as the tower ports (`peer-tower-*.test.ts`) use it: `call(req)` is the mock service, a
 * request that waits until the test answers it; `assertRequestEq(req)` takes the oldest request not yet taken, checks
 * it is `req` (tower's `assert_request_eq!(handle, req)`) and answers it with `sendResponse` or `sendError`, letting
 * the caller see the answer before it returns. `requests` lists every request that reached the mock, in order.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

interface Pending<Req, Res, E> {
  readonly req: Req
  readonly reply: Deferred.Deferred<Res, E>
}

/** Lets the fibers woken by an answer (the caller, a queued call) run to their next wait. */
export const settle = Effect.repeatN(Effect.yieldNow(), 20)

export const mockPair = <Req, Res, E = never>() => {
  const requests: Array<Req> = []
  const queue: Array<Pending<Req, Res, E>> = []
  const call = (req: Req): Effect.Effect<Res, E> =>
    Effect.flatMap(Deferred.make<Res, E>(), (reply) => {
      requests.push(req)
      queue.push({ req, reply })
      return Deferred.await(reply)
    })
  const answer = (pending: Pending<Req, Res, E>, exit: Exit.Exit<Res, E>) =>
    Effect.zipRight(Deferred.done(pending.reply, exit), settle)
  return {
    call,
    requests,
    /** requests that reached the mock and were not taken yet (tower's `handle.poll_request()` is ready when > 0) */
    waiting: () => queue.length,
    assertRequestEq: (req: Req) => {
      const pending = queue.shift()
      if (pending === undefined) throw new Error(`expected request ${String(req)}, none is waiting`)
      if (pending.req !== req) throw new Error(`expected request ${String(req)}, got ${String(pending.req)}`)
      return {
        sendResponse: (res: Res) => answer(pending, Exit.succeed(res)),
        sendError: (error: E) => answer(pending, Exit.fail(error))
      }
    }
  }
}
