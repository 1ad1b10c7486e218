import { describe, expect, it } from 'vitest'
import type { ApiKind } from '../../../shared/backends/backend-apis.ts'
import type { LeaseRef, TransferOptions } from '../../../shared/capacity/capacity-store.ts'
import type { MemoryBackendStore } from '../../../shared/capacity/memory-backend-store.ts'
import { parseGatewayConfig } from '../../../shared/config/gateway-config.ts'
import { CapacityView } from '../../../shared/router/capacity-view.ts'
import { CircuitBreakers } from '../../../shared/router/circuit-breakers.ts'
import { type RouteResult, Router } from '../../../shared/router/router.ts'
import { SlotGate } from '../../../shared/router/slot-gate.ts'
import { CountingStore } from './counting-store.ts'

const LEASE_TTL_MS = 30_000

const config = parseGatewayConfig({
  hardwareClasses: [
    { id: 'h20', kind: 'gpu' },
    { id: 'cpu', kind: 'cpu' },
  ],
  models: [
    { id: 'm', tiers: [{ hardware: ['h20'], model: 'm' }] },
    { id: 'other', tiers: [{ hardware: ['cpu'], model: 'other' }] },
  ],
})
const model = config.models[0]!
const other = config.models[1]!

/** A store whose renewals stall (a slow write in flight) until `resume()`. */
class StallingRenewStore extends CountingStore {
  #stalled: (() => void)[] = []
  stalling = false
  get renewsInFlight(): number {
    return this.#stalled.length
  }
  override async renew(lease: LeaseRef & { readonly expiresAt: number }): Promise<boolean> {
    if (this.stalling) await new Promise<void>((resume) => this.#stalled.push(resume))
    return super.renew(lease)
  }
  resume(): void {
    this.stalling = false
    for (const resume of this.#stalled.splice(0)) resume()
  }
}

/** A store whose transfer write fails outright (the service unreachable) while `failTransfers` is set. */
class FailingTransferStore extends CountingStore {
  failTransfers = false
  override transfer(options: TransferOptions) {
    if (this.failTransfers) return Promise.reject(new Error('DynamoDB is unavailable right now'))
    return super.transfer(options)
  }
}

/** One gateway or worker process: its own view, router and slot gate over the shared store. */
function process(
  store: CountingStore,
  options: { snapshotAgeMs?: number; refreshMs?: number; leaseTtlMs?: number } = {},
) {
  const view = new CapacityView({ store, maxAgeMs: options.snapshotAgeMs ?? 1_000 })
  const router = new Router({
    store,
    view,
    circuits: new CircuitBreakers({ failureThreshold: 3, coolDownMs: 30_000 }),
    clock: Date.now,
    leaseTtlMs: options.leaseTtlMs ?? LEASE_TTL_MS,
    heartbeatStaleMs: 15_000,
  })
  const gate = new SlotGate({
    router,
    clock: Date.now,
    pollMs: { interactive: 50, batch: 200 },
    refreshMs: options.refreshMs ?? 250,
    signals: {
      subscribe: (listener) => view.subscribe(listener),
      refresh: () => view.refresh(Date.now()),
    },
  })
  const wait = (
    options: { model?: typeof model; signal?: AbortSignal; forMs?: number; api?: ApiKind } = {},
  ) =>
    gate.acquire({
      model: options.model ?? model,
      ...(options.api ? { api: options.api } : {}),
      mayDegrade: false,
      lane: 'interactive',
      patienceMs: options.forMs ?? 5_000,
      until: Date.now() + (options.forMs ?? 5_000),
      ...(options.signal ? { signal: options.signal } : {}),
    })
  return { view, router, gate, wait }
}

async function register(
  store: MemoryBackendStore,
  id: string,
  slots: number,
  hardware = 'h20',
  apis?: readonly ApiKind[],
) {
  await store.register({
    registration: {
      id,
      url: `http://127.0.0.1:9/${id}`,
      hardware,
      models: hardware === 'cpu' ? ['other'] : ['m'],
      maxConcurrency: slots,
      ...(apis ? { apis } : {}),
    },
    now: Date.now(),
  })
}

function leaseOf(result: RouteResult) {
  if (!result.ok) throw new Error(`expected a lease, got ${result.reason}`)
  return result.lease
}

/** Until the gate has `count` waiters in line (they join after the router's first refusal). */
async function inLine(gate: SlotGate, count: number) {
  for (let i = 0; i < 200 && gate.waiting < count; i++) await new Promise((r) => setTimeout(r, 5))
  expect(gate.waiting).toBe(count)
}

describe('Feature: a freed slot passes to a waiting request of the same process', () => {
  it('hands the lease over in one write, with no release and no acquire, and never frees the slot meanwhile', async () => {
    // Prepare
    const store = new CountingStore()
    await register(store, 'gpu', 1)
    const p = process(store)
    const holder = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    const waiting = p.wait()
    await inLine(p.gate, 1)
    const before = { ...store.writes }

    // Act
    await holder.release()
    const taken = leaseOf(await waiting)

    // Assess
    expect(holder.handedOver).toBe(true)
    expect(taken.leaseId).toBe(holder.leaseId)
    expect(store.writes.transfer - before.transfer).toBe(1)
    expect(store.writes.release - before.release).toBe(0)
    expect(Object.keys((await store.get('gpu'))!.leases)).toEqual([holder.leaseId])
    await taken.release()
    expect((await store.get('gpu'))!.leases).toEqual({})
  })

  it('does not keep a backend above a lowered maxConcurrency: the lease is freed instead', async () => {
    // Prepare
    const store = new CountingStore()
    await register(store, 'gpu', 2)
    const p = process(store)
    const first = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    const second = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    const waiting = p.wait({ forMs: 400 })
    await inLine(p.gate, 1)
    await register(store, 'gpu', 1)

    // Act
    await first.release()

    // Assess: two leases on one slot would stay two; the release brought it to the maximum.
    expect(first.handedOver).toBe(false)
    expect(Object.keys((await store.get('gpu'))!.leases)).toEqual([second.leaseId])
    expect((await waiting).ok).toBe(false)
    await second.release()
  })

  // Chaos found held requests that never got an answer: a handover whose transfer write failed
  // (the store down, not a refused condition) left the waiter out of its line for good, and the
  // holder's release failed with it, so the slot stayed leased until its TTL.
  it('keeps the waiter in line and frees the slot when the transfer write fails', async () => {
    // Prepare
    const store = new FailingTransferStore()
    await register(store, 'gpu', 1)
    const p = process(store)
    const holder = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    const waiting = p.wait({ forMs: 2_000 })
    await inLine(p.gate, 1)
    store.failTransfers = true

    // Act
    await holder.release()
    const taken = leaseOf(await waiting)

    // Assess: the slot was released, and the waiter acquired it as a new lease.
    expect(holder.handedOver).toBe(false)
    expect(taken.leaseId).not.toBe(holder.leaseId)
    expect(Object.keys((await store.get('gpu'))!.leases)).toEqual([taken.leaseId])
    await taken.release()
  })

  it('frees the slot of a backend that is draining rather than passing it on', async () => {
    const store = new CountingStore()
    await register(store, 'gpu', 1)
    const p = process(store)
    const holder = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    const waiting = p.wait({ forMs: 300 })
    await inLine(p.gate, 1)
    await store.setState({ id: 'gpu', state: 'draining' })

    await holder.release()

    expect(holder.handedOver).toBe(false)
    expect((await store.get('gpu'))!.leases).toEqual({})
    expect((await waiting).ok).toBe(false)
  })

  it('offers the slot only to waiters whose model the backend serves', async () => {
    const store = new CountingStore()
    await register(store, 'gpu', 1)
    await register(store, 'cpu-1', 1, 'cpu')
    const p = process(store)
    const holder = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    const cpuHolder = leaseOf(await p.router.acquire({ model: other, mayDegrade: false }))
    const waitingOther = p.wait({ model: other, forMs: 300 })
    await inLine(p.gate, 1)

    await holder.release()

    expect(holder.handedOver).toBe(false)
    expect((await store.get('gpu'))!.leases).toEqual({})
    expect((await waitingOther).ok).toBe(false)
    await cpuHolder.release()
  })

  it('offers the slot only to waiters whose API the backend serves', async () => {
    // Prepare: a chat-only backend in use, and an embeddings request waiting on a full embeddings backend
    const store = new CountingStore()
    await register(store, 'chat-only', 1, 'h20', ['chat', 'completions'])
    await register(store, 'embedder', 1, 'h20', ['embeddings'])
    const p = process(store)
    const chatHolder = leaseOf(await p.router.acquire({ model, mayDegrade: false, api: 'chat' }))
    const embedHolder = leaseOf(await p.router.acquire({ model, mayDegrade: false, api: 'embeddings' }))
    const waiting = p.wait({ api: 'embeddings' })
    await inLine(p.gate, 1)

    // Act
    await chatHolder.release()

    // Assert: the chat-only slot is freed, not passed on; the waiter gets the embeddings backend's
    expect(chatHolder.handedOver).toBe(false)
    expect((await store.get('chat-only'))!.leases).toEqual({})
    expect(p.gate.waiting).toBe(1)
    await embedHolder.release()
    const served = leaseOf(await waiting)
    expect(served.backend.id).toBe('embedder')
    await served.release()
  })

  it('gives the slot back when the waiter left while the lease was passing', async () => {
    const store = new CountingStore()
    await register(store, 'gpu', 1)
    const p = process(store)
    const holder = leaseOf(await p.router.acquire({ model, mayDegrade: false }))
    const left = new AbortController()
    const waiting = p.wait({ signal: left.signal })
    await inLine(p.gate, 1)
    // The client goes away in the middle of the transfer write.
    const transfer = store.transfer.bind(store)
    store.transfer = async (options) => {
      left.abort()
      return transfer(options)
    }

    await holder.release()

    expect((await waiting).ok).toBe(false)
    expect((await store.get('gpu'))!.leases).toEqual({})
  })
  it("keeps the new holder's expiry when the old holder's renewal was still in flight", async () => {
    // Prepare: the slot's holder has a renewal on the wire (written with the expiry it
    // computed then) when it ends, and a request of the same process waits for the slot.
    const ttlMs = 750
    const store = new StallingRenewStore()
    await register(store, 'a', 1)
    const p = process(store, { leaseTtlMs: ttlMs })
    const held = leaseOf(await p.wait())
    const waiting = p.wait()
    await inLine(p.gate, 1)
    store.stalling = true
    for (let i = 0; i < 200 && store.renewsInFlight === 0; i++) await new Promise((r) => setTimeout(r, 5))
    expect(store.renewsInFlight).toBe(1)
    await new Promise((r) => setTimeout(r, 30))

    // Act: the holder ends; its stale renewal lands while (or after) the lease passes on.
    const releasedAt = Date.now()
    const releasing = held.release()
    await new Promise((r) => setTimeout(r, 20))
    store.resume()
    await releasing
    const next = leaseOf(await waiting)

    // Assess: the lease in the store lives at least a TTL from the handover, not from the
    // stale renewal (which would let another process reclaim it under its new holder).
    expect(held.handedOver).toBe(true)
    const [backend] = await store.read(['a'])
    expect(backend?.leases[next.leaseId]).toBeGreaterThanOrEqual(releasedAt + ttlMs)
    await next.release()
  })
})

describe("Feature: a waiting request sees another process's freed slot within a look", () => {
  it('takes a slot freed elsewhere long before its snapshot or its fleet refresh would show it', async () => {
    // Prepare: the waiting process's snapshot and whole-fleet refresh are 10 s apart.
    const store = new CountingStore()
    await register(store, 'gpu', 1)
    const elsewhere = process(store)
    const here = process(store, { snapshotAgeMs: 10_000, refreshMs: 10_000 })
    const holder = leaseOf(await elsewhere.router.acquire({ model, mayDegrade: false }))
    const waiting = here.wait()
    await inLine(here.gate, 1)
    // Past the line's first whole-fleet refresh: the next one is 10 s away.
    await new Promise((resolve) => setTimeout(resolve, 100))

    // Act
    const freedAt = performance.now()
    await holder.release()
    const taken = leaseOf(await waiting)
    const tookMs = performance.now() - freedAt

    // Assess: a look every 25 ms of just this line's backend, not a 10 s wait.
    expect(tookMs).toBeLessThan(1_000)
    expect(store.writes.read).toBeGreaterThan(0)
    await taken.release()
  })
})
