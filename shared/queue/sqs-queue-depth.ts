import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { Lane } from './job-queue.ts'
import type { LaneDepth, QueueDepthReader } from './queue-depth.ts'

type Counted =
  | 'ApproximateNumberOfMessages'
  | 'ApproximateNumberOfMessagesDelayed'
  | 'ApproximateNumberOfMessagesNotVisible'

const ATTRIBUTES: Counted[] = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesDelayed',
  'ApproximateNumberOfMessagesNotVisible',
]

/** Reads each lane and its DLQ with `GetQueueAttributes` (one request per queue, in parallel). */
export class SqsQueueDepth implements QueueDepthReader {
  readonly #sqs: SQSClient
  readonly #queueUrls: Readonly<Record<Lane, string>>
  readonly #deadLetterUrls: Readonly<Partial<Record<Lane, string>>>

  constructor(options: {
    sqs: SQSClient
    queueUrls: Readonly<Record<Lane, string>>
    /** A lane without a DLQ URL reports 0 dead-lettered. */
    deadLetterUrls: Readonly<Partial<Record<Lane, string>>>
  }) {
    this.#sqs = options.sqs
    this.#queueUrls = options.queueUrls
    this.#deadLetterUrls = options.deadLetterUrls
  }

  read(): Promise<readonly LaneDepth[]> {
    const lanes = Object.keys(this.#queueUrls) as Lane[]
    return Promise.all(
      lanes.map(async (lane) => {
        const deadLetterUrl = this.#deadLetterUrls[lane]
        const [queue, deadLetters] = await Promise.all([
          this.#attributes(this.#queueUrls[lane]),
          deadLetterUrl ? this.#attributes(deadLetterUrl) : undefined,
        ])
        return {
          lane,
          waiting: queue.ApproximateNumberOfMessages,
          delayed: queue.ApproximateNumberOfMessagesDelayed,
          inFlight: queue.ApproximateNumberOfMessagesNotVisible,
          deadLettered: deadLetters
            ? deadLetters.ApproximateNumberOfMessages + deadLetters.ApproximateNumberOfMessagesNotVisible
            : 0,
        }
      }),
    )
  }

  async #attributes(queueUrl: string): Promise<Record<Counted, number>> {
    const out = await this.#sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ATTRIBUTES }),
    )
    const counts = {} as Record<Counted, number>
    for (const name of ATTRIBUTES) counts[name] = Number(out.Attributes?.[name] ?? 0) || 0
    return counts
  }
}
