import { describe, expect, it } from 'vitest'
import { MemoryBackendStore } from '../../../shared/capacity/memory-backend-store.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../../shared/config/gateway-config.ts'
import { createApp } from '../../../shared/http/app.ts'
import { Observability } from '../../../shared/observability/observability.ts'
import { hashApiKey } from '../../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../../shared/tenants/memory-tenant-store.ts'

const ADMIN_KEY = 'sk-test-admin'
const MODEL = 'deepseek-r1-distill-llama-8b'

async function app(observability?: Observability) {
  const store = new MemoryBackendStore()
  const now = Date.now()
  await store.register(
    { id: 'h20-1', url: 'http://127.0.0.1:9', hardware: 'h20', models: [MODEL], maxConcurrency: 3 },
    now,
  )
  await store.register(
    { id: 'cpu-1', url: 'http://127.0.0.1:8', hardware: 'cpu', models: ['q'], maxConcurrency: 1 },
    now,
  )
  await store.setState('cpu-1', 'draining')
  return createApp({
    config: parseGatewayConfig(DEFAULT_CONFIG),
    capacity: store,
    registry: store,
    tenants: new MemoryTenantStore(),
    backendClient: { chatCompletions: async () => Response.json({}) },
    adminKeyHash: hashApiKey(ADMIN_KEY),
    ...(observability ? { observability } : {}),
  })
}

describe('GET /dashboard', () => {
  it('serves the page without a key, under a policy that forbids inline script', async () => {
    const res = await (await app()).request('http://localhost/dashboard')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(await res.text()).toContain('<script src="/dashboard/app.js"></script>')
    const script = await (await app()).request('http://localhost/dashboard/app.js')
    expect(script.headers.get('content-type')).toContain('text/javascript')
  })

  it('serves its data only with the admin key, unless observability is explicitly open', async () => {
    const gateway = await app()
    const refused = await gateway.request('http://localhost/dashboard/data')
    expect(refused.status).toBe(401)
    expect((await refused.json()).error).toMatchObject({ type: 'authentication_error' })
    const open = await app(new Observability({ openWithoutKey: true }))
    expect((await open.request('http://localhost/dashboard/data')).status).toBe(200)
    expect((await open.request('http://localhost/metrics')).status).toBe(200)
  })

  it('shows pools per hardware class, GPU first, with health and its reasons', async () => {
    const res = await (await app()).request('http://localhost/dashboard/data', {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    })
    const data = await res.json()
    expect(data.pools.map((p: { hardware: string }) => p.hardware)).toEqual(['h20', 'cpu'])
    expect(data.pools[0].backends[0]).toMatchObject({ id: 'h20-1', leased: 0, free: 3, health: 'healthy' })
    expect(data.pools[1].backends[0]).toMatchObject({
      id: 'cpu-1',
      health: 'degraded',
      reasons: ['draining'],
    })
    expect(data).toMatchObject({ queues: [], rates: [], decisions: [], jobs: { outcomes: {} } })
  })
})
