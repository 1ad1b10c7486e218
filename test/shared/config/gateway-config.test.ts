import { describe, expect, it } from 'vitest'
import {
  ConfigError,
  DEFAULT_CONFIG,
  type GatewayConfigInput,
  parseGatewayConfig,
} from '../../../shared/config/gateway-config.ts'

const minimal: GatewayConfigInput = {
  hardwareClasses: [
    { id: 'h20', kind: 'gpu' },
    { id: 'cpu', kind: 'cpu' },
  ],
  models: [
    {
      id: 'm',
      tiers: [
        { hardware: ['h20'], model: 'm' },
        { hardware: ['cpu'], model: 'm-q4', degraded: true },
      ],
    },
  ],
}

function configError(input: unknown): ConfigError {
  try {
    parseGatewayConfig(input)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('Function: parseGatewayConfig', () => {
  it('fills every timing knob with its default', () => {
    // Act
    const config = parseGatewayConfig(minimal)

    // Assess
    expect(config).toMatchObject({
      leaseTtlSeconds: 60,
      heartbeatStaleSeconds: 15,
      snapshotMaxAgeMs: 1000,
      maxBodyBytes: 1024 * 1024,
      upstream: {
        firstByteTimeoutMs: 60_000,
        idleTimeoutMs: 60_000,
        maxAttempts: 3,
        totalTimeoutMs: 900_000,
        maxResponseBytes: 16 * 1024 * 1024,
      },
      circuit: { failureThreshold: 3, coolDownSeconds: 30 },
    })
    expect(config.models[0]?.tiers.map((t) => t.degraded)).toEqual([false, true])
  })

  it('keeps the values it is given', () => {
    // Act
    const config = parseGatewayConfig({ ...minimal, leaseTtlSeconds: 5, upstream: { maxAttempts: 1 } })

    // Assess
    expect(config.leaseTtlSeconds).toBe(5)
    expect(config.upstream).toMatchObject({
      firstByteTimeoutMs: 60_000,
      idleTimeoutMs: 60_000,
      maxAttempts: 1,
    })
  })

  it('accepts the shipped default: an 8B model on GPUs with a 4-bit CPU fallback', () => {
    // Act
    const config = parseGatewayConfig(DEFAULT_CONFIG)

    // Assess
    const [model] = config.models
    expect(model?.id).toBe('deepseek-r1-distill-llama-8b')
    expect(model?.tiers[0]?.hardware).toEqual(expect.arrayContaining(['h20', 'h100']))
    expect(model?.tiers.at(-1)).toMatchObject({ hardware: ['cpu'], degraded: true })
  })

  it('reports every problem in one error, each with its path', () => {
    // Prepare
    const broken = {
      hardwareClasses: [
        { id: 'h20', kind: 'gpu' },
        { id: 'Bad Class', kind: 'cpu' },
      ],
      models: [
        { id: 'm', tiers: [{ hardware: ['h20', 'nope'], model: 'm' }] },
        { id: 'm', tiers: [{ hardware: ['h20'], model: 'has spaces' }] },
        { id: 'empty', tiers: [] },
      ],
      leaseTtlSeconds: 1,
      snapshotMaxAgeMs: 5000,
      circuit: { failureThreshold: 0 },
    }

    // Act
    const error = configError(broken)

    // Assess
    expect(error.message).toMatch(/^Invalid Spillway config:/)
    for (const path of [
      'hardwareClasses.1.id',
      'models.0.tiers.0.hardware',
      'models.1.id',
      'models.1.tiers.0.model',
      'models.2.tiers',
      'leaseTtlSeconds',
      'snapshotMaxAgeMs',
      'circuit.failureThreshold',
    ]) {
      expect(error.message).toContain(`  - ${path}:`)
    }
    expect(error.message).toContain('unknown hardware class "nope"')
    expect(error.message).toContain('duplicate model "m"')
  })

  it('reports every wrongly typed field in one error', () => {
    // Act
    const error = configError({
      ...minimal,
      hardwareClasses: [{ id: 'h20', kind: 'tpu' }],
      leaseTtlSeconds: '60',
      upstream: { maxAttempts: true },
    })

    // Assess
    for (const path of ['hardwareClasses.0.kind', 'leaseTtlSeconds', 'upstream.maxAttempts']) {
      expect(error.message).toContain(`  - ${path}:`)
    }
  })

  it('explains a missing or non-object config instead of crashing', () => {
    expect(configError(undefined).message).toContain('(root)')
    expect(configError({}).message).toMatch(/hardwareClasses[\s\S]*models/)
  })

  it('returns a deeply frozen object', () => {
    // Act
    const config = parseGatewayConfig(minimal)

    // Assess
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.upstream)).toBe(true)
    expect(Object.isFrozen(config.models[0]?.tiers[0]?.hardware)).toBe(true)
    expect(() => {
      ;(config as { leaseTtlSeconds: number }).leaseTtlSeconds = 1
    }).toThrow(TypeError)
    expect(() => (config.models[0]!.tiers as unknown[]).push({})).toThrow(TypeError)
  })

  it('does not freeze or change the input it was given', () => {
    // Prepare
    const input = structuredClone(minimal)

    // Act
    parseGatewayConfig(input)

    // Assess
    expect(Object.isFrozen(input)).toBe(false)
    expect(input).toEqual(minimal)
  })

  it('reports unknown hardware classes even when another field has the wrong type', () => {
    // Prepare
    const input = {
      hardwareClasses: [{ id: 'h20', kind: 'tpu' }],
      models: [{ id: 'm', tiers: [{ hardware: ['nope'], model: 'm' }] }],
    }
    // Act
    const act = () => parseGatewayConfig(input)
    // Assess
    expect(act).toThrow(/hardwareClasses\.0\.kind/)
    expect(act).toThrow(/unknown hardware class "nope"/)
  })
})
