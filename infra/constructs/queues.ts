import { Duration, type RemovalPolicy } from 'aws-cdk-lib'
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import { QUEUES, type QueueDefinition, type QueueKey } from '../../shared/tables.ts'

export interface SpillwayQueuesProps {
  /** The worker's Lambda timeout: each work queue's visibility timeout must be at least 6x it. */
  workerTimeout: Duration
  /** The DLQ handler's Lambda timeout: the dead-letter queues' visibility timeout derives from it. */
  deadLetterHandlerTimeout: Duration
  removalPolicy: RemovalPolicy
}

/**
 * AWS asks for a visibility timeout of at least 6x the consumer's timeout on an SQS
 * event source, so a batch retried inside one invocation is not redelivered meanwhile.
 */
export const VISIBILITY_TO_TIMEOUT_RATIO = 6

/**
 * The interactive and batch work queues and their dead-letter queues, from the shared
 * definitions: SSE with SQS-managed keys, TLS enforced by the queue policy, redrive
 * after `maxReceiveCount` deliveries.
 */
export class SpillwayQueues extends Construct {
  readonly queues: Readonly<Record<QueueKey, Queue>>
  readonly deadLetterQueues: Readonly<Record<QueueKey, Queue>>

  constructor(scope: Construct, id: string, props: SpillwayQueuesProps) {
    super(scope, id)
    const workerSeconds = props.workerTimeout.toSeconds()
    const build = (definition: QueueDefinition) => {
      const name = definition.key === 'interactive' ? 'Interactive' : 'Batch'
      const deadLetterQueue = new Queue(this, `${name}DeadLetter`, {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.seconds(definition.deadLetter.retentionSeconds),
        // The definition has no DLQ visibility timeout: the DLQ handler is its only consumer.
        visibilityTimeout: Duration.seconds(
          VISIBILITY_TO_TIMEOUT_RATIO * props.deadLetterHandlerTimeout.toSeconds(),
        ),
        removalPolicy: props.removalPolicy,
      })
      const queue = new Queue(this, name, {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
        retentionPeriod: Duration.seconds(definition.retentionSeconds),
        receiveMessageWaitTime: Duration.seconds(definition.receiveWaitSeconds),
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: definition.deadLetter.maxReceiveCount },
        removalPolicy: props.removalPolicy,
      })
      return { queue, deadLetterQueue }
    }
    const interactive = build(QUEUES.interactive)
    const batch = build(QUEUES.batch)
    this.queues = { interactive: interactive.queue, batch: batch.queue }
    this.deadLetterQueues = { interactive: interactive.deadLetterQueue, batch: batch.deadLetterQueue }

    this.node.addValidation({
      validate: () =>
        Object.values(QUEUES)
          .filter(
            (definition) => definition.visibilityTimeoutSeconds < VISIBILITY_TO_TIMEOUT_RATIO * workerSeconds,
          )
          .map(
            (definition) =>
              `queue "${definition.key}": visibility timeout ${definition.visibilityTimeoutSeconds} s is under ` +
              `${VISIBILITY_TO_TIMEOUT_RATIO} x the worker timeout (${workerSeconds} s)`,
          ),
    })
  }
}
