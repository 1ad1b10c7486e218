import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { API_KINDS } from '../../../shared/backends/backend-apis.ts'
import { type BackendRecord, freeSlots } from '../../../shared/backends/backend-record.ts'
import type {
  AcquireOptions,
  AcquireResult,
  CapacityStore,
  LeaseRef,
} from '../../../shared/capacity/capacity-store.ts'
import { parseGatewayConfig } from '../../../shared/config/gateway-config.ts'
import { CapacityView } from '../../../shared/router/capacity-view.ts'
import { CircuitBreakers } from '../../../shared/router/circuit-breakers.ts'
import type { HeldLease } from '../../../shared/router/held-lease.ts'
import { type RouteOptions, type RouteResult, Router } from '../../../shared/router/router.ts'
import { MODEL_M, seeded, THREE_CLASSES } from './fleet-fixtures.ts'
import { ReferenceRouter } from './reference-router.ts'

const T0 = Date.UTC(2026, 0, 1)
const LEASE_TTL_MS = 2_000
const STALE_MS = 5_000
const FAILURES_TO_OPEN = 2
const COOL_DOWN_MS = 1_500

const config = parseGatewayConfig({
  hardwareClasses: THREE_CLASSES,
  models: [
    MODEL_M,
    // One tier over two classes: its backends are also in `m`'s tiers, so each item feeds two indexes.
    { id: 'wide', tiers: [{ hardware: ['h20', 'h100'], model: 'm' }] },
    { id: 'lonely', tiers: [{ hardware: ['h20'], model: 'lonely' }] },
  ],
})

/**
 * Leases as plain map entries, a race lost on demand, and every attempt
 * recorded: the router's decision logic against a store it can be compared on.
 */
class ScriptedStore implements CapacityStore {
  readonly records = new Map<string, BackendRecord>()
  readonly losing = new Set<string>()
  readonly attempts: string[] = []
  /** Whether a read returns new objects for every item, as a Scan does, or unchanged items as they were. */
  readonly copiesOnRead: boolean

  constructor(backends: readonly BackendRecord[], copiesOnRead = false) {
    for (const backend of backends) this.records.set(backend.id, backend)
    this.copiesOnRead = copiesOnRead
  }
  async snapshot() {
    const records = [...this.records.values()]
    return this.copiesOnRead ? records.map((b) => ({ ...b, leases: { ...b.leases } })) : records
  }
  async read(ids: readonly string[]) {
    return ids.flatMap((id) => this.records.get(id) ?? [])
  }
  async acquire(options: AcquireOptions): Promise<AcquireResult> {
    this.attempts.push(options.backendId)
    const backend = this.records.get(options.backendId)
    if (!backend || this.losing.has(backend.id)) return { ok: false, reason: 'no-slot' }
    const leases = { ...backend.leases }
    for (const id of options.reclaim) delete leases[id]
    leases[options.leaseId] = options.expiresAt
    return { ok: true, backend: this.change(backend.id, (b) => ({ ...b, leases })), leaseId: options.leaseId }
  }
  async renew() {
    return true
  }
  /** No waiter is ever offered a slot here: a transfer is refused, the lease released. */
  async transfer() {
    return undefined
  }
  async release(lease: LeaseRef) {
    const backend = this.records.get(lease.backendId)
    if (!backend) return undefined
    const { [lease.leaseId]: _, ...leases } = backend.leases
    return this.change(backend.id, (b) => ({ ...b, leases }))
  }
  async reclaimExpired() {
    return 0
  }
  async openCircuit() {
    return undefined
  }
  async purgeRemoved() {
    return false
  }
  change(id: string, edit: (backend: BackendRecord) => BackendRecord): BackendRecord {
    const backend = this.records.get(id)
    if (!backend) throw new Error(`no backend ${id}`)
    const changed = edit(backend)
    this.records.set(id, changed)
    return changed
  }
}

const backendArb = fc.record({
  hardware: fc.constantFrom('h20', 'h100', 'cpu'),
  lonely: fc.boolean(),
  maxConcurrency: fc.integer({ min: 1, max: 4 }),
  draining: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  heartbeatAge: fc.integer({ min: 0, max: 6_000 }),
  circuitOpenFor: fc.oneof(
    { weight: 4, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.integer({ min: -1_000, max: 3_000 }) },
  ),
  leaseExpiries: fc.array(fc.integer({ min: -1_500, max: 3_000 }), { maxLength: 5 }),
  // Absent: an older agent's registration, which serves chat and completions.
  apis: fc.option(fc.subarray([...API_KINDS], { minLength: 1 }), { nil: undefined }),
})
type BackendSpec = typeof backendArb extends fc.Arbitrary<infer T> ? T : never

