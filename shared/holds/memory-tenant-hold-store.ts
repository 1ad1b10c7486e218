import type { HoldEntryResult, TenantHoldStore } from './tenant-hold-store.ts'

/** One process's holds (tests, a single Node gateway): the same rules as the DynamoDB adapter. */
export class MemoryTenantHoldStore implements TenantHoldStore {
  readonly #holds = new Map<string, Map<string, number>>()

  async enter(o: {
    tenantId: string
    holdId: string
    limit: number
    now: number
    expiresAt: number
  }): Promise<HoldEntryResult> {
    const holds = this.#tenant(o.tenantId)
    for (const [id, expiresAt] of holds) if (expiresAt < o.now) holds.delete(id)
    if (holds.size >= o.limit) return { ok: false, reason: 'too-many-holds', live: holds.size }
    holds.set(o.holdId, o.expiresAt)
    return { ok: true }
  }

  async renew(o: { tenantId: string; holdId: string; expiresAt: number }): Promise<boolean> {
    const holds = this.#tenant(o.tenantId)
    if (!holds.has(o.holdId)) return false
    holds.set(o.holdId, o.expiresAt)
    return true
  }

  async leave(o: { tenantId: string; holdId: string }): Promise<void> {
    this.#tenant(o.tenantId).delete(o.holdId)
  }

  async live(o: { tenantId: string; now: number }): Promise<number> {
    return [...this.#tenant(o.tenantId).values()].filter((expiresAt) => expiresAt >= o.now).length
  }

  #tenant(tenantId: string): Map<string, number> {
    const holds = this.#holds.get(tenantId) ?? new Map<string, number>()
    this.#holds.set(tenantId, holds)
    return holds
  }
}
