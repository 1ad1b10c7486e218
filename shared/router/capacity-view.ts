import type { ApiKind } from '../backends/backend-apis.ts'
import type { BackendRecord } from '../backends/backend-record.ts'
import type { CapacityStore } from '../capacity/capacity-store.ts'
import { TierCandidates, type TierSpec } from './tier-candidates.ts'

/**
 * This process's view of the fleet: a snapshot read at most once per
 * `maxAgeMs`, kept current between reads from the items that our own acquire
 * and release writes return. A lost race marks the backend full until the next
 * read or our next write to it, so we do not hammer an item we know is full.
 * Each tier the router asks about gets an index of its candidates, built on
 * first use and kept current by every change after that, reads included.
 */
export class CapacityView {
  readonly #store: CapacityStore
  readonly #maxAgeMs: number
  #backends = new Map<string, BackendRecord>()
  /** The map's values as an array, rebuilt only after a change, not per request. */
  #list: readonly BackendRecord[] | undefined
  #fullUntilRefresh = new Set<string>()
  /** Tier key → its candidates; rebuilt when a backend joins or leaves the tier. */
  readonly #tiers = new Map<string, TierCandidates>()
  #fetchedAt = Number.NEGATIVE_INFINITY
  #refreshing: Promise<void> | undefined
  readonly #listeners = new Set<() => void>()

  constructor(options: { store: CapacityStore; maxAgeMs: number }) {
    this.#store = options.store
    this.#maxAgeMs = options.maxAgeMs
  }

  async backends(now: number): Promise<readonly BackendRecord[]> {
    await this.ensureFresh(now)
    this.#list ??= [...this.#backends.values()]
    return this.#list
  }

  /** Reads the store again if the snapshot is older than `maxAgeMs`; nothing to wait for otherwise. */
  ensureFresh(now: number): Promise<void> | undefined {
    return now - this.#fetchedAt > this.#maxAgeMs ? this.refresh(now) : undefined
  }

  /** Reads the store again; concurrent callers share one read. */
  refresh(now: number): Promise<void> {
    this.#refreshing ??= this.#store
      .snapshot()
      .then((backends) => {
        this.#backends = new Map(backends.map((b) => [b.id, b]))
        this.#list = undefined
        this.#fullUntilRefresh = new Set()
        for (const [key, tier] of this.#tiers)
          if (!tier.reload(this.#backends.values())) this.#tiers.delete(key)
        this.#fetchedAt = now
        this.#changed()
      })
      .finally(() => {
        this.#refreshing = undefined
      })
    return this.#refreshing
  }

  /**
   * Reads just these backends again (a waiter's look for slots other processes freed):
   * each one read replaces the snapshot's record, as a write's returned item does.
   */
  async refreshBackends(backendIds: readonly string[]): Promise<void> {
    if (backendIds.length === 0) return
    for (const backend of await this.#store.read(backendIds)) this.update(backend)
  }

  /**
   * The tier's candidates for one API as of `now` (heartbeats older than `staleBefore` are out
   * of rotation): one index per (tier, API), so a draw never lands on a backend without the API.
   */
  candidates(
    tier: TierSpec,
    now: number,
    staleBefore: number,
    api: ApiKind = tier.api ?? 'chat',
  ): TierCandidates {
    const key = tierKey(tier, api)
    const known = this.#tiers.get(key)
    if (known) {
      known.advanceTo(now, staleBefore)
      return known
    }
    const built = new TierCandidates({
      tier: { hardware: tier.hardware, model: tier.model, api },
      backends: this.#backends.values(),
      markedFull: this.#fullUntilRefresh,
      now,
      staleBefore,
    })
    this.#tiers.set(key, built)
    return built
  }

  isMarkedFull(backendId: string): boolean {
    return this.#fullUntilRefresh.has(backendId)
  }

  markFull(backendId: string): void {
    this.#fullUntilRefresh.add(backendId)
    for (const tier of this.#tiers.values()) tier.markFull(backendId)
  }

  /** The item as our last write left it: fresher than the snapshot for that backend. */
  update(backend: BackendRecord): void {
    if (!backend.id) return
    this.#backends.set(backend.id, backend)
    this.#list = undefined
    this.#fullUntilRefresh.delete(backend.id)
    for (const [key, tier] of this.#tiers) if (!tier.update(backend)) this.#tiers.delete(key)
    this.#changed()
  }

  /**
   * Calls `listener` after every change to the view (a write's returned item or
   * a fresh snapshot): a worker waiting for a slot wakes on a release at once
   * instead of at its next poll. Returns the unsubscribe function.
   */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #changed(): void {
    for (const listener of this.#listeners) listener()
  }
}

function tierKey(tier: TierSpec, api: ApiKind): string {
  return `${api}\u0000${tier.model}\u0000${tier.hardware.join('\u0000')}`
}
