/**
 * A node of a {@link LinkedQueue}: the queue links it through these two fields.
 * @internal
 */
export interface Linked<T> {
  prev: T | undefined
  next: T | undefined
}

/**
 * A first-in-first-out queue linked through its nodes, so that a node leaves from wherever it stands in O(1) (a
 * waiter interrupted, or out of time, in the middle of a long queue), where an array would look for it and move the
 * rest. Whether a node is in the queue is for its owner to know.
 * @internal
 */
export class LinkedQueue<T extends Linked<T>> {
  first: T | undefined = undefined
  last: T | undefined = undefined

  push(node: T): void {
    node.prev = this.last
    if (this.last === undefined) this.first = node
    else this.last.next = node
    this.last = node
  }

  unlink(node: T): void {
    const { next, prev } = node
    if (prev === undefined) this.first = next
    else prev.next = next
    if (next === undefined) this.last = prev
    else next.prev = prev
    node.prev = undefined
    node.next = undefined
  }
}
