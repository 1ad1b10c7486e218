import { isTerminal, type JobRecord } from './job-record.ts'
import type { JobStore } from './job-store.ts'

/**
 * The job as it stands now. DynamoDB's TTL is days late and a queued job may sit with
 * no worker looking, so reading a job enforces its deadline: an open job past it is
 * expired by this read (one conditional write; a lost race reads the winner's state).
 */
export async function currentJob(options: {
  jobs: JobStore
  job: JobRecord
  now: number
}): Promise<JobRecord> {
  const { jobs, job, now } = options
  if (isTerminal(job.status) || job.deadlineAt > now) return job
  return (await jobs.expire({ id: job.id, now })) ?? (await jobs.get(job.id)) ?? job
}
