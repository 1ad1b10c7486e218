import { Hono } from 'hono'
import { BadRequestError, NotFoundError, SpillwayError } from '../../errors.ts'
import { isJobId, isTerminal, type JobRecord } from '../../jobs/job-record.ts'
import type { JobStore } from '../../jobs/job-store.ts'
import { jobView } from '../../jobs/job-view.ts'
import { currentJob } from '../../jobs/read-job.ts'
import { waitForJob } from '../../jobs/wait-for-job.ts'
import type { AppEnv } from '../app-deps.ts'

export interface JobRoutesOptions {
  readonly jobs: JobStore
  readonly clock: () => number
  /** Upper bound of `?wait=N`. */
  readonly maxLongPollSeconds?: number
}

/**
 * `GET /v1/jobs/{id}` (`?wait=N` holds until the job ends or N seconds pass)
 * and `DELETE /v1/jobs/{id}` (cancel). Tenant-scoped: another tenant's job
 * answers exactly like a job that does not exist.
 */
export function jobRoutes(options: JobRoutesOptions) {
  const { jobs, clock } = options
  const maxWait = options.maxLongPollSeconds ?? 60

  const load = async (id: string, tenantId: string): Promise<JobRecord> => {
    const job = isJobId(id) ? await jobs.get(id) : undefined
    if (!job || job.tenantId !== tenantId)
      throw new NotFoundError(`No job with id "${id}".`, { code: 'job_not_found' })
    return job
  }
  const current = (job: JobRecord) => currentJob({ jobs, job, now: clock() })

  return new Hono<AppEnv>()
    .get('/v1/jobs/:id', async (c) => {
      const wait = parseWait(c.req.query('wait'), maxWait)
      let job = await current(await load(c.req.param('id'), c.get('tenant').id))
      if (wait > 0 && !isTerminal(job.status)) {
        // A queued job cannot outlive its deadline: stop holding there and report it expired.
        const until = Math.min(
          clock() + wait * 1000,
          job.status === 'queued' ? job.deadlineAt : Number.POSITIVE_INFINITY,
        )
        job = await current(await waitForJob({ jobs, job, until, clock, signal: c.req.raw.signal }))
      }
      return c.json(jobView(job))
    })
    .delete('/v1/jobs/:id', async (c) => {
      const tenantId = c.get('tenant').id
      const job = await load(c.req.param('id'), tenantId)
      const cancelled = await jobs.cancel({ id: job.id, tenantId, now: clock() })
      if (cancelled) return c.json(jobView(cancelled))
      const latest = (await jobs.get(job.id)) ?? job
      // Cancelling twice is not an error; cancelling a job that already ended is.
      if (latest.status === 'cancelled') return c.json(jobView(latest))
      throw new SpillwayError(409, 'invalid_request_error', `The job has already ended (${latest.status}).`, {
        code: 'job_not_cancellable',
        headers: { 'x-should-retry': 'false' },
      })
    })
}

function parseWait(raw: string | undefined, max: number): number {
  if (raw === undefined || raw === '') return 0
  if (!/^\d{1,6}$/.test(raw)) {
    throw new BadRequestError('wait must be a whole number of seconds.', { param: 'wait' })
  }
  return Math.min(max, Number(raw))
}
