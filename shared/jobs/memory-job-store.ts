import { ttlSeconds } from './job-item.ts'
import { claimExpired, type JobError, type JobRecord, type OpenStatus } from './job-record.ts'
import type {
  AbandonResult,
  ClaimOptions,
  CompleteJobOptions,
  CreateJobOptions,
  FailJobOptions,
  IdempotencyRecord,
  IdempotencyResult,
  JobStore,
  RenewClaimOptions,
  RequeueJobOptions,
  ReserveIdempotencyOptions,
  SettleIdempotencyOptions,
  WebhookStatusOptions,
} from './job-store.ts'
import { WEBHOOK_HANDOVER_MS } from './job-store.ts'

/** What the DynamoDB item holds beside the record: its GSI keys and its TTL. */
interface Entry {
  job: JobRecord
  /** `by-open-status` sort key: present while the job is open. */
  checkAt?: number
  /** `by-webhook-due`: present from the job's end while its webhook is pending. */
  webhookDueAt?: number
  webhookOwed: boolean
  expiresAtSeconds: number
}

interface IdempotencyEntry {
  record: IdempotencyRecord
  expiresAtSeconds: number
}

/**
 * The job state machine of `DynamoJobStore` (see its timeline) on a `Map`, for
 * HTTP contract tests and pure logic. Every transition checks the same condition
 * the DynamoDB write names; both pass `test/jobs/job-store-contract.ts`.
 * JavaScript runs one transition at a time, so each check-and-set is atomic.
 */
export class MemoryJobStore implements JobStore {
  readonly #jobs = new Map<string, Entry>()
  readonly #keys = new Map<string, IdempotencyEntry>()

