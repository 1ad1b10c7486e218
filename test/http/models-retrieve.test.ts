import OpenAI, { NotFoundError } from 'openai'
import { beforeAll, describe, expect, it } from 'vitest'
import { seedTenantKey } from '../../local/tenants.ts'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { createApp } from '../../shared/http/app.ts'
import { hashApiKey } from '../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../shared/tenants/memory-tenant-store.ts'

/**
 * `GET /v1/models/{id}` through the openai SDK's `models.retrieve`, the SDK's
 * requests handed to `createApp(deps).request` (memory adapters, no server).
 */
const T0 = Date.UTC(2026, 0, 1)
const GPU_MODEL = 'deepseek-r1-distill-llama-8b'
const SLASHED = 'meta-llama/Llama-3.1-8B-Instruct'
const config = parseGatewayConfig({
  ...DEFAULT_CONFIG,
  models: [...DEFAULT_CONFIG.models, { id: SLASHED, tiers: [{ hardware: ['h20'], model: SLASHED }] }],
})

let open: OpenAI
let restricted: OpenAI
beforeAll(async () => {
  const store = new MemoryBackendStore()
  const tenants = new MemoryTenantStore()
  await seedTenantKey({ tenants, policy: { id: 'open', mayDegrade: true }, key: 'sk-open', now: T0 })
  await seedTenantKey({ tenants, policy: { id: 'narrow', models: [SLASHED] }, key: 'sk-narrow', now: T0 })
  await store.register({
    registration: {
      id: 'h20-1',
      url: 'http://127.0.0.1:9',
      hardware: 'h20',
      models: [GPU_MODEL],
      maxConcurrency: 4,
    },
    now: T0,
  })
  await store.heartbeat({ id: 'h20-1', load: { running: 0, waiting: 0, kvCacheUsage: 0 }, now: T0 })
  const app = createApp({
    config,
    capacity: store,
    registry: store,
    tenants,
    backendClient: { chatCompletions: async () => new Response(null, { status: 500 }) },
    adminKeyHash: hashApiKey('sk-admin'),
    clock: () => T0,
  })
  const client = (apiKey: string) =>
    new OpenAI({
      apiKey,
      baseURL: 'http://gateway.test/v1',
      maxRetries: 0,
      fetch: (url, init) => Promise.resolve(app.request(String(url), init as RequestInit)),
    })
  open = client('sk-open')
  restricted = client('sk-narrow')
})

describe('GET /v1/models/{id}', () => {
  it('answers models.retrieve with the model, its tiers and live availability', async () => {
    const model = await open.models.retrieve(GPU_MODEL)
    expect(model).toMatchObject({ id: GPU_MODEL, object: 'model', owned_by: 'spillway' })
    const tiers = (
      model as unknown as { tiers: { hardware: string[]; backends: number; free_slots: number }[] }
    ).tiers
    expect(tiers[0]).toMatchObject({ hardware: expect.arrayContaining(['h20']), backends: 1, free_slots: 4 })
  })

  it('finds a model whose id holds a slash', async () => {
    expect((await open.models.retrieve(SLASHED)).id).toBe(SLASHED)
  })

  it('answers the same OpenAI-shaped 404 for an unknown model and for one the tenant may not use', async () => {
    for (const [client, id] of [
      [open, 'no-such-model'],
      [restricted, GPU_MODEL],
    ] as const) {
      const error = await client.models.retrieve(id).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(NotFoundError)
      expect((error as NotFoundError).error).toEqual({
        message: `The model '${id}' does not exist.`,
        type: 'not_found_error',
        param: 'model',
        code: 'model_not_found',
      })
    }
  })

  it('lists for a tenant only the models it may use', async () => {
    const ids = []
    for await (const model of restricted.models.list()) ids.push(model.id)
    expect(ids).toEqual([SLASHED])
  })
})
