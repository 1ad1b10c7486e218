import { randomBytes } from 'node:crypto'
import type { ApiKind } from '../backends/backend-apis.ts'
import type { Lane } from '../queue/job-queue.ts'

/**
 * A request that found no slot, made durable. The job record is the truth about
 * a queued request; queue messages only point at it.
 */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'expired' | 'cancelled'
export type OpenStatus = Extract<JobStatus, 'queued' | 'running'>
export type TerminalStatus = Exclude<JobStatus, OpenStatus>

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set([
  'succeeded',
  'failed',
  'expired',
  'cancelled',
])

export function isTerminal(status: JobStatus): status is TerminalStatus {
  return TERMINAL_STATUSES.has(status)
}

/** Why a job did not succeed, in words a client may read (no backend URLs, no stack traces). */
export interface JobError {
  readonly code: string
  readonly message: string
  /** The HTTP status a synchronous caller gets for this outcome. */
  readonly status?: number
}

/** Where the job ran, for the `x-spillway-*` headers and the jobs API. */
export interface JobServedBy {
  readonly hardware: string
  readonly backendId: string
  readonly route: 'primary' | 'fallback'
}

export type WebhookStatus = 'pending' | 'delivered' | 'failed' | 'skipped'

export interface JobRecord {
  readonly id: string
  readonly tenantId: string
  /** The public model id the client asked for; the worker routes it through the same tiers. */
  readonly model: string
  /**
   * The API the client called: the backend route the job runs on and the shape of its
   * result. Absent means chat (records written before other APIs could queue).
   */
  readonly api?: ApiKind
  /** The OpenAI request body as validated by the gateway (the worker always calls non-streaming). */
  readonly request: Readonly<Record<string, unknown>>
  readonly stream: boolean
  readonly lane: Lane
  readonly mayDegrade: boolean
  readonly status: JobStatus
  readonly requestId: string
  readonly createdAt: number
  readonly updatedAt: number
  /** Epoch ms after which a job that has not started expires instead of running. */
  readonly deadlineAt: number
  /** Times a worker claimed it (a crash mid-run counts too). */
  readonly attempts: number
  /** When its queue message was last sent; absent while the outbox still owes one. */
  readonly enqueuedAt?: number
  readonly claimId?: string
  readonly claimExpiresAt?: number
  readonly startedAt?: number
  readonly finishedAt?: number
  readonly result?: Readonly<Record<string, unknown>>
  readonly error?: JobError
  readonly servedBy?: JobServedBy
  readonly webhookUrl?: string
  /**
   * While a gateway holds the job's client and competes for a slot itself, it keeps this
   * (epoch ms) a few seconds ahead; a worker that finds it fresh defers its message, so the
   * held client gets live chunks. Lapsed (the gateway died or gave up), the worker runs it.
   */
  readonly heldUntil?: number
  readonly webhookStatus?: WebhookStatus
  readonly webhookAttempts?: number
}

const JOB_ID = /^job_[A-Za-z0-9_-]{8,64}$/

export function newJobId(): string {
  return `job_${randomBytes(16).toString('base64url')}`
}

/** Ids come from URLs: anything else (an idempotency item's key, say) is simply not a job. */
/** The API a job was submitted through. */
export function jobApi(job: Pick<JobRecord, 'api'>): ApiKind {
  return job.api ?? 'chat'
}

export function isJobId(value: string): boolean {
  return JOB_ID.test(value)
}

/** Has the claim holder stopped renewing? Then another worker may take the job over. */
export function claimExpired(job: JobRecord, now: number): boolean {
  return job.status === 'running' && (job.claimExpiresAt ?? 0) < now
}
