import type { BackendClient } from '../backends/backend-client.ts'
import type { ResolveHost } from '../backends/backend-host-check.ts'
import type { BackendRegistry } from '../backends/backend-registry.ts'
import type { CapacityStore } from '../capacity/capacity-store.ts'
import type { GatewayConfig, ModelConfig } from '../config/gateway-config.ts'
import type { JobStore } from '../jobs/job-store.ts'
import type { WebhookTargetPolicy } from '../jobs/webhook-url.ts'
import type { AppLogger } from '../logging.ts'
import type { QueueDepthReader } from '../queue/queue-depth.ts'
import type { TenantPolicy } from '../tenants/tenant-policy.ts'
import type { TenantStore } from '../tenants/tenant-store.ts'
import type { Preferences } from './prefer.ts'

/** A request that found no slot, handed to the overflow path (jobs + queue). */
export interface SpillOptions {
  readonly tenant: TenantPolicy
  readonly model: ModelConfig
  readonly body: Record<string, unknown>
  readonly stream: boolean
  readonly prefer: Preferences
  readonly idempotencyKey?: string
  /** Epoch ms after which the job expires instead of running. */
  readonly deadlineAt: number
  readonly requestId: string
  readonly signal: AbortSignal
  /** Called with the job's final state when it ends (`x-spillway-webhook`). */
  readonly webhookUrl?: string
}

export interface OverflowPort {
  /** Makes the request a durable job and answers as the preferences ask (202, or the result inline). */
  spill(options: SpillOptions): Promise<Response>
}

/** Everything the HTTP app needs, injected: the same app runs on Lambda, on Node and in tests. */
export interface AppDeps {
  readonly config: GatewayConfig
  readonly capacity: CapacityStore
  readonly registry: BackendRegistry
  readonly tenants: TenantStore
  readonly backendClient: BackendClient
  /** SHA-256 of the admin key (admin routes). */
  readonly adminKeyHash: string
  /** SHA-256 of the backend-agent key (register and heartbeat only). */
  readonly agentKeyHash?: string
  /** Resolves backend host names at registration (system DNS by default). */
  readonly resolveHost?: ResolveHost
  readonly overflow?: OverflowPort
  /** Jobs API (`/v1/jobs/{id}`); mounted only when present. */
  readonly jobs?: JobStore
  /** SQS depth per lane for `GET /admin/queues`. */
  readonly queueDepth?: QueueDepthReader
  readonly clock?: () => number
  readonly random?: () => number
  readonly log?: AppLogger
  /** Which `x-spillway-webhook` targets are accepted (no private networks by default). */
  readonly webhookPolicy?: WebhookTargetPolicy
  /** How long an API key lookup is cached; a revoked key stops working within this. */
  readonly keyCacheMs?: number
}

export type AppEnv = {
  Variables: {
    tenant: TenantPolicy
    requestId: string
  }
}
