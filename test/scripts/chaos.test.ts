import { describe, expect, it } from 'vitest'
import { chaosSummary, runChaos } from '../../scripts/chaos/run-chaos.ts'

// The short chaos run of `npm test`: 3 gateway and 2 worker processes under mixed load while
// faults are injected from a fixed seed; `npm run chaos -- --minutes N` is the long one.
describe('Script: chaos (short run)', () => {
  it('keeps every invariant through 30 s of faults', async () => {
    const result = await runChaos({ seconds: 30, seed: 20261201 })

    expect(chaosSummary(result)).toMatch(
      /^chaos: \d+ requests, \d+ faults, \d+ violations \(seed 20261201\)$/,
    )
    expect(result.violations).toEqual([])
    expect(result.requests).toBeGreaterThan(20)
    expect(result.faults).toBeGreaterThan(5)
  }, 180_000)
})
