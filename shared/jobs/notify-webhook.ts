import { type AppLogger, errorFields } from '../logging.ts'
import type { ResolveHost } from '../net/resolve-host.ts'
import type { JobRecord, WebhookStatus } from './job-record.ts'
import type { JobStore } from './job-store.ts'
import { deliverWebhook } from './webhook.ts'

export interface WebhookSettings {
  readonly maxAttempts: number
  readonly baseDelayMs: number
  readonly timeoutMs: number
  /**
   * Let webhooks reach loopback and private addresses (`SPILLWAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS`):
   * the local stack and tests, for a receiver on 127.0.0.1. Off in every deployment.
   */
  readonly allowPrivateNetworks?: boolean
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = Object.freeze({
  maxAttempts: 4,
  baseDelayMs: 1000,
  timeoutMs: 5000,
})

/**
 * After a delivery fails every attempt, the job stays in the webhook outbox and
 * the reaper tries again after each of these delays in turn (about 15 hours in
 * all, well inside the 7 days a finished job is kept); then it is `failed`.
 */
export const WEBHOOK_RETRY_DELAYS_MS: readonly number[] = Object.freeze([
  60_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  12 * 3_600_000,
])

/**
 * The longest one delivery can take under these settings: every attempt timing out,
 * every backoff at its full length. Callers on a Lambda clock start no delivery
 * that could outlive their invocation.
 */
export function worstCaseDeliveryMs(settings: WebhookSettings): number {
  const backoffs = settings.baseDelayMs * (2 ** Math.max(0, settings.maxAttempts - 1) - 1)
  return settings.maxAttempts * settings.timeoutMs + backoffs
}

/**
 * Calls the job's webhook, if it has one, and records how that went on the job;
 * returns the status recorded (undefined: no webhook, or the bookkeeping failed).
 * Never throws: the job's outcome is already stored, and failing the queue
 * message over a webhook would only re-deliver a job that is done.
 */
export async function notifyWebhook(options: {
  jobs: JobStore
  job: JobRecord
  secret: string | undefined
  clock: () => number
  log: AppLogger
  settings: WebhookSettings
  resolveHost?: ResolveHost
}): Promise<WebhookStatus | undefined> {
  const { job, log } = options
  if (!job.webhookUrl) return undefined
  try {
    if (!options.secret) {
      log.warn('job webhook skipped: no webhook secret configured', { jobId: job.id })
      await options.jobs.setWebhookStatus({
        id: job.id,
        status: 'skipped',
        attempts: 0,
        now: options.clock(),
      })
      return 'skipped'
    }
    const { allowPrivateNetworks, ...retry } = options.settings
    const delivery = await deliverWebhook({
      job,
      url: job.webhookUrl,
      secret: options.secret,
      clock: options.clock,
      ...retry,
      policy: { allowPrivateNetworks: allowPrivateNetworks === true },
      ...(options.resolveHost ? { resolveHost: options.resolveHost } : {}),
    })
    const attempts = (job.webhookAttempts ?? 0) + delivery.attempts
    const now = options.clock()
    if (delivery.delivered) {
      await options.jobs.setWebhookStatus({ id: job.id, status: 'delivered', attempts, now })
      return 'delivered'
    }
    // Each earlier round used every attempt (a refusal ends it as failed), so the attempts count the rounds.
    const rounds = Math.ceil(attempts / Math.max(1, options.settings.maxAttempts))
    const delay = delivery.retryable ? WEBHOOK_RETRY_DELAYS_MS[rounds - 1] : undefined
    log.warn('job webhook not delivered', {
      jobId: job.id,
      attempts,
      reason: delivery.reason ?? null,
      retryInMs: delay ?? null,
    })
    if (delay === undefined) {
      await options.jobs.setWebhookStatus({ id: job.id, status: 'failed', attempts, now })
      return 'failed'
    }
    await options.jobs.setWebhookStatus({
      id: job.id,
      status: 'pending',
      attempts,
      now,
      retryAt: now + delay,
    })
    return 'pending'
  } catch (error) {
    log.warn('job webhook bookkeeping failed', { jobId: job.id, ...errorFields(error) })
    return undefined
  }
}
