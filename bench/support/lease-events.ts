import type { BackendRecord } from '../../shared/backends/backend-record.ts'
import type {
  AcquireOptions,
  AcquireResult,
  LeaseRef,
  TransferOptions,
} from '../../shared/capacity/capacity-store.ts'

export interface LeaseEvent {
  readonly kind: 'acquire' | 'release'
  /** The bench's own slot blockers, or a job's lease taken by the worker. */
  readonly owner: 'job' | 'blocker'
  /** performance.now() when the write came back. */
  readonly at: number
  readonly leaseId: string
  /** On a release: how long the lease was held. */
  readonly heldMs?: number
}

export const BLOCKER_PREFIX = 'bench-blocker-'

interface CapacityMethods {
  acquire(options: AcquireOptions): Promise<AcquireResult>
  release(lease: LeaseRef): Promise<BackendRecord | undefined>
  transfer(options: TransferOptions): Promise<BackendRecord | undefined>
}

export interface LeaseRecorder {
  events(): readonly LeaseEvent[]
  count(kind: LeaseEvent['kind'], owner: LeaseEvent['owner']): number
  reset(): void
  restore(): void
}

/**
 * Records every successful acquire and every release of a capacity store class,
 * whoever calls them in this process (the worker's router included), by wrapping
 * its prototype: the slot timeline of a drain, at the port where it happens.
 * A lease handed over to a waiting request (`transfer`) counts as its holder's
 * release and the taker's acquire at the same instant: the slot never sat free.
 */
export function recordLeaseEvents(prototype: CapacityMethods): LeaseRecorder {
  const { acquire, release, transfer } = prototype
  let events: LeaseEvent[] = []
  const acquiredAt = new Map<string, number>()
  // A store may prefix the id with the shard it wrote (`0.bench-blocker-…`).
  const owner = (leaseId: string) => (leaseId.includes(BLOCKER_PREFIX) ? 'blocker' : 'job')
  prototype.acquire = async function recordedAcquire(this: CapacityMethods, options) {
    const result = await acquire.call(this, options)
    if (result.ok) {
      const at = performance.now()
      // As stored: releases and transfers name the lease so.
      acquiredAt.set(result.leaseId, at)
      events.push({ kind: 'acquire', owner: owner(result.leaseId), at, leaseId: result.leaseId })
    }
    return result
  }
  const released = (leaseId: string, at: number) => {
    const since = acquiredAt.get(leaseId)
    events.push({
      kind: 'release',
      owner: owner(leaseId),
      at,
      leaseId,
      ...(since === undefined ? {} : { heldMs: at - since }),
    })
  }
  prototype.release = async function recordedRelease(this: CapacityMethods, lease) {
    const result = await release.call(this, lease)
    released(lease.leaseId, performance.now())
    return result
  }
  prototype.transfer = async function recordedTransfer(this: CapacityMethods, options) {
    const result = await transfer.call(this, options)
    if (result) {
      const at = performance.now()
      released(options.leaseId, at)
      acquiredAt.set(options.leaseId, at)
      events.push({ kind: 'acquire', owner: owner(options.leaseId), at, leaseId: options.leaseId })
    }
    return result
  }
  return {
    events: () => events,
    count: (kind, who) => events.filter((e) => e.kind === kind && e.owner === who).length,
    reset() {
      events = []
      acquiredAt.clear()
    },
    restore() {
      prototype.acquire = acquire
      prototype.release = release
      prototype.transfer = transfer
    },
  }
}
