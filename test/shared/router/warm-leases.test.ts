import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { liveLeaseCount } from '../../../shared/backends/backend-record.ts'
import { parseGatewayConfig } from '../../../shared/config/gateway-config.ts'
import { CapacityView } from '../../../shared/router/capacity-view.ts'
import { CircuitBreakers } from '../../../shared/router/circuit-breakers.ts'
import { type RouteResult, Router } from '../../../shared/router/router.ts'
import { SlotGate } from '../../../shared/router/slot-gate.ts'
import { CountingStore } from './counting-store.ts'

const LEASE_TTL_MS = 60_000
const LINGER_MS = 20

const config = parseGatewayConfig({
  hardwareClasses: [
    { id: 'h20', kind: 'gpu' },
    { id: 'cpu', kind: 'cpu' },
  ],
  models: [
    {
      id: 'm',
      tiers: [
        { hardware: ['h20'], model: 'm' },
        { hardware: ['cpu'], model: 'm-q4', degraded: true },
      ],
    },
  ],
})
const model = config.models[0]!

/** One gateway process over the shared store: its own view and router, keeping leases warm. */
function gatewayProcess(store: CountingStore, lingerMs = LINGER_MS) {
  const view = new CapacityView({ store, maxAgeMs: 1_000 })
  const router = new Router({
    store,
    view,
    circuits: new CircuitBreakers({ failureThreshold: 3, coolDownMs: 30_000 }),
    clock: Date.now,
    leaseTtlMs: LEASE_TTL_MS,
    heartbeatStaleMs: 15_000,
    lingerMs,
  })
  return { view, router }
}

async function register(store: CountingStore, id: string, slots: number, hardware = 'h20') {
  await store.register({
    registration: {
      id,
      url: `http://127.0.0.1:9/${id}`,
      hardware,
      models: [hardware === 'cpu' ? 'm-q4' : 'm'],
      maxConcurrency: slots,
    },
    now: Date.now(),
  })
}

function leaseOf(result: RouteResult) {
  if (!result.ok) throw new Error(`expected a lease, got ${result.reason}`)
  return result.lease
}

async function leasesOn(store: CountingStore, id: string): Promise<string[]> {
  return Object.keys((await store.get(id))?.leases ?? {})
}

