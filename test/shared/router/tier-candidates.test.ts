import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type BackendRecord,
  circuitOpenForAll,
  freeSlots,
  isInRotation,
} from '../../../shared/backends/backend-record.ts'
import { CapacityView } from '../../../shared/router/capacity-view.ts'
import { TierCandidates } from '../../../shared/router/tier-candidates.ts'
import { backendWithFree } from './fleet-fixtures.ts'

const NOW = Date.UTC(2026, 0, 1)
const TIER = { hardware: ['h20'], model: 'm' }

function tierOf(backends: readonly BackendRecord[], staleBefore = 0): TierCandidates {
  return new TierCandidates({ tier: TIER, backends, markedFull: new Set(), now: NOW, staleBefore })
}

describe('Class: TierCandidates', () => {
  describe('Method: advanceTo', () => {
    it('keeps a lease expiring exactly now holding its slot, and frees it one millisecond later', () => {
      // Prepare
      const backend = { ...backendWithFree('a', 8, { now: NOW }), leases: { l1: NOW + 100, l2: NOW + 200 } }
      const tier = tierOf([backend])

      // Act & Assess
      tier.advanceTo(NOW + 100, 0)
      expect(tier.total).toBe(6)
      tier.advanceTo(NOW + 101, 0)
      expect(tier.total).toBe(7)
      tier.advanceTo(NOW + 201, 0)
      expect(tier.total).toBe(8)
    })

    it('keeps a heartbeat exactly at the staleness bound in rotation, and takes it out just after', () => {
      // Prepare
      const backend = backendWithFree('a', 2, { now: NOW })
      const tier = tierOf([backend], NOW - 1)

      // Act & Assess
      tier.advanceTo(NOW, NOW)
      expect([tier.open, tier.eligibleSlots]).toEqual([1, 8])
      tier.advanceTo(NOW + 1, NOW + 1)
      expect([tier.open, tier.total, tier.eligibleSlots]).toEqual([0, 0, 0])
    })

    it('brings a backend back the moment a circuit opened for everyone ends', () => {
      // Prepare
      const backend = { ...backendWithFree('a', 2, { now: NOW }), circuitOpenUntil: NOW + 50 }
      const tier = tierOf([backend])

      // Act & Assess
      expect(tier.member('a')?.eligible).toBe(false)
      tier.advanceTo(NOW + 49, 0)
      expect(tier.total).toBe(0)
      tier.advanceTo(NOW + 50, 0)
      expect([tier.total, tier.eligibleSlots]).toEqual([2, 8])
    })

    it('never moves back in time: an older clock reading sees the newest state', () => {
      // Prepare
      const backend = { ...backendWithFree('a', 8, { now: NOW }), leases: { l1: NOW + 100 } }
      const tier = tierOf([backend])
      tier.advanceTo(NOW + 101, 0)

      // Act
      tier.advanceTo(NOW, 0)

      // Assess
      expect(tier.total).toBe(8)
    })

    it('agrees with the record helpers for every backend at every instant, over random fleets and updates', () => {
      const backendArb = fc.record({
        free: fc.nat({ max: 4 }),
        draining: fc.boolean(),
        heartbeatAt: fc.integer({ min: -3_000, max: 0 }),
        circuitOpenUntil: fc.option(fc.integer({ min: -500, max: 2_000 })),
        leases: fc.array(fc.integer({ min: -500, max: 3_000 }), { maxLength: 6 }),
      })
      const stepArb = fc.record({
        advanceMs: fc.nat({ max: 600 }),
        update: fc.option(fc.record({ backend: fc.nat(), spec: backendArb })),
        markFull: fc.option(fc.nat()),
      })
      const toRecord = (
        spec: typeof backendArb extends fc.Arbitrary<infer T> ? T : never,
        i: number,
        at: number,
      ) => ({
        ...backendWithFree(`b${i}`, spec.free, { now: at, maxConcurrency: 4 }),
        state: spec.draining ? ('draining' as const) : ('active' as const),
        heartbeatAt: at + spec.heartbeatAt,
        leases: Object.fromEntries(spec.leases.map((e, l) => [`l${l}`, at + e])),
        ...(spec.circuitOpenUntil === null ? {} : { circuitOpenUntil: at + spec.circuitOpenUntil }),
      })
      fc.assert(
        fc.property(
          fc.array(backendArb, { minLength: 1, maxLength: 10 }),
          fc.array(stepArb),
          (specs, steps) => {
            // Prepare
            const staleMs = 2_000
            let now = NOW
            const records = specs.map((spec, i) => toRecord(spec, i, NOW))
            const marked = new Set<string>()
            const tier = tierOf(records, now - staleMs)

            for (const step of steps) {
              // Act
              now += step.advanceMs
              tier.advanceTo(now, now - staleMs)
              if (step.update) {
                const i = step.update.backend % records.length
                records[i] = toRecord(step.update.spec, i, now)
                tier.update(records[i]!)
                marked.delete(records[i]!.id)
              }
              if (step.markFull !== null) {
                const id = `b${step.markFull % records.length}`
                tier.markFull(id)
                marked.add(id)
              }

              // Assess: each member as the straightforward checks see it, and the sums over them.
              let open = 0
              let total = 0
              let eligibleCount = 0
              let eligibleSlots = 0
              for (const record of records) {
                const eligible = isInRotation(record, now - staleMs) && !circuitOpenForAll(record, now)
                const weight = eligible && !marked.has(record.id) ? freeSlots(record, now) : 0
                expect({
                  id: record.id,
                  eligible: tier.member(record.id)?.eligible,
                  weight: tier.member(record.id)?.weight,
                }).toEqual({
                  id: record.id,
                  eligible,
                  weight,
                })
                if (weight > 0) open++
                total += weight
                if (eligible) eligibleCount++
                if (eligible) eligibleSlots += record.maxConcurrency
              }
              expect({
                open: tier.open,
                total: tier.total,
                eligible: tier.eligible,
                eligibleSlots: tier.eligibleSlots,
              }).toEqual({ open, total, eligible: eligibleCount, eligibleSlots })
            }
          },
        ),
        { numRuns: 300 },
      )
    })
  })

  describe('Method: draw', () => {
    it('lands where a scan over the unskipped members would, for every target', () => {
      fc.assert(
        fc.property(
          fc.array(fc.record({ free: fc.nat({ max: 8 }), skipped: fc.boolean() }), {
            minLength: 1,
            maxLength: 12,
          }),
          fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
          (specs, r) => {
            // Prepare
            const tier = tierOf(specs.map((s, i) => backendWithFree(`b${i}`, s.free, { now: NOW })))
            const draw = tier.draw()
            for (const [i, s] of specs.entries()) if (s.skipped) draw.skipId(`b${i}`)
            const kept = specs.flatMap((s, i) => (s.skipped ? [] : [{ id: `b${i}`, free: s.free }]))
            const total = kept.reduce((sum, k) => sum + k.free, 0)
            fc.pre(total > 0)

            // Act
            const landed = draw.at(r * draw.total).id

            // Assess
            let target = r * total
            const scanned = kept.find((k) => {
              target -= k.free
              return target < 0
            })
            expect(draw.total).toBe(total)
            expect(draw.open).toBe(kept.filter((k) => k.free > 0).length)
            expect(landed).toBe(scanned?.id)
          },
        ),
      )
    })
  })
})

