import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { App } from 'aws-cdk-lib'
import { Match } from 'aws-cdk-lib/assertions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONFIG_LAYER_FILE, MAX_CONFIG_ENV_CHARS } from '../../infra/constructs/deployed-config.ts'
import { PROJECT_ROOT } from '../../infra/constructs/functions.ts'
import { SpillwayStack } from '../../infra/spillway-stack.ts'
import { loadGatewayConfigFile } from '../../shared/config/config-file.ts'
import type { GatewayConfigInput } from '../../shared/config/gateway-config.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { type Synthesized, synthSpillway } from './synth-spillway.ts'

type Resource = { Properties: Record<string, unknown>; Metadata?: Record<string, unknown> }
type Variables = Record<string, unknown>

const dir = mkdtempSync(join(tmpdir(), 'spillway-cdk-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function writeFile(name: string, content: string | object): string {
  const file = join(dir, name)
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return file
}

const ACME: GatewayConfigInput = {
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
  leaseTtlSeconds: 45,
  tenantDefaults: { mayQueue: true },
}

/** The shipped configuration without the tenant defaults, which only the tools read. */
function shippedConfig(file: string) {
  const { tenantDefaults: _tools, ...config } = loadGatewayConfigFile(file)
  return config
}

function functionVariables(resources: Record<string, unknown>): Variables[] {
  const functions = Object.values(resources) as Resource[]
  expect(functions).toHaveLength(4)
  return functions.map((fn) => (fn.Properties.Environment as { Variables: Variables }).Variables)
}

/** A synth takes seconds alone and much longer on two shared cores: generous, still bounded. */
const SYNTH_TIMEOUT_MS = 180_000

describe('SpillwayGateway: configFile', () => {
  const file = writeFile('acme.json', ACME)
  let synth: Synthesized
  beforeAll(async () => {
    synth = await synthSpillway({ props: { spillway: { configFile: file } } })
  }, SYNTH_TIMEOUT_MS)
  afterAll(() => synth?.remove())

  it('deploys the file it is given to every function, validated and compact', () => {
    for (const variables of functionVariables(synth.template.findResources('AWS::Lambda::Function'))) {
      expect(JSON.parse(String(variables.SPILLWAY_CONFIG))).toEqual(shippedConfig(file))
      expect(variables.SPILLWAY_CONFIG_FILE).toBeUndefined()
    }
    synth.template.resourceCountIs('AWS::Lambda::LayerVersion', 0)
  })
})

describe('SpillwayGateway: a config too big for the environment', () => {
  // Enough models that the compact JSON is past what the 4 KB environment can hold.
  const models = Array.from({ length: 40 }, (_, i) => ({
    id: `acme-chat-${i}b`,
    description: 'An Acme chat model, instruction tuned',
    tiers: [{ hardware: ['h20'], model: `acme-chat-${i}b` }],
  }))
  const file = writeFile('big.json', { ...ACME, models })
  let synth: Synthesized
  beforeAll(async () => {
    synth = await synthSpillway({ props: { spillway: { configFile: file } } })
  }, SYNTH_TIMEOUT_MS)
  afterAll(() => synth?.remove())

  it('ships it as a file in a layer that every function reads', () => {
    // Prepare
    expect(JSON.stringify(shippedConfig(file)).length).toBeGreaterThan(MAX_CONFIG_ENV_CHARS)
    const layers = synth.template.findResources('AWS::Lambda::LayerVersion') as Record<string, Resource>
    const [layerId, layer] = Object.entries(layers)[0] ?? []
    expect(Object.keys(layers)).toHaveLength(1)

    // Assess
    for (const variables of functionVariables(synth.template.findResources('AWS::Lambda::Function'))) {
      expect(variables.SPILLWAY_CONFIG).toBeUndefined()
      expect(variables.SPILLWAY_CONFIG_FILE).toBe(CONFIG_LAYER_FILE)
    }
    synth.template.allResourcesProperties('AWS::Lambda::Function', {
      Layers: Match.arrayWith([{ Ref: layerId }]),
    })
    // The layer's asset holds the file a function reads at cold start, as readRuntimeEnv reads it.
    const staged = join(synth.outdir, String(layer?.Metadata?.['aws:asset:path']), 'spillway', 'config.json')
    const runtime = readRuntimeEnv({
      SPILLWAY_TABLE_BACKENDS: 'b',
      SPILLWAY_TABLE_JOBS: 'j',
      SPILLWAY_TABLE_TENANTS: 't',
      SPILLWAY_QUEUE_INTERACTIVE_URL: 'qi',
      SPILLWAY_QUEUE_BATCH_URL: 'qb',
      SPILLWAY_CONFIG_FILE: staged,
    })
    expect(runtime.config).toEqual(shippedConfig(file))
  })
})

describe('SpillwayGateway: configFile refused', () => {
  it('fails the synth on a broken file, naming the path and the reason', () => {
    // Prepare
    const file = writeFile('broken.json', {
      ...ACME,
      models: [{ id: 'x', tiers: [{ hardware: ['tpu'], model: 'x' }] }],
    })

    // Act
    const act = () => new SpillwayStack(new App(), 'Broken', { spillway: { configFile: file } })

    // Assess
    expect(act).toThrow(`Invalid Spillway config file ${file}:`)
    expect(act).toThrow('models.0.tiers.0.hardware: unknown hardware class "tpu" (known: h20, cpu)')
    expect(
      () => new SpillwayStack(new App(), 'Missing', { spillway: { configFile: join(dir, 'nope.json') } }),
    ).toThrow(`${join(dir, 'nope.json')}:\n  - (root): no such file`)
  })

  it('refuses config and configFile together', () => {
    const act = () =>
      new SpillwayStack(new App(), 'Both', {
        spillway: { config: ACME, configFile: writeFile('both.json', ACME) },
      })
    expect(act).toThrow('give `config` or `configFile`, not both')
  })
})

describe('CDK app (npm run synth)', () => {
  /** Runs infra/app.ts as `cdk synth` does; a broken config stops it before any bundling. */
  async function runApp(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'infra', 'app.ts')], {
      cwd: dir,
      env: { ...process.env, CDK_OUTDIR: join(dir, 'cdk.out'), ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    return { code, stderr }
  }

  it('fails with the path and reason of SPILLWAY_CONFIG_FILE, and the spillwayConfigFile context wins over it', {
    timeout: SYNTH_TIMEOUT_MS,
  }, async () => {
    // Prepare
    const syntax = writeFile('syntax.json', '{ "hardwareClasses": [ }')
    const typed = writeFile('typed.json', { ...ACME, leaseTtlSeconds: 'soon' })

    // Act
    const fromEnv = await runApp({ SPILLWAY_CONFIG_FILE: syntax })
    const fromContext = await runApp({
      SPILLWAY_CONFIG_FILE: syntax,
      CDK_CONTEXT_JSON: JSON.stringify({ spillwayConfigFile: typed }),
    })

    // Assess
    expect(fromEnv.code).toBe(1)
    expect(fromEnv.stderr).not.toMatch(/^\s+at /m)
    expect(fromEnv.stderr).toContain(`Invalid Spillway config file ${syntax}:`)
    expect(fromEnv.stderr).toMatch(/invalid JSON/)
    expect(fromContext.code).toBe(1)
    expect(fromContext.stderr).toContain(`Invalid Spillway config file ${typed}:`)
    expect(fromContext.stderr).toContain('leaseTtlSeconds: Invalid input: expected number, received string')
  })
})