  async create(options: CreateJobOptions): Promise<{ ok: true } | { ok: false; reason: 'exists' }> {
    if (this.#jobs.has(options.job.id)) return { ok: false, reason: 'exists' }
    const { job } = options
    this.#jobs.set(job.id, {
      job: compact({ ...copy(job), webhookStatus: job.webhookUrl ? 'pending' : undefined }),
      checkAt: options.sendBy,
      webhookOwed: job.webhookUrl !== undefined,
      expiresAtSeconds: ttlSeconds(job.deadlineAt),
    })
    return { ok: true }
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const entry = this.#jobs.get(id)
    return entry ? copy(entry.job) : undefined
  }

  async markEnqueued(options: { id: string; now: number }): Promise<boolean> {
    return this.#update(options.id, {
      when: (job) => job.status === 'queued' && job.enqueuedAt === undefined,
      set: (entry) => {
        entry.checkAt = entry.job.deadlineAt
        return { enqueuedAt: options.now, updatedAt: options.now }
      },
    }).then(Boolean)
  }

  claim(options: ClaimOptions): Promise<JobRecord | undefined> {
    return this.#update(options.id, {
      when: (job) =>
        job.deadlineAt > options.now &&
        (job.status === 'queued' || (job.status === 'running' && claimExpired(job, options.now))),
      set: (entry) => {
        entry.checkAt = options.claimExpiresAt
        return {
          status: 'running',
          claimId: options.claimId,
          claimExpiresAt: options.claimExpiresAt,
          startedAt: options.now,
          updatedAt: options.now,
          attempts: entry.job.attempts + 1,
        }
      },
    })
  }

  async renewClaim(options: RenewClaimOptions): Promise<boolean> {
    const renewed = await this.#update(options.id, {
      when: (job) => held(job, options.claimId),
      set: (entry) => {
        entry.checkAt = options.claimExpiresAt
        return { claimExpiresAt: options.claimExpiresAt, updatedAt: options.now }
      },
    })
    return renewed !== undefined
  }

  complete(options: CompleteJobOptions): Promise<JobRecord | undefined> {
    return this.#close(options.id, {
      when: (job) => held(job, options.claimId),
      status: 'succeeded',
      now: options.now,
      fields: { result: structuredClone(options.result), servedBy: { ...options.servedBy } },
    })
  }

  fail(options: FailJobOptions): Promise<JobRecord | undefined> {
    const { claimId } = options
    return this.#close(options.id, {
      when: (job) => (claimId === undefined ? isOpen(job) : held(job, claimId)),
      status: 'failed',
      now: options.now,
      fields: { error: { ...options.error } },
    })
  }

  async abandon(options: { id: string; now: number; error: JobError }): Promise<AbandonResult> {
    const job = await this.fail({ id: options.id, now: options.now, error: options.error })
    return job ? { ended: true, job } : { ended: false }
  }

  async requeue(options: RequeueJobOptions): Promise<boolean> {
    const requeued = await this.#update(options.id, {
      when: (job) =>
        held(job, options.claimId) && (!options.onlyIfClaimExpired || claimExpired(job, options.now)),
      set: (entry) => {
        entry.checkAt = options.sendBy
        return {
          status: 'queued',
          updatedAt: options.now,
          claimId: undefined,
          claimExpiresAt: undefined,
          enqueuedAt: undefined,
          ...(options.error ? { error: { ...options.error } } : {}),
        }
      },
    })
    return requeued !== undefined
  }

  expire(options: { id: string; now: number }): Promise<JobRecord | undefined> {
    return this.#close(options.id, {
      when: (job) =>
        job.deadlineAt <= options.now &&
        (job.status === 'queued' || (job.status === 'running' && claimExpired(job, options.now))),
      status: 'expired',
      now: options.now,
      fields: {
        error: {
          code: 'job_expired',
          message: 'The job reached its deadline before a slot freed.',
          status: 503,
        },
      },
    })
  }

  cancel(options: { id: string; tenantId: string; now: number }): Promise<JobRecord | undefined> {
    return this.#close(options.id, {
      when: (job) => job.tenantId === options.tenantId && isOpen(job),
      status: 'cancelled',
      now: options.now,
      webhookDueAt: options.now,
      fields: { error: { code: 'job_cancelled', message: 'The job was cancelled.', status: 409 } },
    })
  }

  async setWebhookStatus(options: WebhookStatusOptions): Promise<void> {
    await this.#update(options.id, {
      when: () => true,
      set: (entry) => {
        if (options.status !== 'pending') {
          entry.webhookOwed = false
          entry.webhookDueAt = undefined
        } else if (options.retryAt !== undefined) entry.webhookDueAt = options.retryAt
        return { webhookStatus: options.status, webhookAttempts: options.attempts, updatedAt: options.now }
      },
    })
  }

  async listDue(options: { status: OpenStatus; now: number; limit: number }): Promise<JobRecord[]> {
    return this.#listBy(options, (entry) => (entry.job.status === options.status ? entry.checkAt : undefined))
  }

  async listWebhooksDue(options: { now: number; limit: number }): Promise<JobRecord[]> {
    return this.#listBy(options, (entry) => (entry.webhookOwed ? entry.webhookDueAt : undefined))
  }

  async countOpen(options: { status: OpenStatus; max: number }): Promise<{ count: number; capped: boolean }> {
    const count = [...this.#jobs.values()].filter((entry) => entry.job.status === options.status).length
    return count > options.max ? { count: options.max, capped: true } : { count, capped: false }
  }

  async holdFor(options: { id: string; heldUntil: number; now: number }): Promise<boolean> {
    const held = await this.#update(options.id, {
      when: (job) => job.status === 'queued',
      set: () => ({ heldUntil: options.heldUntil, updatedAt: options.now }),
    })
    return held !== undefined
  }

  async reserveIdempotencyKey(options: ReserveIdempotencyOptions): Promise<IdempotencyResult> {
    const id = keyId(options)
    const existing = this.#keys.get(id)
    // An expired record is free again, as the DynamoDB condition has it (TTL deletes days late).
    if (existing && existing.expiresAtSeconds >= Math.floor(options.now / 1000)) {
      return { ok: false, ...copy(existing.record) }
    }
    this.#keys.set(id, {
      record: { jobId: options.jobId, fingerprint: options.fingerprint },
      expiresAtSeconds: Math.ceil(options.now / 1000) + options.ttlSeconds,
    })
    return { ok: true }
  }

  async readIdempotencyKey(options: {
    tenantId: string
    key: string
  }): Promise<IdempotencyRecord | undefined> {
    const entry = this.#keys.get(keyId(options))
    return entry ? copy(entry.record) : undefined
  }

  async settleIdempotencyKey(options: SettleIdempotencyOptions): Promise<boolean> {
    const entry = this.#keys.get(keyId(options))
    if (!entry || entry.record.jobId !== options.jobId) return false
    entry.record = {
      ...entry.record,
      result: structuredClone(options.result),
      servedBy: { ...options.servedBy },
    }
    return true
  }

  async releaseIdempotencyKey(options: { tenantId: string; key: string; jobId: string }): Promise<void> {
    const id = keyId(options)
    if (this.#keys.get(id)?.record.jobId === options.jobId) this.#keys.delete(id)
  }

  /** Every terminal write: out of the open index, claim dropped, webhook owed from `webhookDueAt`. */
  #close(
    id: string,
    options: {
      when: (job: JobRecord) => boolean
      status: JobRecord['status']
      now: number
      webhookDueAt?: number
      fields: Partial<JobRecord>
    },
  ): Promise<JobRecord | undefined> {
    return this.#update(id, {
      when: options.when,
      set: (entry) => {
        entry.checkAt = undefined
        entry.webhookDueAt = options.webhookDueAt ?? options.now + WEBHOOK_HANDOVER_MS
        entry.expiresAtSeconds = ttlSeconds(options.now)
        return {
          ...options.fields,
          status: options.status,
          finishedAt: options.now,
          updatedAt: options.now,
          claimId: undefined,
          claimExpiresAt: undefined,
        }
      },
    })
  }

  /** A conditional update: the new record, or undefined when the job is absent or the check fails. */
  async #update(
    id: string,
    options: { when: (job: JobRecord) => boolean; set: (entry: Entry) => Partial<JobRecord> },
  ): Promise<JobRecord | undefined> {
    const entry = this.#jobs.get(id)
    if (!entry || !options.when(entry.job)) return undefined
    entry.job = compact({ ...entry.job, ...options.set(entry) })
    return copy(entry.job)
  }

  #listBy(options: { now: number; limit: number }, dueAt: (entry: Entry) => number | undefined): JobRecord[] {
    return [...this.#jobs.values()]
      .map((entry) => ({ entry, due: dueAt(entry) }))
      .filter((row): row is { entry: Entry; due: number } => row.due !== undefined && row.due <= options.now)
      .sort((a, b) => a.due - b.due)
      .slice(0, options.limit)
      .map((row) => copy(row.entry.job))
  }
}

const isOpen = (job: JobRecord) => job.status === 'queued' || job.status === 'running'
const held = (job: JobRecord, claimId: string) => job.status === 'running' && job.claimId === claimId
const keyId = (options: { tenantId: string; key: string }) => `${options.tenantId}\u0000${options.key}`

/** Callers get their own copy, as from a read of DynamoDB: no one mutates the stored record. */
function copy<T>(value: T): T {
  return structuredClone(value)
}

/** Optional fields absent rather than present-and-undefined, as `jobFromItem` returns them. */
function compact(job: Record<string, unknown>): JobRecord {
  return Object.fromEntries(Object.entries(job).filter(([, v]) => v !== undefined)) as unknown as JobRecord
}
