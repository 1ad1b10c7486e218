/**
 * Power of two choices, weighted by free slots: draw two distinct candidates with
 * probability proportional to their free slots and keep the one with more room.
 * Many stateless gateways with a slightly stale snapshot then spread their
 * writes instead of all racing for the emptiest backend.
 */
export interface Candidate {
  readonly id: string
  readonly free: number
}

export function pickBackend<T extends Candidate>(
  candidates: readonly T[],
  random: () => number,
): T | undefined {
  const open = candidates.filter((c) => c.free > 0)
  if (open.length <= 1) return open[0]
  const first = weightedDraw(open, random, undefined)
  const second = weightedDraw(open, random, first)
  if (!first || !second) return first ?? second
  if (second.free !== first.free) return second.free > first.free ? second : first
  return first
}

function weightedDraw<T extends Candidate>(
  items: readonly T[],
  random: () => number,
  exclude: T | undefined,
): T | undefined {
  let total = 0
  for (const item of items) if (item !== exclude) total += item.free
  let target = random() * total
  let last: T | undefined
  for (const item of items) {
    if (item === exclude) continue
    last = item
    target -= item.free
    if (target < 0) return item
  }
  return last
}
