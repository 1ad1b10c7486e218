import { randomBytes } from 'node:crypto'
import type { ApiKind } from '../backends/backend-apis.ts'
import { type BackendRecord, expiredLeaseIds, freeSlots, liveLeaseCount } from '../backends/backend-record.ts'
import type { CapacityStore } from '../capacity/capacity-store.ts'
import type { ModelConfig, ModelTier } from '../config/gateway-config.ts'
import type { CapacityView } from './capacity-view.ts'
import type { CircuitBreakers } from './circuit-breakers.ts'
import { HeldLease } from './held-lease.ts'
import { pickBackend } from './pick-backend.ts'
import type { TierCandidates, TierMember } from './tier-candidates.ts'
import { type WarmLease, WarmLeases } from './warm-leases.ts'

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
  /** The API of the request: only backends that serve it are candidates. Chat when absent. */
  readonly api?: ApiKind
  /** Backends already tried for this request (failover before the first byte). */
  readonly exclude?: ReadonlySet<string>
}

export type RouteResult =
  | { readonly ok: true; readonly lease: HeldLease; readonly tier: ModelTier; readonly route: Route }
  /** `saturated`: allowed tiers have healthy backends, all busy. `no-backend`: none healthy at all. */
  | { readonly ok: false; readonly reason: 'saturated' | 'no-backend'; readonly retryAfterSeconds: number }

/** A slot this process is about to free, offered to its waiters before it is. */
export interface FreedSlot {
  readonly backendId: string
  /**
   * Passes the lease to a request for `model`: the route it gets, or undefined when the
   * model may not use this backend here (then synchronously, so another waiter may ask),
   * when the slot already went to someone, or when the store refused the transfer.
   */
  take(options: {
    readonly model: ModelConfig
    readonly mayDegrade: boolean
    readonly api?: ApiKind
  }): Promise<Extract<RouteResult, { ok: true }> | undefined> | undefined
}

