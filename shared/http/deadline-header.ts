import { BadRequestError, UnprocessableError } from '../errors.ts'

/** Ten years: past this, a seconds value is a mistake (or a probe), not a deadline. */
export const MAX_DEADLINE_SECONDS = 10 * 365 * 24 * 3600

const SECONDS = /^\d{1,15}(\.\d{1,9})?$/
const NEGATIVE = /^-\s*\d/
const RFC_3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/**
 * `x-spillway-deadline`: seconds from now, or an RFC 3339 time, as epoch ms.
 * Clamped to the tenant's own job deadline (`maxSeconds`): a client may ask for
 * less time, never more. Anything that is not a time (NaN, Infinity, text) is a
 * 400; a negative, past or absurdly far value a 422.
 */
export function parseDeadlineHeader(header: string | undefined, now: number, maxSeconds: number): number {
  const latest = now + maxSeconds * 1000
  if (header === undefined) return latest
  const value = header.trim()
  const param = 'x-spillway-deadline'
  if (NEGATIVE.test(value))
    throw new UnprocessableError('x-spillway-deadline must not be negative.', { param })
  let at: number
  if (SECONDS.test(value)) {
    const seconds = Number(value)
    if (seconds > MAX_DEADLINE_SECONDS) {
      throw new UnprocessableError(
        `x-spillway-deadline is out of range: at most ${MAX_DEADLINE_SECONDS} seconds (this key's jobs get ${maxSeconds}).`,
        { param },
      )
    }
    at = now + seconds * 1000
  } else if (RFC_3339.test(value)) {
    at = Date.parse(value)
  } else {
    at = Number.NaN
  }
  if (!Number.isFinite(at)) {
    throw new BadRequestError('x-spillway-deadline must be seconds from now or an RFC 3339 time.', { param })
  }
  if (at <= now) throw new UnprocessableError('x-spillway-deadline is already past.', { param })
  return Math.min(at, latest)
}
