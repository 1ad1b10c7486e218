import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { liveLeaseCount } from '../../../shared/backends/backend-record.ts'
import type { AcquireOptions, AcquireResult, LeaseRef } from '../../../shared/capacity/capacity-store.ts'
import { MemoryBackendStore } from '../../../shared/capacity/memory-backend-store.ts'
import { parseGatewayConfig } from '../../../shared/config/gateway-config.ts'
import { CapacityView } from '../../../shared/router/capacity-view.ts'
import { CircuitBreakers } from '../../../shared/router/circuit-breakers.ts'
import { type RouteResult, Router } from '../../../shared/router/router.ts'
import { MODEL_M, THREE_CLASSES } from './fleet-fixtures.ts'

const T0 = Date.UTC(2026, 0, 1)
const LEASE_TTL_MS = 3_000
const STALE_MS = 15_000

const config = parseGatewayConfig({
  hardwareClasses: THREE_CLASSES,
  models: [MODEL_M, { id: 'lonely', tiers: [{ hardware: ['h20'], model: 'lonely' }] }],
})
const model = config.models[0]!
const lonely = config.models[1]!

/** The memory store, counting the writes the router makes. */
class CountingStore extends MemoryBackendStore {
  acquires = 0
  releases = 0
  reclaims = 0
  override acquire(options: AcquireOptions): Promise<AcquireResult> {
    this.acquires++
    return super.acquire(options)
  }
  override release(lease: LeaseRef) {
    this.releases++
    return super.release(lease)
  }
  override reclaimExpired(options: { backendId: string; leaseIds: readonly string[]; now: number }) {
    this.reclaims++
    return super.reclaimExpired(options)
  }
}

function gateway(store: CountingStore, options: { random?: () => number } = {}) {
  const view = new CapacityView({ store, maxAgeMs: 1_000 })
  const circuits = new CircuitBreakers({ failureThreshold: 3, coolDownMs: 30_000 })
  const router = new Router({
    store,
    view,
    circuits,
    clock: Date.now,
    ...options,
    leaseTtlMs: LEASE_TTL_MS,
    heartbeatStaleMs: STALE_MS,
  })
  return { router, view, circuits }
}

async function register(store: MemoryBackendStore, id: string, hardware: string, slots: number) {
  const served = hardware === 'cpu' ? ['m-q4'] : ['m', 'lonely']
  await store.register({
    registration: { id, url: `http://127.0.0.1:9/${id}`, hardware, models: served, maxConcurrency: slots },
    now: Date.now(),
  })
}

/** A lease taken straight in the store, as another gateway (or a crashed one) would hold it. */
async function takeSlot(store: MemoryBackendStore, backendId: string, leaseId: string) {
  const now = Date.now()
  const result = await store.acquire({
    backendId,
    leaseId,
    now,
    expiresAt: now + LEASE_TTL_MS,
    staleBefore: 0,
    reclaim: [],
  })
  expect(result.ok).toBe(true)
}

function leaseOf(result: RouteResult) {
  if (!result.ok) throw new Error(`expected a lease, got ${result.reason}`)
  return result
}

