import { describe, expect, it } from 'vitest'
import { seedTenantKey } from '../../local/tenants.ts'
import type { BackendClient } from '../../shared/backends/backend-client.ts'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { createApp } from '../../shared/http/app.ts'
import type { WebhookTargetPolicy } from '../../shared/jobs/webhook-url.ts'
import { hashApiKey } from '../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../shared/tenants/memory-tenant-store.ts'

/**
 * `x-spillway-webhook` at the request: the webhook rule, not the backend rule (issue 12,
 * defect 9). The backend client answers at once, so a header that passes the check gets 200.
 */
const T0 = Date.UTC(2026, 0, 1)
const MODEL = 'deepseek-r1-distill-llama-8b'
const KEY = 'sk-test-webhook'
const okClient: BackendClient = {
  chatCompletions: async () => Response.json({ id: 'x', object: 'chat.completion', choices: [] }),
}

async function gateway(webhookPolicy?: WebhookTargetPolicy) {
  const store = new MemoryBackendStore()
  const tenants = new MemoryTenantStore()
  await seedTenantKey({ tenants, policy: { id: 'acme' }, key: KEY, now: T0 })
  await store.register({
    registration: {
      id: 'h20-1',
      url: 'http://127.0.0.1:9',
      hardware: 'h20',
      models: [MODEL],
      maxConcurrency: 4,
    },
    now: T0,
  })
  return createApp({
    config: parseGatewayConfig(DEFAULT_CONFIG),
    capacity: store,
    registry: store,
    tenants,
    backendClient: okClient,
    adminKeyHash: hashApiKey('sk-test-admin'),
    clock: () => T0,
    ...(webhookPolicy ? { webhookPolicy } : {}),
  })
}

const post = (app: Awaited<ReturnType<typeof gateway>>, webhook: string) =>
  app.request('http://localhost/v1/chat/completions', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${KEY}`,
      'content-type': 'application/json',
      'x-spillway-webhook': webhook,
    },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
  })

describe('POST /v1/chat/completions: x-spillway-webhook', () => {
  it('accepts a webhook URL with a query string', async () => {
    const res = await post(await gateway(), 'https://hooks.example.com/in?token=abc')
    expect(res.status).toBe(200)
  })

  it('refuses loopback and private targets by default with a 400 naming the header', async () => {
    const app = await gateway()
    for (const url of ['http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://10.0.0.8/hook']) {
      const res = await post(app, url)
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({
        error: { type: 'invalid_request_error', param: 'x-spillway-webhook' },
      })
    }
  })

  it('accepts a loopback target only when the operator allows private networks', async () => {
    const res = await post(await gateway({ allowPrivateNetworks: true }), 'http://127.0.0.1:8080/hook')
    expect(res.status).toBe(200)
  })
})
