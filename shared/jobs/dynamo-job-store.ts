import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { expressionNames, expressionValues, unlessConditionFails } from '../aws/dynamo-toolkit.ts'
import {
  readIdempotencyKey,
  releaseIdempotencyKey,
  reserveIdempotencyKey,
  settleIdempotencyKey,
} from './dynamo-idempotency.ts'
import {
  CorruptJobError,
  JOB_ATTR,
  JOB_KIND,
  JOB_NAMES,
  jobFromItem,
  jobToItem,
  ttlSeconds,
} from './job-item.ts'
import type { JobError, JobRecord, OpenStatus } from './job-record.ts'
import type {
  AbandonResult,
  ClaimOptions,
  CompleteJobOptions,
  CreateJobOptions,
  FailJobOptions,
  IdempotencyRecord,
  IdempotencyResult,
  JobStore,
  OldestOpenJobs,
  RenewClaimOptions,
  RequeueJobOptions,
  ReserveIdempotencyOptions,
  SettleIdempotencyOptions,
  WebhookStatusOptions,
} from './job-store.ts'
import { WEBHOOK_HANDOVER_MS } from './job-store.ts'

/*
 * A job's life, and the condition each arrow writes under:
 *
 *   create ──▶ queued ─────────── claim ──────────▶ running ── complete ──▶ succeeded
 *   (message    │  ▲ markEnqueued: message sent      │  │ ▲ renew (holder, every ttl/3)
 *    owed)      │  │                                 │  │ └─ claim lapsed: another claim takes over
 *               │  └──────────── requeue ────────────┤  └── fail ──▶ failed (reason)
 *               │       (backend failed; the reaper  │
 *               │        finds a lapsed claim)       │
 *               ├── deadline ≤ now ──▶ expired ◀─────┘ (only under a lapsed claim)
 *               └── cancel (DELETE) ──▶ cancelled ◀── cancel (the holder sees its renewal fail
 *                                                      and aborts the backend call)
 *
 * `openStatus` mirrors `status` while the job is open and is removed with it, so
 * the GSI `by-open-status` (openStatus, checkAt) holds only open jobs; `checkAt`
 * is when the reaper must look again: the outbox's send-by time, the claim's
 * expiry, or the deadline.
 */
const jobExists = 'attribute_exists(#id)'
const isQueued = '#status = :queued'
const isRunning = '#status = :running'
const isOpen = `(${isQueued} OR ${isRunning})`
const claimHeld = '#claimId = :claimId'
const claimLapsed = '#claimExpiresAt < :now'
const beforeDeadline = '#deadlineAt > :now'
const pastDeadline = '#deadlineAt <= :now'
const messageOwed = 'attribute_not_exists(#enqueuedAt)'
const ownedBy = '#tenantId = :tenantId'
const claimable = `${jobExists} AND ${beforeDeadline} AND (${isQueued} OR (${isRunning} AND ${claimLapsed}))`
const expirable = `${pastDeadline} AND (${isQueued} OR (${isRunning} AND ${claimLapsed}))`

/**
 * Every terminal write: leaves the open-status GSI, drops the claim, starts the
 * retention clock, and dates the webhook outbox entry (an item without a webhook
 * has no `webhookOutbox`, so `webhookDueAt` puts it in no index).
 */
function closeJob(...extraSets: string[]): string {
  const sets = [
    ...extraSets,
    '#status = :status',
    '#finishedAt = :now',
    '#updatedAt = :now',
    '#expiresAt = :ttl',
    '#webhookDueAt = :webhookDueAt',
  ]
  return `SET ${sets.join(', ')} REMOVE #openStatus, #checkAt, #claimId, #claimExpiresAt`
}

export class DynamoJobStore implements JobStore {
  readonly #doc: DynamoDBDocumentClient
  readonly #table: string

  constructor(options: { doc: DynamoDBDocumentClient; tableName: string }) {
    this.#doc = options.doc
    this.#table = options.tableName
  }