async function releaseAll(results: readonly RouteResult[]) {
  await Promise.all(results.map((r) => (r.ok ? r.lease.release() : undefined)))
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('Class: Router', () => {
  describe('Option: api', () => {
    it('routes a request only to backends that serve its API, even with another one free and idle', async () => {
      // Prepare: a chat-only backend with every slot free, and a busy one that serves embeddings too.
      const store = new CountingStore()
      await store.register({
        registration: {
          id: 'chat-only',
          url: 'http://127.0.0.1:9/a',
          hardware: 'h20',
          models: ['m'],
          maxConcurrency: 8,
        },
        now: Date.now(),
      })
      await store.register({
        registration: {
          id: 'both',
          url: 'http://127.0.0.1:9/b',
          hardware: 'h20',
          models: ['m'],
          maxConcurrency: 1,
          apis: ['chat', 'embeddings'],
        },
        now: Date.now(),
      })
      const { router } = gateway(store, { random: () => 0 })

      // Act
      const first = await router.acquire({ model, mayDegrade: false, api: 'embeddings' })
      const second = await router.acquire({ model, mayDegrade: false, api: 'embeddings' })
      const chat = await router.acquire({ model, mayDegrade: false })

      // Assess: the one embeddings slot, then saturated (not the idle chat-only backend); chat goes anywhere.
      expect(leaseOf(first).lease.backend.id).toBe('both')
      expect(second).toMatchObject({ ok: false, reason: 'saturated' })
      expect(leaseOf(chat).lease.backend.id).toBe('chat-only')
      await releaseAll([first, chat])
    })

    it('answers no-backend for an API no backend of the model serves', async () => {
      const store = new CountingStore()
      await register(store, 'h20-a', 'h20', 4)
      const { router } = gateway(store)
      expect(await router.acquire({ model, mayDegrade: true, api: 'responses' })).toMatchObject({
        ok: false,
        reason: 'no-backend',
      })
    })
  })

  describe('Method: acquire', () => {
    it('fills the tiers in order, whatever the registration order', async () => {
      // Prepare
      const store = new CountingStore()
      await register(store, 'h100-1', 'h100', 1)
      await register(store, 'h20-1', 'h20', 1)
      const { router } = gateway(store)

      // Act
      const first = leaseOf(await router.acquire({ model, mayDegrade: false }))
      const second = leaseOf(await router.acquire({ model, mayDegrade: false }))
      const third = await router.acquire({ model, mayDegrade: false })

      // Assess
      expect([first.lease.backend.id, first.route]).toEqual(['h20-1', 'primary'])
      expect([second.lease.backend.id, second.route]).toEqual(['h100-1', 'primary'])
      expect(third).toMatchObject({ ok: false, reason: 'saturated' })
      await releaseAll([first, second])
    })

    it('uses the degraded tier only for a request that may degrade, as a fallback with its own model', async () => {
      // Prepare
      const store = new CountingStore()
      await register(store, 'h20-1', 'h20', 1)
      await register(store, 'cpu-1', 'cpu', 1)
      const { router } = gateway(store)
      const gpu = leaseOf(await router.acquire({ model, mayDegrade: true }))

      // Act
      const strict = await router.acquire({ model, mayDegrade: false })
      const degraded = leaseOf(await router.acquire({ model, mayDegrade: true }))

      // Assess
      expect(gpu.lease.backend.hardware).toBe('h20')
      expect(strict).toMatchObject({ ok: false, reason: 'saturated' })
      expect(degraded.route).toBe('fallback')
      expect(degraded.lease.backend.id).toBe('cpu-1')
      expect(degraded.tier.model).toBe('m-q4')
      await releaseAll([gpu, degraded])
    })

    it('answers no-backend when only a degraded tier is up and the request may not degrade', async () => {
      // Prepare
      const store = new CountingStore()
      await register(store, 'cpu-1', 'cpu', 4)
      const { router } = gateway(store)

      // Act
      const result = await router.acquire({ model, mayDegrade: false })

      // Assess
      expect(result).toMatchObject({ ok: false, reason: 'no-backend' })
      expect(store.acquires).toBe(0)
    })

    it('skips backends whose heartbeat is stale or that are draining', async () => {
      // Prepare
      const store = new CountingStore()
      await register(store, 'stale', 'h20', 8)
      await register(store, 'live', 'h20', 2)
      await register(store, 'draining', 'h20', 8)
      vi.setSystemTime(T0 + STALE_MS + 1)
      await store.heartbeat({
        id: 'live',
        load: { running: 0, waiting: 0, kvCacheUsage: 0 },
        now: Date.now(),
      })
      await store.heartbeat({
        id: 'draining',
        load: { running: 0, waiting: 0, kvCacheUsage: 0 },
        now: Date.now(),
      })
      await store.setState({ id: 'draining', state: 'draining' })
      const { router } = gateway(store)

      // Act
      const results = [
        await router.acquire({ model, mayDegrade: false }),
        await router.acquire({ model, mayDegrade: false }),
        await router.acquire({ model, mayDegrade: false }),
      ]

      // Assess
      expect(results.map((r) => (r.ok ? r.lease.backend.id : r.reason))).toEqual([
        'live',
        'live',
        'saturated',
      ])
      expect(store.acquires).toBe(2)
      await releaseAll(results)
    })

    it('answers no-backend once every backend has gone stale', async () => {
      // Prepare
      const store = new CountingStore()
      await register(store, 'h20-1', 'h20', 2)
      const { router } = gateway(store)
      vi.setSystemTime(T0 + STALE_MS + 1)

      // Act
      const result = await router.acquire({ model, mayDegrade: true })

      // Assess
      expect(result).toEqual({ ok: false, reason: 'no-backend', retryAfterSeconds: 5 })
    })

    it('tries another backend after losing a race, and remembers the full one without another write', async () => {
      // Prepare: both look free in the cached snapshot; another gateway then fills `a` behind it.
      const store = new CountingStore()
      await register(store, 'a', 'h20', 2)
      await register(store, 'b', 'h20', 1)
      const { router, view } = gateway(store, { random: () => 0 })
      await view.refresh(Date.now())
      await takeSlot(store, 'a', 'other-1')
      await takeSlot(store, 'a', 'other-2')
      store.acquires = 0

      // Act
      const won = leaseOf(await router.acquire({ model, mayDegrade: false }))
      const writesForFirst = store.acquires
      const next = await router.acquire({ model, mayDegrade: false })

      // Assess
      expect(won.lease.backend.id).toBe('b')
      expect(writesForFirst).toBe(2)
      expect(next).toMatchObject({ ok: false, reason: 'saturated' })
      expect(store.acquires).toBe(2)
      await releaseAll([won])
    })

    it('after the roomier of the two drawn loses its race, still tries the other one', async () => {
      // Prepare: a draw of 0 lands on `a` first, then on `b`; `b` has more room, but another
      // gateway fills it behind this one's snapshot.
      const store = new CountingStore()
      await register(store, 'a', 'h20', 1)
      await register(store, 'b', 'h20', 2)
      const { router, view } = gateway(store, { random: () => 0 })
      await view.refresh(Date.now())
      await takeSlot(store, 'b', 'other-1')
      await takeSlot(store, 'b', 'other-2')
      store.acquires = 0

      // Act
      const won = leaseOf(await router.acquire({ model, mayDegrade: false }))

      // Assess
      expect(won.lease.backend.id).toBe('a')
      expect(store.acquires).toBe(2)
      await releaseAll([won])
    })

    it('leaves out the backends a failed attempt already tried', async () => {
      // Prepare
      const store = new CountingStore()
      await register(store, 'a', 'h20', 4)
      const { router } = gateway(store)

      // Act
      const result = await router.acquire({ model: lonely, mayDegrade: false, exclude: new Set(['a']) })

      // Assess
      expect(result).toMatchObject({ ok: false, reason: 'no-backend' })
    })

    it('skips a backend whose circuit is open', async () => {
      // Prepare
      const store = new CountingStore()
      await register(store, 'broken', 'h20', 4)
      await register(store, 'fine', 'h100', 4)
      const { router, circuits } = gateway(store)
      for (let i = 0; i < 3; i++) circuits.onFailure('broken', Date.now())

      // Act
      const result = leaseOf(await router.acquire({ model, mayDegrade: false }))

      // Assess
      expect(result.lease.backend.id).toBe('fine')
      await releaseAll([result])
    })

    it('skips a backend whose circuit another process opened for everyone, until that opening ends', async () => {
      // Prepare: another process's breaker opened `broken` for 30 s in the shared item.
      const store = new CountingStore()
      await register(store, 'broken', 'h20', 4)
      const openedUntil = Date.now() + 30_000
      await store.openCircuit({ backendId: 'broken', until: openedUntil })
      // A shorter opening never shortens it.
      expect(await store.openCircuit({ backendId: 'broken', until: openedUntil - 1 })).toBeUndefined()
      const { router } = gateway(store)

      // Act & Assess: this process's own breaker never saw a failure, yet it skips the backend.
      const refused = await router.acquire({ model, mayDegrade: false })
      expect(refused).toMatchObject({ ok: false, reason: 'no-backend' })
      expect(store.acquires).toBe(0)
      const later = new CountingStore()
      await register(later, 'broken', 'h20', 4)
      await later.openCircuit({ backendId: 'broken', until: Date.now() - 1 })
      const reopened = leaseOf(await gateway(later).router.acquire({ model, mayDegrade: false }))
      expect(reopened.lease.backend.id).toBe('broken')
      await releaseAll([reopened])
    })

    it('tells saturated (busy, with a Retry-After) from no-backend (nothing serves the model)', async () => {
      // Prepare
      const store = new CountingStore()
      await register(store, 'cpu-1', 'cpu', 1)
      const { router } = gateway(store)
      const held = leaseOf(await router.acquire({ model, mayDegrade: true }))

      // Act
      const busy = await router.acquire({ model, mayDegrade: true })
      const unserved = await router.acquire({ model: lonely, mayDegrade: true })

      // Assess
      expect(busy).toMatchObject({ ok: false, reason: 'saturated' })
      const retryAfter = busy.ok ? 0 : busy.retryAfterSeconds
      expect(retryAfter).toBeGreaterThanOrEqual(1)
      expect(retryAfter).toBeLessThanOrEqual(60)
      expect(unserved).toMatchObject({ ok: false, reason: 'no-backend' })
      await releaseAll([held])
    })

    it("reclaims a crashed holder's expired lease in the acquire write itself", async () => {
      // Prepare
      const store = new CountingStore()
      await register(store, 'h20-1', 'h20', 1)
      await takeSlot(store, 'h20-1', 'crashed')
      vi.setSystemTime(T0 + LEASE_TTL_MS + 1)
      await store.heartbeat({
        id: 'h20-1',
        load: { running: 0, waiting: 0, kvCacheUsage: 0 },
        now: Date.now(),
      })
      const { router } = gateway(store)
      store.acquires = 0

      // Act
      const result = leaseOf(await router.acquire({ model, mayDegrade: false }))

      // Assess
      const backend = await store.get('h20-1')
      expect(Object.keys(backend?.leases ?? {})).toEqual([result.lease.leaseId])
      expect(store.acquires).toBe(1)
      expect(store.reclaims).toBe(0)
      await releaseAll([result])
    })

    it('never leases more than maxConcurrency, however many gateways acquire at once', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }),
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 40 }),
          fc.integer(),
          async (slots, gatewayCount, requests, seed) => {
            // Prepare: every gateway warms its snapshot first, so all start with the same stale view.
            const store = new CountingStore()
            for (const [i, n] of slots.entries()) await register(store, `b${i}`, i % 2 ? 'h100' : 'h20', n)
            let state = seed
            const random = () => {
              state = (Math.imul(state, 1_103_515_245) + 12_345) | 0
              return (state >>> 0) / 4_294_967_296
            }
            const gateways = Array.from({ length: gatewayCount }, () => gateway(store, { random }))
            await Promise.all(gateways.map((g) => g.view.refresh(Date.now())))

            // Act
            const results = await Promise.all(
              Array.from({ length: requests }, (_, i) =>
                gateways[i % gatewayCount]!.router.acquire({ model, mayDegrade: false }),
              ),
            )

            // Assess
            const now = Date.now()
            for (const backend of await store.list()) {
              expect(liveLeaseCount(backend, now)).toBeLessThanOrEqual(backend.maxConcurrency)
            }
            const total = slots.reduce((a, b) => a + b, 0)
            expect(results.filter((r) => r.ok)).toHaveLength(Math.min(total, requests))
            await releaseAll(results)
          },
        ),
        { numRuns: 60 },
      )
    })
  })
})

