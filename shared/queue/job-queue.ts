import type { QueueKey } from '../tables.ts'

/** The queue a job waits in: interactive jobs never sit behind a batch backlog. */
export type Lane = QueueKey

/**
 * What a queue message carries: only the job's id, never the request (the job
 * record in DynamoDB is the truth), and how many times it has come back for
 * want of a slot, which grows the next delay.
 */
export interface JobMessage {
  readonly jobId: string
  readonly attempt: number
}

export interface SendJobOptions {
  readonly lane: Lane
  readonly message: JobMessage
  /** 0..900 seconds before the message becomes visible (SQS `DelaySeconds`). */
  readonly delaySeconds?: number
}

/** SQS allows at most 15 minutes of delay per message. */
export const MAX_DELAY_SECONDS = 900

/** A delay as every queue takes it: whole seconds, 0..900. */
export function clampDelaySeconds(delaySeconds: number | undefined): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.round(delaySeconds ?? 0)))
}

/** Where jobs wait for a worker. At-least-once: a message may arrive twice. */
export interface JobQueue {
  send(options: SendJobOptions): Promise<void>
}

const MESSAGE_VERSION = 1

export function formatJobMessage(message: JobMessage): string {
  return JSON.stringify({ v: MESSAGE_VERSION, jobId: message.jobId, attempt: message.attempt })
}

/** Undefined for a body that is not a job message (the caller decides whether that is poison). */
export function parseJobMessage(body: string): JobMessage | undefined {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const { jobId, attempt } = value as { jobId?: unknown; attempt?: unknown }
  if (typeof jobId !== 'string' || jobId.length === 0) return undefined
  const count = typeof attempt === 'number' && Number.isInteger(attempt) && attempt >= 0 ? attempt : 0
  return { jobId, attempt: count }
}
