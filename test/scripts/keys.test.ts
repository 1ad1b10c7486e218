import { execFile } from 'node:child_process'
import { ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAws, startLocalAws } from '../../local/emulators.ts'
import { type AwsClients, destroyAwsClients } from '../../shared/aws/clients.ts'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { createApp } from '../../shared/http/app.ts'
import { hashApiKey, keyHint } from '../../shared/tenants/api-keys.ts'
import { DynamoTenantStore } from '../../shared/tenants/dynamo-tenant-store.ts'
import { clientsFor } from '../support/aws.ts'

interface Run {
  code: number
  stdout: string
  stderr: string
}

let aws: LocalAws
let clients: AwsClients
let tenants: DynamoTenantStore

beforeAll(async () => {
  aws = await startLocalAws({ prefix: 'keys-cli' })
  clients = clientsFor(aws)
  tenants = new DynamoTenantStore({ doc: clients.doc, tableName: aws.names.tables.tenants })
})
afterAll(async () => {
  if (clients) destroyAwsClients(clients)
  await aws?.stop()
})

/**
 * `spillway keys` (and its alias `npm run keys`) as an operator runs it: a separate process,
 * configured only by the environment the old `npm run keys` read (SPILLWAY_DYNAMODB_ENDPOINT…).
 */
