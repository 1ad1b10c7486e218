import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch'
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import type { JobStore } from '../../shared/jobs/job-store.ts'
import { type EndedJobWebhooks, notifyEndedJobs } from '../../shared/jobs/notify-ended-jobs.ts'
import { type AppLogger, silentLogger } from '../../shared/logging.ts'
import { parseJobMessage } from '../../shared/queue/job-queue.ts'

export interface DeadLetterHandlerOptions {
  readonly jobs: JobStore
  /** Signs the webhooks of the jobs it fails; without it they are recorded `skipped`. */
  readonly webhooks?: EndedJobWebhooks
  readonly clock?: () => number
  readonly log?: AppLogger
  /**
   * Each job this handler ended (always `failed`), for the job-outcome metrics
   * (`JobOutcomes`, `spillway_jobs_total`); called before the record is acknowledged, must not throw.
   */
  readonly onJobEnded?: (outcome: 'failed') => void | Promise<void>
}

/**
 * The DLQ handler: a message lands here after crashing the worker
 * `maxReceiveCount` times. Its job must not stay `queued` forever (invariant 3),
 * so it ends `failed` with the reason, and its webhook says so. A job already
 * ended is left as it is (and notified by whoever ended it); a body that names
 * no job is logged and dropped (there is nothing to mark).
 */
export function createDeadLetterHandler(options: DeadLetterHandlerOptions) {
  const clock = options.clock ?? Date.now
  const log = options.log ?? silentLogger
  const webhooks = options.webhooks ?? { secret: undefined }
  return async function deadLetterHandler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
    const processor = new BatchProcessor(EventType.SQS)
    const handleRecord = async (record: SQSRecord) => {
      const message = parseJobMessage(record.body)
      if (!message) {
        log.error('unreadable message in the dead-letter queue dropped', { messageId: record.messageId })
        return
      }
      const receives = record.attributes.ApproximateReceiveCount
      const abandoned = await options.jobs.abandon({
        id: message.jobId,
        now: clock(),
        error: {
          code: 'worker_crashed',
          message: 'The job failed repeatedly inside the worker and was set aside; see the logs for its id.',
          status: 502,
        },
      })
      log.error('dead-lettered job', { jobId: message.jobId, receives, markedFailed: abandoned.ended })
      if (abandoned.ended) await options.onJobEnded?.('failed')
      // Records run in parallel, so one batch is at most batch-size deliveries at once.
      if (abandoned.ended && abandoned.job) {
        await notifyEndedJobs({
          jobs: options.jobs,
          ended: [abandoned.job],
          webhooks,
          clock,
          log,
          ...(context ? { remainingMs: () => context.getRemainingTimeInMillis() } : {}),
        })
      }
    }
    return processPartialResponse(event, handleRecord, processor, {
      ...(context ? { context } : {}),
      throwOnFullBatchFailure: false,
    })
  }
}
