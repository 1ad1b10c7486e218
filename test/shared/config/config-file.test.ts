import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import {
  CONFIG_FILE_NAME,
  ConfigFileError,
  checkConfigFile,
  checkConfigText,
  loadGatewayConfigFile,
  MAX_CONFIG_FILE_BYTES,
} from '../../../shared/config/config-file.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../../shared/config/gateway-config.ts'

const dir = mkdtempSync(join(tmpdir(), 'spillway-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
function writeConfig(content: string | object): string {
  const file = join(dir, `config-${++files}.json`)
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return file
}

function loadError(file: string): ConfigFileError {
  try {
    loadGatewayConfigFile(file)
  } catch (error) {
    if (error instanceof ConfigFileError) return error
    throw error
  }
  throw new Error('expected a ConfigFileError')
}

const acme = {
  hardwareClasses: [
    { id: 'h20', kind: 'gpu' },
    { id: 'cpu', kind: 'cpu' },
  ],
  models: [
    {
      id: 'acme-chat-7b',
      tiers: [
        { hardware: ['h20'], model: 'acme-chat-7b' },
        { hardware: ['cpu'], model: 'acme-chat-7b-q4', degraded: true },
      ],
    },
  ],
}

describe('Function: loadGatewayConfigFile', () => {
  it('loads a file into the same frozen configuration as the object it holds', () => {
    // Prepare
    const file = writeConfig({ $schema: './schema.json', ...acme, leaseTtlSeconds: 20 })

    // Act
    const config = loadGatewayConfigFile(file)

    // Assess
    expect(config).toEqual(parseGatewayConfig({ ...acme, leaseTtlSeconds: 20 }))
    expect(config).not.toHaveProperty('$schema')
    expect(Object.isFrozen(config.models)).toBe(true)
  })

  it('ships spillway.config.json with the built-in default models, so nothing changes by default', () => {
    // Act
    const root = fileURLToPath(new URL('../../..', import.meta.url))
    const shipped = loadGatewayConfigFile(join(root, CONFIG_FILE_NAME))

    // Assess
    const { tenantDefaults, ...rest } = shipped
    expect(rest).toEqual(parseGatewayConfig(DEFAULT_CONFIG))
    expect(tenantDefaults).toMatchObject({ mayQueue: false, mayDegrade: false })
  })

  it("loads the README's example: vLLM on H20 with a llama.cpp CPU variant", () => {
    // Prepare
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    const example = /`my\.config\.json`:\n\n```json\n([\s\S]*?)\n```/.exec(readme)?.[1]

    // Act
    const config = loadGatewayConfigFile(writeConfig(example ?? 'missing from the README'))

    // Assess
    expect(config.models[0]?.tiers.map((tier) => [tier.hardware, tier.model, tier.degraded])).toEqual([
      [['h20'], 'meta-llama/Llama-3.1-8B-Instruct', false],
      [['cpu'], 'qwen2.5-1.5b-instruct-q4', true],
    ])
  })

  it('names the file and the line and column of a JSON syntax error', () => {
    // Prepare
    const file = writeConfig('{\n  "hardwareClasses": [],\n  models: []\n}\n')

    // Act
    const error = loadError(file)

    // Assess
    expect(error.message).toContain(`Invalid Spillway config file ${file}:`)
    expect(error.message).toMatch(/invalid JSON at line 3, column 3: Expected double-quoted property name/)
    expect(error.file).toBe(file)
  })

  it('reports wrong types, unknown hardware classes, duplicate ids and misspelt keys in one error', () => {
    // Prepare
    const file = writeConfig({
      hardwareClasses: [
        { id: 'h20', kind: 'gpu' },
        { id: 'h20', kind: 'gpu' },
      ],
      models: [
        { id: 'acme-chat-7b', tiers: [{ hardware: ['h20', 'tpu-v5'], model: 'acme-chat-7b' }] },
        { id: 'acme-chat-7b', tiers: [{ hardware: ['h20'], model: 'x', degraded: 'yes' }] },
      ],
      leaseTTLSeconds: 30,
      heartbeatStaleSeconds: '15',
      tenantDefaults: { mayQueue: 'yes', maxTokens: 5 },
    })

    // Act
    const error = loadError(file)

    // Assess
    const paths = error.problems.map((problem) => problem.path)
    expect(paths).toEqual(
      expect.arrayContaining([
        'hardwareClasses.1.id',
        'models.0.tiers.0.hardware',
        'models.1.id',
        'models.1.tiers.0.degraded',
        'heartbeatStaleSeconds',
        'tenantDefaults.mayQueue',
      ]),
    )
    expect(error.message).toContain('duplicate hardware class "h20"')
    expect(error.message).toContain('unknown hardware class "tpu-v5" (known: h20)')
    expect(error.message).toContain('duplicate model "acme-chat-7b"')
    expect(error.message).toMatch(/\(root\): Unrecognized key: "leaseTTLSeconds"/)
    expect(error.message).toMatch(/tenantDefaults: Unrecognized key: "maxTokens"/)
  })

  it('keeps only the tenant defaults the file names, each checked by the tenant policy schema', () => {
    // Act
    const config = loadGatewayConfigFile(
      writeConfig({ ...acme, tenantDefaults: { mayQueue: true, jobDeadlineSeconds: 600 } }),
    )

    // Assess
    expect(config.tenantDefaults).toEqual({ mayQueue: true, jobDeadlineSeconds: 600 })
    expect(loadError(writeConfig({ ...acme, tenantDefaults: { jobDeadlineSeconds: 0 } })).problems).toEqual([
      expect.objectContaining({ path: 'tenantDefaults.jobDeadlineSeconds' }),
    ])
    expect(loadError(writeConfig({ ...acme, tenantDefaults: { id: 'acme' } })).message).toContain(
      'Unrecognized key: "id"',
    )
  })

  it.each([
    ['a missing file', () => join(dir, 'nope.json'), 'no such file'],
    ['a directory', () => mkdtempSync(join(dir, 'a-dir-')), 'not a file'],
    ['an empty file', () => writeConfig('  \n'), 'the file is empty'],
    ['a JSON array', () => writeConfig('[]'), 'expected object, received array'],
    ['a JSON null', () => writeConfig('null'), 'expected object, received null'],
  ])('explains %s in one problem with the path', (_name, file, message) => {
    // Act
    const result = checkConfigFile(file())

    // Assess
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.problems.map((p) => p.message).join('\n')).toContain(message)
  })

  it('accepts a UTF-8 byte-order mark, as Windows editors write it', () => {
    expect(loadGatewayConfigFile(writeConfig(`\uFEFF${JSON.stringify(acme)}`)).models[0]?.id).toBe(
      'acme-chat-7b',
    )
  })

  it('refuses a file over the size limit before reading it', () => {
    // Prepare
    const file = writeConfig(`{"models":[${'"x",'.repeat(MAX_CONFIG_FILE_BYTES / 4)}"x"]}`)

    // Act
    const error = loadError(file)

    // Assess
    expect(error.problems).toHaveLength(1)
    expect(error.message).toMatch(/bytes; a config file may have 1048576 at most/)
  })

  it('answers deeply nested input with one clear error, not a stack overflow', () => {
    // Prepare
    const depth = 100_000
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`
    const deepDescription = `{"hardwareClasses":[{"id":"h20","kind":"gpu","description":${nested}}],"models":[]}`

    // Act
    const array = loadError(writeConfig(nested))
    const field = loadError(writeConfig(deepDescription))

    // Assess
    expect(array.problems).toEqual([{ path: '', message: 'Invalid input: expected object, received array' }])
    expect(field.message).toContain('hardwareClasses.0.description: Invalid input: expected string')
  })

  it('lists the first 50 problems of a huge broken file and counts the rest', () => {
    // Prepare
    const models = Array.from({ length: 500 }, () => ({ id: 7, tiers: [] }))

    // Act
    const error = loadError(writeConfig({ ...acme, models }))

    // Assess
    expect(error.problems.length).toBeGreaterThan(500)
    expect(error.message.split('\n').filter((line) => line.startsWith('  - '))).toHaveLength(50)
    expect(error.message).toMatch(/… and \d+ more$/)
  })
})

describe('Property: configuration text', () => {
  const problemShape = (problems: readonly { path: unknown; message: unknown }[]) =>
    problems.length > 0 &&
    problems.every((p) => typeof p.path === 'string' && typeof p.message === 'string' && p.message !== '')

  it('any text is a configuration or a non-empty list of problems, never a crash', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.string({ unit: 'binary' })), (text) => {
        const result = checkConfigText(text)
        return result.ok || problemShape(result.problems)
      }),
      { numRuns: 500 },
    )
  })

  it('any JSON value is a configuration or a non-empty list of problems, never a crash', () => {
    const valid = fc.constantFrom<unknown>(acme, DEFAULT_CONFIG)
    const tweaked = fc.tuple(valid, fc.dictionary(fc.string(), fc.jsonValue())).map(([base, extra]) => ({
      ...(base as object),
      ...extra,
    }))
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), tweaked), (value) => {
        const result = checkConfigText(JSON.stringify(value) ?? 'null')
        return result.ok || problemShape(result.problems)
      }),
      { numRuns: 500 },
    )
  })

  it('a tier naming a class the file does not declare is reported at that tier, whatever the name', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((name) => name !== 'h20' && name !== 'cpu'),
        fc.nat({ max: 1 }),
        (name, tier) => {
          const broken = structuredClone(acme)
          broken.models[0]?.tiers[tier]?.hardware.push(name)
          const result = checkConfigText(JSON.stringify(broken))
          return (
            !result.ok &&
            result.problems.some(
              (p) =>
                p.path === `models.0.tiers.${tier}.hardware` &&
                p.message.startsWith(`unknown hardware class ${JSON.stringify(name)} (known: h20, cpu)`),
            )
          )
        },
      ),
      { numRuns: 200 },
    )
  })

  it('a truncated valid file reports a JSON syntax error with a line and column', () => {
    const text = JSON.stringify(acme, null, 2)
    fc.assert(
      fc.property(fc.integer({ min: 1, max: text.length - 1 }), (cut) => {
        const result = checkConfigText(text.slice(0, cut))
        return (
          !result.ok &&
          result.problems.length === 1 &&
          /^(invalid JSON at line \d+, column \d+: |invalid JSON: )/.test(result.problems[0]?.message ?? '')
        )
      }),
      { numRuns: 200 },
    )
  })
})
