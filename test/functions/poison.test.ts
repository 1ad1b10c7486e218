import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs'
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newJobId } from '../../shared/jobs/job-record.ts'
import { formatJobMessage } from '../../shared/queue/job-queue.ts'
import { QUEUES } from '../../shared/tables.ts'
import {
  chatBody,
  eventually,
  type JobStack,
  KEYS,
  postChat,
  startJobStack,
} from '../jobs/support/job-stack.ts'

let stack: JobStack

beforeAll(async () => {
  stack = await startJobStack({ fleet: 'h20=1x2', speed: 1 })
})
afterAll(async () => {
  await stack?.stop()
})

const depth = async (queueUrl: string) => {
  const { Attributes } = await stack.adapters.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  )
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  )
}

describe('poison messages', () => {
  it('park in the DLQ after maxReceiveCount crashes, their job ends failed with a reason, and the queue keeps flowing', async () => {
    const { sqs, doc } = stack.adapters.clients
    const table = stack.aws.names.tables.jobs
    const queueUrl = stack.aws.queueUrls.interactive
    // A job record this worker cannot read (say, written by a newer gateway), and a body that is no job message.
    const poisonId = newJobId()
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: {
          id: poisonId,
          kind: 'job',
          status: 'queued',
          openStatus: 'queued',
          checkAt: Date.now() + 60_000,
          requestJson: '{"half',
        },
      }),
    )
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: formatJobMessage({ jobId: poisonId, attempt: 0 }),
      }),
    )
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'definitely not json' }))

    const outcomes: string[] = []
    await stack.startWorkers({
      failedVisibilitySeconds: 0,
      waitTimeSeconds: 1,
      onJobOutcome: (outcome) => void outcomes.push(outcome),
    })
    // Healthy traffic alongside, queued too (slots busy at first): it must not wait behind the poison.
    const unblock = await stack.blockSlots(stack.fleet.backends[0]!.id, 2)
    // Counted without parsing items (the poison's does not parse); the poison is read first, so
    // a poison that ends between the two reads only delays the count, never completes it early.
    const healthyQueued = async () => {
      const poison = await doc.send(new GetCommand({ TableName: table, Key: { id: poisonId } }))
      const poisonOpen = poison.Item?.status === 'queued' ? 1 : 0
      return (await stack.adapters.jobs.countOpen({ status: 'queued', max: 50 })).count - poisonOpen
    }
    // Freed only once all three are queued, however slow the machine: none may find a free slot first.
    void eventually(async () => (await healthyQueued()) === 3, 20_000).then(() => unblock())
    const healthy = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const res = await postChat(stack.gatewayUrl, KEYS.queue, chatBody(), {
          prefer: 'wait=10',
        })
        return `${res.status} ${res.headers.get('x-spillway-route')}`
      }),
    )
    expect(healthy).toEqual(Array(3).fill('200 queued'))

    const failedItem = async () =>
      (await doc.send(new GetCommand({ TableName: table, Key: { id: poisonId } }))).Item
    expect(await eventually(async () => (await failedItem())?.status === 'failed', 20_000, 100)).toBe(true)
    expect(await failedItem()).toMatchObject({ status: 'failed', error: { code: 'worker_crashed' } })
    expect((await failedItem())?.openStatus).toBeUndefined()
    // Both poison messages went through the DLQ and its handler drained it; the work queue is empty.
    expect(
      await eventually(
        async () => (await depth(stack.aws.queueUrls.interactiveDlq)) === 0 && (await depth(queueUrl)) === 0,
        10_000,
        100,
      ),
    ).toBe(true)
    expect(QUEUES.interactive.deadLetter.maxReceiveCount).toBe(5)
    // The DLQ handler's failure is a job outcome like any other (JobOutcomes, spillway_jobs_total).
    expect(outcomes.filter((outcome) => outcome === 'failed')).toHaveLength(1)
  })
})
