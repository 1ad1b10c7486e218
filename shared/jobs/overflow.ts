import { createHash } from 'node:crypto'
import { BadRequestError, UnprocessableError } from '../errors.ts'
import type { OverflowPort, SpillOptions } from '../http/app-deps.ts'
import { type AppLogger, silentLogger } from '../logging.ts'
import type { JobQueue } from '../queue/job-queue.ts'
import { enqueueJob } from './enqueue-job.ts'
import { isTerminal, type JobRecord, newJobId } from './job-record.ts'
import { acceptedResponse, jobErrorResponse, resultResponse } from './job-responses.ts'
import type { JobStore } from './job-store.ts'
import { waitForJob } from './wait-for-job.ts'
import { checkWebhookUrl, type WebhookTargetPolicy } from './webhook-url.ts'

export interface OverflowOptions {
  readonly jobs: JobStore
  readonly queue: JobQueue
  readonly clock?: () => number
  readonly log?: AppLogger
  /** `Retry-After` on a 202. */
  readonly retryAfterSeconds?: number
  /** The longest a synchronous request is held, whatever it prefers (Lambda stops at 15 min). */
  readonly maxWaitSeconds?: number
  /** After this long, a job whose message is still owed is the outbox sweep's to send. */
  readonly outboxGraceMs?: number
  readonly idempotencyTtlSeconds?: number
  /** Which webhook targets a job may carry (no private networks by default). */
  readonly webhookPolicy?: WebhookTargetPolicy
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/

/**
 * The overflow path (`OverflowPort`): a request that found no slot becomes a
 * durable job, then a queue message (outbox: the job is written first and marked
 * as owing its message, so a send that fails is retried by the reaper, never
 * lost). Then it answers as the client prefers: 202 at once (`respond-async`),
 * or held up to `wait=N` seconds (or the tenant's default) and answered inline
 * as if it had never queued, or 202 when the wait runs out.
 *
 * @example
 * const overflow = new Overflow({ jobs, queue })
 * const app = createApp({ ...deps, overflow, jobs })
 */
export class Overflow implements OverflowPort {
  readonly #jobs: JobStore
  readonly #queue: JobQueue
  readonly #clock: () => number
  readonly #log: AppLogger
  readonly #retryAfterSeconds: number
  readonly #maxWaitSeconds: number
  readonly #outboxGraceMs: number
  readonly #idempotencyTtlSeconds: number
  readonly #webhookPolicy: WebhookTargetPolicy

  constructor(options: OverflowOptions) {
    this.#jobs = options.jobs
    this.#queue = options.queue
    this.#clock = options.clock ?? Date.now
    this.#log = options.log ?? silentLogger
    this.#retryAfterSeconds = options.retryAfterSeconds ?? 2
    this.#maxWaitSeconds = options.maxWaitSeconds ?? 600
    this.#outboxGraceMs = options.outboxGraceMs ?? 30_000
    this.#idempotencyTtlSeconds = options.idempotencyTtlSeconds ?? 24 * 3600
    this.#webhookPolicy = options.webhookPolicy ?? {}
  }

  async spill(options: SpillOptions): Promise<Response> {
    const job = await this.#createOrJoin(options)
    const wait = Math.min(
      this.#maxWaitSeconds,
      options.prefer.waitSeconds ?? (options.prefer.respondAsync ? 0 : options.tenant.defaultWaitSeconds),
    )
    const settled =
      wait > 0 && !isTerminal(job.status)
        ? await waitForJob({
            jobs: this.#jobs,
            job,
            until: this.#clock() + wait * 1000,
            clock: this.#clock,
            signal: options.signal,
          })
        : job
    if (settled.status === 'succeeded') return resultResponse(settled)
    if (isTerminal(settled.status)) return jobErrorResponse(settled)
    return acceptedResponse(settled, this.#retryAfterSeconds)
  }

  async #createOrJoin(options: SpillOptions): Promise<JobRecord> {
    const webhookUrl =
      options.webhookUrl === undefined ? undefined : checkedWebhook(options.webhookUrl, this.#webhookPolicy)
    const now = this.#clock()
    let id = newJobId()
    if (options.idempotencyKey !== undefined) {
      if (!IDEMPOTENCY_KEY.test(options.idempotencyKey)) {
        throw new BadRequestError('Idempotency-Key must be 1 to 255 printable ASCII characters.', {
          param: 'Idempotency-Key',
        })
      }
      const fingerprint = createHash('sha256')
        .update(JSON.stringify({ model: options.model.id, body: options.body, webhookUrl }))
        .digest('hex')
      const reserved = await this.#jobs.reserveIdempotencyKey({
        tenantId: options.tenant.id,
        key: options.idempotencyKey,
        jobId: id,
        fingerprint,
        now,
        ttlSeconds: this.#idempotencyTtlSeconds,
      })
      if (!reserved.ok) {
        if (reserved.fingerprint !== fingerprint) {
          throw new UnprocessableError('This Idempotency-Key was used with a different request.', {
            code: 'idempotency_key_reused',
            param: 'Idempotency-Key',
          })
        }
        id = reserved.jobId
      }
    }

    const job: JobRecord = {
      id,
      tenantId: options.tenant.id,
      model: options.model.id,
      request: options.body,
      stream: options.stream,
      lane: options.tenant.priority,
      mayDegrade: options.tenant.mayDegrade,
      status: 'queued',
      requestId: options.requestId,
      createdAt: now,
      updatedAt: now,
      deadlineAt: options.deadlineAt,
      attempts: 0,
      ...(webhookUrl ? { webhookUrl } : {}),
    }
    // With a key, the job id is shared: whoever writes the job first also sends its message
    // (a first writer that died before writing it leaves the key to us).
    const created = await this.#jobs.create({ job, sendBy: now + this.#outboxGraceMs })
    if (created.ok) {
      await enqueueJob({ jobs: this.#jobs, queue: this.#queue, job, now: this.#clock, log: this.#log })
      return job
    }
    const existing = await this.#jobs.get(id)
    if (!existing) throw new Error(`job ${id} exists but cannot be read`)
    return existing
  }
}

function checkedWebhook(raw: string, policy: WebhookTargetPolicy): string {
  const checked = checkWebhookUrl(raw, policy)
  if (!checked.ok) {
    throw new BadRequestError(`x-spillway-webhook: ${checked.reason}.`, { param: 'x-spillway-webhook' })
  }
  return checked.url
}
