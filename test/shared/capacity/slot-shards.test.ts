import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  leaseShard,
  planShardCaps,
  SLOTS_PER_SHARD,
  type SlotShard,
  shardCaps,
  shardLeaseId,
  shardsToTry,
} from '../../../shared/capacity/slot-shards.ts'

const sum = (values: readonly number[]) => values.reduce((total, n) => total + n, 0)

describe('Function: shardCaps', () => {
  it('spreads any maximum over as few shards as hold it, none above 16', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5_000 }), (max) => {
        const caps = shardCaps(max)
        expect(sum(caps)).toBe(max)
        expect(caps.length).toBe(Math.max(1, Math.ceil(max / SLOTS_PER_SHARD)))
        expect(Math.max(...caps) - Math.min(...caps)).toBeLessThanOrEqual(1)
        expect(Math.max(...caps)).toBeLessThanOrEqual(SLOTS_PER_SHARD)
      }),
    )
  })
})

describe('Function: leaseShard', () => {
  it('reads back the shard a lease id names, and nothing from an id without one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999 }), fc.string(), (index, id) => {
        expect(leaseShard(shardLeaseId(index, id))).toBe(index)
      }),
    )
    expect(leaseShard('k2x9abc')).toBeUndefined()
    expect(leaseShard('.abc')).toBeUndefined()
    expect(leaseShard('x.abc')).toBeUndefined()
  })
})

describe('Function: planShardCaps', () => {
  const leaseCounts = fc.array(fc.integer({ min: 0, max: 24 }), { minLength: 1, maxLength: 20 })

  it('settles at the new maximum and never takes away a slot that is held', () => {
    fc.assert(
      fc.property(leaseCounts, fc.integer({ min: 0, max: 400 }), (leases, max) => {
        const plan = planShardCaps({ leases, maxConcurrency: max })
        expect(plan.length).toBe(Math.max(leases.length, shardCaps(max).length))
        // Once every debt is paid the caps are exactly the maximum.
        expect(sum(plan.map((p) => p.cap - p.debt))).toBe(max)
        for (const [i, p] of plan.entries()) {
          expect(p.cap).toBeGreaterThanOrEqual(leases[i] ?? 0)
          expect(p.debt).toBeGreaterThanOrEqual(0)
          expect(p.debt).toBeLessThanOrEqual(leases[i] ?? 0)
        }
      }),
    )
  })

  it('leaves no room anywhere while more is held than the new maximum, and owes nothing otherwise', () => {
    fc.assert(
      fc.property(leaseCounts, fc.integer({ min: 0, max: 400 }), (leases, max) => {
        const plan = planShardCaps({ leases, maxConcurrency: max })
        if (sum(leases) > max) {
          expect(plan.map((p) => p.cap)).toEqual(plan.map((_, i) => leases[i] ?? 0))
        } else {
          expect(plan.every((p) => p.debt === 0)).toBe(true)
        }
      }),
    )
  })
})

describe('Function: shardsToTry', () => {
  const shard = (index: number, cap: number, live: number, extra: Partial<SlotShard> = {}): SlotShard => ({
    index,
    cap,
    state: 'active',
    debt: 0,
    leases: Object.fromEntries(Array.from({ length: live }, (_, i) => [`${index}.l${i}`, 100])),
    ...extra,
  })

  it('offers only active shards with a free slot, none twice, up to the limit', () => {
    const shards = [
      shard(0, 4, 4),
      shard(1, 4, 1),
      shard(2, 4, 0, { state: 'draining' }),
      shard(3, 4, 0, { full: true }),
      shard(4, 4, 2),
      shard(5, 4, 2, { debt: 2 }),
    ]

    const tried = shardsToTry(shards, { now: 50, limit: 5, random: () => 0.5 })

    expect(tried.map((s) => s.index).sort()).toEqual([1, 4])
  })

  it('draws in proportion to free slots', () => {
    const shards = [shard(0, 16, 15), shard(1, 16, 0)]
    let firstIsEmpty = 0
    for (let i = 0; i < 1_000; i++) {
      const r = (i + 0.5) / 1_000
      if (shardsToTry(shards, { now: 50, limit: 1, random: () => r })[0]?.index === 1) firstIsEmpty++
    }
    expect(firstIsEmpty).toBe(941)
  })
})
