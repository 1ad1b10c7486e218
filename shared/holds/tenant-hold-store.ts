/**
 * How many synchronous requests a tenant has *held* (waiting for a queued job's
 * answer) at once, across every gateway instance. On Lambda each instance serves
 * one request, so only a shared record can count them.
 *
 * Each hold is an entry with an expiry, renewed while the hold lasts:
 *
 *   enter ──▶ live (expiresAt = now + ttl) ──renew──▶ live ──leave──▶ gone
 *                 └─ gateway dies ─▶ expired: still stored, no longer counted,
 *                                    removed by the next enter that needs room
 */
export type HoldEntryResult =
  | { readonly ok: true }
  /** The tenant's live holds already reach the limit; nothing was written. */
  | { readonly ok: false; readonly reason: 'too-many-holds'; readonly live: number }

export interface TenantHoldStore {
  /** Adds the hold when fewer than `limit` live holds remain; never leaves more than `limit` live. */
  enter(options: {
    readonly tenantId: string
    readonly holdId: string
    readonly limit: number
    readonly now: number
    readonly expiresAt: number
  }): Promise<HoldEntryResult>
  /** Extends a live hold; false when it is gone (expired and reclaimed). */
  renew(options: {
    readonly tenantId: string
    readonly holdId: string
    readonly expiresAt: number
  }): Promise<boolean>
  /** Removes the hold; idempotent. */
  leave(options: { readonly tenantId: string; readonly holdId: string }): Promise<void>
  /** Holds live at `now` (dashboards, tests). */
  live(options: { readonly tenantId: string; readonly now: number }): Promise<number>
}
