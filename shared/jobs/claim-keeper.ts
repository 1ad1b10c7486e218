import { type AppLogger, errorFields } from '../logging.ts'
import type { JobStore } from './job-store.ts'

/**
 * Renews a job's claim at a third of its TTL while the backend call runs. A
 * renewal the store refuses means the job was cancelled or another worker took
 * it over after our claim lapsed: `onLost` aborts our backend call, so the job
 * is executed by at most one holder at a time.
 */
export function keepClaim(options: {
  jobs: JobStore
  id: string
  claimId: string
  ttlMs: number
  clock: () => number
  log: AppLogger
  onLost: () => void
}): { stop(): void } {
  let stopped = false
  const renew = async () => {
    try {
      const now = options.clock()
      const held = await options.jobs.renewClaim({
        id: options.id,
        claimId: options.claimId,
        claimExpiresAt: now + options.ttlMs,
        now,
      })
      if (!held && !stopped) {
        stop()
        options.onLost()
      }
    } catch (error) {
      // Retried at the next tick; the claim still has two thirds of its TTL.
      options.log.warn('claim renewal failed', { jobId: options.id, ...errorFields(error) })
    }
  }
  const timer = setInterval(() => void renew(), Math.max(100, Math.floor(options.ttlMs / 3)))
  timer.unref()
  const stop = () => {
    stopped = true
    clearInterval(timer)
  }
  return { stop }
}
