import { beforeAll, expect, it } from 'vitest'
import type { JobMessage, JobQueue, Lane } from '../../shared/queue/job-queue.ts'

/** A queue under test and a way to take one message off a lane (waiting up to `waitSeconds`). */
export interface QueueUnderTest {
  readonly queue: JobQueue
  receive(lane: Lane, waitSeconds: number): Promise<JobMessage | undefined>
}

/**
 * The JobQueue contract, written once: `SqsJobQueue` (on fauxqs) and
 * `MemoryJobQueue` each run it.
 */
export function jobQueueContract(open: () => QueueUnderTest | Promise<QueueUnderTest>): void {
  let subject: QueueUnderTest
  beforeAll(async () => {
    subject = await open()
  })

  it('sends each lane to its own queue', async () => {
    await subject.queue.send({ lane: 'batch', message: { jobId: 'job_batch0001', attempt: 0 } })
    await subject.queue.send({ lane: 'interactive', message: { jobId: 'job_inter0001', attempt: 2 } })
    expect(await subject.receive('batch', 1)).toEqual({ jobId: 'job_batch0001', attempt: 0 })
    expect(await subject.receive('interactive', 1)).toEqual({ jobId: 'job_inter0001', attempt: 2 })
  })

  it('holds a delayed message back until its delay passes', async () => {
    await subject.queue.send({
      lane: 'interactive',
      message: { jobId: 'job_delayed01', attempt: 1 },
      delaySeconds: 1,
    })
    expect(await subject.receive('interactive', 0)).toBeUndefined()
    expect((await subject.receive('interactive', 3))?.jobId).toBe('job_delayed01')
  })
}
