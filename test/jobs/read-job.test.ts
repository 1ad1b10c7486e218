import { describe, expect, it } from 'vitest'
import { MemoryJobStore } from '../../shared/jobs/memory-job-store.ts'
import { currentJob } from '../../shared/jobs/read-job.ts'
import { queuedJobRecord } from './support/job-fixture.ts'

describe('Function: currentJob', () => {
  it('expires an open job read past its deadline, once, and leaves others as they are', async () => {
    // Prepare
    const jobs = new MemoryJobStore()
    const job = queuedJobRecord({ at: 1_000, deadlineAt: 5_000 })
    await jobs.create({ job, sendBy: 1_000 })
    // Act
    const before = await currentJob({ jobs, job, now: 4_999 })
    const after = await currentJob({ jobs, job, now: 5_000 })
    const again = await currentJob({ jobs, job, now: 6_000 })
    // Assess
    expect(before.status).toBe('queued')
    expect(after).toMatchObject({ status: 'expired', error: { code: 'job_expired' }, finishedAt: 5_000 })
    // A stale copy read later gets the stored outcome, not a second expiry.
    expect(again).toMatchObject({ status: 'expired', finishedAt: 5_000 })
  })
})
