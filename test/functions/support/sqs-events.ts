import { GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { SQSEvent, SQSRecord } from 'aws-lambda'
import { sqsRecordFrom } from '../../../local/sqs-record.ts'
import { parseJobMessage } from '../../../shared/queue/job-queue.ts'

/**
 * Receives until the messages for `jobIds` are in hand (others stay invisible for
 * a minute, out of the way) and returns them as one event. Undefined when they do
 * not arrive within `waitSeconds`.
 */
export async function eventFor(
  sqs: SQSClient,
  options: { queueUrl: string; jobIds: readonly string[]; waitSeconds: number },
): Promise<SQSEvent | undefined> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: options.queueUrl, AttributeNames: ['QueueArn'] }),
  )
  const arn = Attributes?.QueueArn ?? options.queueUrl
  const wanted = new Set(options.jobIds)
  const records: SQSRecord[] = []
  const until = Date.now() + options.waitSeconds * 1000
  while (wanted.size > 0 && Date.now() < until) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
        MessageSystemAttributeNames: ['All'],
      }),
    )
    for (const message of Messages) {
      const jobId = parseJobMessage(message.Body ?? '')?.jobId ?? message.Body ?? ''
      if (wanted.delete(jobId)) records.push(sqsRecordFrom(message, arn, 'us-east-1'))
    }
  }
  return wanted.size === 0 ? { Records: records } : undefined
}
