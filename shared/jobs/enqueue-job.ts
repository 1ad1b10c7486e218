import { type AppLogger, errorFields } from '../logging.ts'
import type { JobQueue } from '../queue/job-queue.ts'
import type { JobRecord } from './job-record.ts'
import type { JobStore } from './job-store.ts'

export interface EnqueueJobOptions {
  readonly jobs: JobStore
  readonly queue: JobQueue
  readonly job: Pick<JobRecord, 'id' | 'lane'>
  readonly now: () => number
  readonly log: AppLogger
  readonly delaySeconds?: number
}

/**
 * The outbox's second half: the job is already durable and marked as owing a
 * message; send it, then clear the debt. A send that fails is not an error for
 * the caller: the job stays owed and the reaper's outbox sweep sends it.
 * A mark that fails after a send only costs a duplicate message later, which
 * the worker's conditional claim absorbs.
 */
export async function enqueueJob(options: EnqueueJobOptions): Promise<boolean> {
  const { job, log } = options
  try {
    await options.queue.send({
      lane: job.lane,
      message: { jobId: job.id, attempt: 0 },
      ...(options.delaySeconds ? { delaySeconds: options.delaySeconds } : {}),
    })
  } catch (error) {
    log.warn('job message not sent; the outbox sweep will send it', { jobId: job.id, ...errorFields(error) })
    return false
  }
  try {
    await options.jobs.markEnqueued({ id: job.id, now: options.now() })
  } catch (error) {
    log.warn('job message sent but not recorded; a duplicate may follow', {
      jobId: job.id,
      ...errorFields(error),
    })
  }
  return true
}