function record(spec: BackendSpec, i: number): BackendRecord {
  const models = spec.hardware === 'cpu' ? ['m-q4'] : spec.lonely ? ['m', 'lonely'] : ['m']
  return {
    id: `b${i}`,
    url: `http://127.0.0.1:9/b${i}`,
    hardware: spec.hardware,
    models,
    maxConcurrency: spec.maxConcurrency,
    state: spec.draining ? 'draining' : 'active',
    registeredAt: T0,
    heartbeatAt: T0 - spec.heartbeatAge,
    load: { running: 0, waiting: 0, kvCacheUsage: 0 },
    leases: Object.fromEntries(spec.leaseExpiries.map((at, l) => [`seed-${l}`, T0 + at])),
    ...(spec.apis ? { apis: spec.apis } : {}),
    ...(spec.circuitOpenFor === null ? {} : { circuitOpenUntil: T0 + spec.circuitOpenFor }),
  }
}

const changeArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const) }) },
  fc.record({ kind: fc.constant('state' as const), draining: fc.boolean() }),
  fc.record({ kind: fc.constant('circuit' as const), forMs: fc.integer({ min: -500, max: 2_500 }) }),
  fc.record({ kind: fc.constant('lease' as const), forMs: fc.integer({ min: -500, max: 2_500 }) }),
  fc.record({ kind: fc.constant('drop-lease' as const) }),
  fc.record({ kind: fc.constant('resize' as const), maxConcurrency: fc.integer({ min: 1, max: 4 }) }),
  // Joins or leaves the `lonely` tier: the tier's membership changes.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('toggle-lonely' as const) }) },
  // Re-registers with other APIs: it joins or leaves the (tier, API) indexes.
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('apis' as const),
      apis: fc.option(fc.subarray([...API_KINDS], { minLength: 1 }), { nil: undefined }),
    }),
  },
)

type ChangeSpec = typeof changeArb extends fc.Arbitrary<infer T> ? T : never

