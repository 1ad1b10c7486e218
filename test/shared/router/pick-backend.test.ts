import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { pickBackend } from '../../../shared/router/pick-backend.ts'
import { TierCandidates, type TierDraw } from '../../../shared/router/tier-candidates.ts'
import { backendWithFree, replay, seeded } from './fleet-fixtures.ts'

const NOW = Date.UTC(2026, 0, 1)
const TIER = { hardware: ['h20'], model: 'm' }

interface Candidate {
  readonly id: string
  readonly free: number
}

/** The candidates as the router sees them: a tier index over backends with those free slots. */
function drawOver(candidates: readonly Candidate[]): TierDraw {
  const backends = candidates.map((c) => backendWithFree(c.id, c.free, { now: NOW }))
  return new TierCandidates({ tier: TIER, backends, markedFull: new Set(), now: NOW, staleBefore: 0 }).draw()
}

function pickId(candidates: readonly Candidate[], random: () => number, allows?: (id: string) => boolean) {
  return pickBackend(drawOver(candidates), random, allows && ((m) => allows(m.id)))?.id
}

const candidatesArb = fc.uniqueArray(
  fc.record({ id: fc.string({ minLength: 1, maxLength: 4 }), free: fc.nat({ max: 8 }) }),
  { selector: (c) => c.id, maxLength: 8 },
)
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
  if (open.length === 1 && open[0]) shares.set(open[0].id, 1)
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

function pickCounts(draws: number, pick: () => string | undefined): Map<string, number> {
  const counts = new Map<string, number>()
  for (let i = 0; i < draws; i++) {
    const id = pick()
    if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1)
  }
  return counts
}

describe('Function: pickBackend', () => {
  it('never picks a full candidate, and finds one whenever one is open', () => {
    fc.assert(
      fc.property(candidatesArb, randomArb, (candidates, randoms) => {
        // Act
        const picked = pickId(candidates, replay(randoms))

        // Assess
        if (candidates.some((c) => c.free > 0)) {
          expect(candidates.find((c) => c.id === picked)?.free).toBeGreaterThan(0)
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
        const full = (n: number, side: string) =>
          Array.from({ length: n }, (_, i) => ({ id: `${side}${i}`, free: 0 }))
        const candidates = [...full(fullBefore, 'a'), { id: 'open', free: 3 }, ...full(fullAfter, 'b')]

        // Act
        const picked = pickId(candidates, replay(randoms))

        // Assess
        expect(picked).toBe('open')
      }),
    )
  })

  it('returns nothing for an empty tier', () => {
    expect(pickId([], Math.random)).toBeUndefined()
  })

  it('keeps the roomier of the two drawn candidates, in either draw order', () => {
    // Prepare: free 1 and 3, total 4. A draw of 0.1 lands on `small`, 0.9 on `big`.
    const candidates = [
      { id: 'small', free: 1 },
      { id: 'big', free: 3 },
    ]

    // Act
    const smallDrawnFirst = pickId(candidates, replay([0.1, 0.5]))
    const bigDrawnFirst = pickId(candidates, replay([0.9, 0.5]))

    // Assess
    expect(smallDrawnFirst).toBe('big')
    expect(bigDrawnFirst).toBe('big')
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
        const picked = pickId(candidates, replay(randoms))

        // Assess: the other draw is a distinct open candidate, so a unique minimum always loses.
        if (atLeast.length === 1) expect(picked).not.toBe(atLeast[0]?.id)
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

    // Act
    const counts = pickCounts(draws, () => pickId(candidates, random))

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

  it('never picks a refused candidate, and spreads picks over the others as if the refused were absent', () => {
    // Prepare: the roomiest two are refused (circuit open in this process), found out only when drawn.
    const candidates = [
      { id: 'one', free: 1 },
      { id: 'refused-8', free: 8 },
      { id: 'two', free: 2 },
      { id: 'three', free: 3 },
      { id: 'refused-6', free: 6 },
      { id: 'four', free: 4 },
    ]
    const allows = (id: string) => !id.startsWith('refused')
    const random = seeded(7)
    const draws = 20_000

    // Act
    const counts = pickCounts(draws, () => pickId(candidates, random, allows))

    // Assess
    const expected = expectedShares(candidates.filter((c) => allows(c.id)))
    expect(counts.get('refused-8') ?? 0).toBe(0)
    expect(counts.get('refused-6') ?? 0).toBe(0)
    for (const c of candidates.filter((c) => allows(c.id))) {
      expect((counts.get(c.id) ?? 0) / draws).toBeCloseTo(expected.get(c.id) ?? 0, 1)
    }
  })

  it('finds nothing when every open candidate is refused', () => {
    fc.assert(
      fc.property(candidatesArb, randomArb, (candidates, randoms) => {
        expect(pickId(candidates, replay(randoms), () => false)).toBeUndefined()
      }),
    )
  })
})
