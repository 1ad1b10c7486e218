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
 *
 * What a read costs is bounded: when the whole table costs more read units than
 * `readUnitsPerSecond` allows per refresh, each refresh reads one scan segment of
 * as many as that takes (a rolling snapshot: every item read once per cycle), never
 * more segments than keep a cycle within `maxPartAgeMs`; a view whose oldest part
 * is older than that (a quiet instance) reads the whole table again. Heartbeats
 * then look at most that much older than they are, so `maxPartAgeMs` stays well
 * under the heartbeat staleness.
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
  readonly #readUnitsPerSecond: number
  readonly #maxPartAgeMs: number
  /** Scan segments a cycle reads (1: every refresh reads the whole table). */
  #segments = 1
  #nextSegment = 0
  #cycleUnits = 0
  /** When each segment of the current count was last read. */
  #partReadAt: number[] = []

  constructor(options: {
    store: CapacityStore
    maxAgeMs: number
    /** Read units a refresh may spend per second of `maxAgeMs`; unbounded when absent. */
    readUnitsPerSecond?: number
    /** Oldest a part of a rolling snapshot may get before the table is read whole again. */
    maxPartAgeMs?: number
  }) {
    this.#store = options.store
    this.#maxAgeMs = options.maxAgeMs
    this.#readUnitsPerSecond = options.readUnitsPerSecond ?? Number.POSITIVE_INFINITY
    this.#maxPartAgeMs = options.maxPartAgeMs ?? 5_000
  }

  /** Segments per cycle and the next one to read (the bench reports them). */
  get readPlan(): { readonly segments: number; readonly nextSegment: number } {
    return { segments: this.#segments, nextSegment: this.#nextSegment }
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

  /** Reads the store again (the whole table, or the next part of it); concurrent callers share one read. */
  refresh(now: number): Promise<void> {
    this.#refreshing ??= this.#read(now).finally(() => {
      this.#refreshing = undefined
    })
    return this.#refreshing
  }

  async #read(now: number): Promise<void> {
    const store = this.#store
    const oldestPart = Math.min(...this.#partReadAt)
    if (!store.readPart || this.#segments === 1 || now - oldestPart > this.#maxPartAgeMs) {
      const read = store.readPart
        ? await store.readPart({ segment: 0, segments: 1 })
        : { backends: await store.snapshot(), readUnits: 0 }
      this.#replaceAll(read.backends)
      this.#plan(read.readUnits)
      this.#partReadAt = Array.from({ length: this.#segments }, () => now)
    } else {
      const segment = this.#nextSegment
      const read = await store.readPart({ segment, segments: this.#segments })
      for (const backend of read.backends) this.#apply(backend)
      for (const id of read.goneIds) this.#remove(id)
      this.#partReadAt[segment] = now
      this.#cycleUnits += read.readUnits
      this.#nextSegment = segment + 1
      if (this.#nextSegment === this.#segments) {
        const segments = this.#segments
        this.#plan(this.#cycleUnits)
        // A new count places keys in other segments: start it from a whole read.
        if (this.#segments !== segments) this.#partReadAt = [Number.NEGATIVE_INFINITY]
      }
    }
    this.#fetchedAt = now
    this.#changed()
  }

  /** Segments for the next cycle, from what reading the whole table just cost. */
  #plan(tableUnits: number): void {
    const perRefresh = (this.#readUnitsPerSecond * Math.max(this.#maxAgeMs, 100)) / 1000
    const mostSegments = Math.max(1, Math.floor(this.#maxPartAgeMs / Math.max(this.#maxAgeMs, 100)))
    this.#segments = Math.min(mostSegments, Math.max(1, Math.ceil(tableUnits / perRefresh)))
    this.#nextSegment = 0
    this.#cycleUnits = 0
  }

  #replaceAll(backends: readonly BackendRecord[]): void {
    this.#backends = new Map(backends.map((b) => [b.id, b]))
    this.#list = undefined
    this.#fullUntilRefresh = new Set()
    for (const [key, tier] of this.#tiers) if (!tier.reload(this.#backends.values())) this.#tiers.delete(key)
  }

  #apply(backend: BackendRecord): void {
    if (!backend.id) return
    this.#backends.set(backend.id, backend)
    this.#list = undefined
    this.#fullUntilRefresh.delete(backend.id)
    for (const [key, tier] of this.#tiers) if (!tier.update(backend)) this.#tiers.delete(key)
  }

  #remove(backendId: string): void {
    if (!this.#backends.delete(backendId)) return
    this.#list = undefined
    this.#fullUntilRefresh.delete(backendId)
    // Rebuilt on next use without it.
    for (const [key, tier] of this.#tiers) if (tier.member(backendId)) this.#tiers.delete(key)
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

  /** The backend as this process last saw it, if it knows it. */
  record(backendId: string): BackendRecord | undefined {
    return this.#backends.get(backendId)
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
    this.#apply(backend)
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
