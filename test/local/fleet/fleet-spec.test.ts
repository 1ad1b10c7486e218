import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FleetSpecError, formatFleetSpec, parseFleetSpec } from '../../../local/fleet/fleet-spec.ts'
import { HARDWARE_CLASSES } from '../../../local/fleet/hardware-profiles.ts'
import { ENGINES } from '../../../shared/agent/engine-dialects.ts'

const entry = fc.record(
  {
    hardware: fc.constantFrom(...HARDWARE_CLASSES),
    count: fc.integer({ min: 1, max: 64 }),
    slots: fc.integer({ min: 1, max: 1024 }),
    engine: fc.constantFrom(...ENGINES),
  },
  { requiredKeys: ['hardware', 'count', 'slots'] },
)

describe('parseFleetSpec', () => {
  it('reads class=backends x slots entries', () => {
    expect(parseFleetSpec('h20=2x4,cpu=1x2')).toEqual([
      { hardware: 'h20', count: 2, slots: 4 },
      { hardware: 'cpu', count: 1, slots: 2 },
    ])
  })

  it('reads the engine dialect of an @engine suffix', () => {
    expect(parseFleetSpec('h20=2x4@vllm,cpu=1x2@llamacpp')).toEqual([
      { hardware: 'h20', count: 2, slots: 4, engine: 'vllm' },
      { hardware: 'cpu', count: 1, slots: 2, engine: 'llamacpp' },
    ])
    expect(() => parseFleetSpec('cpu=1x2@ollama')).toThrow(/unknown engine "ollama"/)
  })

  it('gives back every well-formed spec it is shown, whatever the spacing and case', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 6 }), fc.boolean(), (entries, noisy) => {
        const text = formatFleetSpec(entries)
        const written = noisy ? ` ${text.toUpperCase().replaceAll(',', ' , ').replaceAll('=', ' = ')} ` : text
        expect(parseFleetSpec(written)).toEqual(entries)
      }),
    )
  })

  it('names every bad entry in one error', () => {
    const attempt = () => parseFleetSpec('h20=0x4,gpu=1x2,cpu=1x2,a100=2')
    expect(attempt).toThrow(FleetSpecError)
    try {
      attempt()
    } catch (error) {
      expect((error as FleetSpecError).problems).toEqual([
        'entry 1 ("h20=0x4"): backends must be 1..64',
        'entry 2 ("gpu=1x2"): unknown hardware class "gpu"',
        'entry 4 ("a100=2"): not of the form class=NxM',
      ])
    }
  })

  it('rejects an empty spec', () => {
    expect(() => parseFleetSpec(' ')).toThrow(/it is empty/)
  })

  it('either parses a string into valid entries or throws a FleetSpecError, never anything else', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'h20cpux=,1 4a') }), (text) => {
        try {
          for (const parsed of parseFleetSpec(text)) {
            expect(HARDWARE_CLASSES).toContain(parsed.hardware)
            expect(parsed.count).toBeGreaterThanOrEqual(1)
            expect(parsed.slots).toBeGreaterThanOrEqual(1)
          }
        } catch (error) {
          expect(error).toBeInstanceOf(FleetSpecError)
        }
      }),
    )
  })
})
