import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAws, startLocalAws } from '../../local/emulators.ts'
import { type AwsClients, destroyAwsClients } from '../../shared/aws/clients.ts'
import { DynamoTenantStore } from '../../shared/tenants/dynamo-tenant-store.ts'
import { clientsFor } from '../support/aws.ts'

let aws: LocalAws
let clients: AwsClients
let tenants: DynamoTenantStore
const dir = mkdtempSync(join(tmpdir(), 'spillway-keys-config-'))

beforeAll(async () => {
  aws = await startLocalAws({ prefix: 'keys-defaults' })
  clients = clientsFor(aws)
  tenants = new DynamoTenantStore({ doc: clients.doc, tableName: aws.names.tables.tenants })
})
afterAll(async () => {
  if (clients) destroyAwsClients(clients)
  await aws?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const config = (tenantDefaults: unknown) => ({
  hardwareClasses: [{ id: 'h20', kind: 'gpu' }],
  models: [{ id: 'acme-chat-7b', tiers: [{ hardware: ['h20'], model: 'acme-chat-7b' }] }],
  tenantDefaults,
})

function writeConfig(name: string, content: unknown): string {
  const file = join(dir, name)
  writeFileSync(file, JSON.stringify(content))
  return file
}

/** The CLI as an operator runs it, from a directory holding no spillway.config.json of its own. */
function keys(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  const { AWS_ENDPOINT_URL: _ignored, SPILLWAY_CONFIG_FILE: _unset, ...base } = process.env
  const script = join(import.meta.dirname, '..', '..', 'scripts', 'spillway.ts')
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--experimental-strip-types', '--no-warnings', script, 'keys', ...args],
      { cwd: dir, env: { ...base, ...aws.env, ...env }, timeout: 20_000 },
      (error, _stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr })
      },
    )
  })
}

describe('Script: keys create with tenantDefaults', () => {
  it("starts a new tenant from the config file's tenantDefaults, under the options given", async () => {
    // Prepare
    const file = writeConfig(
      'defaults.json',
      config({ mayQueue: true, jobDeadlineSeconds: 600, priority: 'batch' }),
    )

    // Act
    const run = await keys(['create', '--tenant', 'acme', '--priority', 'interactive', '--config', file])

    // Assess
    expect(run.code, run.stderr).toBe(0)
    expect(await tenants.getTenant('acme')).toMatchObject({
      mayQueue: true,
      jobDeadlineSeconds: 600,
      priority: 'interactive',
      mayDegrade: false,
    })
  })

  it('leaves an existing tenant as it is but for the options given', async () => {
    // Prepare
    await keys(['create', '--tenant', 'beta', '--job-deadline', '120'])
    const file = writeConfig('later.json', config({ mayQueue: true, jobDeadlineSeconds: 900 }))

    // Act: SPILLWAY_CONFIG_FILE names the file this time.
    const run = await keys(['create', '--tenant', 'beta', '--may-degrade'], { SPILLWAY_CONFIG_FILE: file })

    // Assess
    expect(run.code, run.stderr).toBe(0)
    expect(await tenants.getTenant('beta')).toMatchObject({
      mayQueue: false,
      jobDeadlineSeconds: 120,
      mayDegrade: true,
    })
  })

  it('refuses to create a key when the config file is broken, naming it and the reason', async () => {
    // Prepare
    const file = writeConfig('broken.json', config({ mayQueue: 'yes' }))

    // Act
    const run = await keys(['create', '--tenant', 'gamma', '--config', file])

    // Assess
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`spillway: Invalid Spillway config file ${file}:`)
    expect(run.stderr).toContain('tenantDefaults.mayQueue: Invalid input: expected boolean, received string')
    expect(await tenants.getTenant('gamma')).toBeUndefined()
  })
})
