import { randomBytes } from 'node:crypto'
import type { BackendRecord } from '../backends/backend-record.ts'
import { circuitOpenForAll, expiredLeaseIds, freeSlots, isInRotation } from '../backends/backend-record.ts'
import type { CapacityStore } from '../capacity/capacity-store.ts'
import type { ModelConfig, ModelTier } from '../config/gateway-config.ts'
import type { CapacityView } from './capacity-view.ts'
import type { CircuitBreakers } from './circuit-breakers.ts'
import { HeldLease } from './held-lease.ts'
import { pickBackend } from './pick-backend.ts'

export type Route = 'primary' | 'fallback'

/**
 * 72 random bits in 12 characters: unique within a backend's lease map, and short
 * because DynamoDB bills every lease write by the size of the whole item.
 */
export function newLeaseId(): string {
  return randomBytes(9).toString('base64url')
}

export interface RouteOptions {
  readonly model: ModelConfig
  /** May the CPU (degraded) tiers serve this request? */
  readonly mayDegrade: boolean
  /** Backends already tried for this request (failover before the first byte). */
  readonly exclude?: ReadonlySet<string>
}

export type RouteResult =
  | { readonly ok: true; readonly lease: HeldLease; readonly tier: ModelTier; readonly route: Route }
  /** `saturated`: allowed tiers have healthy backends, all busy. `no-backend`: none healthy at all. */
  | { readonly ok: false; readonly reason: 'saturated' | 'no-backend'; readonly retryAfterSeconds: number }

/** What the router decided for one request and why, for operators (the dashboard's "last decisions"). */
export interface RouteDecision {
  readonly model: string
  readonly outcome: Route | 'saturated' | 'no-backend'
  readonly hardware?: string
  readonly backendId?: string
  /** One sentence a person can read: why this backend, why CPU, why nothing. */
  readonly reason: string
  /** Healthy backends in the allowed tiers that were considered. */
  readonly candidates: number
}

export interface RouterOptions {
  readonly store: CapacityStore
  readonly view: CapacityView
  readonly circuits: CircuitBreakers
  readonly clock: () => number
  readonly random?: () => number
  readonly leaseTtlMs: number
  readonly heartbeatStaleMs: number
  /** Acquire attempts per tier before calling it saturated (each lost race costs one write). */
  readonly maxAttemptsPerTier?: number
  /** Called once per `acquire` with its outcome; must not throw (observability only). */
  readonly onDecision?: (decision: RouteDecision) => void
}

/**
 * Picks a backend for a request and reserves a slot on it: tiers in order
 * (degraded ones only when allowed), inside a tier the better of two weighted
 * random picks, one conditional write per attempt, another candidate on a lost race.
 */
export class Router {
  readonly #o: Required<Omit<RouterOptions, 'onDecision'>>
  readonly #onDecision: RouterOptions['onDecision']
  /** Mean seconds a lease is held, per hardware class: drives Retry-After. */
  readonly #holdSeconds = new Map<string, number>()

  constructor(options: RouterOptions) {
    this.#o = { random: Math.random, maxAttemptsPerTier: 8, ...options }
    this.#onDecision = options.onDecision
  }