const stepArb = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('decide' as const),
      advanceMs: fc.integer({ min: 0, max: 400 }),
      model: fc.nat({ max: config.models.length - 1 }),
      mayDegrade: fc.boolean(),
      api: fc.option(fc.constantFrom(...API_KINDS), { nil: undefined }),
      exclude: fc.uniqueArray(fc.nat({ max: 15 }), { maxLength: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('change' as const),
      backend: fc.nat(),
      change: changeArb,
      /** Whether this process's view hears of it now (a write's returned item) or at its next read. */
      seen: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mark-full' as const), backend: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('join' as const), backend: backendArb, seen: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('refresh' as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), lease: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('lose' as const), backend: fc.nat() }) },
)

function applyChange(backend: BackendRecord, change: ChangeSpec, now: number): BackendRecord {
  switch (change.kind) {
    case 'heartbeat':
      return { ...backend, heartbeatAt: now }
    case 'state':
      return { ...backend, state: change.draining ? ('draining' as const) : ('active' as const) }
    case 'circuit':
      return { ...backend, circuitOpenUntil: now + change.forMs }
    case 'lease':
      return { ...backend, leases: { ...backend.leases, [`x${now}`]: now + change.forMs } }
    case 'drop-lease': {
      const [first] = Object.keys(backend.leases)
      if (first === undefined) return backend
      const { [first]: _, ...leases } = backend.leases
      return { ...backend, leases }
    }
    case 'resize':
      return { ...backend, maxConcurrency: change.maxConcurrency }
    case 'toggle-lonely':
      if (backend.hardware === 'cpu') return backend
      return { ...backend, models: backend.models.includes('lonely') ? ['m'] : ['m', 'lonely'] }
    case 'apis': {
      const { apis: _apis, ...rest } = backend
      return change.apis ? { ...rest, apis: change.apis } : rest
    }
  }
}

/** A gateway process: its store (a copy of the fleet), view, circuits and router. */
function side<R extends Router | ReferenceRouter>(
  fleet: readonly BackendRecord[],
  clock: () => number,
  seed: number,
  make: (options: ConstructorParameters<typeof Router>[0]) => R,
  copiesOnRead = false,
) {
  const store = new ScriptedStore(fleet, copiesOnRead)
  const view = new CapacityView({ store, maxAgeMs: 1_000 })
  const circuits = new CircuitBreakers({ failureThreshold: FAILURES_TO_OPEN, coolDownMs: COOL_DOWN_MS })
  const router = make({
    store,
    view,
    circuits,
    clock,
    random: seeded(seed),
    leaseTtlMs: LEASE_TTL_MS,
    heartbeatStaleMs: STALE_MS,
  })
  return { store, view, circuits, router, held: [] as HeldLease[] }
}

function outcome(result: RouteResult) {
  return result.ok
    ? { backend: result.lease.backend.id, model: result.tier.model, route: result.route }
    : { reason: result.reason, retryAfterSeconds: result.retryAfterSeconds }
}

beforeEach(() => {
  // The leases' renewal timers must not fire on their own: the clock is the test's.
  vi.useFakeTimers({ now: T0 })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('Class: Router (indexed decision against the reference)', () => {
  it('makes the same decisions as filtering the whole snapshot, step by step, as the fleet and time change', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(backendArb, { minLength: 2, maxLength: 16 }),
        fc.array(stepArb, { minLength: 1, maxLength: 60 }),
        fc.integer(),
        fc.boolean(),
        async (specs, steps, seed, copiesOnRead) => {
          // Prepare: two processes over identical fleets, one with the reference router.
          let now = T0
          const clock = () => now
          const fleet = specs.map(record)
          const indexed = side(fleet, clock, seed, (o) => new Router(o), copiesOnRead)
          const reference = side(fleet, clock, seed, (o) => new ReferenceRouter(o), copiesOnRead)
          const both = [indexed, reference] as const
          const id = (n: number) => `b${n % fleet.length}`
          let joins = 0

          for (const step of steps) {
            switch (step.kind) {
              case 'decide': {
                // Act
                now += step.advanceMs
                const model = config.models[step.model]!
                const options: RouteOptions = {
                  model,
                  mayDegrade: step.mayDegrade,
                  ...(step.api ? { api: step.api } : {}),
                  ...(step.exclude.length ? { exclude: new Set(step.exclude.map(id)) } : {}),
                }
                const before = indexed.store.attempts.length
                const [got, want] = [
                  await indexed.router.acquire(options),
                  await reference.router.acquire(options),
                ]

                // Assess: the same outcome after the same writes, in the same order.
                expect(outcome(got)).toEqual(outcome(want))
                expect(indexed.store.attempts.slice(before)).toEqual(reference.store.attempts.slice(before))
                if (got.ok) indexed.held.push(got.lease)
                if (want.ok) reference.held.push(want.lease)
                break
              }
              case 'change':
                for (const s of both) {
                  const changed = s.store.change(id(step.backend), (b) => applyChange(b, step.change, now))
                  if (step.seen) s.view.update(changed)
                }
                break
              case 'join': {
                // A backend registers: this process hears of it from a write or at its next read.
                const joined = { ...record(step.backend, fleet.length + joins++), heartbeatAt: now }
                for (const s of both) {
                  s.store.records.set(joined.id, joined)
                  if (step.seen) s.view.update(joined)
                }
                break
              }
              case 'mark-full':
                for (const s of both) s.view.markFull(id(step.backend))
                break
              case 'refresh':
                for (const s of both) await s.view.refresh(now)
                break
              case 'release':
                for (const s of both) {
                  const lease = s.held.splice(step.lease % Math.max(1, s.held.length), 1)[0]
                  await lease?.release()
                }
                break
              case 'lose':
                // Another gateway takes (or gives back) the backend's last slot behind this one's view.
                for (const s of both) {
                  if (!s.store.losing.delete(id(step.backend))) s.store.losing.add(id(step.backend))
                }
                break
            }
          }
          for (const s of both) for (const lease of s.held) await lease.release()
        },
      ),
      { numRuns: 400 },
    )
  })

  it("agrees on every verdict with this process's circuit breakers open or probing, picking only what the reference may", async () => {
    const circuitArb = fc.record({
      backend: fc.nat(),
      failures: fc.integer({ min: 1, max: FAILURES_TO_OPEN + 1 }),
      agoMs: fc.integer({ min: 0, max: 2 * COOL_DOWN_MS }),
      probing: fc.boolean(),
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(backendArb, { minLength: 1, maxLength: 16 }),
        fc.array(circuitArb, { maxLength: 8 }),
        fc.nat({ max: config.models.length - 1 }),
        fc.boolean(),
        fc.uniqueArray(fc.nat({ max: 15 }), { maxLength: 2 }),
        fc.integer(),
        async (specs, failures, modelIndex, mayDegrade, exclude, seed) => {
          // Prepare
          const clock = () => T0
          const fleet = specs.map(record)
          const indexed = side(fleet, clock, seed, (o) => new Router(o))
          const reference = side(fleet, clock, seed, (o) => new ReferenceRouter(o))
          const id = (n: number) => `b${n % fleet.length}`
          for (const s of [indexed, reference]) {
            for (const f of failures) {
              for (let i = 0; i < f.failures; i++) s.circuits.onFailure(id(f.backend), T0 - f.agoMs)
              // A half-open circuit whose one probe is already out refuses everything else.
              if (f.probing) s.circuits.onAttempt(id(f.backend), T0)
            }
          }
          const options: RouteOptions = {
            model: config.models[modelIndex]!,
            mayDegrade,
            ...(exclude.length ? { exclude: new Set(exclude.map(id)) } : {}),
          }
          const tiers = options.model.tiers.filter((t) => !t.degraded || mayDegrade)
          const healthy = await reference.router.healthy(options)

          // Act
          const got = await indexed.router.acquire(options)
          const want = await reference.router.acquire(options)

          // Assess
          if (got.ok && want.ok) {
            expect([got.tier, got.route]).toEqual([want.tier, want.route])
            const open = healthy[tiers.indexOf(got.tier)]?.filter((b) => freeSlots(b, T0) > 0) ?? []
            expect(open.map((b) => b.id)).toContain(got.lease.backend.id)
          } else {
            expect(outcome(got)).toEqual(outcome(want))
          }
          for (const result of [got, want]) if (result.ok) await result.lease.release()
        },
      ),
      { numRuns: 300 },
    )
  })
})
