import type { BackendClient } from '../backends/backend-client.ts'
import type { OverflowPort } from '../jobs/overflow-port.ts'
import type { AppLogger } from '../logging.ts'
import type { CircuitBreakers } from '../router/circuit-breakers.ts'
import type { SlotGate } from '../router/slot-gate.ts'
import type { CapacityWants } from './capacity-signal.ts'

export interface HoldSettings {
  /** A waiting held stream gets an SSE comment this often (proxies and clients drop silent streams). */
  readonly keepAliveMs: number
  /** The job's `heldUntil` marker runs this far ahead; renewed at a third of it. */
  readonly markerTtlMs: number
  /** The holding gateway's claim on a job it runs (renewed at a third). */
  readonly claimTtlMs: number
  /** Claims per job (runs, crashes included) before it fails for good, as the worker's. */
  readonly maxAttempts: number
  /** With no healthy backend at all, how often a held request looks again. */
  readonly noBackendPollMs: number
}

export const DEFAULT_HOLD_SETTINGS: HoldSettings = Object.freeze({
  keepAliveMs: 15_000,
  markerTtlMs: 10_000,
  claimTtlMs: 15_000,
  maxAttempts: 3,
  noBackendPollMs: 1_000,
})

/** What a holding gateway uses to wait for a slot and run its own job. */
export interface HoldContext {
  readonly overflow: OverflowPort
  readonly slots: SlotGate
  readonly circuits: CircuitBreakers
  readonly backendClient: BackendClient
  readonly wants: CapacityWants
  readonly clock: () => number
  readonly log: AppLogger
  readonly settings: HoldSettings
  /** The backend call's clocks and byte cap, as for a directly served request (`UpstreamTimers`). */
  readonly firstByteTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly totalTimeoutMs: number
  readonly maxResponseBytes: number
  /** A job this gateway ran itself ended (`succeeded`, `failed`): the job-outcome metric. */
  readonly onJobEnded?: (status: string) => void
}
