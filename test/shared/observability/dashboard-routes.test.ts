import { describe, expect, it } from 'vitest'
import { MemoryBackendStore } from '../../../shared/capacity/memory-backend-store.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../../shared/config/gateway-config.ts'
import { createApp } from '../../../shared/http/app.ts'
import { Observability } from '../../../shared/observability/observability.ts'
import { hashApiKey, keyHint } from '../../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../../shared/tenants/memory-tenant-store.ts'
import { TenantPolicySchema } from '../../../shared/tenants/tenant-policy.ts'

const ADMIN_KEY = 'sk-test-admin'
const MODEL = 'deepseek-r1-distill-llama-8b'

async function app(observability?: Observability) {
  const store = new MemoryBackendStore()
  const now = Date.now()
  await store.register({
    registration: {
      id: 'h20-1',
      url: 'http://127.0.0.1:9',
      hardware: 'h20',
      models: [MODEL],
      maxConcurrency: 3,
    },
    now,
  })
  await store.register({
    registration: {
      id: 'cpu-1',
      url: 'http://127.0.0.1:8',
      hardware: 'cpu',
      models: ['q'],
      maxConcurrency: 1,
    },
    now,
  })
  await store.setState({ id: 'cpu-1', state: 'draining' })
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

  it('shows a half-open circuit as degraded, on the page and as spillway_backend_state 1', async () => {
    // Prepare: one backend that fails every call, a clock the test moves.
    let now = Date.UTC(2026, 0, 1)
    const store = new MemoryBackendStore()
    await store.register({
      registration: {
        id: 'h20-1',
        url: 'http://127.0.0.1:9',
        hardware: 'h20',
        models: [MODEL],
        maxConcurrency: 3,
      },
      now,
    })
    const tenants = new MemoryTenantStore()
    await tenants.putTenant({ ...TenantPolicySchema.parse({ id: 't1' }) })
    await tenants.putKey({
      keyHash: hashApiKey('sk-t1'),
      tenantId: 't1',
      hint: keyHint('sk-t1'),
      createdAt: now,
    })
    const gateway = createApp({
      config: parseGatewayConfig({
        ...DEFAULT_CONFIG,
        circuit: { failureThreshold: 3, coolDownSeconds: 2 },
      }),
      capacity: store,
      registry: store,
      tenants,
      backendClient: { chatCompletions: async () => new Response('boom', { status: 500 }) },
      adminKeyHash: hashApiKey(ADMIN_KEY),
      clock: () => now,
    })
    const admin = { headers: { authorization: `Bearer ${ADMIN_KEY}` } }
    const health = async () => {
      now += 1_500 // past the dashboard's and the readings' one-second caches
      const data = await (await gateway.request('http://localhost/dashboard/data', admin)).json()
      const metrics = await (await gateway.request('http://localhost/metrics', admin)).text()
      const state = /spillway_backend_state\{backend="h20-1",hardware="h20"\} (\d)/.exec(metrics)?.[1]
      return { ...data.pools[0].backends[0], state: Number(state) }
    }

    // Act: three failed requests open the circuit; the cool-down passes; no probe has settled it.
    const failed = []
    for (let i = 0; i < 3; i++) {
      const res = await gateway.request('http://localhost/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: 'Bearer sk-t1', 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
      })
      failed.push(res.status)
    }
    const open = await health()
    now += 1_000
    const halfOpen = await health()

    // Assess
    expect(failed).toEqual([502, 502, 502])
    expect(open).toMatchObject({ health: 'out', reasons: ['circuit-open'], state: 2 })
    expect(halfOpen).toMatchObject({ health: 'degraded', reasons: ['circuit-half-open'], state: 1 })
  })
})
