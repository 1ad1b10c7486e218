/**
 * Failure injection for one simulated backend. Random faults are decided per
 * request from (seed, request number), so a run with the same seed and the same
 * arrival order fails the same requests.
 */
import { uniformFor } from './prng.ts'

export interface SimFaults {
  /** Seed for the random faults below. */
  readonly seed: number
  /** Share of completion requests answered 500 before the first byte. */
  readonly errorRate: number
  /** Share of completion requests answered 429 with `Retry-After`. */
  readonly rateLimitRate: number
  readonly retryAfterSeconds: number
  /**
   * Share of completion requests answered `307` to another address (an internal
   * service, say): a gateway that followed it would relay what it never checked.
   */
  readonly redirectRate: number
  /** For this long after start (or after being set), /health and completions answer 503. */
  readonly slowStartMs: number
  /** A stream stops sending after this many tokens but keeps the connection open (0 = off). */
  readonly stallAfterTokens: number
  /** The socket is destroyed after this many tokens (0 = off). */
  readonly cutAfterTokens: number
  /**
   * After this many tokens, a stream sends the first half of the next chunk's
   * event (mid-JSON) and then the connection ends (0 = off): a break inside an
   * SSE event, which `cutAfterTokens` (always at an event boundary) never makes.
   */
  readonly cutMidEventAfterTokens: number
  /** The server closes every connection and stops listening. */
  readonly crash: boolean
}

export type SimFaultOptions = Partial<SimFaults>

export const NO_FAULTS: SimFaults = Object.freeze({
  seed: 0,
  errorRate: 0,
  rateLimitRate: 0,
  retryAfterSeconds: 1,
  redirectRate: 0,
  slowStartMs: 0,
  stallAfterTokens: 0,
  cutAfterTokens: 0,
  cutMidEventAfterTokens: 0,
  crash: false,
})

export type FaultDecision = 'none' | 'error' | 'rate-limit' | 'redirect'

/** What happens to the request with this arrival number (1-based). */
export function decideFault(faults: SimFaults, requestNumber: number): FaultDecision {
  if (faults.errorRate > 0 && uniformFor('error', faults.seed, requestNumber) < faults.errorRate)
    return 'error'
  if (
    faults.rateLimitRate > 0 &&
    uniformFor('rate-limit', faults.seed, requestNumber) < faults.rateLimitRate
  ) {
    return 'rate-limit'
  }
  if (faults.redirectRate > 0 && uniformFor('redirect', faults.seed, requestNumber) < faults.redirectRate)
    return 'redirect'
  return 'none'
}

/** Rejects faults that make no sense, so a typo in a test or `/sim/faults` call is loud. */
export function validateFaults(faults: SimFaults): string[] {
  const problems: string[] = []
  for (const key of ['errorRate', 'rateLimitRate', 'redirectRate'] as const) {
    if (!(faults[key] >= 0 && faults[key] <= 1)) problems.push(`${key} must be within 0..1`)
  }
  for (const key of [
    'retryAfterSeconds',
    'slowStartMs',
    'stallAfterTokens',
    'cutAfterTokens',
    'cutMidEventAfterTokens',
    'seed',
  ] as const) {
    if (!Number.isInteger(faults[key]) || faults[key] < 0) problems.push(`${key} must be an integer ≥ 0`)
  }
  if (typeof faults.crash !== 'boolean') problems.push('crash must be a boolean')
  return problems
}
