import type { BackendRecord } from '../backends/backend-record.ts'
import type { CapacityStore } from '../capacity/capacity-store.ts'
import type { CapacityView } from './capacity-view.ts'

/**
 * A slot held on one backend. It renews itself at a third of the TTL while the
 * request runs (a long generation must not lose its slot), and `release()` is
 * idempotent so every exit path (success, error, client abort) may call it.
 *
 * A holder that loses its lease must stop, or the backend runs one request more
 * than its slots: `lost` aborts when a renewal finds the lease gone (reclaimed by
 * another process after it expired) or when renewals kept failing until the lease
 * had expired anyway (its slot may be someone else's by then).
 *
 * A release first offers the slot to this process's waiters (`handOver`): when one
 * takes it, the lease passes to that request in one write and is never freed in
 * between, so the slot does not sit idle for a release and an acquire round trip.
 * A request that ended well may instead leave its lease warm for the next request
 * of this process (`release({ reusable: true })`, see warm-leases.ts).
 */
export class HeldLease {
  readonly backend: BackendRecord
  readonly leaseId: string
  readonly #store: CapacityStore
  readonly #view: CapacityView
  readonly #acquiredAt: number
  readonly #ttlMs: number
  readonly #clock: () => number
  readonly #onRelease: (heldMs: number) => void
  readonly #handOver: HandOver | undefined
  readonly #lost = new AbortController()
  #handedOver = false
  #expiresAt: number
  #timer: NodeJS.Timeout | undefined
  /** Renewals on the wire: a handover waits for them (see `#doRelease`). */
  readonly #renewing = new Set<Promise<void>>()
  #released: Promise<void> | undefined

  constructor(options: {
    store: CapacityStore
    view: CapacityView
    backend: BackendRecord
    leaseId: string
    acquiredAt: number
    ttlMs: number
    /** The expiry the store holds, when it is not `acquiredAt + ttlMs` (a warm lease taken over). */
    expiresAt?: number
    clock: () => number
    onRelease: (heldMs: number) => void
    /** Offers the slot to a waiter of this process; true (or resolves true) when the lease passed on. */
    handOver?: HandOver
  }) {
    this.backend = options.backend
    this.leaseId = options.leaseId
    this.#store = options.store
    this.#view = options.view
    this.#acquiredAt = options.acquiredAt
    this.#ttlMs = options.ttlMs
    this.#clock = options.clock
    this.#onRelease = options.onRelease
    this.#handOver = options.handOver
    this.#expiresAt = options.expiresAt ?? options.acquiredAt + options.ttlMs
    this.#timer = setInterval(
      () => {
        const renewal = this.#renew()
        this.#renewing.add(renewal)
        void renewal.finally(() => this.#renewing.delete(renewal))
      },
      Math.max(250, Math.floor(this.#ttlMs / 3)),
    )
    // A pending renewal must not keep a finished process (or a Lambda invocation) alive.
    this.#timer.unref()
  }

  /** Aborts (reason: an Error) when the lease is lost; the holder aborts its backend call on it. */
  get lost(): AbortSignal {
    return this.#lost.signal
  }

  get released(): boolean {
    return this.#released !== undefined
  }

  /** After `release()`: whether the lease went to a waiting request instead of being freed. */
  get handedOver(): boolean {
    return this.#handedOver
  }

  /** The expiry the store holds for this lease (its last acquire, renewal or transfer plus the TTL). */
  get expiresAt(): number {
    return this.#expiresAt
  }

  /**
   * `reusable`: the request ended well (its answer complete), so the lease may stay warm
   * for this process's next request; any other end (an error, a client gone) frees it.
   */
  release(options?: { readonly reusable?: boolean }): Promise<void> {
    this.#released ??= this.#doRelease(options?.reusable === true)
    return this.#released
  }

  async #doRelease(reusable: boolean): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#onRelease(this.#clock() - this.#acquiredAt)
    // The new holder keeps this lease id, so a renewal still on the wire would land after the
    // transfer and set back the expiry it wrote (to when the renewal started): then another
    // process could reclaim the slot under its new holder. Let it land first.
    if (this.#handOver) await Promise.allSettled(this.#renewing)
    // A lost lease's slot may be someone else's by now: only a lease still ours is passed on.
    const offered = this.#lost.signal.aborted ? false : this.#handOver?.(this, reusable)
    // A handover whose write failed leaves the lease ours: it is released like any other.
    if (offered === true || (offered && (await offered.catch(() => false)))) {
      this.#handedOver = true
      return
    }
    const backend = await this.#store.release({ backendId: this.backend.id, leaseId: this.leaseId })
    if (backend) this.#view.update(backend)
  }

  async #renew(): Promise<void> {
    if (this.#released || this.#lost.signal.aborted) return
    const expiresAt = this.#clock() + this.#ttlMs
    let kept: boolean
    try {
      kept = await this.#store.renew({ backendId: this.backend.id, leaseId: this.leaseId, expiresAt })
    } catch {
      // A failed renewal is retried at the next tick while the lease has time left.
      if (this.#clock() >= this.#expiresAt) this.#loseLease('lease expired while renewals failed')
      return
    }
    if (this.#released) return
    if (kept) this.#expiresAt = expiresAt
    else this.#loseLease('lease reclaimed')
  }

  #loseLease(reason: string): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#lost.abort(new Error(reason))
  }
}

/**
 * Passes a lease this process is done with to a waiter of its own, or keeps it warm when
 * `reusable`: true, or a promise of true, when it did (the holder then writes nothing).
 */
export type HandOver = (lease: HeldLease, reusable: boolean) => Promise<boolean> | boolean