  async acquire(options: RouteOptions): Promise<RouteResult> {
    const now = this.#o.clock()
    const staleBefore = now - this.#o.heartbeatStaleMs
    const backends = await this.#o.view.backends(now)
    let sawHealthy = false
    let slotsInAllowedTiers = 0
    let candidates = 0
    // Why each earlier tier did not serve: the reason a request lands on CPU or in the queue.
    const passed: string[] = []

    for (const tier of options.model.tiers) {
      if (tier.degraded && !options.mayDegrade) {
        passed.push(`${tier.hardware.join('/')} not allowed (key may not degrade)`)
        continue
      }
      const healthy = backends.filter(
        (b) =>
          tier.hardware.includes(b.hardware) &&
          b.models.includes(tier.model) &&
          isInRotation(b, staleBefore) &&
          !circuitOpenForAll(b, now) &&
          this.#o.circuits.allows(b.id, now) &&
          !options.exclude?.has(b.id),
      )
      if (healthy.length === 0) {
        passed.push(`${tier.hardware.join('/')} has no healthy backend`)
        continue
      }
      sawHealthy = true
      candidates += healthy.length
      slotsInAllowedTiers += healthy.reduce((sum, b) => sum + b.maxConcurrency, 0)

      const lease = await this.#acquireInTier(healthy, now, staleBefore)
      const where = () => [...new Set(healthy.map((b) => b.hardware))].join('/')
      if (lease) {
        const route: Route = tier.degraded ? 'fallback' : 'primary'
        const chosen = lease.backend
        // After our own write: one more slot was free when we chose it.
        const free = freeSlots(chosen, now) + 1
        this.#decided(() => ({
          model: options.model.id,
          outcome: route,
          hardware: chosen.hardware,
          backendId: chosen.id,
          candidates,
          reason: [
            ...passed,
            `${chosen.id} had ${free} of ${chosen.maxConcurrency} slots free` +
              ` (best of two among ${healthy.length} on ${where()})`,
          ].join('; '),
        }))
        return { ok: true, lease, tier, route }
      }
      if (this.#onDecision) passed.push(`${where()} full (all ${healthy.length} busy)`)
    }
    this.#decided(() => ({
      model: options.model.id,
      outcome: sawHealthy ? 'saturated' : 'no-backend',
      candidates,
      reason: passed.join('; ') || 'the model has no tiers',
    }))
    return sawHealthy
      ? { ok: false, reason: 'saturated', retryAfterSeconds: this.#retryAfter(slotsInAllowedTiers) }
      : { ok: false, reason: 'no-backend', retryAfterSeconds: 5 }
  }

  /** Builds the decision only when someone listens: the reason's strings cost nothing otherwise. */
  #decided(decision: () => RouteDecision): void {
    if (!this.#onDecision) return
    try {
      this.#onDecision(decision())
    } catch {
      // Observability must never fail a request.
    }
  }

  async #acquireInTier(
    healthy: BackendRecord[],
    now: number,
    staleBefore: number,
  ): Promise<HeldLease | undefined> {
    const view = this.#o.view
    const candidates = healthy
      .filter((b) => !view.isMarkedFull(b.id))
      .map((backend) => ({ id: backend.id, backend, free: freeSlots(backend, now) }))

    for (let attempt = 0; attempt < this.#o.maxAttemptsPerTier; attempt++) {
      const choice = pickBackend(candidates, this.#o.random)
      if (!choice) return undefined
      const leaseId = newLeaseId()
      const result = await this.#o.store.acquire({
        backendId: choice.id,
        leaseId,
        now,
        expiresAt: now + this.#o.leaseTtlMs,
        staleBefore,
        reclaim: expiredLeaseIds(choice.backend, now),
        maxConcurrency: choice.backend.maxConcurrency,
      })
      if (result.ok) {
        view.update(result.backend)
        this.#o.circuits.onAttempt(choice.id, now)
        return new HeldLease({
          store: this.#o.store,
          view,
          backend: result.backend,
          leaseId,
          acquiredAt: now,
          ttlMs: this.#o.leaseTtlMs,
          clock: this.#o.clock,
          onRelease: (heldMs) => this.#recordHold(result.backend.hardware, heldMs),
        })
      }
      // Lost the race (or the backend left rotation since the snapshot): skip it.
      view.markFull(choice.id)
      choice.free = 0
    }
    return undefined
  }

  #recordHold(hardware: string, heldMs: number): void {
    const previous = this.#holdSeconds.get(hardware) ?? heldMs / 1000
    this.#holdSeconds.set(hardware, previous * 0.9 + (heldMs / 1000) * 0.1)
  }

  /** With S slots each held H seconds on average, one frees every H/S seconds. */
  #retryAfter(slots: number): number {
    const holds = [...this.#holdSeconds.values()]
    const hold = holds.length ? holds.reduce((a, b) => a + b, 0) / holds.length : 2
    return Math.min(60, Math.max(1, Math.ceil(hold / Math.max(1, slots))))
  }
}
