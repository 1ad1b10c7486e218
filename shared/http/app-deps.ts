import type { BackendClient } from '../backends/backend-client.ts'
import type { BackendRegistry } from '../backends/backend-registry.ts'
import type { CapacityStore } from '../capacity/capacity-store.ts'
import type { GatewayConfig } from '../config/gateway-config.ts'
import type { CapacitySignal } from '../gateway/capacity-signal.ts'
import type { HoldSettings } from '../gateway/hold-settings.ts'
import type { TenantHoldStore } from '../holds/tenant-hold-store.ts'
import type { JobStore } from '../jobs/job-store.ts'
import type { OverflowPort } from '../jobs/overflow-port.ts'
import type { WebhookTargetPolicy } from '../jobs/webhook-url.ts'
import type { AppLogger } from '../logging.ts'
import type { ResolveHost } from '../net/resolve-host.ts'
import type { Observability } from '../observability/observability.ts'
import type { QueueDepthReader } from '../queue/queue-depth.ts'
import type { TenantPolicy } from '../tenants/tenant-policy.ts'
import type { TenantStore } from '../tenants/tenant-store.ts'

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
  /** The overflow path (jobs + queue); without it a busy model answers 429 even to a may-queue tenant. */
  readonly overflow?: OverflowPort
  /** "Capacity wanted" for models with waiting requests and no healthy backend (a log line by default). */
  readonly capacitySignal?: CapacitySignal
  /** Held-request tuning (keep-alive comments, marker and claim TTLs). */
  readonly hold?: Partial<HoldSettings>
  /** The runtime's ceiling on any hold, in seconds, whatever the tenant's limit. */
  readonly maxHoldSeconds?: number
  /** Tenants' concurrent holds across instances (DynamoDB); one process's count in memory when absent. */
  readonly holds?: TenantHoldStore
  /** Jobs API (`/v1/jobs/{id}`); mounted only when present. */
  readonly jobs?: JobStore
  /** SQS depth per lane for `GET /admin/queues`. */
  readonly queueDepth?: QueueDepthReader
  readonly clock?: () => number
  readonly random?: () => number
  readonly log?: AppLogger
  /** Metrics, request log lines, dashboard data; `createApp` makes one when absent. */
  readonly observability?: Observability
  /** Which `x-spillway-webhook` targets are accepted (no private networks by default). */
  readonly webhookPolicy?: WebhookTargetPolicy
  /** How long an API key lookup is cached (10 s by default); a revoked key stops working within this. */
  readonly keyCacheMs?: number
  /** Browser origins allowed to call the gateway (`*` for any); CORS is off when empty. */
  readonly corsOrigins?: readonly string[]
  /**
   * How long a lease of a request that ended well stays warm for the next one (the config's
   * `leaseLingerMs`, for long-lived servers); 0 or absent: released at once.
   */
  readonly leaseLingerMs?: number
}

export type AppEnv = {
  Variables: {
    tenant: TenantPolicy
    requestId: string
    /** The configured model a route resolved (observability reads it; else it parses the body again). */
    model?: string
  }
}