describe('Class: CapacityView', () => {
  describe('Method: update', () => {
    it("moves a backend into and out of a tier's candidates as its models change, in the view's order", async () => {
      // Prepare
      const a = { ...backendWithFree('a', 3, { now: NOW }), models: ['m', 'lonely'] }
      const b = backendWithFree('b', 2, { now: NOW })
      const view = new CapacityView({ store: { snapshot: async () => [a, b] } as never, maxAgeMs: 60_000 })
      await view.refresh(NOW)
      const lonely = { hardware: ['h20'], model: 'lonely' }
      expect(view.candidates(lonely, NOW, 0).members.map((m) => m.id)).toEqual(['a'])

      // Act
      view.update({ ...a, models: ['m'] })
      const afterLeave = view.candidates(lonely, NOW, 0)
      view.update({ ...b, models: ['m', 'lonely'] })
      view.update({ ...a, models: ['m', 'lonely'] })
      const afterJoin = view.candidates(lonely, NOW, 0)

      // Assess
      expect([afterLeave.members.length, afterLeave.open]).toEqual([0, 0])
      expect(afterJoin.members.map((m) => m.id)).toEqual(['a', 'b'])
      expect(afterJoin.total).toBe(5)
    })
  })

  describe('Method: refresh', () => {
    it('keeps the tier index across reads, re-evaluating changed items, and drops backends gone from the read', async () => {
      // Prepare
      let snapshot = [backendWithFree('a', 3, { now: NOW }), backendWithFree('b', 2, { now: NOW })]
      const view = new CapacityView({ store: { snapshot: async () => snapshot } as never, maxAgeMs: 60_000 })
      await view.refresh(NOW)
      const before = view.candidates(TIER, NOW, 0)
      view.markFull('a')

      // Act
      snapshot = [snapshot[0]!, backendWithFree('b', 5, { now: NOW })]
      await view.refresh(NOW)
      const reread = view.candidates(TIER, NOW, 0)
      snapshot = [snapshot[0]!]
      await view.refresh(NOW)
      const shrunk = view.candidates(TIER, NOW, 0)

      // Assess: same index, `a` no longer marked full after the read, `b`'s new item counted.
      expect(reread).toBe(before)
      expect(reread.total).toBe(8)
      expect(shrunk.members.map((m) => m.id)).toEqual(['a'])
      expect(shrunk.total).toBe(3)
    })
  })
})
