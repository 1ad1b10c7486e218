import type { BackendRecord } from '../backends/backend-record.ts'

/**
 * Slot leases on backends. A lease is one entry in the backend's `leases` map
 * (lease id → expiry); acquiring is one conditional write that succeeds only
 * while the backend has a free slot, so no number of stateless gateways can
 * oversubscribe it.
 *
 *   acquire ──▶ held (expiresAt = now + ttl) ──renew──▶ held ──release──▶ gone
 *                   │
 *                   └─ holder dies ─▶ expired (expiresAt < now): still in the map but
 *                      holds no slot; the next acquire that names it removes it
 */
export interface AcquireOptions {
  readonly backendId: string
  readonly leaseId: string
  readonly now: number
  readonly expiresAt: number
  /** Heartbeats older than this mean the backend is out of rotation. */
  readonly staleBefore: number
  /** Leases the caller saw expired; removed in the same write, which frees their slots. */
  readonly reclaim: readonly string[]
}

export type AcquireResult =
  | { readonly ok: true; readonly backend: BackendRecord }
  /** Lost the race, full, stale, draining or gone: the caller tries another backend. */
  | { readonly ok: false; readonly reason: 'no-slot' }

export interface LeaseRef {
  readonly backendId: string
  readonly leaseId: string
}

export interface CapacityStore {
  /** Every registered backend with its leases; the router caches it briefly. */
  snapshot(): Promise<BackendRecord[]>
  acquire(options: AcquireOptions): Promise<AcquireResult>
  /** Extends a held lease; false when it is gone (reclaimed after expiry), so the holder knows. */
  renew(lease: LeaseRef & { readonly expiresAt: number }): Promise<boolean>
  /** Frees the slot; returns the backend as written, to refresh the cached snapshot. */
  release(lease: LeaseRef): Promise<BackendRecord | undefined>
  /**
   * Takes the backend out for every process until `until` (a process whose own
   * breaker just opened says so); never shortens a longer opening. The backend as
   * written, or undefined when it is gone or already open longer.
   */
  openCircuit(options: {
    readonly backendId: string
    readonly until: number
  }): Promise<BackendRecord | undefined>
  /** Removes leases that are still expired at `now` (the reaper's sweep). */
  reclaimExpired(options: {
    readonly backendId: string
    readonly leaseIds: readonly string[]
    readonly now: number
  }): Promise<number>
}