/** Resolves true when a waiter took the slot; false (or a false promise) frees it. */
export type SlotTaker = (slot: FreedSlot) => Promise<boolean> | false

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
  /**
   * How long a lease that a request ended well with stays warm for this process's next
   * request (warm-leases.ts); 0, the default: released at once. Only for long-lived processes.
   */
  readonly lingerMs?: number
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
  readonly #takers = new Set<SlotTaker>()
  readonly #warm: WarmLeases

  constructor(options: RouterOptions) {
    this.#o = { random: Math.random, maxAttemptsPerTier: 8, lingerMs: 0, ...options }
    this.#onDecision = options.onDecision
    this.#warm = new WarmLeases({ lingerMs: this.#o.lingerMs, free: (lease) => this.#free(lease) })
  }

  /** Leases kept warm now (for tests and the dashboard). */
  get warmLeases(): number {
    return this.#warm.size
  }

  /** Frees the leases kept warm: a server calls it as it stops, so its slots come back at once. */
  freeWarmLeases(): Promise<void> {
    return this.#warm.freeAll()
  }

  /**
   * Offers `taker` every slot a lease of this router is about to free (the worker's and
   * the gateway's slot gates): returns the unsubscribe function.
   */
  onSlotFreed(taker: SlotTaker): () => void {
    this.#takers.add(taker)
    return () => this.#takers.delete(taker)
  }

  /**
   * Re-reads the backends a waiting request may use (its allowed tiers' backends in
   * rotation, at most `LOOK_LIMIT`, a random sample beyond), so that a slot another
   * process freed is seen now rather than at the next snapshot.
   */
  async lookAgain(options: Pick<RouteOptions, 'model' | 'mayDegrade' | 'api'>): Promise<void> {
    const now = this.#o.clock()
    const staleBefore = now - this.#o.heartbeatStaleMs
    const ids = new Set<string>()
    for (const tier of options.model.tiers) {
      if (tier.degraded && !options.mayDegrade) continue
      for (const member of this.#o.view.candidates(tier, now, staleBefore, options.api ?? 'chat').members)
        if (member.eligible) ids.add(member.id)
    }
    await this.#o.view.refreshBackends(sample([...ids], LOOK_LIMIT, this.#o.random))
  }

  async acquire(options: RouteOptions): Promise<RouteResult> {
    const now = this.#o.clock()
    const staleBefore = now - this.#o.heartbeatStaleMs
    const refreshing = this.#o.view.ensureFresh(now)
    if (refreshing) await refreshing
    const unserved: TierCandidates[] = []
    // Why each earlier tier did not serve: the reason a request lands on CPU or in the queue.
    const passed: string[] = []

    for (const tier of options.model.tiers) {
      if (tier.degraded && !options.mayDegrade) {
        if (this.#onDecision) passed.push(`${tier.hardware.join('/')} not allowed (key may not degrade)`)
        continue
      }
      const candidates = this.#o.view.candidates(tier, now, staleBefore, options.api ?? 'chat')
      const warm =
        this.#warm.size > 0 ? await this.#takeWarm(candidates, now, staleBefore, options.exclude) : undefined
      if (warm) {
        const route: Route = tier.degraded ? 'fallback' : 'primary'
        this.#decided(() => ({
          model: options.model.id,
          outcome: route,
          hardware: warm.backend.hardware,
          backendId: warm.backend.id,
          candidates: candidates.eligible,
          reason: [
            ...passed,
            `${warm.backend.id}'s slot kept warm from a request of this process that ended`,
          ].join('; '),
        }))
        return { ok: true, lease: warm, tier, route }
      }
      const lease = await this.#acquireInTier(candidates, now, staleBefore, options.exclude)
      if (lease) {
        const route: Route = tier.degraded ? 'fallback' : 'primary'
        const chosen = lease.backend
        this.#decided(() => ({
          model: options.model.id,
          outcome: route,
          hardware: chosen.hardware,
          backendId: chosen.id,
          candidates: candidates.eligible,
          reason: [
            ...passed,
            // After our own write: one more slot was free when we chose it.
            `${chosen.id} had ${freeSlots(chosen, now) + 1} of ${chosen.maxConcurrency} slots free` +
              ` (best of two among ${candidates.eligible} on ${tier.hardware.join('/')})`,
          ].join('; '),
        }))
        return { ok: true, lease, tier, route }
      }
      if (this.#onDecision) {
        passed.push(
          candidates.eligible === 0
            ? `${tier.hardware.join('/')} has no healthy backend`
            : `${tier.hardware.join('/')} full (all ${candidates.eligible} busy)`,
        )
      }
      unserved.push(candidates)
    }
    const refusal = this.#refusal(unserved, now, options.exclude)
    if (!refusal.ok) {
      const outcome = refusal.reason
      this.#decided(() => ({
        model: options.model.id,
        outcome,
        candidates: unserved.reduce((sum, tier) => sum + tier.eligible, 0),
        reason: passed.join('; ') || 'the model has no tiers',
      }))
    }
    return refusal
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
    candidates: TierCandidates,
    now: number,
    staleBefore: number,
    exclude: ReadonlySet<string> | undefined,
  ): Promise<HeldLease | undefined> {
    const view = this.#o.view
    const draw = candidates.draw()
    if (exclude) for (const id of exclude) draw.skipId(id)
    const allows = (member: TierMember) => this.#o.circuits.allows(member.id, now)

    for (let attempt = 0; attempt < this.#o.maxAttemptsPerTier; attempt++) {
      const choice = pickBackend(draw, this.#o.random, allows)
      if (!choice) return undefined
      const result = await this.#o.store.acquire({
        backendId: choice.id,
        leaseId: newLeaseId(),
        now,
        expiresAt: now + this.#o.leaseTtlMs,
        staleBefore,
        reclaim: expiredLeaseIds(choice.record, now),
        maxConcurrency: choice.record.maxConcurrency,
      })
      if (result.ok) {
        view.update(result.backend)
        this.#o.circuits.onAttempt(choice.id, now)
        return this.#held(result.backend, result.leaseId, now)
      }
      // Lost the race (or the backend left rotation since the snapshot): skip it. Skipped in
      // this draw too, in case a read replaced the index while the write was in flight.
      view.markFull(choice.id)
      draw.skip(choice)
    }
    return undefined
  }

  /**
   * A warm lease on a backend this tier may use now. Taken over without a write while its
   * last write is recent (its renewals then keep their usual margin); an older one is
   * renewed by a transfer first, and one the store refuses (gone, or on a shard in debt
   * since a lowered maximum) is freed.
   */
  async #takeWarm(
    candidates: TierCandidates,
    now: number,
    staleBefore: number,
    exclude: ReadonlySet<string> | undefined,
  ): Promise<HeldLease | undefined> {
    for (const backendId of [...this.#warm.backendIds()]) {
      const member = candidates.member(backendId)
      if (!member?.eligible || exclude?.has(backendId) || !this.#o.circuits.allows(backendId, now)) continue
      const lease = this.#warm.take(backendId)
      if (!lease) continue
      // Above a lowered maximum a lease must not start new work without the store's say: the
      // transfer below is refused there (the shard owes the slot), and the lease is freed.
      const overMaximum = liveLeaseCount(member.record, now) > member.record.maxConcurrency
      const recent =
        lease.expiresAt - now >= this.#o.leaseTtlMs - this.#o.leaseTtlMs / WRITE_FREE_SHARE_OF_TTL
      if (recent && !overMaximum) {
        this.#o.circuits.onAttempt(backendId, now)
        return this.#held(member.record, lease.leaseId, now, lease.expiresAt)
      }
      const backend = await this.#o.store
        .transfer({ ...lease, expiresAt: now + this.#o.leaseTtlMs, staleBefore })
        .catch(() => undefined)
      if (backend) {
        this.#o.view.update(backend)
        this.#o.circuits.onAttempt(backendId, now)
        return this.#held(backend, lease.leaseId, now)
      }
      void this.#free(lease)
    }
    return undefined
  }

  #held(backend: BackendRecord, leaseId: string, now: number, expiresAt?: number): HeldLease {
    return new HeldLease({
      store: this.#o.store,
      view: this.#o.view,
      backend,
      leaseId,
      acquiredAt: now,
      ttlMs: this.#o.leaseTtlMs,
      ...(expiresAt === undefined ? {} : { expiresAt }),
      clock: this.#o.clock,
      onRelease: (heldMs) => this.#recordHold(backend.hardware, heldMs),
      handOver: (lease, reusable) => this.#offer(lease) || (reusable && this.#park(lease)),
    })
  }

  /**
   * Keeps a lease warm when the backend has another slot free per this process's view:
   * then nobody anywhere waits for this one, so keeping it idles nothing a backlog needs.
   */
  #park(lease: HeldLease): boolean {
    if (this.#o.lingerMs <= 0) return false
    const now = this.#o.clock()
    const record = this.#o.view.record(lease.backend.id) ?? lease.backend
    if (record.state !== 'active' || freeSlots(record, now) < 1) return false
    // Near its expiry a lease would need a transfer write anyway: free it instead.
    if (lease.expiresAt - now < this.#o.leaseTtlMs / 3) return false
    this.#warm.park({ backendId: lease.backend.id, leaseId: lease.leaseId, expiresAt: lease.expiresAt })
    return true
  }

  async #free(lease: WarmLease): Promise<void> {
    try {
      const backend = await this.#o.store.release(lease)
      if (backend) this.#o.view.update(backend)
    } catch {
      // Unreachable store: the lease expires by its TTL, as a crashed holder's does.
    }
  }

  /** The first taker whose waiter may use the slot gets it; none, and the lease is freed. */
  #offer(lease: HeldLease): Promise<boolean> | false {
    if (this.#takers.size === 0) return false
    let taken = false
    const slot: FreedSlot = {
      backendId: lease.backend.id,
      take: (options) => {
        if (taken) return undefined
        const now = this.#o.clock()
        const staleBefore = now - this.#o.heartbeatStaleMs
        const tier = this.#tierServing(lease.backend.id, options, now, staleBefore)
        if (!tier) return undefined
        taken = true
        return this.#transfer({ lease, model: options.model, tier, now, staleBefore })
      },
    }
    for (const taker of this.#takers) {
      const offered = taker(slot)
      if (offered) return offered
    }
    return false
  }

  /** The first tier, in the model's order, where this backend is eligible for the request. */
  #tierServing(
    backendId: string,
    options: { readonly model: ModelConfig; readonly mayDegrade: boolean; readonly api?: ApiKind },
    now: number,
    staleBefore: number,
  ): ModelTier | undefined {
    if (!this.#o.circuits.allows(backendId, now)) return undefined
    for (const tier of options.model.tiers) {
      if (tier.degraded && !options.mayDegrade) continue
      if (this.#o.view.candidates(tier, now, staleBefore, options.api ?? 'chat').member(backendId)?.eligible)
        return tier
    }
    return undefined
  }

  async #transfer(options: {
    lease: HeldLease
    model: ModelConfig
    tier: ModelTier
    now: number
    staleBefore: number
  }): Promise<Extract<RouteResult, { ok: true }> | undefined> {
    const { lease, tier, now, staleBefore } = options
    const backend = await this.#o.store.transfer({
      backendId: lease.backend.id,
      leaseId: lease.leaseId,
      expiresAt: now + this.#o.leaseTtlMs,
      staleBefore,
    })
    if (!backend) return undefined
    this.#o.view.update(backend)
    this.#o.circuits.onAttempt(backend.id, now)
    this.#decided(() => ({
      model: options.model.id,
      outcome: tier.degraded ? 'fallback' : 'primary',
      hardware: backend.hardware,
      backendId: backend.id,
      candidates: 1,
      reason: `${backend.id}'s slot passed on from a request of this process that ended (no release, no acquire)`,
    }))
    return {
      ok: true,
      lease: this.#held(backend, lease.leaseId, now),
      tier,
      route: tier.degraded ? 'fallback' : 'primary',
    }
  }

  /**
   * Saturated (some allowed tier has a healthy backend, all busy) or no-backend.
   * Retry-After divides by the healthy backends' slots, and only this process's
   * breakers can take an eligible backend out; asking them about every backend
   * would cost what the index saves, so the count stops as soon as the slots
   * found give the same Retry-After as all eligible slots would: it cannot change
   * between those two bounds.
   */
  #refusal(
    unserved: readonly TierCandidates[],
    now: number,
    exclude: ReadonlySet<string> | undefined,
  ): RouteResult {
    let eligible = 0
    let eligibleSlots = 0
    for (const tier of unserved) {
      eligible += tier.eligible
      eligibleSlots += tier.eligibleSlots
      if (!exclude) continue
      for (const id of exclude) {
        const member = tier.member(id)
        if (!member?.eligible) continue
        eligible--
        eligibleSlots -= member.slots
      }
    }
    if (eligible === 0) return { ok: false, reason: 'no-backend', retryAfterSeconds: 5 }
    const hold = this.#meanHoldSeconds()
    const atMost = retryAfterSeconds(hold, eligibleSlots)
    let sawHealthy = false
    let slots = 0
    search: for (const tier of unserved) {
      for (const member of tier.members) {
        if (!member.eligible || exclude?.has(member.id) || !this.#o.circuits.allows(member.id, now)) continue
        sawHealthy = true
        slots += member.slots
        if (retryAfterSeconds(hold, slots) === atMost) break search
      }
    }
    return sawHealthy
      ? { ok: false, reason: 'saturated', retryAfterSeconds: retryAfterSeconds(hold, slots) }
      : { ok: false, reason: 'no-backend', retryAfterSeconds: 5 }
  }

  #recordHold(hardware: string, heldMs: number): void {
    const previous = this.#holdSeconds.get(hardware) ?? heldMs / 1000
    this.#holdSeconds.set(hardware, previous * 0.9 + (heldMs / 1000) * 0.1)
  }

  #meanHoldSeconds(): number {
    let sum = 0
    for (const seconds of this.#holdSeconds.values()) sum += seconds
    return this.#holdSeconds.size ? sum / this.#holdSeconds.size : 2
  }
}

/**
 * A warm lease is taken over without a write while its last write is at most this share
 * of the TTL old, so its new holder's renewals (every third of the TTL) still get two
 * tries before it expires; an older one is renewed by a transfer first.
 */
const WRITE_FREE_SHARE_OF_TTL = 6

/**
 * Backends one look reads. A strongly consistent read costs a read unit per item, and a
 * look repeats every few tens of ms while someone waits: a few items, not the tier.
 */
const LOOK_LIMIT = 4

function sample<T>(items: T[], size: number, random: () => number): T[] {
  if (items.length <= size) return items
  // A partial Fisher-Yates shuffle: the first `size` places end up a uniform sample.
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (items.length - i))
    const picked = items[j] as T
    items[j] = items[i] as T
    items[i] = picked
  }
  return items.slice(0, size)
}

/** With S slots each held H seconds on average, one frees every H/S seconds. */
function retryAfterSeconds(holdSeconds: number, slots: number): number {
  return Math.min(60, Math.max(1, Math.ceil(holdSeconds / Math.max(1, slots))))
}
