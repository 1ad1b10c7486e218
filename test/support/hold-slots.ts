import { expiredLeaseIds } from '../../shared/backends/backend-record.ts'
import type { BackendRegistry } from '../../shared/backends/backend-registry.ts'
import type { CapacityStore } from '../../shared/capacity/capacity-store.ts'

/**
 * Holds `count` slots of a backend with leases that outlive the test, through the
 * capacity store as any holder would; returns the releaser.
 */
export async function holdSlots(options: {
  capacity: CapacityStore
  registry: Pick<BackendRegistry, 'get'>
  backendId: string
  count: number
}): Promise<() => Promise<void>> {
  const { capacity, backendId } = options
  const leaseIds: string[] = []
  for (let i = 0; i < options.count; i++) {
    const leaseId = `blocker-${i}-${Math.random()}`
    const now = Date.now()
    // Leases a killed worker left behind hold no slot, but take a map entry: reclaim them here.
    const current = await options.registry.get(backendId)
    const reclaim = current ? expiredLeaseIds(current, now) : []
    const out = await capacity.acquire({
      backendId,
      leaseId,
      now,
      expiresAt: now + 600_000,
      staleBefore: 0,
      reclaim,
      // A full map of a killed worker's expired leases only frees slots with the maximum pinned.
      ...(current ? { maxConcurrency: current.maxConcurrency } : {}),
    })
    if (!out.ok) throw new Error(`could not block a slot of ${backendId}`)
    // As stored: a store may prefix the id with where it wrote it.
    leaseIds.push(out.leaseId)
  }
  return async () => {
    for (const leaseId of leaseIds) await capacity.release({ backendId, leaseId })
  }
}
