import { createHash, randomBytes } from 'node:crypto'

/**
 * API keys are 256-bit random secrets, so a plain SHA-256 is the right hash: a
 * slow password hash protects guessable secrets, these are not guessable, and
 * the hash is computed on every request. Only the hash is ever stored.
 */
export const KEY_PREFIX = 'sk-spw-'

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url')
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex')
}

/** A short, non-secret handle for listings and logs (`sk-spw-AbCd…`). */
export function keyHint(key: string): string {
  return `${key.slice(0, KEY_PREFIX.length + 4)}…`
}

/** `Authorization: Bearer <key>` → key, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return match?.[1]
}
