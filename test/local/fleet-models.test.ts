import { describe, expect, it } from 'vitest'
import { fleetModels } from '../../local/fleet-models.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../shared/config/gateway-config.ts'

const config = parseGatewayConfig({
  hardwareClasses: [
    { id: 'h20', kind: 'gpu' },
    { id: 'h100', kind: 'gpu' },
    { id: 'l40s', kind: 'gpu' },
    { id: 'cpu', kind: 'cpu' },
  ],
  models: [
    { id: 'big', tiers: [{ hardware: ['h100'], model: 'big' }] },
    {
      id: 'small',
      tiers: [
        { hardware: ['h20', 'h100'], model: 'small' },
        { hardware: ['cpu'], model: 'small-q4', degraded: true },
      ],
    },
  ],
})

describe('Function: fleetModels', () => {
  it('gives each class every tier model whose hardware includes it', () => {
    expect(fleetModels({ spec: 'h20=1x1,h100=2x2,cpu=1x1', config })).toEqual({
      h20: ['small'],
      h100: ['big', 'small'],
      cpu: ['small-q4'],
    })
  })

  it('keeps the default fleet serving what it served before, plus the CPU embedding model', () => {
    expect(fleetModels({ spec: 'h20=2x4,cpu=1x2', config: parseGatewayConfig(DEFAULT_CONFIG) })).toEqual({
      h20: ['deepseek-r1-distill-llama-8b'],
      cpu: ['deepseek-r1-distill-qwen-1.5b-q4', 'bge-small-en-v1.5'],
    })
  })

  it('refuses, in one error, classes the configuration does not declare or runs no tier on', () => {
    expect(() => fleetModels({ spec: 'a100=1x1,l40s=1x1', config })).toThrow(
      'fleet "a100=1x1,l40s=1x1" (SPILLWAY_FLEET) does not fit the config: ' +
        '"a100" is not a hardware class of the config (it declares: h20, h100, l40s, cpu); ' +
        'no model of the config has a tier on "l40s"',
    )
  })
})
