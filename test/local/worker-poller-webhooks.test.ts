import { SendMessageCommand } from '@aws-sdk/client-sqs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalWorkers } from '../../local/worker-poller.ts'
import type { JobRecord } from '../../shared/jobs/job-record.ts'
import { formatJobMessage } from '../../shared/queue/job-queue.ts'
import { queuedJobRecord } from '../jobs/support/job-fixture.ts'
import { eventually, type JobStack, startJobStack, WEBHOOK_SECRET } from '../jobs/support/job-stack.ts'
import { isSignedWith, type ReceivedWebhook, startWebhookReceiver } from '../jobs/support/webhook-receiver.ts'

/**
 * The local poller hands its reaper and DLQ handler the stack's webhook secret and the
 * worker's webhook settings, so jobs they end are announced like the worker's.
 */
let stack: JobStack
let workers: LocalWorkers

beforeAll(async () => {
  stack = await startJobStack({ fleet: 'h20=1x1' })
  workers = await stack.startWorkers()
})
afterAll(async () => {
  await stack?.stop()
})

/** A job written straight to the table, its message never sent to a work queue. */
async function seedJob(overrides: Partial<JobRecord>): Promise<JobRecord> {
  const now = Date.now()
  const job = queuedJobRecord({ at: now, tenantId: 'queuer', ...overrides })
  await stack.adapters.jobs.create({ job, sendBy: now + 600_000 })
  await stack.adapters.jobs.markEnqueued({ id: job.id, now })
  return job
}

const signedWithStackSecret = (hit: ReceivedWebhook | undefined) => isSignedWith(hit, WEBHOOK_SECRET)

describe('local worker poller: webhooks of jobs ended outside the worker', () => {
  it("the reaper's sweep expires a job past its deadline and posts it, signed", async () => {
    const receiver = await startWebhookReceiver([204])
    try {
      const job = await seedJob({ webhookUrl: receiver.url, deadlineAt: Date.now() - 1 })
      expect(await workers.reapNow()).toMatchObject({ expired: 1, webhooksDelivered: 1 })
      expect(receiver.received).toHaveLength(1)
      expect(signedWithStackSecret(receiver.received[0])).toBe(true)
      expect(JSON.parse(receiver.received[0]?.body ?? '{}')).toMatchObject({
        type: 'job.expired',
        data: { id: job.id },
      })
    } finally {
      await receiver.stop()
    }
  })

  it('the DLQ handler fails a dead-lettered job and posts it, signed', async () => {
    const receiver = await startWebhookReceiver([204])
    try {
      const job = await seedJob({ webhookUrl: receiver.url })
      await stack.adapters.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: stack.aws.queueUrls.interactiveDlq,
          MessageBody: formatJobMessage({ jobId: job.id, attempt: 0 }),
        }),
      )
      const delivered = async () => (await stack.adapters.jobs.get(job.id))?.webhookStatus === 'delivered'
      expect(await eventually(delivered, 10_000, 100)).toBe(true)
      expect(receiver.received).toHaveLength(1)
      expect(signedWithStackSecret(receiver.received[0])).toBe(true)
      expect(JSON.parse(receiver.received[0]?.body ?? '{}')).toMatchObject({
        type: 'job.failed',
        data: { id: job.id, status: 'failed', error: { code: 'worker_crashed' } },
      })
    } finally {
      await receiver.stop()
    }
  })
})
