/**
 * Power of two choices, weighted by free slots: draw two distinct candidates with
 * probability proportional to their free slots and keep the one with more room
 * (the first on a tie). Many stateless gateways with a slightly stale snapshot
 * then spread their writes instead of all racing for the emptiest backend.
 */

/** A weighted set the draw can skip candidates in, e.g. a tier's indexed candidates. */
export interface WeightedCandidates<T> {
  /** Candidates with free slots, less the skipped ones. */
  readonly open: number
  /** Their free slots, summed. */
  readonly total: number
  /** The candidate holding the `target`-th free slot, in a fixed order (0 ≤ target < total). */
  at(target: number): T
  weight(candidate: T): number
  skip(candidate: T): void
  unskip(candidate: T): void
}

/**
 * `allows` is checked only on drawn candidates (this process's circuit breakers
 * are too costly to ask about every backend): a refused one is skipped and the
 * draw repeated, which leaves the others' odds exactly proportional to their free
 * slots. A refused candidate stays skipped in `candidates`.
 */
export function pickBackend<T>(
  candidates: WeightedCandidates<T>,
  random: () => number,
  allows: (candidate: T) => boolean = () => true,
): T | undefined {
  for (;;) {
    const open = candidates.open
    if (open === 0) return undefined
    if (open === 1) {
      const only = candidates.at(0)
      if (allows(only)) return only
      candidates.skip(only)
      continue
    }
    const first = candidates.at(random() * candidates.total)
    if (!allows(first)) {
      candidates.skip(first)
      continue
    }
    candidates.skip(first)
    const second = drawAllowed(candidates, random, allows)
    candidates.unskip(first)
    if (!second) return first
    return candidates.weight(second) > candidates.weight(first) ? second : first
  }
}

function drawAllowed<T>(
  candidates: WeightedCandidates<T>,
  random: () => number,
  allows: (candidate: T) => boolean,
): T | undefined {
  while (candidates.open > 0) {
    const drawn = candidates.at(random() * candidates.total)
    if (allows(drawn)) return drawn
    candidates.skip(drawn)
  }
  return undefined
}
