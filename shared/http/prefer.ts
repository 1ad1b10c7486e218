/**
 * RFC 7240 `Prefer` header, the two preferences Spillway honours:
 * `respond-async` (answer 202 at once when the request must queue) and
 * `wait=N` (hold the request up to N seconds). Unknown preferences are ignored,
 * as the RFC asks; a malformed header never fails the request.
 */
export interface Preferences {
  readonly respondAsync: boolean
  /** Seconds, when the client stated one. */
  readonly waitSeconds?: number
}

export function parsePrefer(header: string | undefined | null): Preferences {
  let respondAsync = false
  let waitSeconds: number | undefined
  for (const part of (header ?? '').split(',')) {
    const [token = '', ...params] = part.split(';')
    const [rawName = '', ...rawValue] = token.split('=')
    const name = rawName.trim().toLowerCase()
    const value = rawValue
      .join('=')
      .trim()
      .replace(/^"(.*)"$/, '$1')
    if (params.length > 0 && name === '') continue
    if (name === 'respond-async') respondAsync = true
    else if (name === 'wait' && /^\d{1,6}$/.test(value)) waitSeconds = Number(value)
  }
  return waitSeconds === undefined ? { respondAsync } : { respondAsync, waitSeconds }
}
