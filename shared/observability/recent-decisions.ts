/**
 * The router's last decisions with their reason, for the dashboard ("why this
 * backend, why CPU, why queued"). A fixed-size ring: memory stays bounded however
 * long the process lives.
 */
export interface RoutingDecision {
  readonly at: number
  readonly model: string
  /** `primary`, `fallback` (a degraded tier) or, when nothing was free, `saturated` / `no-backend`. */
  readonly outcome: string
  readonly hardware?: string
  readonly backendId?: string
  /** One sentence a person can read. */
  readonly reason: string
}

export class RecentDecisions {
  readonly #capacity: number
  readonly #items: RoutingDecision[] = []
  #next = 0

  constructor(capacity = 50) {
    this.#capacity = capacity
  }

  push(decision: RoutingDecision): void {
    if (this.#items.length < this.#capacity) this.#items.push(decision)
    else this.#items[this.#next] = decision
    this.#next = (this.#next + 1) % this.#capacity
  }

  /** Newest first. */
  list(): RoutingDecision[] {
    const ordered = [...this.#items.slice(this.#next), ...this.#items.slice(0, this.#next)]
    return ordered.reverse()
  }
}
