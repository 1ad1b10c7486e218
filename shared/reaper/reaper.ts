import { expiredLeaseIds } from '../backends/backend-record.ts'
import type { CapacityStore } from '../capacity/capacity-store.ts'
import { enqueueJob } from '../jobs/enqueue-job.ts'
import { claimExpired, type JobRecord } from '../jobs/job-record.ts'
import type { JobStore } from '../jobs/job-store.ts'
import { type EndedJobWebhooks, notifyEndedJobs } from '../jobs/notify-ended-jobs.ts'
import { type AppLogger, errorFields, silentLogger } from '../logging.ts'
import type { JobQueue } from '../queue/job-queue.ts'

export interface ReaperOptions {
  readonly capacity: CapacityStore
  readonly jobs: JobStore
  readonly queue: JobQueue
  readonly clock?: () => number
  readonly log?: AppLogger
  /** A requeued job gets this long to have its message recorded before the next sweep sends another. */
  readonly outboxGraceMs?: number
  /** Backends whose heartbeat is older than this are counted as stale (the router already skips them). */
  readonly heartbeatStaleMs?: number
  /** Jobs looked at per status per run; the next run picks up the rest. */
  readonly batchLimit?: number
  /** Signs the webhooks of the jobs a sweep expires or finds owed; without it they are recorded `skipped`. */
  readonly webhooks?: EndedJobWebhooks
  /** Time left in this invocation (Lambda); webhooks that might not finish in it are not started. */
  readonly remainingMs?: () => number
}

export interface ReapResult {
  readonly leasesReclaimed: number
  readonly staleBackends: number
  readonly messagesSent: number
  readonly claimsRequeued: number
  readonly expired: number
  /** Ended jobs found in the webhook outbox: their sender died or ran out of time. */
  readonly webhooksOwed: number
  readonly webhooksDelivered: number
  readonly webhooksUndelivered: number
  readonly errors: number
}

/**
 * One sweep of everything that only time repairs:
 * - leases whose holder died (expired entries still in a backend's map), and the
 *   tombstones of removed backends once no lease is left;
 * - queued jobs whose message was never sent (the outbox: gateway or worker
 *   died, or SQS refused the send) → send it now;
 * - running jobs whose claim lapsed (the worker died mid-job) → queued again
 *   with a fresh message;
 * - open jobs past their deadline → expired, then their webhooks sent;
 * - ended jobs whose webhook nobody delivered (the webhook outbox) → sent now.
 * Every write is conditional, so overlapping runs, or a worker acting on the
 * same job meanwhile, cannot double anything up: only the run whose write
 * expired a job sends its webhook.
 */
export async function reap(options: ReaperOptions): Promise<ReapResult> {
  const clock = options.clock ?? Date.now
  const log = options.log ?? silentLogger
  const limit = options.batchLimit ?? 100
  const grace = options.outboxGraceMs ?? 30_000
  const counts = {
    leasesReclaimed: 0,
    staleBackends: 0,
    messagesSent: 0,
    claimsRequeued: 0,
    expired: 0,
    webhooksOwed: 0,
    webhooksDelivered: 0,
    webhooksUndelivered: 0,
    errors: 0,
  }
  const guarded = async (what: string, id: string, work: () => Promise<void>) => {
    try {
      await work()
    } catch (error) {
      counts.errors++
      log.warn(`reaper: ${what} failed`, { id, ...errorFields(error) })
    }
  }
  const send = async (job: Pick<JobRecord, 'id' | 'lane'>) => {
    if (await enqueueJob({ jobs: options.jobs, queue: options.queue, job, now: clock, log }))
      counts.messagesSent++
  }

  const now = clock()
  // Their webhooks go out after the sweep, so a slow receiver never holds back a lease or a message.
  const ended: JobRecord[] = []
  const expire = async (id: string) => {
    const job = await options.jobs.expire({ id, now })
    if (!job) return
    counts.expired++
    ended.push(job)
  }
  for (const backend of await options.capacity.snapshot()) {
    if (options.heartbeatStaleMs !== undefined && backend.heartbeatAt < now - options.heartbeatStaleMs) {
      counts.staleBackends++
    }
    const leaseIds = expiredLeaseIds(backend, now)
    const allExpired = leaseIds.length === Object.keys(backend.leases).length
    if (leaseIds.length > 0) {
      await guarded('lease reclaim', backend.id, async () => {
        counts.leasesReclaimed += await options.capacity.reclaimExpired({
          backendId: backend.id,
          leaseIds,
          now,
        })
      })
    }
    // A deregistered backend whose last holders died: nothing left for its tombstone to guard.
    if (backend.state === 'removed' && allExpired) {
      await guarded('tombstone purge', backend.id, async () => {
        await options.capacity.purgeRemoved(backend.id)
      })
    }
  }

  for (const job of await options.jobs.listDue({ status: 'queued', now, limit })) {
    await guarded('queued sweep', job.id, async () => {
      if (job.deadlineAt <= now) {
        await expire(job.id)
      } else if (job.enqueuedAt === undefined) {
        await send(job)
      }
    })
  }

  for (const job of await options.jobs.listDue({ status: 'running', now, limit })) {
    if (!claimExpired(job, now) || !job.claimId) continue
    const claimId = job.claimId
    await guarded('running sweep', job.id, async () => {
      if (job.deadlineAt <= now) {
        await expire(job.id)
        return
      }
      const requeued = await options.jobs.requeue({
        id: job.id,
        claimId,
        now,
        sendBy: now + grace,
        onlyIfClaimExpired: true,
      })
      if (!requeued) return
      counts.claimsRequeued++
      await send(job)
    })
  }

  // The webhook outbox: jobs that ended a while ago and whose sender never recorded a delivery.
  await guarded('webhook outbox sweep', 'by-webhook-due', async () => {
    const due = await options.jobs.listWebhooksDue({ now, limit })
    counts.webhooksOwed = due.length
    // Only pending webhooks are in the index: a final status takes the job out of it.
    ended.push(...due)
  })

  const webhooks = await notifyEndedJobs({
    jobs: options.jobs,
    ended,
    webhooks: options.webhooks ?? { secret: undefined },
    clock,
    log,
    ...(options.remainingMs ? { remainingMs: options.remainingMs } : {}),
  })
  counts.webhooksDelivered = webhooks.delivered
  counts.webhooksUndelivered = webhooks.undelivered
  if (
    counts.errors > 0 ||
    counts.messagesSent +
      counts.claimsRequeued +
      counts.expired +
      counts.leasesReclaimed +
      counts.webhooksOwed >
      0
  ) {
    log.info('reaper swept', counts)
  }
  return counts
}
