import type { Hono } from 'hono'
import { type Fleet, startFleet } from '../../local/fleet/fleet.ts'
import { seedTenantKey } from '../../local/tenants.ts'
import { HttpBackendClient } from '../../shared/backends/backend-client.ts'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import { parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { createApp } from '../../shared/http/app.ts'
import type { AppEnv } from '../../shared/http/app-deps.ts'
import { MemoryJobStore } from '../../shared/jobs/memory-job-store.ts'
import { Overflow, type OverflowOptions } from '../../shared/jobs/overflow.ts'
import type { Lane } from '../../shared/queue/job-queue.ts'
import { MemoryJobQueue } from '../../shared/queue/memory-job-queue.ts'
import { hashApiKey } from '../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../shared/tenants/memory-tenant-store.ts'
import { gpuOnlyConfig, JOB_TENANTS } from '../jobs/support/job-stack.ts'
import { ADMIN_KEY, BACKEND_KEY } from './gateway-stack.ts'
import { holdSlots } from './hold-slots.ts'

/**
 * The gateway's job-facing HTTP contract without emulators: `createApp` on the
 * memory adapters of every port (backends, tenants, jobs, queue), answering
 * through `app.request`, in front of a real simulated fleet on loopback. No
 * worker runs, so a spilled job stays queued and the gateway side is seen alone.
 */
export interface MemoryJobStack {
  readonly app: Hono<AppEnv>
  readonly jobs: MemoryJobStore
  readonly queue: MemoryJobQueue
  readonly fleet: Fleet
  /** Holds `count` slots of a backend with leases that outlive the test; returns the releaser. */
  blockSlots(backendId: string, count: number): Promise<() => Promise<void>>
  /** Completion requests the simulated backends received, all backends together. */
  simRequests(): number
  /** Takes every visible message off a lane: the job ids, in order. */
  drain(lane: Lane): string[]
  stop(): Promise<void>
}

export async function startMemoryJobStack(
  options: { fleet?: string; overflow?: Partial<OverflowOptions> } = {},
): Promise<MemoryJobStack> {
  const config = parseGatewayConfig(gpuOnlyConfig())
  const store = new MemoryBackendStore()
  const tenants = new MemoryTenantStore()
  for (const tenant of JOB_TENANTS) await seedTenantKey({ tenants, ...tenant, now: Date.now() })
  const fleet = await startFleet({ spec: options.fleet ?? 'h20=1x2', speed: 1, apiKey: BACKEND_KEY })
  for (const backend of fleet.backends) {
    const { id, url, hardware, models, maxConcurrency } = backend
    await store.register({ registration: { id, url, hardware, models, maxConcurrency }, now: Date.now() })
  }
  const jobs = new MemoryJobStore()
  const queue = new MemoryJobQueue()
  const app = createApp({
    config,
    capacity: store,
    registry: store,
    tenants,
    backendClient: new HttpBackendClient({ apiKey: BACKEND_KEY }),
    adminKeyHash: hashApiKey(ADMIN_KEY),
    jobs,
    overflow: new Overflow({
      jobs,
      queue,
      retryAfterSeconds: 1,
      webhookPolicy: { allowPrivateNetworks: true },
      ...options.overflow,
    }),
    webhookPolicy: { allowPrivateNetworks: true },
  })
  return {
    app,
    jobs,
    queue,
    fleet,
    blockSlots: (backendId, count) => holdSlots({ capacity: store, registry: store, backendId, count }),
    simRequests: () => fleet.backends.reduce((sum, backend) => sum + backend.state().totals.requests, 0),
    drain(lane) {
      const ids: string[] = []
      for (let message = queue.receive(lane); message; message = queue.receive(lane)) ids.push(message.jobId)
      return ids
    },
    stop: () => fleet.stop(),
  }
}

/** `POST /v1/chat/completions` through `app.request`, headers as a plain fourth argument. */
export function postChat(
  app: Hono<AppEnv>,
  key: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    app.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }),
  )
}

export function getJob(app: Hono<AppEnv>, key: string, id: string, query = ''): Promise<Response> {
  return Promise.resolve(
    app.request(`/v1/jobs/${id}${query}`, { headers: { authorization: `Bearer ${key}` } }),
  )
}

export function deleteJob(app: Hono<AppEnv>, key: string, id: string): Promise<Response> {
  return Promise.resolve(
    app.request(`/v1/jobs/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } }),
  )
}
