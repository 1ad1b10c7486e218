import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAws, startLocalAws } from '../../local/emulators.ts'
import { destroyAwsClients } from '../../shared/aws/clients.ts'
import { formatJobMessage, parseJobMessage } from '../../shared/queue/job-queue.ts'
import { SqsJobQueue } from '../../shared/queue/sqs-job-queue.ts'
import { clientsFor, receiveOne } from '../support/aws.ts'

let aws: LocalAws
let clients: ReturnType<typeof clientsFor>
let queue: SqsJobQueue

beforeAll(async () => {
  aws = await startLocalAws()
  clients = clientsFor(aws)
  queue = new SqsJobQueue({
    sqs: clients.sqs,
    queueUrls: { interactive: aws.queueUrls.interactive, batch: aws.queueUrls.batch },
  })
})
afterAll(async () => {
  destroyAwsClients(clients)
  await aws.stop()
})

describe('Class: SqsJobQueue', () => {
  it('sends each lane to its own queue', async () => {
    await queue.send({ lane: 'batch', message: { jobId: 'job_batch0001', attempt: 0 } })
    await queue.send({ lane: 'interactive', message: { jobId: 'job_inter0001', attempt: 2 } })
    const fromBatch = await receiveOne(clients.sqs, { queueUrl: aws.queueUrls.batch, waitSeconds: 1 })
    const fromInteractive = await receiveOne(clients.sqs, {
      queueUrl: aws.queueUrls.interactive,
      waitSeconds: 1,
    })
    expect(parseJobMessage(fromBatch?.Body ?? '')).toEqual({ jobId: 'job_batch0001', attempt: 0 })
    expect(parseJobMessage(fromInteractive?.Body ?? '')).toEqual({ jobId: 'job_inter0001', attempt: 2 })
  })

  it('holds a delayed message back until its delay passes', async () => {
    await queue.send({
      lane: 'interactive',
      message: { jobId: 'job_delayed01', attempt: 1 },
      delaySeconds: 1,
    })
    expect(
      await receiveOne(clients.sqs, { queueUrl: aws.queueUrls.interactive, waitSeconds: 0 }),
    ).toBeUndefined()
    const later = await receiveOne(clients.sqs, { queueUrl: aws.queueUrls.interactive, waitSeconds: 3 })
    expect(parseJobMessage(later?.Body ?? '')?.jobId).toBe('job_delayed01')
  })
})

describe('Function: parseJobMessage', () => {
  it('reads what formatJobMessage writes and rejects anything else', () => {
    expect(parseJobMessage(formatJobMessage({ jobId: 'job_x1234567', attempt: 3 }))).toEqual({
      jobId: 'job_x1234567',
      attempt: 3,
    })
    expect(parseJobMessage('{"jobId":"job_x1234567","attempt":-2}')).toEqual({
      jobId: 'job_x1234567',
      attempt: 0,
    })
    for (const body of ['', 'null', '[]', '{"attempt":1}', '{"jobId":""}', 'not json']) {
      expect(parseJobMessage(body)).toBeUndefined()
    }
  })
})
