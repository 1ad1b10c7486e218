import type { Hono } from 'hono'
import { seedTenantKey } from '../../local/tenants.ts'
import type { BackendCallOptions, BackendClient } from '../../shared/backends/backend-client.ts'
import type { CapacityStore } from '../../shared/capacity/capacity-store.ts'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import {
  DEFAULT_CONFIG,
  type GatewayConfigInput,
  parseGatewayConfig,
} from '../../shared/config/gateway-config.ts'
import { createApp } from '../../shared/http/app.ts'
import type { AppDeps, AppEnv } from '../../shared/http/app-deps.ts'
import { hashApiKey } from '../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../shared/tenants/memory-tenant-store.ts'
import type { TenantPolicyInput } from '../../shared/tenants/tenant-policy.ts'

/**
 * The HTTP app on memory adapters, for contract tests through `app.request`:
 * one backend `h20-1`, and a backend client that records every call and
 * answers a fixed completion.
 */
export const T0 = Date.UTC(2026, 0, 1)
export const MODEL = 'deepseek-r1-distill-llama-8b'
export const ADMIN_KEY = 'sk-test-admin'
export const AGENT_KEY = 'sk-test-agent'

export interface MemoryGateway {
  readonly app: Hono<AppEnv>
  readonly tenants: MemoryTenantStore
  readonly store: MemoryBackendStore
  /** Every call that reached the backend client. */
  readonly reached: BackendCallOptions[]
}

export async function memoryGateway(
  options: {
    tenants?: readonly { key: string; policy: TenantPolicyInput }[]
    config?: Partial<GatewayConfigInput>
    deps?: Partial<AppDeps>
    /** The capacity store the app uses, made from the memory store (a wrapper that delays or fails calls). */
    wrapCapacity?: (store: MemoryBackendStore) => CapacityStore
  } = {},
): Promise<MemoryGateway> {
  const store = new MemoryBackendStore()
  const tenants = new MemoryTenantStore()
  for (const { key, policy } of options.tenants ?? []) await seedTenantKey({ tenants, policy, key, now: T0 })
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
  const reached: BackendCallOptions[] = []
  const backendClient: BackendClient = {
    async chatCompletions(call) {
      reached.push(call)
      return Response.json({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        model: MODEL,
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
      })
    },
  }
  const app = createApp({
    config: parseGatewayConfig({ ...DEFAULT_CONFIG, ...options.config }),
    capacity: options.wrapCapacity?.(store) ?? store,
    registry: store,
    tenants,
    backendClient,
    adminKeyHash: hashApiKey(ADMIN_KEY),
    agentKeyHash: hashApiKey(AGENT_KEY),
    resolveHost: async () => {
      throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' })
    },
    clock: () => T0,
    ...options.deps,
  })
  return { app, tenants, store, reached }
}

export function postJson(app: Hono<AppEnv>, path: string, key: string, body: unknown): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  )
}
