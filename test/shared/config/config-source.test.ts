import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigFileError } from '../../../shared/config/config-file.ts'
import {
  describeConfigSource,
  findConfigSource,
  resolveGatewayConfig,
} from '../../../shared/config/config-source.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../../shared/config/gateway-config.ts'

const dir = mkdtempSync(join(tmpdir(), 'spillway-config-source-'))
const empty = mkdtempSync(join(tmpdir(), 'spillway-config-none-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(empty, { recursive: true, force: true })
})

const configFor = (model: string) => ({
  hardwareClasses: [{ id: 'h20', kind: 'gpu' }],
  models: [{ id: model, tiers: [{ hardware: ['h20'], model }] }],
})
writeFileSync(join(dir, 'spillway.config.json'), JSON.stringify(configFor('from-cwd')))
writeFileSync(join(dir, 'flag.json'), JSON.stringify(configFor('from-flag')))
writeFileSync(join(dir, 'env.json'), JSON.stringify(configFor('from-env')))

const modelOf = (options: Parameters<typeof resolveGatewayConfig>[0]) =>
  resolveGatewayConfig(options).config.models[0]?.id

describe('Function: resolveGatewayConfig', () => {
  it('takes --config over SPILLWAY_CONFIG_FILE over the working directory over the built-in default', () => {
    const env = { SPILLWAY_CONFIG_FILE: 'env.json' }
    expect(modelOf({ flag: 'flag.json', env, cwd: dir })).toBe('from-flag')
    expect(modelOf({ env, cwd: dir })).toBe('from-env')
    expect(modelOf({ env: {}, cwd: dir })).toBe('from-cwd')
    expect(resolveGatewayConfig({ env: {}, cwd: empty }).config).toEqual(parseGatewayConfig(DEFAULT_CONFIG))
  })

  it('says where the configuration came from', () => {
    expect(describeConfigSource(findConfigSource({ flag: 'flag.json', env: {}, cwd: dir }))).toBe(
      `${join(dir, 'flag.json')} (from --config)`,
    )
    expect(describeConfigSource(findConfigSource({ env: {}, cwd: dir }))).toBe(
      `${join(dir, 'spillway.config.json')} (from working directory)`,
    )
    expect(describeConfigSource(findConfigSource({ env: {}, cwd: empty }))).toMatch(/^built-in default/)
  })

  it('fails on a named file that is missing instead of falling back to the default', () => {
    const act = () => resolveGatewayConfig({ env: { SPILLWAY_CONFIG_FILE: 'missing.json' }, cwd: dir })
    expect(act).toThrow(ConfigFileError)
    expect(act).toThrow(`${join(dir, 'missing.json')}:\n  - (root): no such file`)
  })
})
