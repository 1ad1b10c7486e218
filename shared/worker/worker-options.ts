import { DEFAULT_WEBHOOK_SETTINGS, type WebhookSettings } from '../jobs/notify-webhook.ts'
import type { Lane } from '../queue/job-queue.ts'
import { WORKER_TIMEOUT_SECONDS } from '../tables.ts'

export interface WorkerOptions {
  /** A claim lapses this long after its last renewal; the holder renews at a third of it. */
  readonly claimTtlMs: number
  /** How long a delivery waits in-process for a slot while none frees, before going back to the queue. */
  readonly slotWaitMs: number
  /** The longest a delivery waits in-process even while slots keep freeing (a backlog drains meanwhile). */
  readonly slotHoldMaxMs: number
  /** How often a waiter tries again; batch waiters look less often, so interactive ones win freed slots. */
  readonly slotPollMs: Readonly<Record<Lane, number>>
  /**
   * While a delivery waits, the fleet is re-read this often: other processes'
   * releases are otherwise seen only at the router's snapshot age (≤ 1 s).
   * A read is one Scan of the backends table per worker process.
   */
  readonly slotRefreshMs: number
  /** Delay of the fresh message sent when no slot came up (grows with the message's attempt). */
  readonly noSlotDelay: { readonly baseSeconds: number; readonly maxSeconds: number }
  /** Delay before retrying a job whose backend call failed (grows with the job's attempts). */
  readonly retryDelay: { readonly baseSeconds: number; readonly maxSeconds: number }
  /** Claims per job (runs, crashes included) before it fails for good. */
  readonly maxAttempts: number
  /** Longest backend call; also kept inside the Lambda's remaining time. */
  readonly callTimeoutMs: number
  /** A requeued job whose message is not recorded as sent by then is the outbox sweep's. */
  readonly outboxGraceMs: number
  readonly webhook: WebhookSettings
}

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = Object.freeze({
  claimTtlMs: 60_000,
  slotWaitMs: 2_000,
  slotHoldMaxMs: 8_000,
  slotPollMs: { interactive: 50, batch: 200 },
  slotRefreshMs: 250,
  noSlotDelay: { baseSeconds: 1, maxSeconds: 20 },
  retryDelay: { baseSeconds: 2, maxSeconds: 60 },
  maxAttempts: 3,
  // The invocation's own timeout less room to wait for a slot and store the outcome.
  callTimeoutMs: (WORKER_TIMEOUT_SECONDS - 20) * 1000,
  outboxGraceMs: 30_000,
  webhook: DEFAULT_WEBHOOK_SETTINGS,
})

export function workerOptions(overrides: Partial<WorkerOptions> = {}): WorkerOptions {
  return { ...DEFAULT_WORKER_OPTIONS, ...overrides }
}
