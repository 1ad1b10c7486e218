import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../../shared/config/gateway-config.ts'
import { readRuntimeEnv } from '../../../shared/runtime/runtime-env.ts'

const dir = mkdtempSync(join(tmpdir(), 'spillway-runtime-env-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const base = {
  SPILLWAY_TABLE_BACKENDS: 'backends',
  SPILLWAY_TABLE_JOBS: 'jobs',
  SPILLWAY_TABLE_TENANTS: 'tenants',
  SPILLWAY_QUEUE_INTERACTIVE_URL: 'http://127.0.0.1:1/interactive',
  SPILLWAY_QUEUE_BATCH_URL: 'http://127.0.0.1:1/batch',
}
const acme = {
  hardwareClasses: [{ id: 'h20', kind: 'gpu' }],
  models: [{ id: 'acme-chat-7b', tiers: [{ hardware: ['h20'], model: 'acme-chat-7b' }] }],
}

describe('Function: readRuntimeEnv (configuration)', () => {
  it('reads the file SPILLWAY_CONFIG_FILE names, as a gateway started by hand or a layer file', () => {
    // Prepare
    const file = join(dir, 'acme.json')
    writeFileSync(file, JSON.stringify(acme))

    // Act
    const env = readRuntimeEnv({ ...base, SPILLWAY_CONFIG_FILE: file })

    // Assess
    expect(env.config).toEqual(parseGatewayConfig(acme))
  })

  it('reads inline JSON from SPILLWAY_CONFIG, and the default with neither', () => {
    expect(readRuntimeEnv({ ...base, SPILLWAY_CONFIG: JSON.stringify(acme) }).config.models[0]?.id).toBe(
      'acme-chat-7b',
    )
    expect(readRuntimeEnv(base).config).toEqual(parseGatewayConfig(DEFAULT_CONFIG))
  })

  it('refuses both at once, and names a broken file with its problem', () => {
    const broken = join(dir, 'broken.json')
    writeFileSync(broken, '{"models": 1}')
    expect(() =>
      readRuntimeEnv({ ...base, SPILLWAY_CONFIG: JSON.stringify(acme), SPILLWAY_CONFIG_FILE: broken }),
    ).toThrow('Set SPILLWAY_CONFIG or SPILLWAY_CONFIG_FILE, not both.')
    expect(() => readRuntimeEnv({ ...base, SPILLWAY_CONFIG_FILE: broken })).toThrow(
      `Invalid Spillway config file ${broken}:`,
    )
  })
})
