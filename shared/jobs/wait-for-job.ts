import { isTerminal, type JobRecord } from './job-record.ts'
import type { JobStore } from './job-store.ts'

export interface WaitForJobOptions {
  readonly jobs: JobStore
  readonly job: JobRecord
  /** Epoch ms; the latest state is returned when it passes. */
  readonly until: number
  readonly clock: () => number
  /** The client went away: stop reading (the job itself carries on). */
  readonly signal?: AbortSignal
  readonly minIntervalMs?: number
  readonly maxIntervalMs?: number
}

/**
 * Holds until the job is terminal or time is up, reading it with a gently
 * growing interval (one consistent GetItem per read): responsive when the job
 * is about to run, cheap when it waits long.
 */
export async function waitForJob(options: WaitForJobOptions): Promise<JobRecord> {
  let job = options.job
  let interval = options.minIntervalMs ?? 100
  const maxInterval = options.maxIntervalMs ?? 1000
  while (!isTerminal(job.status) && !options.signal?.aborted) {
    const left = options.until - options.clock()
    if (left <= 0) break
    await sleep(Math.min(interval, left), options.signal)
    if (options.signal?.aborted) break
    job = (await options.jobs.get(job.id)) ?? job
    interval = Math.min(maxInterval, Math.ceil(interval * 1.5))
  }
  return job
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
