import { beforeEach, describe, expect, it } from 'vitest'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { createApp } from '../../shared/http/app.ts'
import { hashApiKey } from '../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../shared/tenants/memory-tenant-store.ts'

const ADMIN = { authorization: 'Bearer sk-test-admin', 'content-type': 'application/json' }
const KEY_CACHE_MS = 5_000
let now = Date.UTC(2026, 0, 1)
let tenants: MemoryTenantStore
let app: ReturnType<typeof createApp>

beforeEach(() => {
  tenants = new MemoryTenantStore()
  const store = new MemoryBackendStore()
  app = createApp({
    config: parseGatewayConfig(DEFAULT_CONFIG),
    capacity: store,
    registry: store,
    tenants,
    backendClient: { chatCompletions: async () => new Response(null, { status: 500 }) },
    adminKeyHash: hashApiKey('sk-test-admin'),
    agentKeyHash: hashApiKey('sk-test-agent'),
    clock: () => now,
    keyCacheMs: KEY_CACHE_MS,
  })
})

const admin = (method: string, path: string, body?: unknown) =>
  app.request(`http://localhost${path}`, {
    method,
    headers: ADMIN,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
const models = (key: string) =>
  app.request('http://localhost/v1/models', { headers: { authorization: `Bearer ${key}` } })

describe('Route: /admin/keys', () => {
  it('creates a tenant and a key that works at once, shown only in the creation answer', async () => {
    // Act
    const res = await admin('POST', '/admin/keys', { tenant: 't1', mayQueue: true, models: ['*'] })

    // Assess
    expect(res.status).toBe(201)
    const created = (await res.json()) as { key: string; id: string; hint: string; policy: object }
    expect(created.key).toMatch(/^sk-spw-/)
    expect(created.policy).toMatchObject({ id: 't1', mayQueue: true, mayDegrade: false })
    expect((await models(created.key)).status).toBe(200)
    const listing = await (await admin('GET', '/admin/keys')).text()
    expect(listing).toContain(created.hint)
    expect(listing).not.toContain(created.key)
    expect(listing).not.toContain(hashApiKey(created.key))
  })

  it("sets and checks a tenant's maxConcurrentHolds", async () => {
    const res = await admin('POST', '/admin/keys', { tenant: 't2', mayQueue: true, maxConcurrentHolds: 3 })
    expect(res.status).toBe(201)
    expect(((await res.json()) as { policy: object }).policy).toMatchObject({ maxConcurrentHolds: 3 })
    expect((await tenants.getTenant('t2'))?.maxConcurrentHolds).toBe(3)

    const bad = await admin('POST', '/admin/keys', { tenant: 't3', maxConcurrentHolds: -1 })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('maxConcurrentHolds')
  })

  it('revokes a key by id; the gateway refuses it once its key cache time has passed', async () => {
    const { key, id } = (await (await admin('POST', '/admin/keys', { tenant: 't2' })).json()) as {
      key: string
      id: string
    }
    expect((await models(key)).status).toBe(200)

    const res = await admin('DELETE', `/admin/keys/${id}`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      id,
      revokedAt: expect.any(String),
      stopsWorkingWithinSeconds: 5,
    })
    now += KEY_CACHE_MS + 1
    expect((await models(key)).status).toBe(401)
    expect((await admin('DELETE', '/admin/keys/0123456789ab')).status).toBe(404)
  })

  it('refuses bad input with OpenAI-shaped 400s and any key but the admin key with 401', async () => {
    for (const body of [
      {},
      { tenant: 'Bad Id' },
      { tenant: 't3', priority: 'urgent' },
      { tenant: 't3', extra: 1 },
    ]) {
      const res = await admin('POST', '/admin/keys', body)
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({
        error: { type: 'invalid_request_error', message: expect.any(String) },
      })
    }
    const agent = await app.request('http://localhost/admin/keys', {
      headers: { authorization: 'Bearer sk-test-agent' },
    })
    expect(agent.status).toBe(401)
    expect((await admin('DELETE', '/admin/keys/not-a-key-id')).status).toBe(404)
  })
})
