import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAws, startLocalAws } from '../../local/emulators.ts'
import { destroyAwsClients } from '../../shared/aws/clients.ts'
import { formatJobMessage, type Lane, parseJobMessage } from '../../shared/queue/job-queue.ts'
import { SqsJobQueue } from '../../shared/queue/sqs-job-queue.ts'
import { clientsFor, receiveOne } from '../support/aws.ts'
import { jobQueueContract } from './job-queue-contract.ts'

let aws: LocalAws
let clients: ReturnType<typeof clientsFor>

beforeAll(async () => {
  aws = await startLocalAws()
  clients = clientsFor(aws)
})
afterAll(async () => {
  destroyAwsClients(clients)
  await aws.stop()
})

describe('Class: SqsJobQueue', () => {
  jobQueueContract(() => ({
    queue: new SqsJobQueue({
      sqs: clients.sqs,
      queueUrls: { interactive: aws.queueUrls.interactive, batch: aws.queueUrls.batch },
    }),
    async receive(lane: Lane, waitSeconds: number) {
      const message = await receiveOne(clients.sqs, { queueUrl: aws.queueUrls[lane], waitSeconds })
      return message ? parseJobMessage(message.Body ?? '') : undefined
    },
  }))
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
