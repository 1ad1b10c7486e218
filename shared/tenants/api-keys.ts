import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

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

/**
 * Is `hash` one of `accepted`? Every candidate is compared in full with
 * `timingSafeEqual` (no early exit on the first match either), so the time
 * taken says nothing about how much of a hash matched or which one did.
 */
export function hashIsAccepted(hash: string, accepted: readonly string[]): boolean {
  const candidate = Buffer.from(hash, 'hex')
  let found = false
  for (const known of accepted) {
    const expected = Buffer.from(known, 'hex')
    // Both are SHA-256 digests (32 bytes); a length mismatch is a misconfiguration, never a match.
    if (expected.length === candidate.length && timingSafeEqual(expected, candidate)) found = true
  }
  return found
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
