import { randomBytes } from 'node:crypto'

/**
 * Webhook signing secrets in the Standard Webhooks form: `whsec_` and the
 * base64 of 24 to 64 random bytes. Receivers hand that string as-is to any
 * Standard Webhooks library. A bare base64 value (what Secrets Manager
 * generates: 48 letters and digits are the base64 of 36 bytes) is accepted and
 * given its prefix, so the same value reads the same everywhere.
 */
const PREFIX = 'whsec_'
const MIN_BYTES = 24
const MAX_BYTES = 64

export class WebhookSecretError extends Error {
  override readonly name = 'WebhookSecretError'
}

/** The secret as receivers use it (`whsec_…`); throws a one-line reason when it cannot sign. */
export function parseWebhookSecret(raw: string): string {
  const body = raw.trim().startsWith(PREFIX) ? raw.trim().slice(PREFIX.length) : raw.trim()
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
    throw new WebhookSecretError(
      `the webhook secret must be "${PREFIX}" followed by base64 (e.g. ${PREFIX}$(openssl rand -base64 32))`,
    )
  }
  const bytes = Buffer.from(body, 'base64').length
  if (bytes < MIN_BYTES || bytes > MAX_BYTES) {
    throw new WebhookSecretError(
      `the webhook secret must encode ${MIN_BYTES} to ${MAX_BYTES} bytes; this one has ${bytes}`,
    )
  }
  return `${PREFIX}${body}`
}

export function generateWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`
}
