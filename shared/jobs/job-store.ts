import type { Lane } from '../queue/job-queue.ts'
import type { JobError, JobRecord, JobServedBy, OpenStatus, WebhookStatus } from './job-record.ts'

/**
 * How long the process that ends a job has to deliver its webhook before the
 * reaper takes over (a delivery with every retry takes about 27 s).
 */
export const WEBHOOK_HANDOVER_MS = 120_000

/**
 * Durable jobs and their state machine. Every transition is conditional on the
 * state it leaves, so two workers (or a worker and the reaper, or a cancel)
 * racing on one job cannot both win: the loser gets `undefined` / `false`, a
 * value, never an exception. See `DynamoJobStore` for the timeline.
 */
export interface JobStore {
  /** Writes a new queued job whose message is still owed: the outbox sweep sends it after `sendBy`. */
  create(options: CreateJobOptions): Promise<{ ok: true } | { ok: false; reason: 'exists' }>
  get(id: string): Promise<JobRecord | undefined>
  /** The job's message reached the queue; the outbox owes nothing until the deadline. */
  markEnqueued(options: { id: string; now: number }): Promise<boolean>
  /**
   * Takes a queued job, or a running one whose claim expired, for one worker. At most one
   * caller holds a live claim; the holder renews it while it runs.
   */
  claim(options: ClaimOptions): Promise<JobRecord | undefined>
  renewClaim(options: RenewClaimOptions): Promise<boolean>
  complete(options: CompleteJobOptions): Promise<JobRecord | undefined>
  /** With `claimId`: only that claim's holder may fail it. Without: any open job. */
  fail(options: FailJobOptions): Promise<JobRecord | undefined>
  /**
   * Fails an open job whatever its record holds: the DLQ handler's jobs may be the very
   * records nobody can parse. Ended, with the failed record when it parses.
   */
  abandon(options: { id: string; now: number; error: JobError }): Promise<AbandonResult>
  /**
   * Back to queued with the message owed again (retry after a backend failure, or a claim the
   * reaper found abandoned: `onlyIfClaimExpired`).
   */
  requeue(options: RequeueJobOptions): Promise<boolean>
  /** A job that has not started by its deadline (queued, or running under a dead claim). */
  expire(options: { id: string; now: number }): Promise<JobRecord | undefined>
  /** The tenant's queued or running job → cancelled; undefined when it is not open (or not theirs). */
  cancel(options: { id: string; tenantId: string; now: number }): Promise<JobRecord | undefined>
  /** A final status takes the job out of the webhook outbox; `pending` with `retryAt` reschedules it. */
  setWebhookStatus(options: WebhookStatusOptions): Promise<void>
  /** Open jobs whose `checkAt` has passed (sparse GSI): owed messages, dead claims, deadlines. */
  listDue(options: { status: OpenStatus; now: number; limit: number }): Promise<JobRecord[]>
  /** Ended jobs whose webhook is still pending past the hand-over time: the reaper delivers them. */
  listWebhooksDue(options: { now: number; limit: number }): Promise<JobRecord[]>
  /** Open jobs in a status, counted up to `max` (past it, `capped`): for operators, not the hot path. */
  countOpen(options: { status: OpenStatus; max: number }): Promise<{ count: number; capped: boolean }>
  /**
   * The oldest open job's `createdAt` per lane, among the first `max` read (past it,
   * `capped`: the age is then a lower bound). For operators; optional, a store
   * without it shows no age.
   */
  oldestOpen?(options: { status: OpenStatus; max: number }): Promise<OldestOpenJobs>
  /**
   * The holding gateway's marker (`heldUntil`), renewed while it competes for the job's slot.
   * False when the job is no longer queued (claimed, cancelled, ended): the holder stops waiting.
   */
  holdFor(options: { id: string; heldUntil: number; now: number }): Promise<boolean>
  /**
   * Binds `Idempotency-Key` to a job id (the id a queued request's job gets), or returns
   * the record it is already bound to, with the stored answer when a direct one settled it.
   */
  reserveIdempotencyKey(options: ReserveIdempotencyOptions): Promise<IdempotencyResult>
  readIdempotencyKey(options: { tenantId: string; key: string }): Promise<IdempotencyRecord | undefined>
  /** Stores a directly served completion on the key's record (only while it is still bound to `jobId`). */
  settleIdempotencyKey(options: SettleIdempotencyOptions): Promise<boolean>
  /** Frees the key after an outcome that executed nothing worth keeping (a refusal, an error). */
  releaseIdempotencyKey(options: { tenantId: string; key: string; jobId: string }): Promise<void>
}

export interface IdempotencyRecord {
  readonly jobId: string
  readonly fingerprint: string
  /** A directly served completion (a queued one lives on its job). */
  readonly result?: Readonly<Record<string, unknown>>
  readonly servedBy?: JobServedBy
}

export interface SettleIdempotencyOptions {
  readonly tenantId: string
  readonly key: string
  readonly jobId: string
  readonly result: Record<string, unknown>
  readonly servedBy: JobServedBy
}

export type AbandonResult =
  | { readonly ended: false }
  /** `job` is absent when the ended record does not parse (the webhook then has nothing to send). */
  | { readonly ended: true; readonly job: JobRecord | undefined }

export interface ClaimOptions {
  readonly id: string
  readonly claimId: string
  readonly now: number
  readonly claimExpiresAt: number
}

export interface ReserveIdempotencyOptions {
  readonly tenantId: string
  readonly key: string
  readonly jobId: string
  /** Hash of the request, so a reused key with another request is refused instead of joined. */
  readonly fingerprint: string
  readonly now: number
  readonly ttlSeconds: number
}

export type IdempotencyResult = { readonly ok: true } | ({ readonly ok: false } & IdempotencyRecord)

export interface OldestOpenJobs {
  readonly byLane: Partial<Record<Lane, number>>
  readonly capped: boolean
}

export interface RenewClaimOptions {
  readonly id: string
  readonly claimId: string
  readonly claimExpiresAt: number
  readonly now: number
}

export interface CompleteJobOptions {
  readonly id: string
  readonly claimId: string
  readonly now: number
  readonly result: Record<string, unknown>
  readonly servedBy: JobServedBy
}

export interface FailJobOptions {
  readonly id: string
  readonly claimId?: string
  readonly now: number
  readonly error: JobError
}

export interface RequeueJobOptions {
  readonly id: string
  readonly claimId: string
  readonly now: number
  readonly sendBy: number
  readonly onlyIfClaimExpired?: boolean
  readonly error?: JobError
}

export interface WebhookStatusOptions {
  readonly id: string
  readonly status: WebhookStatus
  readonly attempts: number
  readonly now: number
  readonly retryAt?: number
}

export interface CreateJobOptions {
  readonly job: JobRecord
  readonly sendBy: number
}
