/**
 * The median of `values` (NaN for none).
 */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/**
 * `items` in an order drawn from `seed` (a Fisher–Yates shuffle on mulberry32), the same for the same seed. A
 * rotation keeps every contender behind the same neighbour in every round, so whatever one contender leaves behind
 * (a collector's debt, sockets closing) would always land on the same next one; a shuffled order spreads it.
 */
export const shuffled = <A>(items: ReadonlyArray<A>, seed: number): Array<A> => {
  let state = (seed + 0x6d2b79f5) >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const order = [...items]
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    const swap = order[i]!
    order[i] = order[j]!
    order[j] = swap
  }
  return order
}
