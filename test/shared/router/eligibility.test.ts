import { describe, expect, it } from 'vitest'
import type { BackendRecord } from '../../../shared/backends/backend-record.ts'
import { tierEligibility } from '../../../shared/router/eligibility.ts'
import { backendWithFree } from './fleet-fixtures.ts'

const now = 1_000_000
const at = { now, staleBefore: now - 30_000 }
const tier = { hardware: ['h20'], model: 'm' }
const backend = (patch: Partial<BackendRecord> = {}): BackendRecord => ({
  ...backendWithFree('b', 2, { now }),
  ...patch,
})

describe('tierEligibility', () => {
  it('a fresh active backend serving the hardware, model and chat is a candidate', () => {
    expect(tierEligibility(tier, backend(), at)).toEqual({
      serves: true,
      inRotation: true,
      circuitOpen: false,
      eligible: true,
    })
  })

  it('other hardware, another model or an API it does not serve leaves it out of the tier', () => {
    for (const [spec, record] of [
      [tier, backend({ hardware: 'a10' })],
      [tier, backend({ models: ['other'] })],
      [{ ...tier, api: 'embeddings' as const }, backend({ apis: ['chat'] })],
      [tier, backend({ apis: ['embeddings'] })],
    ] as const) {
      const verdict = tierEligibility(spec, record, at)
      expect(verdict.serves).toBe(false)
      expect(verdict.eligible).toBe(false)
    }
    expect(
      tierEligibility({ ...tier, api: 'embeddings' }, backend({ apis: ['embeddings'] }), at).eligible,
    ).toBe(true)
  })

  it('a stale heartbeat or a state other than active takes it out of rotation', () => {
    const heartbeatAt = at.staleBefore - 1
    expect(tierEligibility(tier, backend({ heartbeatAt }), at)).toMatchObject({
      inRotation: false,
      eligible: false,
    })
    expect(tierEligibility(tier, backend({ heartbeatAt: at.staleBefore }), at).eligible).toBe(true)
    for (const state of ['draining', 'removed'] as const) {
      expect(tierEligibility(tier, backend({ state }), at)).toMatchObject({
        inRotation: false,
        eligible: false,
      })
    }
  })

  it('a circuit open for all until after now makes it ineligible, and it is back once the instant passes', () => {
    const open = backend({ circuitOpenUntil: now + 5_000 })
    expect(tierEligibility(tier, open, at)).toMatchObject({
      serves: true,
      inRotation: true,
      circuitOpen: true,
      eligible: false,
    })
    expect(tierEligibility(tier, open, { now: now + 5_000, staleBefore: at.staleBefore }).eligible).toBe(true)
  })

  it('a circuit is not reported open for a backend out of rotation (no timer to schedule for it)', () => {
    const verdict = tierEligibility(tier, backend({ state: 'draining', circuitOpenUntil: now + 5_000 }), at)
    expect(verdict).toMatchObject({ inRotation: false, circuitOpen: false, eligible: false })
  })
})
