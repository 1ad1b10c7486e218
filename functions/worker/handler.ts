import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch'
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import { parseJobMessage } from '../../shared/queue/job-queue.ts'
import { type JobRunOutcome, runJobMessage } from '../../shared/worker/run-job.ts'
import type { Worker } from '../../shared/worker/worker.ts'

/** A body that is not a job message: failing it sends it, after the redrive count, to the DLQ. */
export class UnreadableMessageError extends Error {
  override name = 'UnreadableMessageError'
}

/**
 * The worker's SQS handler with partial batch responses: each record is one
 * job delivery; a record that throws is reported in `batchItemFailures` and only
 * it is redelivered. Every expected outcome (duplicate, no slot, expired, …)
 * acknowledges its record.
 *
 * @example
 * export const handler = createWorkerHandler(createWorker({ config, jobs, queue, capacity, backendClient }))
 */
export function createWorkerHandler(
  worker: Worker,
  hooks: {
    /** Each delivery's outcome (metrics); called before the record is acknowledged, must not throw. */
    onOutcome?: (outcome: JobRunOutcome) => void | Promise<void>
  } = {},
) {
  return async function workerHandler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
    // One processor per invocation: outside Lambda (the local poller) invocations overlap,
    // and the processor keeps the batch's state on itself.
    const processor = new BatchProcessor(EventType.SQS)
    const remainingMs = context ? () => context.getRemainingTimeInMillis() : undefined
    const handleRecord = async (record: SQSRecord) => {
      const message = parseJobMessage(record.body)
      if (!message) throw new UnreadableMessageError(`message ${record.messageId} is not a job message`)
      const outcome = await runJobMessage(worker, message, remainingMs)
      worker.log.debug('job delivery handled', {
        jobId: message.jobId,
        outcome,
        receiveCount: record.attributes.ApproximateReceiveCount,
      })
      await hooks.onOutcome?.(outcome)
      return outcome
    }
    return processPartialResponse(event, handleRecord, processor, {
      ...(context ? { context } : {}),
      // Report every failed record instead of throwing, which would fail the whole batch.
      throwOnFullBatchFailure: false,
    })
  }
}
