import type * as Effect from "effect/Effect"

/**
 * A breaker's state as the fleet shares it: `Open` until `until`, or `Closed`, decided at `at` (Clock ms), with the
 * order `seq` its writer gave it (see `CircuitBreakerStore.Record`). The store decides which record is the newer; a
 * breaker applies the record the store holds when it is not the one it last applied or published.
 * @internal
 */
export interface SharedRecord {
  readonly state: "Open" | "Closed"
  readonly at: number
  readonly until: number
  readonly seq?: number | undefined
}

/**
 * The narrow hook through which a breaker shares its state (see `CircuitBreakerStore`). Every member but
 * `acquireProbe` is synchronous and never waits on the store.
 * @internal
 */
export interface BreakerSync {
  /**
   * The record the store holds for `key` as last read, or this process's own since sent (a cache refreshed off the
   * call path; the same object until the store holds another record); marks the key as in use.
   */
  readonly latest: (key: string) => SharedRecord | undefined
  /**
   * Shares a transition this breaker made itself; answers the record as sent (with its `seq`), which `latest` hands
   * back until the store holds another.
   */
  readonly publish: (key: string, record: SharedRecord) => SharedRecord
  /**
   * Takes one of the fleet's half-open probe slots (bounded wait): its token, `false` when every slot is taken, or
   * `undefined` when the store cannot answer (the breaker's local limit decides alone; there is no slot to give back).
   * The slots named by `letGo` (probes this process let go of) are given back first, in the same wait.
   */
  readonly acquireProbe: (
    key: string,
    limit: number,
    letGo: ReadonlyArray<string>
  ) => Effect.Effect<string | false | undefined>
  /** Gives back exactly the slot `token` names (nothing if its lease ran out or a transition freed it). */
  readonly releaseProbe: (key: string, token: string) => void
}
