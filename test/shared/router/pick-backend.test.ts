import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Candidate, pickBackend } from '../../../shared/router/pick-backend.ts'

/** A small seeded PRNG (mulberry32), so the distribution check is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** Replays the given numbers in a loop: fast-check decides every random draw. */
function replay(values: readonly number[]): () => number {
  let i = 0
  return () => values[i++ % values.length] ?? 0
}

const candidatesArb = fc
  .uniqueArray(fc.record({ id: fc.string({ minLength: 1, maxLength: 4 }), free: fc.nat({ max: 8 }) }), {
    selector: (c) => c.id,
    maxLength: 8,
  })
  .map((list) => list as Candidate[])
const randomArb = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
  minLength: 1,
  maxLength: 4,
})

/**
 * The exact probability of each pick under weighted power of two choices: the
 * first draw ∝ free, the second ∝ free among the rest, the roomier one wins
 * (the first on a tie).
 */
function expectedShares(candidates: readonly Candidate[]): Map<string, number> {
  const open = candidates.filter((c) => c.free > 0)
  const total = open.reduce((sum, c) => sum + c.free, 0)
  const shares = new Map(candidates.map((c) => [c.id, 0]))
  for (const first of open) {
    for (const second of open) {
      if (second === first) continue
      const p = (first.free / total) * (second.free / (total - first.free))
      const winner = second.free > first.free ? second : first
      shares.set(winner.id, (shares.get(winner.id) ?? 0) + p)
    }
  }
  return shares
}

describe('Function: pickBackend', () => {
  it('never picks a full candidate, and finds one whenever one is open', () => {
    fc.assert(
      fc.property(candidatesArb, randomArb, (candidates, randoms) => {
        // Act
        const picked = pickBackend(candidates, replay(randoms))

        // Assess
        if (candidates.some((c) => c.free > 0)) {
          expect(picked).toBeDefined()
          expect(candidates).toContain(picked)
          expect(picked?.free).toBeGreaterThan(0)
        } else {
          expect(picked).toBeUndefined()
        }
      }),
    )
  })

  it('picks the only open candidate whatever the random draws', () => {
    fc.assert(
      fc.property(fc.nat({ max: 5 }), fc.nat({ max: 5 }), randomArb, (fullBefore, fullAfter, randoms) => {
        // Prepare
        const open = { id: 'open', free: 3 }
        const full = (n: number, side: string) =>
          Array.from({ length: n }, (_, i) => ({ id: `${side}${i}`, free: 0 }))
        const candidates = [...full(fullBefore, 'a'), open, ...full(fullAfter, 'b')]

        // Act
        const picked = pickBackend(candidates, replay(randoms))

        // Assess
        expect(picked).toBe(open)
      }),
    )
  })

  it('returns nothing for an empty list', () => {
    expect(pickBackend([], Math.random)).toBeUndefined()
  })

  it('keeps the roomier of the two drawn candidates, in either draw order', () => {
    // Prepare: free 1 and 3, total 4. A draw of 0.1 lands on `small`, 0.9 on `big`.
    const small = { id: 'small', free: 1 }
    const big = { id: 'big', free: 3 }

    // Act
    const smallDrawnFirst = pickBackend([small, big], replay([0.1, 0.5]))
    const bigDrawnFirst = pickBackend([small, big], replay([0.9, 0.5]))

    // Assess
    expect(smallDrawnFirst).toBe(big)
    expect(bigDrawnFirst).toBe(big)
  })

  it('never picks the candidate with strictly the least room when two or more are open', () => {
    fc.assert(
      fc.property(candidatesArb, randomArb, (candidates, randoms) => {
        // Prepare
        const open = candidates.filter((c) => c.free > 0)
        fc.pre(open.length >= 2)
        const least = Math.min(...open.map((c) => c.free))
        const atLeast = open.filter((c) => c.free === least)

        // Act
        const picked = pickBackend(candidates, replay(randoms))

        // Assess: the other draw is a distinct open candidate, so a unique minimum always loses.
        if (atLeast.length === 1) expect(picked).not.toBe(atLeast[0])
      }),
    )
  })

  it('spreads picks in proportion to free slots, favouring the roomier backends', () => {
    // Prepare
    const candidates = [
      { id: 'full', free: 0 },
      { id: 'one', free: 1 },
      { id: 'two', free: 2 },
      { id: 'three', free: 3 },
      { id: 'four', free: 4 },
    ]
    const random = seeded(42)
    const draws = 20_000
    const counts = new Map<string, number>()

    // Act
    for (let i = 0; i < draws; i++) {
      const picked = pickBackend(candidates, random)
      if (picked) counts.set(picked.id, (counts.get(picked.id) ?? 0) + 1)
    }

    // Assess
    const expected = expectedShares(candidates)
    for (const c of candidates) {
      expect((counts.get(c.id) ?? 0) / draws).toBeCloseTo(expected.get(c.id) ?? 0, 1)
    }
    const observed = candidates.map((c) => counts.get(c.id) ?? 0)
    expect(observed[0]).toBe(0)
    // More room, more picks: strictly increasing with free slots.
    for (let i = 2; i < observed.length; i++) expect(observed[i]).toBeGreaterThan(observed[i - 1] ?? 0)
  })
})
