/**
 * The router as it was before the tier index (spillway main, December 2026),
 * kept as the oracle for the indexed one: each decision filters the whole
 * snapshot and re-derives every backend's free slots. Not used by the gateway.
 */

import { backendApis } from '../../../shared/backends/backend-apis.ts'
import {
  type BackendRecord,
  circuitOpenForAll,
  expiredLeaseIds,
  freeSlots,
  isInRotation,
} from '../../../shared/backends/backend-record.ts'
import { HeldLease } from '../../../shared/router/held-lease.ts'
import {
  newLeaseId,
  type RouteOptions,
  type RouteResult,
  type RouterOptions,
} from '../../../shared/router/router.ts'

interface Candidate {
  readonly id: string
  free: number
}

export function referencePick<T extends Candidate>(
  candidates: readonly T[],
  random: () => number,
): T | undefined {
  const open = candidates.filter((c) => c.free > 0)
  if (open.length <= 1) return open[0]
  const first = weightedDraw(open, random, undefined)
  const second = weightedDraw(open, random, first)
  if (!first || !second) return first ?? second
  if (second.free !== first.free) return second.free > first.free ? second : first
  return first
}

function weightedDraw<T extends Candidate>(
  items: readonly T[],
  random: () => number,
  exclude: T | undefined,
): T | undefined {
  let total = 0
  for (const item of items) if (item !== exclude) total += item.free
  let target = random() * total
  let last: T | undefined
  for (const item of items) {
    if (item === exclude) continue
    last = item
    target -= item.free
    if (target < 0) return item
  }
  return last
}

export class ReferenceRouter {
  readonly #o: Required<Omit<RouterOptions, 'onDecision'>>
  readonly #holdSeconds = new Map<string, number>()

  constructor(options: RouterOptions) {
    this.#o = { random: Math.random, maxAttemptsPerTier: 8, lingerMs: 0, ...options }
  }

  /** The backends a decision at `now` may pick from, per allowed tier. */
  async healthy(options: RouteOptions): Promise<BackendRecord[][]> {
    const now = this.#o.clock()
    const staleBefore = now - this.#o.heartbeatStaleMs
    const backends = await this.#o.view.backends(now)
    return options.model.tiers
      .filter((tier) => !tier.degraded || options.mayDegrade)
      .map((tier) =>
        backends.filter(
          (b) =>
            tier.hardware.includes(b.hardware) &&
            b.models.includes(tier.model) &&
            backendApis(b).includes(options.api ?? 'chat') &&
            backendApis(b).includes(options.api ?? 'chat') &&
            isInRotation(b, staleBefore) &&
            !circuitOpenForAll(b, now) &&
            this.#o.circuits.allows(b.id, now) &&
            !options.exclude?.has(b.id),
        ),
      )
  }

  async acquire(options: RouteOptions): Promise<RouteResult> {
    const now = this.#o.clock()
    const staleBefore = now - this.#o.heartbeatStaleMs
    const backends = await this.#o.view.backends(now)
    let sawHealthy = false
    let slotsInAllowedTiers = 0

    for (const tier of options.model.tiers) {
      if (tier.degraded && !options.mayDegrade) continue
      const healthy = backends.filter(
        (b) =>
          tier.hardware.includes(b.hardware) &&
          b.models.includes(tier.model) &&
          backendApis(b).includes(options.api ?? 'chat') &&
          isInRotation(b, staleBefore) &&
          !circuitOpenForAll(b, now) &&
          this.#o.circuits.allows(b.id, now) &&
          !options.exclude?.has(b.id),
      )
      if (healthy.length === 0) continue
      sawHealthy = true
      slotsInAllowedTiers += healthy.reduce((sum, b) => sum + b.maxConcurrency, 0)

      const lease = await this.#acquireInTier(healthy, now, staleBefore)
      if (lease) return { ok: true, lease, tier, route: tier.degraded ? 'fallback' : 'primary' }
    }
    return sawHealthy
      ? { ok: false, reason: 'saturated', retryAfterSeconds: this.#retryAfter(slotsInAllowedTiers) }
      : { ok: false, reason: 'no-backend', retryAfterSeconds: 5 }
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
      const choice = referencePick(candidates, this.#o.random)
      if (!choice) return undefined
      const leaseId = newLeaseId()
      const result = await this.#o.store.acquire({
        backendId: choice.id,
        leaseId,
        now,
        expiresAt: now + this.#o.leaseTtlMs,
        staleBefore,
        reclaim: expiredLeaseIds(choice.backend, now),
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
      view.markFull(choice.id)
      choice.free = 0
    }
    return undefined
  }

  #recordHold(hardware: string, heldMs: number): void {
    const previous = this.#holdSeconds.get(hardware) ?? heldMs / 1000
    this.#holdSeconds.set(hardware, previous * 0.9 + (heldMs / 1000) * 0.1)
  }

  #retryAfter(slots: number): number {
    const holds = [...this.#holdSeconds.values()]
    const hold = holds.length ? holds.reduce((a, b) => a + b, 0) / holds.length : 2
    return Math.min(60, Math.max(1, Math.ceil(hold / Math.max(1, slots))))
  }
}
