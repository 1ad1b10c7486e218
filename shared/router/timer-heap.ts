/**
 * A min-heap of timers, each a handle that knows its place in the heap, so a
 * timer can be moved or cancelled in O(log n) instead of left behind as a dead
 * entry: the heap never holds more timers than there are backends.
 */
export interface Timer<T> {
  readonly owner: T
  at: number
  /** Position in the heap's array; -1 while not scheduled. */
  slot: number
}

export function newTimer<T>(owner: T): Timer<T> {
  return { owner, at: 0, slot: -1 }
}

export class TimerHeap<T> {
  readonly #heap: Timer<T>[] = []

  get size(): number {
    return this.#heap.length
  }

  /** The earliest scheduled timer, if any. */
  peek(): Timer<T> | undefined {
    return this.#heap[0]
  }

  /** Schedules the timer at `at`, moving it if it was already scheduled. */
  schedule(timer: Timer<T>, at: number): void {
    if (timer.slot < 0) {
      timer.at = at
      timer.slot = this.#heap.length
      this.#heap.push(timer)
      this.#up(timer.slot)
      return
    }
    if (at === timer.at) return
    const earlier = at < timer.at
    timer.at = at
    if (earlier) this.#up(timer.slot)
    else this.#down(timer.slot)
  }

  cancel(timer: Timer<T>): void {
    const slot = timer.slot
    if (slot < 0) return
    timer.slot = -1
    const last = this.#heap.pop()
    if (!last || last === timer) return
    this.#heap[slot] = last
    last.slot = slot
    this.#up(slot)
    this.#down(last.slot)
  }

  #up(slot: number): void {
    const heap = this.#heap
    const timer = heap[slot]
    if (!timer) return
    let i = slot
    while (i > 0) {
      const parentSlot = (i - 1) >> 1
      const parent = heap[parentSlot]
      if (!parent || parent.at <= timer.at) break
      heap[i] = parent
      parent.slot = i
      i = parentSlot
    }
    heap[i] = timer
    timer.slot = i
  }

  #down(slot: number): void {
    const heap = this.#heap
    const timer = heap[slot]
    if (!timer) return
    let i = slot
    for (;;) {
      const left = 2 * i + 1
      if (left >= heap.length) break
      const right = left + 1
      const leftTimer = heap[left]
      const rightTimer = heap[right]
      const child = rightTimer && leftTimer && rightTimer.at < leftTimer.at ? right : left
      const childTimer = heap[child]
      if (!childTimer || childTimer.at >= timer.at) break
      heap[i] = childTimer
      childTimer.slot = i
      i = child
    }
    heap[i] = timer
    timer.slot = i
  }
}
