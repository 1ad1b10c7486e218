/**
 * 4. Router decision time versus fleet size, pure: no I/O. `Router.acquire`
 * against a store whose acquire succeeds at once (the decision: the tier's
 * indexed candidates, two weighted draws, the lease object, and the index kept
 * current by the acquire's and the release's returned items); the same when
 * every backend is full (the refusal: saturated, with its Retry-After);
 * `pickBackend` alone over the tier's index; and the cost of building a tier's
 * index, paid once per snapshot read (at most once a second).
 */
import type { BackendRecord } from '../shared/backends/backend-record.ts'
import type { AcquireOptions, AcquireResult, CapacityStore } from '../shared/capacity/capacity-store.ts'
import { type ModelTier, parseGatewayConfig } from '../shared/config/gateway-config.ts'
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
  /** `Router.acquire` when every backend is full: the saturated verdict, µs. */
  readonly saturatedMicros: Percentiles
  /** `pickBackend` over the tier's indexed candidates, µs. */
  readonly pickMicros: Percentiles
  /** Building the tier's index from a fresh snapshot, ms (once per read, not per request). */
  readonly indexBuildMillis: Percentiles
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
  async read(ids: readonly string[]) {
    return ids.flatMap((id) => this.#byId.get(id) ?? [])
  }
  async acquire(options: AcquireOptions): Promise<AcquireResult> {
    return { ok: true, backend: this.#byId.get(options.backendId)!, leaseId: options.leaseId }
  }
  async renew() {
    return true
  }
  /** No waiter is ever offered a slot here: a transfer is refused, the lease released. */
  async transfer() {
    return undefined
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

/** A fleet of `size` backends of the model's class, with a realistic spread of busy slots (or all full). */
function fleet(size: number, now: number, full = false): BackendRecord[] {
  return Array.from({ length: size }, (_, i) => {
    const maxConcurrency = 8
    const busy = full ? maxConcurrency : (i * 7) % (maxConcurrency + 1)
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

function routerOver(backends: readonly BackendRecord[], now: number) {
  const store = new InstantStore(backends)
  const view = new CapacityView({ store, maxAgeMs: 3_600_000 })
  const router = new Router({
    store,
    view,
    circuits: new CircuitBreakers({ failureThreshold: 3, coolDownMs: 30_000 }),
    clock: () => now,
    leaseTtlMs: 60_000,
    heartbeatStaleMs: 3_600_000,
  })
  return { view, router }
}

export async function runRouterDecision(o: RouterOptions): Promise<RouterResult> {
  const config = parseGatewayConfig(benchConfig())
  const model = config.models.find((m) => m.id === INSTANT_MODEL)!
  const tier = model.tiers[0]!
  const now = Date.now()
  const sizes: RouterSize[] = []
  for (const size of o.sizes) {
    const open = routerOver(fleet(size, now), now)
    const full = routerOver(fleet(size, now, true), now)
    await Promise.all([open.view.refresh(now), full.view.refresh(now)])
    // As many decisions at every size: with the index, a decision over 10,000 backends is as short as over 10.
    const iterations = o.iterations
    const rounds = { acquire: [] as Percentiles[], saturated: [] as Percentiles[], pick: [] as Percentiles[] }
    const builds: Percentiles[] = []
    for (let r = 0; r < o.rounds; r++) {
      const acquire: number[] = []
      const saturated: number[] = []
      const pick: number[] = []
      for (let i = 0; i < iterations; i++) {
        const t0 = performance.now()
        const routed = await open.router.acquire({ model, mayDegrade: false })
        const t1 = performance.now()
        if (!routed.ok) throw new Error(`router found no slot in a fleet of ${size}`)
        await routed.lease.release()
        const t2 = performance.now()
        const refused = await full.router.acquire({ model, mayDegrade: false })
        const t3 = performance.now()
        if (refused.ok || refused.reason !== 'saturated')
          throw new Error(`a full fleet of ${size} was not saturated`)
        const candidates = open.view.candidates(tier, now, 0)
        const t4 = performance.now()
        pickBackend(candidates.draw(), Math.random)
        const t5 = performance.now()
        acquire.push((t1 - t0) * 1000)
        saturated.push((t3 - t2) * 1000)
        pick.push((t5 - t4) * 1000)
      }
      rounds.acquire.push(percentiles(acquire))
      rounds.saturated.push(percentiles(saturated))
      rounds.pick.push(percentiles(pick))
      builds.push(percentiles(await indexBuilds(size, now, tier)))
    }
    const result = {
      backends: size,
      acquireMicros: roundPercentiles(medianOfRounds(rounds.acquire), 2),
      saturatedMicros: roundPercentiles(medianOfRounds(rounds.saturated), 2),
      pickMicros: roundPercentiles(medianOfRounds(rounds.pick), 2),
      indexBuildMillis: roundPercentiles(medianOfRounds(builds), 3),
    }
    o.progress.detail(
      `${size} backends: acquire p50 ${result.acquireMicros.p50} µs (p99 ${result.acquireMicros.p99}), ` +
        `saturated p50 ${result.saturatedMicros.p50} µs, pickBackend p50 ${result.pickMicros.p50} µs, ` +
        `index build p50 ${result.indexBuildMillis.p50} ms`,
    )
    sizes.push(result)
  }
  return { sizes }
}

/** Builds the tier's index from a fresh snapshot a few times, as the first decision after each read does. */
async function indexBuilds(size: number, now: number, tier: ModelTier): Promise<number[]> {
  const { view } = routerOver(fleet(size, now), now)
  const samples: number[] = []
  for (let i = 0; i < Math.max(5, Math.round(2_000 / size)); i++) {
    await view.refresh(now)
    const t0 = performance.now()
    view.candidates(tier, now, 0)
    samples.push(performance.now() - t0)
  }
  return samples
}
