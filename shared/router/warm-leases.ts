import type { LeaseRef } from '../capacity/capacity-store.ts'

/** A lease a request of this process finished with, kept for the next request. */
export interface WarmLease extends LeaseRef {
  /** The expiry the store holds for it (its last acquire, renewal or transfer plus the TTL). */
  readonly expiresAt: number
}

interface Entry {
  readonly lease: WarmLease
  readonly timer: NodeJS.Timeout
}

/**
 * Slots kept warm between requests, as a connection pool keeps sockets: a request
 * that ends well parks its lease here instead of releasing it, and a request that
 * starts within `lingerMs` takes it over without an acquire write (and the first
 * one without a release write either). A lease nobody takes in time is freed.
 *
 * The store still holds the lease all along, so every other process counts the
 * slot as taken: no backend can run more than its slots, and a process that dies
 * with leases parked gives them back by their TTL like any other. What it costs is
 * that slot's idleness for at most `lingerMs`, which is why the router parks only
 * where the backend has another slot free (nobody is waiting for this one), and
 * only in processes that outlive a request (not on Lambda, where a frozen
 * environment would sit on its parked slots until their TTL).
 */
export class WarmLeases {
  readonly #lingerMs: number
  readonly #free: (lease: WarmLease) => Promise<void>
  /** Per backend, most recently parked last: the newest has the longest time left. */
  readonly #byBackend = new Map<string, Entry[]>()
  #size = 0

  constructor(options: { lingerMs: number; free: (lease: WarmLease) => Promise<void> }) {
    this.#lingerMs = options.lingerMs
    this.#free = options.free
  }

  get size(): number {
    return this.#size
  }

  /** Backends with a lease parked, for a caller that picks among them. */
  backendIds(): IterableIterator<string> {
    return this.#byBackend.keys()
  }

  park(lease: WarmLease): void {
    const timer = setTimeout(() => this.#expire(lease), this.#lingerMs)
    // A parked lease must not keep a finished process alive: its TTL frees it anyway.
    timer.unref()
    const entries = this.#byBackend.get(lease.backendId)
    if (entries) entries.push({ lease, timer })
    else this.#byBackend.set(lease.backendId, [{ lease, timer }])
    this.#size++
  }

  /** The newest lease parked on `backendId`, now the caller's; undefined when there is none. */
  take(backendId: string): WarmLease | undefined {
    const entries = this.#byBackend.get(backendId)
    const entry = entries?.pop()
    if (!entry) return undefined
    if (entries?.length === 0) this.#byBackend.delete(backendId)
    clearTimeout(entry.timer)
    this.#size--
    return entry.lease
  }

  /** Frees every parked lease (a server that stops): resolves once each release settled. */
  async freeAll(): Promise<void> {
    const leases: WarmLease[] = []
    for (const entries of this.#byBackend.values()) {
      for (const entry of entries) {
        clearTimeout(entry.timer)
        leases.push(entry.lease)
      }
    }
    this.#byBackend.clear()
    this.#size = 0
    await Promise.allSettled(leases.map((lease) => this.#free(lease)))
  }

  #expire(lease: WarmLease): void {
    const entries = this.#byBackend.get(lease.backendId)
    const index = entries?.findIndex((entry) => entry.lease === lease) ?? -1
    if (!entries || index === -1) return
    entries.splice(index, 1)
    if (entries.length === 0) this.#byBackend.delete(lease.backendId)
    this.#size--
    void this.#free(lease).catch(() => undefined)
  }
}
