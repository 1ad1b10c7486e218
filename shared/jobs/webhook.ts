import { Webhook } from 'standardwebhooks'
import type { ResolveHost } from '../net/resolve-host.ts'
import type { JobRecord } from './job-record.ts'
import { jobView } from './job-view.ts'
import { postPinned } from './pinned-post.ts'
import { parseWebhookSecret } from './webhook-secret.ts'
import { resolveWebhookTarget, type WebhookTargetPolicy } from './webhook-url.ts'

/**
 * Job webhooks: one POST when a job ends, signed with the Standard Webhooks
 * scheme (https://www.standardwebhooks.com) so any receiver verifies it with an
 * off-the-shelf library: `webhook-id` (the job id: the same on every retry, so
 * receivers can drop duplicates), `webhook-timestamp` (unix seconds) and
 * `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body`).
 */
export function webhookHeaders(options: {
  secret: string
  id: string
  timestampSeconds: number
  body: string
}): Record<string, string> {
  const signer = new Webhook(parseWebhookSecret(options.secret))
  return {
    'webhook-id': options.id,
    'webhook-timestamp': String(options.timestampSeconds),
    'webhook-signature': signer.sign(options.id, new Date(options.timestampSeconds * 1000), options.body),
  }
}

export interface DeliverWebhookOptions {
  readonly job: JobRecord
  readonly url: string
  readonly secret: string
  readonly clock: () => number
  readonly maxAttempts: number
  /** First retry waits this long, then doubles (with jitter). */
  readonly baseDelayMs: number
  readonly timeoutMs: number
  /** Which targets may be called; private networks only where the operator allows them. */
  readonly policy?: WebhookTargetPolicy
  /** DNS, injected so tests can point a name anywhere; the system resolver by default. */
  readonly resolveHost?: ResolveHost
}

export interface WebhookDelivery {
  readonly delivered: boolean
  readonly attempts: number
  /** False when it can never be delivered: the receiver refused it (a 4xx other than 408 and 429) or the target is not allowed. */
  readonly retryable: boolean
  /** Why the last attempt failed (for logs; never shown to the tenant). */
  readonly reason?: string
}

/**
 * Posts the job's final view; retries network errors, names that do not resolve,
 * 408, 429 and 5xx with exponential backoff. Each attempt resolves the name again,
 * checks every address and connects to the one it checked.
 */
export async function deliverWebhook(options: DeliverWebhookOptions): Promise<WebhookDelivery> {
  const body = JSON.stringify({ type: `job.${options.job.status}`, data: jobView(options.job) })
  for (let attempt = 1; ; attempt++) {
    let retryable = true
    let reason: string
    const target = await resolveWebhookTarget({
      url: options.url,
      ...(options.policy ? { policy: options.policy } : {}),
      ...(options.resolveHost ? { resolve: options.resolveHost } : {}),
    })
    if (!target.ok) {
      retryable = target.retryable
      reason = target.reason
    } else {
      try {
        const status = await postPinned({
          url: target.url,
          address: target.address,
          family: target.family,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'spillway-webhook/1',
            ...webhookHeaders({
              secret: options.secret,
              id: options.job.id,
              timestampSeconds: Math.floor(options.clock() / 1000),
              body,
            }),
          },
          body,
          timeoutMs: options.timeoutMs,
        })
        if (status >= 200 && status < 300) return { delivered: true, attempts: attempt, retryable: true }
        retryable = status === 408 || status === 429 || status >= 500
        reason = `receiver answered ${status}`
      } catch (error) {
        // Connection refused, reset or timed out: worth another try.
        reason = (error as { code?: string }).code ?? 'connection failed'
      }
    }
    if (!retryable || attempt >= options.maxAttempts)
      return { delivered: false, attempts: attempt, retryable, reason }
    const delay = options.baseDelayMs * 2 ** (attempt - 1)
    await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)))
  }
}
