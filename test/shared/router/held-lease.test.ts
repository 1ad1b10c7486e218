import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { LeaseRef } from '../../../shared/capacity/capacity-store.ts'
import { MemoryBackendStore } from '../../../shared/capacity/memory-backend-store.ts'
import { CapacityView } from '../../../shared/router/capacity-view.ts'
import { HeldLease } from '../../../shared/router/held-lease.ts'

const TTL_MS = 3_000

/** The memory store whose renewals can be made to fail, as DynamoDB does when unreachable. */
class FlakyStore extends MemoryBackendStore {
  unreachable = false
  override async renew(lease: LeaseRef & { expiresAt: number }): Promise<boolean> {
    if (this.unreachable) throw new Error('connect ECONNREFUSED')
    return super.renew(lease)
  }
}

describe('Class: HeldLease', () => {
  let store: FlakyStore
  let lease: HeldLease

  beforeEach(async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 })
    store = new FlakyStore()
    const backend = await store.register({
      registration: { id: 'b', url: 'http://127.0.0.1:9', hardware: 'h20', models: ['m'], maxConcurrency: 1 },
      now: Date.now(),
    })
    await store.acquire({
      backendId: 'b',
      leaseId: 'mine',
      now: Date.now(),
      expiresAt: Date.now() + TTL_MS,
      staleBefore: 0,
      reclaim: [],
    })
    lease = new HeldLease({
      store,
      view: new CapacityView({ store, maxAgeMs: 1_000 }),
      backend,
      leaseId: 'mine',
      acquiredAt: Date.now(),
      ttlMs: TTL_MS,
      clock: Date.now,
      onRelease: () => {},
    })
  })
  afterEach(async () => {
    await lease.release()
    vi.useRealTimers()
  })

  describe('Property: lost', () => {
    it('stays quiet while renewals succeed', async () => {
      await vi.advanceTimersByTimeAsync(10 * TTL_MS)

      expect(lease.lost.aborted).toBe(false)
      expect((await store.get('b'))?.leases.mine).toBeGreaterThan(Date.now())
    })

    it('aborts when a renewal finds the lease reclaimed by someone else', async () => {
      await store.release({ backendId: 'b', leaseId: 'mine' })

      await vi.advanceTimersByTimeAsync(TTL_MS / 3)

      expect(lease.lost.aborted).toBe(true)
      expect(String(lease.lost.reason)).toContain('reclaimed')
    })

    it('aborts once renewals kept failing past the expiry, not before', async () => {
      store.unreachable = true

      await vi.advanceTimersByTimeAsync(TTL_MS - 1)
      const beforeExpiry = lease.lost.aborted
      await vi.advanceTimersByTimeAsync(TTL_MS / 3)

      expect(beforeExpiry).toBe(false)
      expect(lease.lost.aborted).toBe(true)
      expect(String(lease.lost.reason)).toContain('expired')
    })
  })
})
