import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { formatJobMessage, type JobQueue, type Lane, type SendJobOptions } from './job-queue.ts'

/** SQS allows at most 15 minutes of delay per message. */
export const MAX_DELAY_SECONDS = 900

/** One standard SQS queue per lane; each has its own DLQ (see `shared/tables.ts`). */
export class SqsJobQueue implements JobQueue {
  readonly #sqs: SQSClient
  readonly #queueUrls: Readonly<Record<Lane, string>>

  constructor(options: { sqs: SQSClient; queueUrls: Readonly<Record<Lane, string>> }) {
    this.#sqs = options.sqs
    this.#queueUrls = options.queueUrls
  }

  async send(options: SendJobOptions): Promise<void> {
    const delay = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.round(options.delaySeconds ?? 0)))
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrls[options.lane],
        MessageBody: formatJobMessage(options.message),
        ...(delay > 0 ? { DelaySeconds: delay } : {}),
      }),
    )
  }
}
