import type { AppLogger } from '../logging.ts'
import type { ResolveHost } from '../net/resolve-host.ts'
import type { JobRecord } from './job-record.ts'
import type { JobStore } from './job-store.ts'
import {
  DEFAULT_WEBHOOK_SETTINGS,
  notifyWebhook,
  type WebhookSettings,
  worstCaseDeliveryMs,
} from './notify-webhook.ts'

/** How a process that ends jobs outside the worker (reaper, DLQ handler) signs and sends their webhooks. */
export interface EndedJobWebhooks {
  /** Undefined: each job's webhook is recorded `skipped`, as the worker does without a secret. */
  readonly secret: string | undefined
  readonly settings?: WebhookSettings
  /** Deliveries in flight at once (default 8). */
  readonly concurrency?: number
  /** DNS for the targets (tests point names at a local receiver); the system resolver by default. */
  readonly resolveHost?: ResolveHost
}

export interface NotifyEndedJobsResult {
  readonly delivered: number
  /** Failed, skipped for want of a secret, or not started for want of time. */
  readonly undelivered: number
}

/** Time kept back after the last delivery for its status write and the handler's return. */
const RESERVE_MS = 2_000

/**
 * Sends the webhooks of jobs this process just ended, a few at a time. On a Lambda
 * clock (`remainingMs`), a delivery that could outlive the invocation is not started:
 * the job stays `pending` in the webhook outbox, which the reaper sweeps once the
 * hand-over time has passed. Never throws, like `notifyWebhook`.
 */
export async function notifyEndedJobs(options: {
  jobs: JobStore
  ended: readonly JobRecord[]
  webhooks: EndedJobWebhooks
  clock: () => number
  log: AppLogger
  remainingMs?: () => number
}): Promise<NotifyEndedJobsResult> {
  const { jobs, webhooks, clock, log } = options
  const settings = webhooks.settings ?? DEFAULT_WEBHOOK_SETTINGS
  const neededMs = worstCaseDeliveryMs(settings) + RESERVE_MS
  const queue = options.ended.filter((job) => job.webhookUrl)
  const counts = { delivered: 0, undelivered: 0 }

  // Left `pending`: the job stays in the webhook outbox, and a later reaper run sends it.
  const skipForTime = (job: JobRecord) => {
    log.warn('job webhook deferred: too little time left in this invocation', { jobId: job.id })
  }
  const deliverNext = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      if (options.remainingMs && options.remainingMs() < neededMs) {
        skipForTime(job)
        counts.undelivered++
        continue
      }
      const status = await notifyWebhook({
        jobs,
        job,
        secret: webhooks.secret,
        clock,
        log,
        settings,
        ...(webhooks.resolveHost ? { resolveHost: webhooks.resolveHost } : {}),
      })
      if (status === 'delivered') counts.delivered++
      else counts.undelivered++
    }
  }
  const lanes = Math.min(queue.length, Math.max(1, webhooks.concurrency ?? 8))
  await Promise.all(Array.from({ length: lanes }, deliverNext))
  return counts
}