describe('Class: HeldLease', () => {
  describe('Method: release', () => {
    it('is idempotent: every exit path may call it, the slot is freed once', async () => {
      // Prepare
      const store = new CountingStore()
      await register(store, 'h20-1', 'h20', 1)
      const { router } = gateway(store)
      const { lease } = leaseOf(await router.acquire({ model, mayDegrade: false }))

      // Act
      await Promise.all([lease.release(), lease.release()])
      await lease.release()

      // Assess
      expect(store.releases).toBe(1)
      expect(lease.released).toBe(true)
      expect((await store.get('h20-1'))?.leases).toEqual({})
      // The view learnt of the free slot from the release write: no snapshot read needed.
      const again = leaseOf(await router.acquire({ model, mayDegrade: false }))
      await again.lease.release()
    })
  })

  describe('Method: renew (timer)', () => {
    it('keeps a long-running lease alive well past its TTL', async () => {
      // Prepare
      const store = new CountingStore()
      await register(store, 'h20-1', 'h20', 1)
      const holder = gateway(store)
      const { lease } = leaseOf(await holder.router.acquire({ model, mayDegrade: false }))

      // Act: three TTLs pass while the request runs; the backend keeps heartbeating.
      for (let i = 0; i < 3; i++) {
        await vi.advanceTimersByTimeAsync(LEASE_TTL_MS)
        await store.heartbeat({
          id: 'h20-1',
          load: { running: 1, waiting: 0, kvCacheUsage: 0 },
          now: Date.now(),
        })
      }
      const other = await gateway(store).router.acquire({ model, mayDegrade: false })

      // Assess
      const expiresAt = (await store.get('h20-1'))?.leases[lease.leaseId] ?? 0
      expect(expiresAt).toBeGreaterThan(Date.now())
      expect(other).toMatchObject({ ok: false, reason: 'saturated' })
      await lease.release()
    })
  })
})
