import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import {
  clampDelaySeconds,
  formatJobMessage,
  type JobQueue,
  type Lane,
  type SendJobOptions,
} from './job-queue.ts'

/** One standard SQS queue per lane; each has its own DLQ (see `shared/tables.ts`). */
export class SqsJobQueue implements JobQueue {
  readonly #sqs: SQSClient
  readonly #queueUrls: Readonly<Record<Lane, string>>

  constructor(options: { sqs: SQSClient; queueUrls: Readonly<Record<Lane, string>> }) {
    this.#sqs = options.sqs
    this.#queueUrls = options.queueUrls
  }

  async send(options: SendJobOptions): Promise<void> {
    const delay = clampDelaySeconds(options.delaySeconds)
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrls[options.lane],
        MessageBody: formatJobMessage(options.message),
        ...(delay > 0 ? { DelaySeconds: delay } : {}),
      }),
    )
  }
}
