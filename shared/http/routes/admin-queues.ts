import { Hono } from 'hono'
import type { JobStore } from '../../jobs/job-store.ts'
import type { QueueDepthReader } from '../../queue/queue-depth.ts'
import type { AppEnv } from '../app-deps.ts'
import { keyAuth } from '../middleware/tenant-auth.ts'

/** Past this many open jobs per status the count stops (each counted job is a read unit's share). */
const MAX_COUNTED_JOBS = 10_000

/**
 * `GET /admin/queues`: the overflow backlog as operators need it. SQS's depth per
 * lane (waiting, delayed, in flight, dead-lettered) and the open jobs in DynamoDB,
 * which can differ: a job back for want of a slot is one job but, for a while,
 * a delayed message; a job whose message was never sent (the outbox) is in no queue.
 */
export function adminQueueRoutes(options: {
  queueDepth?: QueueDepthReader
  jobs?: JobStore
  clock: () => number
  adminKeyHash: string
}) {
  const adminOnly = keyAuth({ acceptedHashes: [options.adminKeyHash] })
  const { queueDepth, jobs } = options
  return new Hono<AppEnv>().get('/admin/queues', adminOnly, async (c) => {
    const [lanes, queued, running] = await Promise.all([
      queueDepth?.read() ?? [],
      jobs?.countOpen({ status: 'queued', max: MAX_COUNTED_JOBS }),
      jobs?.countOpen({ status: 'running', max: MAX_COUNTED_JOBS }),
    ])
    return c.json({
      at: new Date(options.clock()).toISOString(),
      lanes,
      ...(queued && running ? { jobs: { queued, running } } : {}),
    })
  })
}