  async create(options: CreateJobOptions): Promise<{ ok: true } | { ok: false; reason: 'exists' }> {
    const written = await unlessConditionFails(() =>
      this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: jobToItem(options.job, options.sendBy),
          ConditionExpression: 'attribute_not_exists(#id)',
          ExpressionAttributeNames: { '#id': JOB_ATTR.id },
        }),
      ),
    )
    return written ? { ok: true } : { ok: false, reason: 'exists' }
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const out = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { id }, ConsistentRead: true }),
    )
    return out.Item && out.Item[JOB_ATTR.kind] === JOB_KIND ? jobFromItem(out.Item) : undefined
  }

  async markEnqueued(options: { id: string; now: number }): Promise<boolean> {
    const job = await this.#update(options.id, {
      update: 'SET #enqueuedAt = :now, #checkAt = #deadlineAt, #updatedAt = :now',
      condition: `${isQueued} AND ${messageOwed}`,
      values: { ':now': options.now },
    })
    return job !== undefined
  }

  claim(options: ClaimOptions): Promise<JobRecord | undefined> {
    return this.#update(options.id, {
      update:
        'SET #status = :running, #openStatus = :running, #claimId = :claimId, #claimExpiresAt = :claimExpiresAt, ' +
        '#checkAt = :claimExpiresAt, #startedAt = :now, #updatedAt = :now, #attempts = #attempts + :one',
      condition: claimable,
      values: {
        ':now': options.now,
        ':claimId': options.claimId,
        ':claimExpiresAt': options.claimExpiresAt,
        ':one': 1,
      },
    })
  }

  async renewClaim(options: RenewClaimOptions): Promise<boolean> {
    const job = await this.#update(options.id, {
      update: 'SET #claimExpiresAt = :claimExpiresAt, #checkAt = :claimExpiresAt, #updatedAt = :now',
      condition: `${isRunning} AND ${claimHeld}`,
      values: { ':claimId': options.claimId, ':claimExpiresAt': options.claimExpiresAt, ':now': options.now },
    })
    return job !== undefined
  }

  complete(options: CompleteJobOptions): Promise<JobRecord | undefined> {
    return this.#update(options.id, {
      update: closeJob('#result = :result', '#servedBy = :servedBy'),
      condition: `${isRunning} AND ${claimHeld}`,
      values: {
        ...this.#closing('succeeded', options.now),
        ':claimId': options.claimId,
        ':result': JSON.stringify(options.result),
        ':servedBy': { ...options.servedBy },
      },
    })
  }

  fail(options: FailJobOptions): Promise<JobRecord | undefined> {
    return this.#update(options.id, {
      update: closeJob('#error = :error'),
      condition: options.claimId === undefined ? isOpen : `${isRunning} AND ${claimHeld}`,
      values: {
        ...this.#closing('failed', options.now),
        ':claimId': options.claimId,
        ':error': { ...options.error },
      },
    })
  }

  async abandon(options: { id: string; now: number; error: JobError }): Promise<AbandonResult> {
    const out = await this.#write(options.id, {
      update: closeJob('#error = :error'),
      condition: isOpen,
      values: { ...this.#closing('failed', options.now), ':error': { ...options.error } },
    })
    if (!out) return { ended: false }
    try {
      return { ended: true, job: out.Attributes ? jobFromItem(out.Attributes) : undefined }
    } catch (error) {
      // The write went through on status alone; a record that never parsed still ends failed.
      if (error instanceof CorruptJobError) return { ended: true, job: undefined }
      throw error
    }
  }

  async requeue(options: RequeueJobOptions): Promise<boolean> {
    const job = await this.#update(options.id, {
      update:
        `SET #status = :queued, #openStatus = :queued, #checkAt = :sendBy, #updatedAt = :now${options.error ? ', #error = :error' : ''} ` +
        'REMOVE #claimId, #claimExpiresAt, #enqueuedAt',
      condition: [isRunning, claimHeld, ...(options.onlyIfClaimExpired ? [claimLapsed] : [])].join(' AND '),
      values: {
        ':claimId': options.claimId,
        ':now': options.now,
        ':sendBy': options.sendBy,
        ':error': options.error,
      },
    })
    return job !== undefined
  }

  expire(options: { id: string; now: number }): Promise<JobRecord | undefined> {
    const error: JobError = {
      code: 'job_expired',
      message: 'The job reached its deadline before a slot freed.',
      status: 503,
    }
    return this.#update(options.id, {
      update: closeJob('#error = :error'),
      condition: expirable,
      values: { ...this.#closing('expired', options.now), ':error': error },
    })
  }

  /** The cancel's webhook is due at once: the HTTP answer does not wait for it; the reaper sends it. */
  cancel(options: { id: string; tenantId: string; now: number }): Promise<JobRecord | undefined> {
    const error: JobError = { code: 'job_cancelled', message: 'The job was cancelled.', status: 409 }
    return this.#update(options.id, {
      update: closeJob('#error = :error'),
      condition: `${ownedBy} AND ${isOpen}`,
      values: {
        ...this.#closing('cancelled', options.now, options.now),
        ':tenantId': options.tenantId,
        ':error': error,
      },
    })
  }

  async setWebhookStatus(options: WebhookStatusOptions): Promise<void> {
    // A final status takes the job out of the webhook outbox; `pending` leaves it there, due at `retryAt`.
    const outbox =
      options.status !== 'pending'
        ? ' REMOVE #webhookOutbox, #webhookDueAt'
        : options.retryAt !== undefined
          ? ', #webhookDueAt = :retryAt'
          : ''
    await this.#update(options.id, {
      update: `SET #webhookStatus = :webhookStatus, #webhookAttempts = :webhookAttempts, #updatedAt = :now${outbox}`,
      condition: jobExists,
      values: {
        ':webhookStatus': options.status,
        ':webhookAttempts': options.attempts,
        ':now': options.now,
        ':retryAt': options.retryAt,
      },
    })
  }

  listDue(options: { status: OpenStatus; now: number; limit: number }): Promise<JobRecord[]> {
    return this.#listDueIn({
      index: 'by-open-status',
      key: 'openStatus',
      value: options.status,
      sortKey: 'checkAt',
      ...options,
    })
  }

  /** Ended jobs whose webhook is still `pending` past its hand-over time (the sender died or ran out of time). */
  listWebhooksDue(options: { now: number; limit: number }): Promise<JobRecord[]> {
    return this.#listDueIn({
      index: 'by-webhook-due',
      key: 'webhookOutbox',
      value: 'pending',
      sortKey: 'webhookDueAt',
      ...options,
    })
  }

  /** Up to `limit` items of one partition of a sparse GSI whose sort key (a due time) has passed. */
  async #listDueIn(options: {
    index: string
    key: keyof typeof JOB_ATTR
    value: string
    sortKey: keyof typeof JOB_ATTR
    now: number
    limit: number
  }): Promise<JobRecord[]> {
    const jobs: JobRecord[] = []
    let ExclusiveStartKey: Record<string, unknown> | undefined
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: options.index,
          KeyConditionExpression: '#key = :value AND #due <= :now',
          ExpressionAttributeNames: { '#key': JOB_ATTR[options.key], '#due': JOB_ATTR[options.sortKey] },
          ExpressionAttributeValues: { ':value': options.value, ':now': options.now },
          Limit: options.limit - jobs.length,
          ExclusiveStartKey,
        }),
      )
      for (const item of page.Items ?? []) jobs.push(jobFromItem(item))
      ExclusiveStartKey = page.LastEvaluatedKey
    } while (ExclusiveStartKey && jobs.length < options.limit)
    return jobs
  }

  /** A COUNT query on the sparse GSI: billed by the index entries it reads, so it stops at `max`. */
  async countOpen(options: { status: OpenStatus; max: number }): Promise<{ count: number; capped: boolean }> {
    let count = 0
    let ExclusiveStartKey: Record<string, unknown> | undefined
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: 'by-open-status',
          KeyConditionExpression: '#openStatus = :status',
          ExpressionAttributeNames: { '#openStatus': JOB_ATTR.openStatus },
          ExpressionAttributeValues: { ':status': options.status },
          Select: 'COUNT',
          Limit: options.max - count + 1,
          ExclusiveStartKey,
        }),
      )
      count += page.Count ?? 0
      ExclusiveStartKey = page.LastEvaluatedKey
    } while (ExclusiveStartKey && count <= options.max)
    return count > options.max ? { count: options.max, capped: true } : { count, capped: false }
  }

  async oldestOpen(options: { status: OpenStatus; max: number }): Promise<OldestOpenJobs> {
    const byLane: Partial<Record<'interactive' | 'batch', number>> = {}
    let read = 0
    let ExclusiveStartKey: Record<string, unknown> | undefined
    do {
      // Same read units as countOpen's COUNT (billed on the items read, not returned); two attributes back.
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: 'by-open-status',
          KeyConditionExpression: '#openStatus = :status',
          ProjectionExpression: '#createdAt, #lane',
          ExpressionAttributeNames: {
            '#openStatus': JOB_ATTR.openStatus,
            '#createdAt': JOB_ATTR.createdAt,
            '#lane': JOB_ATTR.lane,
          },
          ExpressionAttributeValues: { ':status': options.status },
          Limit: options.max - read,
          ExclusiveStartKey,
        }),
      )
      for (const item of page.Items ?? []) {
        const lane = item[JOB_ATTR.lane] === 'batch' ? 'batch' : 'interactive'
        const createdAt = Number(item[JOB_ATTR.createdAt])
        if (Number.isFinite(createdAt)) byLane[lane] = Math.min(byLane[lane] ?? createdAt, createdAt)
      }
      read += page.Count ?? 0
      ExclusiveStartKey = page.LastEvaluatedKey
    } while (ExclusiveStartKey && read < options.max)
    return { byLane, capped: ExclusiveStartKey !== undefined }
  }

  async holdFor(options: { id: string; heldUntil: number; now: number }): Promise<boolean> {
    const job = await this.#update(options.id, {
      update: 'SET #heldUntil = :heldUntil, #updatedAt = :now',
      condition: isQueued,
      values: { ':heldUntil': options.heldUntil, ':now': options.now },
    })
    return job !== undefined
  }

  reserveIdempotencyKey(options: ReserveIdempotencyOptions): Promise<IdempotencyResult> {
    return reserveIdempotencyKey({ doc: this.#doc, tableName: this.#table, ...options })
  }

  readIdempotencyKey(options: { tenantId: string; key: string }): Promise<IdempotencyRecord | undefined> {
    return readIdempotencyKey({ doc: this.#doc, tableName: this.#table, ...options })
  }

  settleIdempotencyKey(options: SettleIdempotencyOptions): Promise<boolean> {
    return settleIdempotencyKey({ doc: this.#doc, tableName: this.#table, ...options })
  }

  releaseIdempotencyKey(options: { tenantId: string; key: string; jobId: string }): Promise<void> {
    return releaseIdempotencyKey({ doc: this.#doc, tableName: this.#table, ...options })
  }

  #closing(status: string, now: number, webhookDueAt = now + WEBHOOK_HANDOVER_MS): Record<string, unknown> {
    return { ':status': status, ':now': now, ':ttl': ttlSeconds(now), ':webhookDueAt': webhookDueAt }
  }

  /** One conditional UpdateItem; the new job, or undefined when the condition did not hold. */
  async #update(
    id: string,
    command: { update: string; condition: string; values: Record<string, unknown> },
  ): Promise<JobRecord | undefined> {
    const out = await this.#write(id, command)
    return out?.Attributes ? jobFromItem(out.Attributes) : undefined
  }

  /** The raw conditional UpdateItem (new image returned), undefined when the condition did not hold. */
  #write(id: string, command: { update: string; condition: string; values: Record<string, unknown> }) {
    const expressions = `${command.update} ${command.condition}`
    return unlessConditionFails(() =>
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id },
          UpdateExpression: command.update,
          ConditionExpression: command.condition,
          ExpressionAttributeNames: expressionNames(expressions, JOB_NAMES),
          ExpressionAttributeValues: expressionValues(expressions, {
            ':queued': 'queued',
            ':running': 'running',
            ...command.values,
          }),
          ReturnValues: 'ALL_NEW',
        }),
      ),
    )
  }
}
