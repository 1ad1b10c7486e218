import { describe, expect, it } from 'vitest'
import type { ModelConfig } from '../../../shared/config/gateway-config.ts'
import type { HeldLease } from '../../../shared/router/held-lease.ts'
import type { RouteOptions, RouteResult } from '../../../shared/router/router.ts'
import { SlotGate } from '../../../shared/router/slot-gate.ts'

const model = { id: 'm', tiers: [{ hardware: ['h20'], model: 'm', degraded: false }] } as ModelConfig
const saturated: RouteResult = { ok: false, reason: 'saturated', retryAfterSeconds: 1 }

/** A router with `free` slots that the test hands out one by one; it counts the calls. */
function fakeRouter() {
  const state = { free: 0, calls: 0, leases: 0 }
  return {
    state,
    async acquire(_options: RouteOptions): Promise<RouteResult> {
      state.calls++
      if (state.free === 0) return saturated
      state.free--
      const lease = { leaseId: `l${++state.leases}` } as unknown as HeldLease
      return { ok: true, lease, tier: model.tiers[0]!, route: 'primary' }
    },
  }
}

describe('Class: SlotGate', () => {
  it('gives freed slots to interactive waiters before batch ones, in arrival order within a lane', async () => {
    const router = fakeRouter()
    const gate = new SlotGate({ router, clock: Date.now, pollMs: { interactive: 5, batch: 5 } })
    const order: string[] = []
    const wait = (name: string, lane: 'interactive' | 'batch') =>
      gate
        .acquire({ model, mayDegrade: false, lane, patienceMs: 5_000, until: Date.now() + 5_000 })
        .then((r) => {
          if (r.ok) order.push(name)
        })
    const all = [
      wait('b1', 'batch'),
      wait('b2', 'batch'),
      wait('i1', 'interactive'),
      wait('i2', 'interactive'),
    ]
    router.state.free = 4
    await Promise.all(all)
    // b1 may have been at the head already when the others arrived; the rest keep priority order.
    expect(order.filter((n) => n !== 'b1')).toEqual(['i1', 'i2', 'b2'])
  })

  it('answers a waiter with the refusal once its time is up, and only the head asks the router', async () => {
    const router = fakeRouter()
    const gate = new SlotGate({ router, clock: Date.now, pollMs: { interactive: 20, batch: 20 } })
    const waiters = Array.from({ length: 10 }, () =>
      gate.acquire({
        model,
        mayDegrade: false,
        lane: 'interactive',
        patienceMs: 100,
        until: Date.now() + 1_000,
      }),
    )
    const results = await Promise.all(waiters)
    expect(results.every((r) => !r.ok && r.reason === 'saturated')).toBe(true)
    // About one call per poll for the whole line, not one per waiter per poll.
    expect(router.state.calls).toBeLessThan(20)
    expect(gate.waiting).toBe(0)
  })

  it('keeps a backlog waiting past its patience while slots keep freeing, up to the hard limit', async () => {
    const router = fakeRouter()
    const gate = new SlotGate({ router, clock: Date.now, pollMs: { interactive: 5, batch: 5 } })
    const start = Date.now()
    const waiters = Array.from({ length: 5 }, () =>
      gate.acquire({ model, mayDegrade: false, lane: 'interactive', patienceMs: 150, until: start + 10_000 }),
    )
    // One slot every 100 ms: 500 ms in all, each gap inside the 150 ms patience.
    const feeder = setInterval(() => {
      router.state.free++
    }, 100)
    const results = await Promise.all(waiters)
    clearInterval(feeder)
    expect(results.every((r) => r.ok)).toBe(true)
  })

  it('wakes the head when the capacity view changes instead of sleeping out its poll', async () => {
    const router = fakeRouter()
    const listeners = new Set<() => void>()
    const signals = {
      refreshes: 0,
      subscribe(listener: () => void) {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
      async refresh() {
        signals.refreshes++
      },
    }
    // Polls so slow (and re-reads so rare) that only the signal can hand out the slot within the test's time.
    const gate = new SlotGate({
      router,
      clock: Date.now,
      pollMs: { interactive: 60_000, batch: 60_000 },
      signals,
      refreshMs: 60_000,
    })
    const waiting = gate.acquire({
      model,
      mayDegrade: false,
      lane: 'interactive',
      patienceMs: 120_000,
      until: Date.now() + 120_000,
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(router.state.calls).toBeGreaterThanOrEqual(1)
    router.state.free = 1
    for (const listener of listeners) listener()
    const result = await waiting
    expect(result.ok).toBe(true)
    // The first failed try re-read the fleet once (other processes' releases), then slept.
    expect(signals.refreshes).toBe(1)
  })
  it('serves a waiter that joins while the pump gives back a slot everyone left (no orphaned line)', async () => {
    // Found by the chaos run: a held request joined the line while the pump was releasing a slot
    // whose waiters had all gone; the pump then ended and dropped the line with the newcomer in it,
    // so it waited until its client gave up instead of being served or refused at its limit.
    let releaseSlot: () => void = () => {}
    let inFlight: (result: RouteResult) => void = () => {}
    const state = { calls: 0 }
    const router = {
      acquire(_options: RouteOptions): Promise<RouteResult> {
        state.calls++
        if (state.calls > 1) return Promise.resolve(saturated)
        return new Promise<RouteResult>((resolve) => {
          inFlight = resolve
        })
      },
    }
    const gate = new SlotGate({ router, clock: Date.now, pollMs: { interactive: 5, batch: 5 } })
    const leaving = new AbortController()
    const first = gate.acquire({
      model,
      mayDegrade: false,
      lane: 'batch',
      patienceMs: 5_000,
      until: Date.now() + 5_000,
      signal: leaving.signal,
    })
    leaving.abort()
    expect((await first).ok).toBe(false)
    const lease = {
      leaseId: 'l1',
      release: () =>
        new Promise<void>((resolve) => {
          releaseSlot = resolve
        }),
    } as unknown as HeldLease
    inFlight({ ok: true, lease, tier: model.tiers[0]!, route: 'primary' })
    await new Promise((resolve) => setTimeout(resolve, 0))
    // The pump now waits for that release; a newcomer joins the same line meanwhile.
    const newcomer = gate.acquire({
      model,
      mayDegrade: false,
      lane: 'batch',
      patienceMs: 100,
      until: Date.now() + 300,
    })
    releaseSlot()
    const outcome = await Promise.race([
      newcomer,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 2_000)),
    ])
    expect(outcome).toEqual(saturated)
    expect(state.calls).toBeGreaterThan(1)
    expect(gate.waiting).toBe(0)
  })
})
