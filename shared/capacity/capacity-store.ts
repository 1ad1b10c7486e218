import type { BackendRecord } from '../backends/backend-record.ts'

/**
 * Slot leases on backends. A lease is one entry (lease id → expiry) in a map the
 * store keeps per backend (the DynamoDB store: in slot shard items of at most 16
 * slots); acquiring is one conditional write that succeeds only while there is a
 * free slot, so no number of stateless gateways can oversubscribe a backend.
 *
 *   acquire ──▶ held (expiresAt = now + ttl) ──renew──▶ held ──release──▶ gone
 *                   │
 *                   └─ holder dies ─▶ expired (expiresAt < now): still in the map but
 *                      holds no slot; the next acquire that names it removes it
 */
/**
 * Expired leases one write may name. Each costs about 90 characters of condition in an
 * acquire (55 in a sweep): 20 keep the expression near 2 KB, well under DynamoDB's 4 KB
 * limit (dynalite has none, DynamoDB Local enforces it). A mass crash's leftovers are
 * reclaimed 20 per acquire, and by the reaper 20 per write.
 */
export const MAX_RECLAIM_PER_WRITE = 20

export interface AcquireOptions {
  readonly backendId: string
  readonly leaseId: string
  readonly now: number
  readonly expiresAt: number
  /** Heartbeats older than this mean the backend is out of rotation. */
  readonly staleBefore: number
  /**
   * Leases the caller saw expired; removed in the same write, which frees their slots.
   * A store may take only the first few (a write's expression is bounded); the rest wait
   * for the next acquire or the reaper. A store that keeps its own view of where each
   * lease is (the DynamoDB store's shards) reclaims from that view instead.
   */
  readonly reclaim: readonly string[]
  /**
   * The backend's maxConcurrency as the caller saw it. A full map only takes a lease by
   * reclaiming while the item still has this maximum; without it, a write needs a free slot.
   */
  readonly maxConcurrency?: number
}

export type AcquireResult =
  /**
   * `leaseId` is the lease as stored, which renewals, release and handover name: a store
   * may add to the caller's id (the DynamoDB store prefixes the slot shard it wrote).
   */
  | { readonly ok: true; readonly backend: BackendRecord; readonly leaseId: string }
  /** Lost the race, full, stale, draining or gone: the caller tries another backend. */
  | { readonly ok: false; readonly reason: 'no-slot' }

export interface LeaseRef {
  readonly backendId: string
  readonly leaseId: string
}

export interface TransferOptions extends LeaseRef {
  /** The lease's new expiry, for its new holder. */
  readonly expiresAt: number
  /** Heartbeats older than this mean the backend is out of rotation. */
  readonly staleBefore: number
}

/** One part of the snapshot: scan segment `segment` of `segments` (0 of 1: the whole table). */
export interface SnapshotPart {
  readonly segment: number
  readonly segments: number
}

export interface SnapshotPartRead {
  /**
   * Every backend this part read an item of, with all this store knows of it (a backend's
   * items may fall in different parts); after a whole read, every backend.
   */
  readonly backends: readonly BackendRecord[]
  /** Backends that were read before and are gone now (deregistered and purged). */
  readonly goneIds: readonly string[]
  /** What the part cost: read units as DynamoDB bills them (0 where a store cannot tell). */
  readonly readUnits: number
}

export interface CapacityStore {
  /** Every registered backend with its leases; the router caches it briefly. */
  snapshot(): Promise<BackendRecord[]>
  /**
   * A part of the snapshot, for a view that bounds what it reads each second (a large
   * fleet's table is read a segment at a time). A store without it is read whole.
   */
  readPart?(part: SnapshotPart): Promise<SnapshotPartRead>
  /**
   * The named backends as stored now (a strongly consistent read of just those items):
   * a waiting request's look at the few backends it may use, instead of a whole snapshot.
   * Unknown ids are left out.
   */
  read(backendIds: readonly string[]): Promise<BackendRecord[]>
  acquire(options: AcquireOptions): Promise<AcquireResult>
  /** Extends a held lease; false when it is gone (reclaimed after expiry), so the holder knows. */
  renew(lease: LeaseRef & { readonly expiresAt: number }): Promise<boolean>
  /**
   * Hands a held lease to another request of the same process that waits for a slot:
   * one write instead of a release and an acquire, and no free slot for anyone to miss
   * in between. It succeeds only where an acquire would have: the lease is still there,
   * the backend is in rotation and, counting this lease, at or under its maxConcurrency
   * (a lowered maximum drains instead). The backend as written, or undefined: then the
   * holder releases as usual.
   */
  transfer(options: TransferOptions): Promise<BackendRecord | undefined>
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
  /** Deletes a removed backend's tombstone once its lease map is empty; false while leases remain. */
  purgeRemoved(backendId: string): Promise<boolean>
  /** Removes leases that are still expired at `now` (the reaper's sweep). */
  reclaimExpired(options: {
    readonly backendId: string
    readonly leaseIds: readonly string[]
    readonly now: number
  }): Promise<number>
}
