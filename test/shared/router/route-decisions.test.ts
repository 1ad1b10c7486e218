import { describe, expect, it } from 'vitest'
import { MemoryBackendStore } from '../../../shared/capacity/memory-backend-store.ts'
import { parseGatewayConfig } from '../../../shared/config/gateway-config.ts'
import { CapacityView } from '../../../shared/router/capacity-view.ts'
import { CircuitBreakers } from '../../../shared/router/circuit-breakers.ts'
import { type RouteDecision, Router } from '../../../shared/router/router.ts'

const T0 = Date.UTC(2026, 0, 1)
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

async function routerWithDecisions() {
  const store = new MemoryBackendStore()
  await store.register({
    registration: {
      id: 'h20-1',
      url: 'http://127.0.0.1:1',
      hardware: 'h20',
      models: ['m'],
      maxConcurrency: 1,
    },
    now: T0,
  })
  await store.register({
    registration: {
      id: 'cpu-1',
      url: 'http://127.0.0.1:2',
      hardware: 'cpu',
      models: ['m-q4'],
      maxConcurrency: 1,
    },
    now: T0,
  })
  const decisions: RouteDecision[] = []
  const router = new Router({
    store,
    view: new CapacityView({ store, maxAgeMs: 1_000 }),
    circuits: new CircuitBreakers({ failureThreshold: 3, coolDownMs: 30_000 }),
    clock: () => T0,
    leaseTtlMs: 3_000,
    heartbeatStaleMs: 15_000,
    onDecision: (decision) => decisions.push(decision),
  })
  return { router, decisions }
}

describe('Class: Router', () => {
  describe('Option: onDecision', () => {
    it('reports each decision with why: the backend, the move to CPU, and nothing left', async () => {
      // Prepare
      const { router, decisions } = await routerWithDecisions()
      // Act
      await router.acquire({ model, mayDegrade: true })
      await router.acquire({ model, mayDegrade: true })
      await router.acquire({ model, mayDegrade: true })
      await router.acquire({ model, mayDegrade: false })
      // Assess
      expect(decisions.map((d) => [d.outcome, d.backendId])).toEqual([
        ['primary', 'h20-1'],
        ['fallback', 'cpu-1'],
        ['saturated', undefined],
        ['saturated', undefined],
      ])
      expect(decisions[0]?.reason).toBe('h20-1 had 1 of 1 slots free (best of two among 1 on h20)')
      expect(decisions[1]?.reason).toBe(
        'h20 full (all 1 busy); cpu-1 had 1 of 1 slots free (best of two among 1 on cpu)',
      )
      expect(decisions[2]?.reason).toBe('h20 full (all 1 busy); cpu full (all 1 busy)')
      expect(decisions[3]?.reason).toBe('h20 full (all 1 busy); cpu not allowed (key may not degrade)')
    })

    it('never lets a throwing listener fail the request', async () => {
      const store = new MemoryBackendStore()
      await store.register({
        registration: {
          id: 'h20-1',
          url: 'http://127.0.0.1:1',
          hardware: 'h20',
          models: ['m'],
          maxConcurrency: 1,
        },
        now: T0,
      })
      const router = new Router({
        store,
        view: new CapacityView({ store, maxAgeMs: 1_000 }),
        circuits: new CircuitBreakers({ failureThreshold: 3, coolDownMs: 30_000 }),
        clock: () => T0,
        leaseTtlMs: 3_000,
        heartbeatStaleMs: 15_000,
        onDecision: () => {
          throw new Error('listener broke')
        },
      })
      expect((await router.acquire({ model, mayDegrade: false })).ok).toBe(true)
    })
  })
})
