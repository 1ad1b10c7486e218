import { createHmac, timingSafeEqual } from 'node:crypto'
import { checkBackendUrl } from '../backends/backend-url.ts'
import type { JobRecord } from './job-record.ts'
import { jobView } from './job-view.ts'

/**
 * Job webhooks: one POST when a job ends, signed like Stripe's so receivers can
 * check origin and freshness: `x-spillway-signature: t=<unix seconds>,v1=<hex>`
 * where v1 = HMAC-SHA256(secret, `${t}.${body}`).
 */
export const SIGNATURE_HEADER = 'x-spillway-signature'

export function signWebhook(options: { secret: string; timestampSeconds: number; body: string }): string {
  const mac = createHmac('sha256', options.secret)
    .update(`${options.timestampSeconds}.${options.body}`)
    .digest('hex')
  return `t=${options.timestampSeconds},v1=${mac}`
}

/**
 * For receivers (and tests): true when the header signs this body with this secret
 * and is no older than `toleranceSeconds`.
 */
export function verifyWebhookSignature(options: {
  secret: string
  header: string | null | undefined
  body: string
  nowSeconds: number
  toleranceSeconds?: number
}): boolean {
  const parts = new Map(
    (options.header ?? '').split(',').map((part) => part.split('=', 2) as [string, string]),
  )
  const timestamp = Number(parts.get('t'))
  const given = parts.get('v1') ?? ''
  if (
    !Number.isInteger(timestamp) ||
    Math.abs(options.nowSeconds - timestamp) > (options.toleranceSeconds ?? 300)
  ) {
    return false
  }
  const expected =
    signWebhook({ secret: options.secret, timestampSeconds: timestamp, body: options.body }).split(
      'v1=',
    )[1] ?? ''
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected))
}

/** Stored on the job item, inside its size budget (`job-size.ts`). */
const MAX_WEBHOOK_URL_LENGTH = 2048

/** Webhook URLs are client input: same refusals as backend URLs (metadata, link-local), queries allowed. */
export function checkWebhookUrl(raw: string): { ok: true; url: string } | { ok: false; reason: string } {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH)
    return { ok: false, reason: `longer than ${MAX_WEBHOOK_URL_LENGTH} characters` }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, reason: 'not a valid absolute URL' }
  }
  const origin = checkBackendUrl(url.origin)
  if (!origin.ok) return origin
  if (url.username || url.password) return { ok: false, reason: 'credentials in the URL are not allowed' }
  return { ok: true, url: url.href }
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
  readonly fetch?: typeof fetch
}

export interface WebhookDelivery {
  readonly delivered: boolean
  readonly attempts: number
  /** False when the receiver refused it for good (a 4xx other than 408 and 429). */
  readonly retryable: boolean
}

/** Posts the job's final view; retries network errors, 408, 429 and 5xx with exponential backoff. */
export async function deliverWebhook(options: DeliverWebhookOptions): Promise<WebhookDelivery> {
  const send = options.fetch ?? fetch
  const body = JSON.stringify({ type: `job.${options.job.status}`, data: jobView(options.job) })
  for (let attempt = 1; ; attempt++) {
    const signature = signWebhook({
      secret: options.secret,
      timestampSeconds: Math.floor(options.clock() / 1000),
      body,
    })
    let retryable = true
    try {
      const res = await send(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signature,
          'x-spillway-job-id': options.job.id,
          'user-agent': 'spillway-webhook/1',
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      })
      await res.body?.cancel().catch(() => undefined)
      if (res.status >= 200 && res.status < 300)
        return { delivered: true, attempts: attempt, retryable: true }
      retryable = res.status === 408 || res.status === 429 || res.status >= 500
    } catch {
      // Connection refused, reset or timed out: worth another try.
    }
    if (!retryable || attempt >= options.maxAttempts)
      return { delivered: false, attempts: attempt, retryable }
    const delay = options.baseDelayMs * 2 ** (attempt - 1)
    await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)))
  }
}
