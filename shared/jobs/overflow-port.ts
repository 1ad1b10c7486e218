import type { ApiKind } from '../backends/backend-apis.ts'
import type { ModelConfig } from '../config/gateway-config.ts'
import type { JobQueue } from '../queue/job-queue.ts'
import type { TenantPolicy } from '../tenants/tenant-policy.ts'
import type { JobRecord } from './job-record.ts'
import type { JobStore } from './job-store.ts'

/** A request that found no slot, made a job. */
export interface SubmitJobOptions {
  /** A fresh job id, or the one the request's `Idempotency-Key` reserved. */
  readonly id: string
  readonly tenant: TenantPolicy
  readonly model: ModelConfig
  /** The API called; chat when absent. */
  readonly api?: ApiKind
  readonly body: Record<string, unknown>
  readonly stream: boolean
  /** Epoch ms after which the job expires instead of running. */
  readonly deadlineAt: number
  readonly requestId: string
  /** Called with the job's final state when it ends (`x-spillway-webhook`). */
  readonly webhookUrl?: string
  /** Set when the submitting gateway holds the client and competes for the slot itself. */
  readonly heldUntil?: number
}

/** The overflow path: durable jobs and their queue, as the gateway sees them. */
export interface OverflowPort {
  readonly jobs: JobStore
  readonly queue: JobQueue
  /** `Retry-After` on a 202. */
  readonly retryAfterSeconds: number
  /** A requeued job whose message is not recorded as sent by then is the outbox sweep's. */
  readonly outboxGraceMs: number
  readonly idempotencyTtlSeconds: number
  /** Writes the job, then its message (outbox); the existing job when the id is taken. */
  submit(options: SubmitJobOptions): Promise<JobRecord>
}