describe('Feature: a lease that a request ended well with stays warm for the next request', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_800_000_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('passes to the next request within the linger with no write at all, then is freed', async () => {
    // Prepare
    const store = new CountingStore()
    await register(store, 'gpu', 4)
    const p = gatewayProcess(store)
    const first = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    await first.release({ reusable: true })
    const before = { ...store.writes }

    // Act
    const second = leaseOf(await p.router.acquire({ model, mayDegrade: false }))

    // Assess: the same lease, never freed in between, and neither a release nor an acquire.
    expect(first.handedOver).toBe(true)
    expect(second.leaseId).toBe(first.leaseId)
    expect(store.writes).toEqual(before)
    expect(await leasesOn(store, 'gpu')).toEqual([first.leaseId])
    await second.release({ reusable: true })
    await vi.advanceTimersByTimeAsync(LINGER_MS - 1)
    expect(await leasesOn(store, 'gpu')).toEqual([first.leaseId])
    await vi.advanceTimersByTimeAsync(1)
    expect(await leasesOn(store, 'gpu')).toEqual([])
    expect(p.router.warmLeases).toBe(0)
  })

  it('frees at once a lease whose request did not end well (an error, a client gone)', async () => {
    // Prepare
    const store = new CountingStore()
    await register(store, 'gpu', 4)
    const p = gatewayProcess(store)
    const lease = leaseOf(await p.router.acquire({ model, mayDegrade: false }))

    // Act
    await lease.release()

    // Assess
    expect(lease.handedOver).toBe(false)
    expect(await leasesOn(store, 'gpu')).toEqual([])
    expect(p.router.warmLeases).toBe(0)
  })

  it('does not keep the last free slot of a backend: someone else may be waiting for it', async () => {
    // Prepare
    const store = new CountingStore()
    await register(store, 'gpu', 2)
    const p = gatewayProcess(store)
    const a = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    const b = leaseOf(await p.router.acquire({ model, mayDegrade: false }))

    // Act: with both slots leased, the first to end has no other free slot beside it.
    await a.release({ reusable: true })
    const afterFull = await leasesOn(store, 'gpu')
    await b.release({ reusable: true })

    // Assess
    expect(afterFull).toEqual([b.leaseId])
    expect(await leasesOn(store, 'gpu')).toEqual([b.leaseId])
    expect(p.router.warmLeases).toBe(1)
  })

  it('is not kept at all when the linger is 0, as on Lambda', async () => {
    // Prepare
    const store = new CountingStore()
    await register(store, 'gpu', 4)
    const p = gatewayProcess(store, 0)
    const lease = leaseOf(await p.router.acquire({ model, mayDegrade: false }))

    // Act
    await lease.release({ reusable: true })

    // Assess
    expect(await leasesOn(store, 'gpu')).toEqual([])
  })

  it('renews a warm lease by a transfer before reuse once its last write is older than a sixth of the TTL', async () => {
    // Prepare
    const store = new CountingStore()
    await register(store, 'gpu', 4)
    const p = gatewayProcess(store, 1_000)
    const first = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    await vi.advanceTimersByTimeAsync(LEASE_TTL_MS / 6 + 1)
    await first.release({ reusable: true })
    const before = { ...store.writes }

    // Act
    const second = leaseOf(await p.router.acquire({ model, mayDegrade: false }))

    // Assess: one write, and the store's expiry is a whole TTL from now again.
    expect(second.leaseId).toBe(first.leaseId)
    expect(store.writes.transfer - before.transfer).toBe(1)
    expect(store.writes.acquire - before.acquire).toBe(0)
    expect((await store.get('gpu'))?.leases[first.leaseId]).toBe(Date.now() + LEASE_TTL_MS)
    expect(second.expiresAt).toBe(Date.now() + LEASE_TTL_MS)
    await second.release()
  })

  it('keeps renewing a lease reused without a write before the expiry the store holds', async () => {
    // Prepare
    const store = new CountingStore()
    await register(store, 'gpu', 4)
    const p = gatewayProcess(store)
    const first = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    await vi.advanceTimersByTimeAsync(LEASE_TTL_MS / 12)
    await first.release({ reusable: true })
    const second = leaseOf(await p.router.acquire({ model, mayDegrade: false }))

    // Act: a long generation on the reused lease.
    await vi.advanceTimersByTimeAsync(3 * LEASE_TTL_MS)

    // Assess
    expect(second.lost.aborted).toBe(false)
    expect((await store.get('gpu'))?.leases[second.leaseId]).toBeGreaterThan(Date.now())
    await second.release()
  })

  it('starts no new work on a lease above a lowered maximum: the store refuses the transfer and the lease is freed', async () => {
    // Prepare: two leases on a 2-slot backend, one kept warm; then the maximum drops to 1.
    const store = new CountingStore()
    await register(store, 'gpu', 3)
    const p = gatewayProcess(store, 1_000)
    const running = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    const warm = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    await warm.release({ reusable: true })
    await register(store, 'gpu', 1)
    await p.view.refresh(Date.now())
    const before = { ...store.writes }

    // Act
    const next = await p.router.acquire({ model, mayDegrade: false })

    // Assess: refused, and the backend is back at its new maximum (the running request's lease).
    expect(next.ok).toBe(false)
    expect(store.writes.transfer - before.transfer).toBe(1)
    await vi.advanceTimersByTimeAsync(0)
    expect(await leasesOn(store, 'gpu')).toEqual([running.leaseId])
    await running.release()
  })

  it('is not reused on a backend that left rotation, nor on one the request already failed on', async () => {
    // Prepare
    const store = new CountingStore()
    await register(store, 'gpu', 4)
    await register(store, 'gpu2', 4)
    const p = gatewayProcess(store, 1_000)
    const lease = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    const warmOn = lease.backend.id
    const otherId = warmOn === 'gpu' ? 'gpu2' : 'gpu'
    await lease.release({ reusable: true })

    // Act
    const failover = leaseOf(await p.router.acquire({ model, mayDegrade: false, exclude: new Set([warmOn]) }))
    await failover.release()
    const drained = await store.setState({ id: warmOn, state: 'draining' })
    if (drained) p.view.update(drained)
    const afterDrain = leaseOf(await p.router.acquire({ model, mayDegrade: false }))

    // Assess
    expect(failover.backend.id).toBe(otherId)
    expect(afterDrain.backend.id).toBe(otherId)
    expect(afterDrain.leaseId).not.toBe(lease.leaseId)
    await afterDrain.release()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(await leasesOn(store, warmOn)).toEqual([])
  })

  it('prefers a fresh GPU slot to a warm CPU one', async () => {
    // Prepare
    const store = new CountingStore()
    await register(store, 'cpu', 4, 'cpu')
    await register(store, 'gpu', 1)
    const p = gatewayProcess(store, 1_000)
    const holder = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    const onCpu = await p.router.acquire({ model, mayDegrade: true })
    if (!onCpu.ok) throw new Error('expected the CPU tier')
    await onCpu.lease.release({ reusable: true })
    await holder.release()

    // Act
    const next = await p.router.acquire({ model, mayDegrade: true })

    // Assess
    expect(onCpu.route).toBe('fallback')
    expect(next.ok && next.route).toBe('primary')
    if (next.ok) await next.lease.release()
    await p.router.freeWarmLeases()
    expect(await leasesOn(store, 'cpu')).toEqual([])
  })

  it('goes to a waiting request of this process first, by the usual transfer', async () => {
    // Prepare
    const store = new CountingStore()
    await register(store, 'gpu', 1)
    const p = gatewayProcess(store)
    const gate = new SlotGate({ router: p.router, clock: Date.now, pollMs: { interactive: 50, batch: 200 } })
    const holder = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    const waiting = gate.acquire({
      model,
      mayDegrade: false,
      lane: 'interactive',
      patienceMs: 5_000,
      until: Date.now() + 5_000,
    })
    await vi.advanceTimersByTimeAsync(1)

    // Act
    await holder.release({ reusable: true })
    const taken = leaseOf(await waiting)

    // Assess
    expect(taken.leaseId).toBe(holder.leaseId)
    expect(p.router.warmLeases).toBe(0)
    await taken.release()
  })

  it('gives every warm lease back when the server stops', async () => {
    // Prepare
    const store = new CountingStore()
    await register(store, 'gpu', 8)
    const p = gatewayProcess(store, 1_000)
    const leases = [] as ReturnType<typeof leaseOf>[]
    for (let i = 0; i < 3; i++) leases.push(leaseOf(await p.router.acquire({ model, mayDegrade: false })))
    for (const lease of leases) await lease.release({ reusable: true })

    // Act
    await p.router.freeWarmLeases()

    // Assess
    expect(await leasesOn(store, 'gpu')).toEqual([])
    expect(p.router.warmLeases).toBe(0)
  })

  it('never lets processes that keep leases warm hold more than a backend has', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ process: fc.nat(2), step: fc.constantFrom('start', 'end', 'end-badly', 'wait') }),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        async (steps) => {
          const store = new CountingStore()
          await register(store, 'gpu', 3)
          const processes = [0, 1, 2].map(() => ({
            ...gatewayProcess(store),
            held: [] as ReturnType<typeof leaseOf>[],
          }))
          let peak = 0
          for (const { process: index, step } of steps) {
            const p = processes[index]!
            if (step === 'start') {
              const routed = await p.router.acquire({ model, mayDegrade: false })
              if (routed.ok) p.held.push(routed.lease)
            } else if (step === 'wait') {
              await vi.advanceTimersByTimeAsync(LINGER_MS / 2)
            } else {
              await p.held.shift()?.release({ reusable: step === 'end' })
            }
            const record = await store.get('gpu')
            const live = record ? liveLeaseCount(record, Date.now()) : 0
            const running = processes.reduce((sum, q) => sum + q.held.length, 0)
            peak = Math.max(peak, live)
            // Every running request holds a lease of its own: warm leases only ever add idle ones.
            expect(new Set(processes.flatMap((q) => q.held.map((l) => l.leaseId))).size).toBe(running)
            expect(running).toBeLessThanOrEqual(live)
          }
          expect(peak).toBeLessThanOrEqual(3)
          for (const p of processes) {
            for (const lease of p.held) await lease.release()
            await p.router.freeWarmLeases()
          }
          expect(await leasesOn(store, 'gpu')).toEqual([])
        },
      ),
      { numRuns: 60 },
    )
  })
})
