import { SendMessageCommand } from '@aws-sdk/client-sqs'
import type { Context, SQSEvent } from 'aws-lambda'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDeadLetterHandler } from '../../../functions/dlq/handler.ts'
import { type LocalAws, startLocalAws } from '../../../local/emulators.ts'
import { destroyAwsClients } from '../../../shared/aws/clients.ts'
import type { JobRecord } from '../../../shared/jobs/job-record.ts'
import { formatJobMessage } from '../../../shared/queue/job-queue.ts'
import { type AwsAdapters, createAwsAdapters } from '../../../shared/runtime/aws-adapters.ts'
import { readRuntimeEnv } from '../../../shared/runtime/runtime-env.ts'
import { queuedJobRecord } from '../../jobs/support/job-fixture.ts'
import { isSignedWith, startWebhookReceiver, testWebhookSecret } from '../../jobs/support/webhook-receiver.ts'
import { eventFor } from '../support/sqs-events.ts'

let aws: LocalAws
let adapters: AwsAdapters
let handler: ReturnType<typeof createDeadLetterHandler>
const SECRET = testWebhookSecret('dlq')

beforeAll(async () => {
  aws = await startLocalAws({ prefix: `dlq-hooks-${Math.random().toString(36).slice(2, 8)}` })
  adapters = createAwsAdapters(readRuntimeEnv(aws.env))
  handler = createDeadLetterHandler({
    jobs: adapters.jobs,
    webhooks: {
      secret: SECRET,
      settings: { maxAttempts: 2, baseDelayMs: 20, timeoutMs: 2_000, allowPrivateNetworks: true },
    },
  })
})
afterAll(async () => {
  destroyAwsClients(adapters.clients)
  await aws.stop()
})

/** A Lambda context with a minute left, as the DLQ function's timeout gives it. */
const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'spillway-dlq-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:spillway-dlq-test',
  memoryLimitInMB: '256',
  awsRequestId: 'dlq-test',
  logGroupName: 'test',
  logStreamName: 'test',
  getRemainingTimeInMillis: () => 60_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
}

async function queuedJob(webhookUrl: string): Promise<JobRecord> {
  const now = Date.now()
  const job = queuedJobRecord({ at: now, webhookUrl })
  await adapters.jobs.create({ job, sendBy: now })
  await adapters.jobs.markEnqueued({ id: job.id, now })
  return job
}

/** The job's message as the worker queue's redrive left it in the DLQ, received back as an event. */
async function deadLetterEvent(jobId: string): Promise<SQSEvent> {
  const queueUrl = aws.queueUrls.interactiveDlq
  await adapters.clients.sqs.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: formatJobMessage({ jobId, attempt: 0 }) }),
  )
  const event = await eventFor(adapters.clients.sqs, { queueUrl, jobIds: [jobId], waitSeconds: 5 })
  if (!event) throw new Error(`the dead letter of ${jobId} did not arrive`)
  return event
}

describe('Function: createDeadLetterHandler (webhooks)', () => {
  it('fails a dead-lettered job and sends one signed webhook with "failed" and the reason', async () => {
    const receiver = await startWebhookReceiver([204])
    try {
      const job = await queuedJob(receiver.url)
      const result = await handler(await deadLetterEvent(job.id), context)
      expect(result).toEqual({ batchItemFailures: [] })
      expect(receiver.received).toHaveLength(1)
      const [hit] = receiver.received
      expect(isSignedWith(hit, SECRET)).toBe(true)
      expect(JSON.parse(hit?.body ?? '{}')).toMatchObject({
        type: 'job.failed',
        data: {
          id: job.id,
          status: 'failed',
          error: { code: 'worker_crashed', message: expect.stringContaining('failed repeatedly') },
        },
      })
      expect(await adapters.jobs.get(job.id)).toMatchObject({
        status: 'failed',
        webhookStatus: 'delivered',
        webhookAttempts: 1,
      })
    } finally {
      await receiver.stop()
    }
  })

  it('sends nothing for a job that had already succeeded, and leaves it as it was', async () => {
    const receiver = await startWebhookReceiver([204])
    try {
      const job = await queuedJob(receiver.url)
      const now = Date.now()
      await adapters.jobs.claim({ id: job.id, claimId: 'c', now, claimExpiresAt: now + 60_000 })
      await adapters.jobs.complete({
        id: job.id,
        claimId: 'c',
        now,
        result: { id: 'chatcmpl-1' },
        servedBy: { hardware: 'h20', backendId: 'gpu-1', route: 'primary' },
      })
      const result = await handler(await deadLetterEvent(job.id), context)
      expect(result).toEqual({ batchItemFailures: [] })
      expect(receiver.received).toEqual([])
      expect(await adapters.jobs.get(job.id)).toMatchObject({ status: 'succeeded', webhookStatus: 'pending' })
    } finally {
      await receiver.stop()
    }
  })
})
