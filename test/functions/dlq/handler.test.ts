import { describe, expect, it } from 'vitest'
import { createDeadLetterHandler } from '../../../functions/dlq/handler.ts'
import { sqsRecordFrom } from '../../../local/sqs-record.ts'
import { MemoryJobStore } from '../../../shared/jobs/memory-job-store.ts'
import { formatJobMessage } from '../../../shared/queue/job-queue.ts'
import { queuedJobRecord } from '../../jobs/support/job-fixture.ts'

const ARN = 'arn:aws:sqs:us-east-1:000000000000:spillway-interactive-dlq'

function deadLetter(jobId: string) {
  const message = {
    MessageId: `m-${jobId}`,
    ReceiptHandle: 'r',
    Body: formatJobMessage({ jobId, attempt: 0 }),
  }
  return sqsRecordFrom({ ...message, Attributes: { ApproximateReceiveCount: '5' } }, ARN, 'us-east-1')
}

describe('Function: createDeadLetterHandler', () => {
  it('reports each job it fails as a failed job outcome, and none for a job that had already ended', async () => {
    // Prepare
    const jobs = new MemoryJobStore()
    const open = queuedJobRecord()
    const done = queuedJobRecord()
    for (const job of [open, done]) await jobs.create({ job, sendBy: Date.now() })
    await jobs.cancel({ id: done.id, tenantId: done.tenantId, now: Date.now() })
    const outcomes: string[] = []
    const handler = createDeadLetterHandler({ jobs, onJobEnded: (outcome) => void outcomes.push(outcome) })
    // Act
    const response = await handler({ Records: [deadLetter(open.id), deadLetter(done.id)] })
    // Assess
    expect(response.batchItemFailures).toEqual([])
    expect(outcomes).toEqual(['failed'])
    expect(await jobs.get(open.id)).toMatchObject({ status: 'failed', error: { code: 'worker_crashed' } })
    expect((await jobs.get(done.id))?.status).toBe('cancelled')
  })
})
