import type { BackendState } from '../backends/backend-record.ts'

/**
 * A backend's slots live in shard items of at most this many slots each, apart
 * from its registration. A write is billed by the whole item, and one item takes
 * at most 1,000 writes a second: 16 leases keep a shard under 1 KB (1 WCU per
 * acquire or release, however many slots the backend has), and a 256-slot backend
 * spreads its writes over 16 items (16,000 WCU/s) instead of one.
 */
export const SLOTS_PER_SHARD = 16

/** One shard as stored: its share of the backend's slots and the leases it holds. */
export interface SlotShard {
  readonly index: number
  /** Leases this shard may hold; the caps of a backend's shards sum to its maxConcurrency. */
  readonly cap: number
  /** The backend's state, copied: only an `active` shard takes a new lease. */
  readonly state: BackendState
  /** Lease id (shard-prefixed, see `shardLeaseId`) → expiry, epoch ms. */
  readonly leases: Readonly<Record<string, number>>
  /**
   * Leases above a lowered maximum this shard still holds (`ShardPlan`): while it owes
   * any, a release lowers the cap with it and an acquire must reclaim enough to settle.
   */
  readonly debt: number
  /** This process lost a race on it and could not see why (dynalite): full until the next read. */
  readonly full?: boolean
}

/** The caps of a backend's shards: as few shards as hold `maxConcurrency`, the slots spread evenly. */
export function shardCaps(maxConcurrency: number): number[] {
  const count = Math.max(1, Math.ceil(maxConcurrency / SLOTS_PER_SHARD))
  const base = Math.floor(maxConcurrency / count)
  const extra = maxConcurrency - base * count
  return Array.from({ length: count }, (_, i) => base + (i < extra ? 1 : 0))
}

/** The shard item's key: `#` never occurs in a backend id (admin-backends.ts), so no id collides. */
export function shardItemId(backendId: string, index: number): string {
  return `${backendId}#${index}`
}

/**
 * A lease id names its shard (`3.k2x…`): release, renewal, handover and reclaim then
 * find the one item to write without a read or a process-local map.
 */
export function shardLeaseId(index: number, leaseId: string): string {
  return `${index}.${leaseId}`
}

/** The shard a lease id names, or undefined for an id no shard store wrote. */
export function leaseShard(leaseId: string): number | undefined {
  const dot = leaseId.indexOf('.')
  if (dot <= 0 || dot > 4) return undefined
  const index = Number(leaseId.slice(0, dot))
  return Number.isInteger(index) && index >= 0 ? index : undefined
}

/** The live leases of a shard at `now` (an expired lease holds no slot). */
export function liveShardLeases(shard: SlotShard, now: number): number {
  let live = 0
  for (const id in shard.leases) if ((shard.leases[id] ?? 0) >= now) live++
  return live
}

/** Lease ids of a shard that are past their expiry at `now`. */
export function expiredShardLeases(shard: SlotShard, now: number): string[] {
  const expired: string[] = []
  for (const id in shard.leases) if ((shard.leases[id] ?? 0) < now) expired.push(id)
  return expired
}

/**
 * Up to `limit` shards to try in turn, each drawn with probability proportional to its
 * free slots: gateways with the same view then spread their acquires over the shards
 * rather than all racing for the emptiest.
 */
export function shardsToTry(
  shards: readonly SlotShard[],
  options: { readonly now: number; readonly limit: number; readonly random: () => number },
): SlotShard[] {
  const open: { shard: SlotShard; free: number }[] = []
  for (const shard of shards) {
    if (shard.state !== 'active' || shard.full) continue
    // A shard in debt takes a lease only by reclaiming enough to end at its settled cap.
    const free = shard.cap - shard.debt - liveShardLeases(shard, options.now)
    if (free > 0) open.push({ shard, free })
  }
  const chosen: SlotShard[] = []
  while (open.length > 0 && chosen.length < options.limit) {
    let total = 0
    for (const o of open) total += o.free
    let point = options.random() * total
    let at = 0
    while (at < open.length - 1 && point >= (open[at]?.free ?? 0)) point -= open[at++]?.free ?? 0
    const [picked] = open.splice(at, 1)
    if (picked) chosen.push(picked.shard)
  }
  return chosen
}

/** The backend's leases across its shards, as `BackendRecord.leases` shows them. */
export function mergedLeases(shards: readonly SlotShard[]): Record<string, number> {
  if (shards.length === 1) return { ...shards[0]?.leases }
  const leases: Record<string, number> = {}
  for (const shard of shards) Object.assign(leases, shard.leases)
  return leases
}

/** What a resize writes on one shard: its new cap, and how many of its leases must end unreplaced. */
export interface ShardPlan {
  readonly cap: number
  /**
   * Leases over the new maximum that this shard holds: each release pays one (the cap
   * goes down with the lease instead of freeing a slot), and the shard takes no lease
   * while it owes any.
   */
  readonly debt: number
}

/**
 * New caps for a backend's shards after a change of `maxConcurrency`, from their lease
 * counts read while every shard was frozen (cap 0, so counts only fall). The caps,
 * less the debts, sum to the new maximum; no cap is below its shard's leases, so what
 * is held stays held, and the leases above a lowered maximum drain instead of being
 * replaced: the backend never has more leases than its new maximum once the leases
 * held at the change have ended, and takes none while it is above it.
 */
export function planShardCaps(options: {
  readonly leases: readonly number[]
  readonly maxConcurrency: number
}): ShardPlan[] {
  const targets = shardCaps(options.maxConcurrency)
  const count = Math.max(targets.length, options.leases.length)
  const held = Array.from({ length: count }, (_, i) => options.leases[i] ?? 0)
  const target = Array.from({ length: count }, (_, i) => targets[i] ?? 0)
  const total = held.reduce((sum, n) => sum + n, 0)
  if (total <= options.maxConcurrency) {
    // Room for every lease held: caps at least the leases, trimmed back to the maximum.
    const caps = held.map((n, i) => Math.max(n, target[i] ?? 0))
    let excess = caps.reduce((sum, n) => sum + n, 0) - options.maxConcurrency
    for (let i = count - 1; i >= 0 && excess > 0; i--) {
      const trim = Math.min(excess, (caps[i] ?? 0) - (held[i] ?? 0))
      caps[i] = (caps[i] ?? 0) - trim
      excess -= trim
    }
    return caps.map((cap) => ({ cap, debt: 0 }))
  }
  // More leases than the new maximum: every shard keeps its count as cap and owes what it
  // holds above its target, forgiven back to exactly the overshoot.
  const debts = held.map((n, i) => Math.max(0, n - (target[i] ?? 0)))
  let forgiven = debts.reduce((sum, n) => sum + n, 0) - (total - options.maxConcurrency)
  for (let i = 0; i < count && forgiven > 0; i++) {
    const forgive = Math.min(forgiven, debts[i] ?? 0)
    debts[i] = (debts[i] ?? 0) - forgive
    forgiven -= forgive
  }
  return held.map((n, i) => ({ cap: n, debt: debts[i] ?? 0 }))
}
