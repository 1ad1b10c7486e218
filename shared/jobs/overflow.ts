import { BadRequestError } from '../errors.ts'
import { type AppLogger, silentLogger } from '../logging.ts'
import type { JobQueue } from '../queue/job-queue.ts'
import { enqueueJob } from './enqueue-job.ts'
import type { JobRecord } from './job-record.ts'
import type { JobStore } from './job-store.ts'
import type { OverflowPort, SubmitJobOptions } from './overflow-port.ts'
import { checkWebhookUrl, type WebhookTargetPolicy } from './webhook-url.ts'

export interface OverflowOptions {
  readonly jobs: JobStore
  readonly queue: JobQueue
  readonly clock?: () => number
  readonly log?: AppLogger
  /** `Retry-After` on a 202. */
  readonly retryAfterSeconds?: number
  /** After this long, a job whose message is still owed is the outbox sweep's to send. */
  readonly outboxGraceMs?: number
  readonly idempotencyTtlSeconds?: number
  /** Which webhook targets a job may carry (no private networks by default). */
  readonly webhookPolicy?: WebhookTargetPolicy
}

/**
 * The overflow path (`OverflowPort`): a request that found no slot becomes a
 * durable job, then a queue message (outbox: the job is written first and marked
 * as owing its message, so a send that fails is retried by the reaper, never
 * lost). How the client is answered (202, or held) is the gateway's
 * (`shared/gateway/serve-completion.ts`).
 *
 * @example
 * const overflow = new Overflow({ jobs, queue })
 * const app = createApp({ ...deps, overflow, jobs })
 */
export class Overflow implements OverflowPort {
  readonly jobs: JobStore
  readonly queue: JobQueue
  readonly retryAfterSeconds: number
  readonly outboxGraceMs: number
  readonly idempotencyTtlSeconds: number
  readonly #clock: () => number
  readonly #log: AppLogger
  readonly #webhookPolicy: WebhookTargetPolicy

  constructor(options: OverflowOptions) {
    this.jobs = options.jobs
    this.queue = options.queue
    this.#clock = options.clock ?? Date.now
    this.#log = options.log ?? silentLogger
    this.retryAfterSeconds = options.retryAfterSeconds ?? 2
    this.outboxGraceMs = options.outboxGraceMs ?? 30_000
    this.idempotencyTtlSeconds = options.idempotencyTtlSeconds ?? 24 * 3600
    this.#webhookPolicy = options.webhookPolicy ?? {}
  }

  async submit(options: SubmitJobOptions): Promise<JobRecord> {
    const webhookUrl =
      options.webhookUrl === undefined ? undefined : checkedWebhook(options.webhookUrl, this.#webhookPolicy)
    const now = this.#clock()
    const job: JobRecord = {
      id: options.id,
      tenantId: options.tenant.id,
      model: options.model.id,
      // Chat stays implicit, as in records written before other APIs could queue.
      ...(options.api && options.api !== 'chat' ? { api: options.api } : {}),
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
      ...(options.heldUntil ? { heldUntil: options.heldUntil } : {}),
    }
    // With a key, the job id is shared: whoever writes the job first also sends its message
    // (a first writer that died before writing it leaves the key to us).
    const created = await this.jobs.create({ job, sendBy: now + this.outboxGraceMs })
    if (created.ok) {
      await enqueueJob({ jobs: this.jobs, queue: this.queue, job, now: this.#clock, log: this.#log })
      return job
    }
    const existing = await this.jobs.get(options.id)
    if (!existing) throw new Error(`job ${options.id} exists but cannot be read`)
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