function keys(...args: string[]): Promise<Run> {
  const { AWS_ENDPOINT_URL: _ignored, ...env } = process.env
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--experimental-strip-types', '--no-warnings', 'scripts/spillway.ts', 'keys', ...args],
      { env: { ...env, ...aws.env }, timeout: 90_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

async function createKey(...args: string[]): Promise<string> {
  const run = await keys('create', ...args)
  expect(run.code, run.stderr).toBe(0)
  const lines = run.stdout.trim().split('\n')
  expect(lines).toHaveLength(1)
  return lines[0] ?? ''
}

async function rawItems(): Promise<string> {
  const out = await clients.doc.send(new ScanCommand({ TableName: aws.names.tables.tenants }))
  return JSON.stringify(out.Items ?? [])
}

// Each case runs the CLI as a process two or three times: generous under a loaded machine.
describe('CLI: spillway keys, configured by the environment', { timeout: 180_000 }, () => {
  describe('Command: create', () => {
    it('prints a new key once and stores only its hash, with the tenant policy', async () => {
      // Act
      const key = await createKey(
        ...['--tenant', 'acme', '--models', 'a,b', '--may-degrade', '--may-queue'],
        ...['--priority', 'batch', '--rate-limit', '600', '--max-hold', '30'],
      )

      // Assess
      expect(key).toMatch(/^sk-spw-[A-Za-z0-9_-]{43}$/)
      expect(await tenants.getKey(hashApiKey(key))).toMatchObject({ tenantId: 'acme', hint: keyHint(key) })
      expect(await tenants.getTenant('acme')).toEqual({
        id: 'acme',
        models: ['a', 'b'],
        mayDegrade: true,
        mayQueue: true,
        priority: 'batch',
        maxHoldSeconds: 30,
        jobDeadlineSeconds: 3600,
        passSchedulingFields: false,
        rateLimitPerMinute: 600,
      })
      const stored = await rawItems()
      expect(stored).not.toContain(key)
      expect(stored).not.toContain(key.slice('sk-spw-'.length))
    })

    it('adds a key to an existing tenant, changing only the options given', async () => {
      // Prepare
      await createKey('--tenant', 'beta', '--may-degrade', '--rate-limit', '60')

      // Act
      const second = await createKey('--tenant', 'beta', '--no-may-degrade', '--may-queue')

      // Assess
      expect(await tenants.getTenant('beta')).toMatchObject({
        mayDegrade: false,
        mayQueue: true,
        rateLimitPerMinute: 60,
      })
      expect((await tenants.listKeys()).filter((k) => k.tenantId === 'beta')).toHaveLength(2)
      expect(await tenants.getKey(hashApiKey(second))).toBeDefined()
    })

    it('refuses an invalid policy or a missing tenant with a usage error and stores nothing', async () => {
      // Act
      const [badPriority, badRate, badId, noTenant, unknownFlag] = await Promise.all([
        keys('create', '--tenant', 'gamma', '--priority', 'urgent'),
        keys('create', '--tenant', 'gamma', '--rate-limit', 'lots'),
        keys('create', '--tenant', 'Not An Id'),
        keys('create', '--may-queue'),
        keys('create', '--tenant', 'gamma', '--admin'),
      ])

      // Assess
      for (const run of [badPriority, badRate, badId, noTenant, unknownFlag]) {
        expect(run.code).toBe(2)
        expect(run.stdout).toBe('')
      }
      expect(badPriority.stderr).toContain('priority')
      expect(badRate.stderr).toContain('--rate-limit')
      expect(badId.stderr).toContain('invalid tenant policy: id:')
      expect(await tenants.getTenant('gamma')).toBeUndefined()
    })
  })

  describe('Command: list', () => {
    it('shows tenants and key hints, never a key or a full hash', async () => {
      // Prepare
      const key = await createKey('--tenant', 'listed')

      // Act
      const run = await keys('list')

      // Assess
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout).toMatch(/^listed\s+\*\s+false\s+false\s+interactive/m)
      expect(run.stdout).toContain(keyHint(key))
      expect(run.stdout).toContain(hashApiKey(key).slice(0, 12))
      expect(run.stdout).not.toContain(key)
      expect(run.stdout).not.toContain(hashApiKey(key))
    })
  })

  describe('Command: revoke', () => {
    it('marks the key named by its hint revoked, and the gateway then refuses it', async () => {
      // Prepare
      const key = await createKey('--tenant', 'delta')
      const other = await createKey('--tenant', 'delta')
      const app = createApp({
        config: parseGatewayConfig(DEFAULT_CONFIG),
        capacity: new MemoryBackendStore(),
        registry: new MemoryBackendStore(),
        tenants,
        backendClient: { chatCompletions: () => Promise.reject(new Error('not used')) },
        adminKeyHash: hashApiKey('unused'),
        keyCacheMs: 0,
      })
      const models = (k: string) => app.request('/v1/models', { headers: { authorization: `Bearer ${k}` } })
      expect((await models(key)).status).toBe(200)

      // Act
      const run = await keys('revoke', keyHint(key).replace('…', ''))

      // Assess
      expect(run.code, run.stderr).toBe(0)
      expect((await tenants.getKey(hashApiKey(key)))?.revokedAt).toEqual(expect.any(Number))
      expect((await tenants.getKey(hashApiKey(other)))?.revokedAt).toBeUndefined()
      expect((await models(key)).status).toBe(401)
      expect((await models(other)).status).toBe(200)
    })

    it('accepts the key id from the listing and the key itself', async () => {
      // Prepare
      const byId = await createKey('--tenant', 'epsilon')
      const byKey = await createKey('--tenant', 'epsilon')

      // Act
      const first = await keys('revoke', hashApiKey(byId).slice(0, 12))
      const second = await keys('revoke', byKey)

      // Assess
      expect([first.code, second.code]).toEqual([0, 0])
      expect((await tenants.getKey(hashApiKey(byId)))?.revokedAt).toBeDefined()
      expect((await tenants.getKey(hashApiKey(byKey)))?.revokedAt).toBeDefined()
    })

    it('revokes nothing when the hint is ambiguous or matches no key', async () => {
      // Prepare: two keys that share a hint (1 in 16 million by chance, forced here).
      const shared = { tenantId: 'zeta', hint: 'sk-spw-SAME…', createdAt: Date.now() }
      await tenants.putKey({ ...shared, keyHash: hashApiKey('sk-spw-SAME-one') })
      await tenants.putKey({ ...shared, keyHash: hashApiKey('sk-spw-SAME-two') })

      // Act
      const ambiguous = await keys('revoke', 'sk-spw-SAME')
      const missing = await keys('revoke', 'sk-spw-NONE')

      // Assess
      expect(ambiguous.code).toBe(1)
      expect(ambiguous.stderr).toContain('matches 2 keys')
      expect(missing.code).toBe(1)
      expect((await tenants.getKey(hashApiKey('sk-spw-SAME-one')))?.revokedAt).toBeUndefined()
      expect((await tenants.getKey(hashApiKey('sk-spw-SAME-two')))?.revokedAt).toBeUndefined()
    })
  })
})
