import type { OverheadResult } from '../overhead.ts'
import type { EmulatorRoundTrip } from '../support/gateway-handle.ts'
import type { WarmLeasesResult } from '../warm-leases.ts'
import { round } from './stats.ts'

/** Issue 11's goal for the gateway's added p50 at concurrency 1, over one store write. */
export const FLOOR_GOAL_MS = 0.5

/**
 * Spillway's added p50 at concurrency 1 (zero-latency backend, DynamoDB store, every lease
 * released at once so that each request pays its acquire) against the floor the store puts under it: one bare UpdateItem round trip from the gateway's own
 * client. A non-streaming answer reaches a Node client before its release write ends
 * (shared/proxy/answer-then-release.ts), so the acquire is the one write on the client's
 * path and `addedP50Ms − updateItemP50Ms` is what the gateway costs beyond it.
 */
export interface LatencyFloor {
  readonly getItemP50Ms: number
  readonly updateItemP50Ms: number
  /** The DynamoDB gateway as the bench runs it (a Node server: leases kept warm, often no write at all). */
  readonly addedP50Ms: number
  /**
   * The same gateway releasing every lease at once, as on Lambda (bench/warm-leases.ts): every
   * request pays its acquire write, so this is the figure the floor is about.
   */
  readonly releasedAtOnceAddedP50Ms?: number
  /** `releasedAtOnceAddedP50Ms − updateItemP50Ms` (`addedP50Ms`'s in a run without the warm-lease bench). */
  readonly overOneWriteMs: number
  readonly goalMs: number
  readonly met: boolean
}

export function latencyFloor(o: {
  overhead: OverheadResult
  roundTrip: EmulatorRoundTrip
  warmLeases?: WarmLeasesResult
}): LatencyFloor | undefined {
  const c1 = o.overhead.cells.find((c) => c.payload === 'instant' && c.concurrency === 1)
  if (!c1) return undefined
  const cold = o.warmLeases?.addedP50Ms.cold
  const overOneWriteMs = round((cold ?? c1.added.dynamo.p50) - o.roundTrip.updateItemMs.p50, 3)
  return {
    getItemP50Ms: o.roundTrip.getItemMs.p50,
    updateItemP50Ms: o.roundTrip.updateItemMs.p50,
    addedP50Ms: c1.added.dynamo.p50,
    ...(cold === undefined ? {} : { releasedAtOnceAddedP50Ms: cold }),
    overOneWriteMs,
    goalMs: FLOOR_GOAL_MS,
    met: overOneWriteMs <= FLOOR_GOAL_MS,
  }
}
