/**
 * 4. Router decision time versus fleet size, pure: no I/O. `Router.acquire`
 * against a store whose acquire succeeds at once (the decision: tier filter,
 * free slots, two weighted draws, the lease object), and `pickBackend` alone.
 */
import type { BackendRecord } from '../shared/backends/backend-record.ts'
import type { AcquireOptions, AcquireResult, CapacityStore } from '../shared/capacity/capacity-store.ts'
import { parseGatewayConfig } from '../shared/config/gateway-config.ts'
import { CapacityView } from '../shared/router/capacity-view.ts'
import { CircuitBreakers } from '../shared/router/circuit-breakers.ts'
import { pickBackend } from '../shared/router/pick-backend.ts'
import { Router } from '../shared/router/router.ts'
import { benchConfig, INSTANT_MODEL } from './lib/bench-setup.ts'
import type { Progress } from './lib/progress.ts'
import { medianOfRounds, type Percentiles, percentiles, roundPercentiles } from './lib/stats.ts'

export interface RouterOptions {
  readonly sizes: readonly number[]
  readonly rounds: number
  /** Decisions timed per round and size. */
  readonly iterations: number
  readonly progress: Progress
}

export interface RouterSize {
  readonly backends: number
  /** `Router.acquire` + `release` with an instant store, µs per decision. */
  readonly acquireMicros: Percentiles
  /** `pickBackend` over the candidates, µs. */
  readonly pickMicros: Percentiles
}

export interface RouterResult {
  readonly sizes: readonly RouterSize[]
}

/** Answers every acquire with the backend itself: the decision is all that is timed. */
class InstantStore implements CapacityStore {
  readonly #byId: Map<string, BackendRecord>
  constructor(backends: readonly BackendRecord[]) {
    this.#byId = new Map(backends.map((b) => [b.id, b]))
  }
  async snapshot() {
    return [...this.#byId.values()]
  }
  async acquire(options: AcquireOptions): Promise<AcquireResult> {
    return { ok: true, backend: this.#byId.get(options.backendId)! }
  }
  async renew() {
    return true
  }
  async release(lease: { backendId: string }) {
    return this.#byId.get(lease.backendId)
  }
  async reclaimExpired() {
    return 0
  }
  async purgeRemoved() {
    return false
  }
  async openCircuit() {
    return undefined
  }
}

/** A fleet of `size` backends of the model's class, with a realistic spread of busy slots. */
function fleet(size: number, now: number): BackendRecord[] {
  return Array.from({ length: size }, (_, i) => {
    const maxConcurrency = 8
    const busy = (i * 7) % (maxConcurrency + 1)
    const leases: Record<string, number> = {}
    for (let l = 0; l < busy; l++) leases[`lease-${i}-${l}`] = now + 60_000
    return {
      id: `backend-${i}`,
      url: `http://10.0.${Math.floor(i / 250)}.${i % 250}:8000`,
      hardware: 'h20',
      models: [INSTANT_MODEL],
      maxConcurrency,
      state: 'active',
      registeredAt: now,
      heartbeatAt: now,
      load: { running: busy, waiting: 0, kvCacheUsage: 0.1 },
      leases,
    }
  })
}

export async function runRouterDecision(o: RouterOptions): Promise<RouterResult> {
  const config = parseGatewayConfig(benchConfig())
  const model = config.models.find((m) => m.id === INSTANT_MODEL)!
  const now = Date.now()
  const sizes: RouterSize[] = []
  for (const size of o.sizes) {
    const backends = fleet(size, now)
    const store = new InstantStore(backends)
    const view = new CapacityView({ store, maxAgeMs: 3_600_000 })
    await view.refresh(now)
    const router = new Router({
      store,
      view,
      circuits: new CircuitBreakers({ failureThreshold: 3, coolDownMs: 30_000 }),
      clock: () => now,
      leaseTtlMs: 60_000,
      heartbeatStaleMs: 3_600_000,
    })
    const candidates = backends.map((b) => ({
      id: b.id,
      free: b.maxConcurrency - Object.keys(b.leases).length,
    }))
    // Fewer iterations for big fleets keep the run short; each decision there is long enough to time well.
    const iterations = Math.max(50, Math.round(o.iterations / Math.max(1, size / 100)))
    const acquireRounds: Percentiles[] = []
    const pickRounds: Percentiles[] = []
    for (let r = 0; r < o.rounds; r++) {
      const acquire: number[] = []
      const pick: number[] = []
      for (let i = 0; i < iterations; i++) {
        const t0 = performance.now()
        const routed = await router.acquire({ model, mayDegrade: false })
        const t1 = performance.now()
        if (!routed.ok) throw new Error(`router found no slot in a fleet of ${size}`)
        await routed.lease.release()
        const t2 = performance.now()
        pickBackend(candidates, Math.random)
        const t3 = performance.now()
        acquire.push((t1 - t0) * 1000)
        pick.push((t3 - t2) * 1000)
      }
      acquireRounds.push(percentiles(acquire))
      pickRounds.push(percentiles(pick))
    }
    const result = {
      backends: size,
      acquireMicros: roundPercentiles(medianOfRounds(acquireRounds), 2),
      pickMicros: roundPercentiles(medianOfRounds(pickRounds), 2),
    }
    o.progress.detail(
      `${size} backends: acquire p50 ${result.acquireMicros.p50} µs (p99 ${result.acquireMicros.p99}), ` +
        `pickBackend p50 ${result.pickMicros.p50} µs`,
    )
    sizes.push(result)
  }
  return { sizes }
}
