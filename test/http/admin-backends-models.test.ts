import { describe, expect, it } from 'vitest'
import type { BackendClient } from '../../shared/backends/backend-client.ts'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import { parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { createApp } from '../../shared/http/app.ts'
import { hashApiKey } from '../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../shared/tenants/memory-tenant-store.ts'

const ADMIN_KEY = 'sk-test-admin'
const AGENT_KEY = 'sk-test-agent'
const config = parseGatewayConfig({
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
})
const noBackendCalls: BackendClient = {
  chatCompletions: () => Promise.reject(new Error('no backend call expected')),
}

function gateway() {
  return createApp({
    config,
    capacity: new MemoryBackendStore(),
    registry: new MemoryBackendStore(),
    tenants: new MemoryTenantStore(),
    backendClient: noBackendCalls,
    adminKeyHash: hashApiKey(ADMIN_KEY),
    agentKeyHash: hashApiKey(AGENT_KEY),
    resolveHost: async () => ['10.0.0.9'],
    clock: () => Date.UTC(2026, 0, 1),
  })
}

const register = (app: ReturnType<typeof gateway>, body: Record<string, unknown>) =>
  app.request('/admin/backends', {
    method: 'POST',
    headers: { authorization: `Bearer ${AGENT_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: 'gpu-1',
      url: 'http://10.0.0.9:8000',
      hardware: 'h20',
      maxConcurrency: 4,
      ...body,
    }),
  })

describe('POST /admin/backends: models', () => {
  it('refuses a model no configuration names with 400 and the list of known models', async () => {
    // Prepare
    const app = gateway()

    // Act
    const res = await register(app, { models: ['meta-llama/Llama-3.1-8B-Instruct'] })

    // Assess
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      error: {
        message:
          'Unknown model "meta-llama/Llama-3.1-8B-Instruct": no configured tier sends it to a backend. ' +
          'Known models: acme-chat-7b, acme-chat-7b-q4.',
        type: 'invalid_request_error',
        param: 'models',
        code: 'unknown_model',
      },
    })
    const list = await app.request('/admin/backends', { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    expect(((await list.json()) as { data: unknown[] }).data).toEqual([])
  })

  it('names only the unknown ids when a backend lists known and unknown models', async () => {
    // Act
    const res = await register(gateway(), { models: ['acme-chat-7b', 'acme-chat-70b', 'other'] })

    // Assess
    expect(res.status).toBe(400)
    const { error } = (await res.json()) as { error: { message: string } }
    expect(error.message).toMatch(/^Unknown models "acme-chat-70b", "other": /)
  })

  it('registers a backend whose models are all tier models, the CPU variant included', async () => {
    // Act
    const gpu = await register(gateway(), { models: ['acme-chat-7b'] })
    const cpu = await register(gateway(), { id: 'cpu-1', hardware: 'cpu', models: ['acme-chat-7b-q4'] })

    // Assess
    expect(gpu.status).toBe(201)
    expect(cpu.status).toBe(201)
    expect(await gpu.json()).toMatchObject({ id: 'gpu-1', models: ['acme-chat-7b'] })
  })
})

describe('POST /admin/backends: apis', () => {
  const list = async (app: ReturnType<typeof gateway>) =>
    (
      (await (
        await app.request('/admin/backends', { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
      ).json()) as { data: { id: string; apis: string[] }[] }
    ).data

  it('keeps the APIs a backend lists, once each, and assumes chat and completions when it lists none', async () => {
    const app = gateway()
    expect((await register(app, { models: ['acme-chat-7b'] })).status).toBe(201)
    expect(
      (
        await register(app, {
          id: 'gpu-2',
          models: ['acme-chat-7b'],
          apis: ['responses', 'chat', 'responses'],
        })
      ).status,
    ).toBe(201)
    const data = await list(app)
    expect(data.find((b) => b.id === 'gpu-1')?.apis).toEqual(['chat', 'completions'])
    expect(data.find((b) => b.id === 'gpu-2')?.apis).toEqual(['responses', 'chat'])
  })

  it('refuses an API it does not know, or an empty list, with a 400 naming apis', async () => {
    const app = gateway()
    for (const apis of [['chat', 'rerank'], []]) {
      const res = await register(app, { models: ['acme-chat-7b'], apis })
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: { param: string } }).error.param).toMatch(/^apis/)
    }
  })
})
