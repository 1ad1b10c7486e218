import type { Lane } from './job-queue.ts'

/** How many messages a lane holds, as SQS approximates them (eventually consistent, ±). */
export interface LaneDepth {
  readonly lane: Lane
  /** Visible: waiting for a worker to receive them. */
  readonly waiting: number
  /** Sent with a delay (a job back for want of a slot, or a retry's backoff) not yet visible. */
  readonly delayed: number
  /** Received by a worker and not yet deleted. */
  readonly inFlight: number
  /** In the lane's dead-letter queue: crashed the worker `maxReceiveCount` times. */
  readonly deadLettered: number
}

/** The overflow queues' depth, for operators (`GET /admin/queues`). */
export interface QueueDepthReader {
  read(): Promise<readonly LaneDepth[]>
}
