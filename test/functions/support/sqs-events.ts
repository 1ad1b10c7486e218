import {
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import type { SQSEvent, SQSRecord } from 'aws-lambda'
import { parseJobMessage } from '../../../shared/queue/job-queue.ts'

/** An SQS record as Lambda's event source builds it from a received message. */
export function recordFrom(message: Message, arn: string): SQSRecord {
  const attributes = message.Attributes ?? {}
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? '0',
      SenderId: attributes.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '0',
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: 'us-east-1',
  }
}

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
      if (wanted.delete(jobId)) records.push(recordFrom(message, arn))
    }
  }
  return wanted.size === 0 ? { Records: records } : undefined
}
