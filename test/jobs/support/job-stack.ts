import OpenAI from 'openai'
import type { LocalAws } from '../../../local/emulators.ts'
import type { Fleet, StartFleetOptions } from '../../../local/fleet/fleet.ts'
import { startLocalStack } from '../../../local/local-stack.ts'
import {
  type LocalWorkers,
  type LocalWorkersOptions,
  startLocalWorkers,
} from '../../../local/worker-poller.ts'
import { DEFAULT_CONFIG, type GatewayConfigInput } from '../../../shared/config/gateway-config.ts'
import type { AppDeps } from '../../../shared/http/app-deps.ts'
import type { OverflowOptions } from '../../../shared/jobs/overflow.ts'
import type { AwsAdapters } from '../../../shared/runtime/aws-adapters.ts'
import type { RuntimeEnv } from '../../../shared/runtime/runtime-env.ts'
import type { TenantPolicyInput } from '../../../shared/tenants/tenant-policy.ts'
import { BACKEND_KEY, postChat as postChatWith } from '../../support/gateway-stack.ts'
import { holdSlots } from '../../support/hold-slots.ts'
import { testWebhookSecret } from './webhook-receiver.ts'

export const MODEL = 'deepseek-r1-distill-llama-8b'
export const WEBHOOK_SECRET = testWebhookSecret('job-stack')

/** Test tenants: keys and policies. */
export const KEYS = {
  queue: 'sk-test-queue',
  wait: 'sk-test-wait',
  batch: 'sk-test-batch',
  other: 'sk-test-other',
  /** As `npm start`'s dev key: may degrade, may queue, everything else the schema's defaults. */
  dev: 'sk-test-dev',
}
export const JOB_TENANTS: readonly { key: string; policy: TenantPolicyInput }[] = [
  { key: KEYS.queue, policy: { id: 'queuer', mayQueue: true } },
  { key: KEYS.wait, policy: { id: 'waiter', mayQueue: true, maxHoldSeconds: 10 } },
  { key: KEYS.batch, policy: { id: 'batcher', mayQueue: true, priority: 'batch' } },
  { key: KEYS.other, policy: { id: 'other', mayQueue: true } },
  { key: KEYS.dev, policy: { id: 'dev', mayQueue: true, mayDegrade: true } },
]

/** GPU tier only (no CPU fallback), short leases, a snapshot that is never older than 100 ms. */
export function gpuOnlyConfig(): GatewayConfigInput {
  const model = DEFAULT_CONFIG.models[0]
  if (!model) throw new Error('default config has no model')
  return {
    ...DEFAULT_CONFIG,
    models: [{ ...model, tiers: model.tiers.filter((tier) => !tier.degraded) }],
    leaseTtlSeconds: 3,
    // No heartbeat agents in these tests: a registration stays fresh for the whole file.
    heartbeatStaleSeconds: 3600,
    snapshotMaxAgeMs: 100,
  }
}

export interface JobStack {
  readonly aws: LocalAws
  readonly fleet: Fleet
  readonly env: RuntimeEnv
  /** Environment for a worker process joining this stack. */
  readonly processEnv: Record<string, string>
  readonly adapters: AwsAdapters
  readonly gatewayUrl: string
  /** Holds `count` slots of a backend with leases that outlive the test; returns the releaser. */
  blockSlots(backendId: string, count: number): Promise<() => Promise<void>>
  /** Completion requests the simulated backends received, all backends together. */
  simRequests(): number
  startWorkers(options?: Partial<LocalWorkersOptions>): Promise<LocalWorkers>
  openai(key: string): OpenAI
  stop(): Promise<void>
}

export async function startJobStack(
  options: {
    fleet?: string
    speed?: number
    faults?: StartFleetOptions['faults']
    /** The models each hardware class of the fleet serves (the simulator's defaults otherwise). */
    models?: StartFleetOptions['models']
    /** The gateway's and workers' configuration; `gpuOnlyConfig()` by default. */
    config?: GatewayConfigInput
    overflow?: Partial<OverflowOptions>
    /** Gateway options the held-request tests tune (keep-alive period, capacity signal). */
    app?: Pick<AppDeps, 'hold' | 'capacitySignal' | 'maxHoldSeconds'>
  } = {},
): Promise<JobStack> {
  const stack = await startLocalStack({
    prefix: `jobs-${Math.random().toString(36).slice(2, 8)}`,
    fleet: options.fleet ?? 'h20=1x2',
    speed: options.speed ?? 1,
    ...(options.faults ? { faults: options.faults } : {}),
    // The simulator's defaults unless told, as the job tests were written against.
    models: options.models ?? {},
    config: options.config ?? gpuOnlyConfig(),
    adminKey: 'sk-test-admin',
    agentKey: 'sk-test-agent',
    backendApiKey: BACKEND_KEY,
    webhookSecret: WEBHOOK_SECRET,
    tenants: JOB_TENANTS,
    // Registered once, no heartbeats: gpuOnlyConfig keeps a registration fresh for the whole file.
    heartbeatAgents: false,
    gateway: { ...options.app, overflow: { retryAfterSeconds: 1, ...options.overflow } },
  })
  const { aws, fleet, runtime: env, adapters, gatewayUrl } = stack
  // Worker processes joining the stack stay quiet but for errors.
  const processEnv = { ...stack.env, LOG_LEVEL: 'error' }
  const workers: LocalWorkers[] = []

  return {
    aws,
    fleet,
    env,
    processEnv,
    adapters,
    gatewayUrl,
    blockSlots: (backendId, count) =>
      holdSlots({ capacity: adapters.capacity, registry: adapters.registry, backendId, count }),
    simRequests: () => fleet.backends.reduce((sum, backend) => sum + backend.state().totals.requests, 0),
    async startWorkers(overrides = {}) {
      const started = await startLocalWorkers({
        env,
        batchSize: 10,
        concurrency: 2,
        waitTimeSeconds: 1,
        failedVisibilitySeconds: 0,
        reaperIntervalMs: false,
        worker: {
          claimTtlMs: 3_000,
          slotWaitMs: 1_000,
          webhook: { maxAttempts: 3, baseDelayMs: 50, timeoutMs: 2_000 },
        },
        ...overrides,
      })
      workers.push(started)
      return started
    },
    openai: (key) => new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: key, maxRetries: 0, timeout: 30_000 }),
    async stop() {
      await Promise.all(workers.map((w) => w.stop()))
      await stack.stop()
    },
  }
}

export { chatBody, eventually } from '../../support/gateway-stack.ts'

/** The gateway-stack helper with headers as a plain fourth argument, as the job tests call it. */
export function postChat(
  gatewayUrl: string,
  key: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return postChatWith(gatewayUrl, key, body, { headers })
}

export function getJob(gatewayUrl: string, key: string, id: string, query = ''): Promise<Response> {
  return fetch(`${gatewayUrl}/v1/jobs/${id}${query}`, { headers: { authorization: `Bearer ${key}` } })
}
