import type { BackendRecord } from '../backends/backend-record.ts'
import { servesTier, type TierSpec, tierEligibility } from './eligibility.ts'
import { FenwickTree } from './fenwick-tree.ts'
import type { WeightedCandidates } from './pick-backend.ts'
import { newTimer, type Timer, TimerHeap } from './timer-heap.ts'

export type { TierSpec } from './eligibility.ts'

/** One backend of the tier, as the index sees it at the index's instant. */
export class TierMember {
  readonly id: string
  /** Place in the view's order; the weighted draw walks the tier in this order. */
  readonly position: number
  record: BackendRecord
  /** In rotation (active, heartbeat fresh) and no circuit open for every process. */
  eligible = false
  markedFull: boolean
  /** Free slots if eligible and not marked full, else 0: its weight in the draw. */
  weight = 0
  /** What it adds to the tier's eligible slots (its maxConcurrency while eligible). */
  slots = 0
  readonly heartbeatStale: Timer<TierMember> = newTimer(this)
  readonly leaseExpiry: Timer<TierMember> = newTimer(this)
  readonly circuitClose: Timer<TierMember> = newTimer(this)

  constructor(record: BackendRecord, position: number, markedFull: boolean) {
    this.id = record.id
    this.record = record
    this.position = position
    this.markedFull = markedFull
  }
}

/**
 * The backends that can serve one tier, with their free slots in a Fenwick tree
 * so that a decision draws in O(log n) instead of re-deriving every backend's
 * free slots from the snapshot. The view keeps it current with each item its
 * writes return; time is handled by three timer heaps, so only the backends
 * whose state changes at the new instant are re-evaluated:
 *   heartbeat stale: heartbeatAt < staleBefore       → out of rotation
 *   lease expiry:    the earliest live lease < now   → a slot frees
 *   circuit closed:  circuitOpenUntil ≤ now          → back in rotation
 * The instant only moves forward: a decision holding an older clock reading (a
 * concurrent one, or a clock stepped back) sees the fleet as of the newest,
 * which is closer to what the store will see when the write lands.
 */
export class TierCandidates {
  readonly members: readonly TierMember[]
  readonly #byId: Map<string, TierMember>
  readonly #tree: FenwickTree
  readonly #tier: TierSpec
  #open = 0
  #eligible = 0
  #eligibleSlots = 0
  #now: number
  #staleBefore: number
  readonly #heartbeats = new TimerHeap<TierMember>()
  readonly #leaseExpiries = new TimerHeap<TierMember>()
  readonly #circuitCloses = new TimerHeap<TierMember>()

  constructor(options: {
    tier: TierSpec
    /** Every backend of the view, in the view's order. */
    backends: Iterable<BackendRecord>
    markedFull: ReadonlySet<string>
    now: number
    staleBefore: number
  }) {
    this.#tier = options.tier
    this.#now = options.now
    this.#staleBefore = options.staleBefore
    const members: TierMember[] = []
    for (const record of options.backends) {
      if (!servesTier(options.tier, record)) continue
      const member = new TierMember(record, members.length, options.markedFull.has(record.id))
      members.push(member)
    }
    this.members = members
    this.#byId = new Map(members.map((m) => [m.id, m]))
    this.#tree = new FenwickTree(new Array<number>(members.length).fill(0))
    for (const member of members) this.#evaluate(member)
  }

  /** Backends with a free slot (eligible, not marked full). */
  get open(): number {
    return this.#open
  }

  /** Free slots over the open backends. */
  get total(): number {
    return this.#tree.total
  }

  /** Backends in rotation with no circuit open for all, full or not. */
  get eligible(): number {
    return this.#eligible
  }

  /** Σ maxConcurrency over the eligible backends: what Retry-After divides by. */
  get eligibleSlots(): number {
    return this.#eligibleSlots
  }

  member(id: string): TierMember | undefined {
    return this.#byId.get(id)
  }

  /** Free slots held by members before `position`. */
  weightBefore(position: number): number {
    return this.#tree.prefix(position)
  }

  /** The member holding the `target`-th free slot in view order (0 ≤ target < total). */
  at(target: number): TierMember {
    const member = this.members[this.#tree.find(target)]
    if (!member) throw new RangeError(`draw target ${target} outside the tier's ${this.total} free slots`)
    return member
  }

  /** A draw for one decision: it skips backends without touching the shared index. */
  draw(): TierDraw {
    return new TierDraw(this)
  }

  /** Moves the index to a later instant, re-evaluating only the backends whose state changes. */
  advanceTo(now: number, staleBefore: number): void {
    if (now > this.#now) this.#now = now
    if (staleBefore > this.#staleBefore) this.#staleBefore = staleBefore
    let due = this.#heartbeats.peek()
    while (due && due.at < this.#staleBefore) {
      this.#evaluate(due.owner)
      due = this.#heartbeats.peek()
    }
    due = this.#leaseExpiries.peek()
    while (due && due.at < this.#now) {
      this.#evaluate(due.owner)
      due = this.#leaseExpiries.peek()
    }
    due = this.#circuitCloses.peek()
    while (due && due.at <= this.#now) {
      this.#evaluate(due.owner)
      due = this.#circuitCloses.peek()
    }
  }

  /**
   * Takes in a backend's new item. False when the item joins or leaves the tier
   * (a new backend, changed models): positions are fixed, so the view rebuilds.
   */
  update(record: BackendRecord): boolean {
    const member = this.#byId.get(record.id)
    const serves = servesTier(this.#tier, record)
    if (!member) return !serves
    if (!serves) return false
    member.record = record
    member.markedFull = false
    this.#evaluate(member)
    return true
  }

  /**
   * Takes in a fresh snapshot (every backend, in the view's order). False when
   * the tier's membership or order changed: the view rebuilds it then. Otherwise
   * only the backends whose item changed are re-evaluated, which is all of them
   * after a full Scan but none for a store that hands back unchanged items as is.
   */
  reload(backends: Iterable<BackendRecord>): boolean {
    const changed: [TierMember, BackendRecord][] = []
    let position = 0
    for (const record of backends) {
      if (!servesTier(this.#tier, record)) continue
      const member = this.members[position++]
      if (member?.id !== record.id) return false
      if (member.record !== record || member.markedFull) changed.push([member, record])
    }
    if (position !== this.members.length) return false
    for (const [member, record] of changed) {
      member.record = record
      member.markedFull = false
      this.#evaluate(member)
    }
    return true
  }

  markFull(id: string): void {
    const member = this.#byId.get(id)
    if (!member || member.markedFull) return
    member.markedFull = true
    this.#evaluate(member)
  }

  #evaluate(member: TierMember): void {
    const { record } = member
    const { inRotation, circuitOpen, eligible } = tierEligibility(this.#tier, record, {
      now: this.#now,
      staleBefore: this.#staleBefore,
    })
    const leases = eligible ? liveLeases(record, this.#now) : undefined
    const weight = leases && !member.markedFull ? Math.max(0, record.maxConcurrency - leases.count) : 0

    const slots = eligible ? record.maxConcurrency : 0
    if (eligible !== member.eligible) this.#eligible += eligible ? 1 : -1
    this.#eligibleSlots += slots - member.slots
    if (weight > 0 !== member.weight > 0) this.#open += weight > 0 ? 1 : -1
    this.#tree.add(member.position, weight - member.weight)
    member.eligible = eligible
    member.weight = weight
    member.slots = slots

    if (inRotation) this.#heartbeats.schedule(member.heartbeatStale, record.heartbeatAt)
    else this.#heartbeats.cancel(member.heartbeatStale)
    if (circuitOpen) this.#circuitCloses.schedule(member.circuitClose, record.circuitOpenUntil ?? 0)
    else this.#circuitCloses.cancel(member.circuitClose)
    if (leases?.nextExpiry === undefined) this.#leaseExpiries.cancel(member.leaseExpiry)
    else this.#leaseExpiries.schedule(member.leaseExpiry, leases.nextExpiry)
  }
}

/**
 * The leases live at `now` (as `liveLeaseCount` counts them: expiry ≥ now) and
 * the earliest of their expiries, when the next slot frees by itself; one pass,
 * since every write's returned item goes through it.
 */
function liveLeases(backend: BackendRecord, now: number): { count: number; nextExpiry: number | undefined } {
  let count = 0
  let nextExpiry: number | undefined
  for (const leaseId in backend.leases) {
    const expiresAt = backend.leases[leaseId] ?? Number.NEGATIVE_INFINITY
    if (expiresAt < now) continue
    count++
    if (nextExpiry === undefined || expiresAt < nextExpiry) nextExpiry = expiresAt
  }
  return { count, nextExpiry }
}

/**
 * One decision's view of a tier: the shared index less the backends this
 * decision skips (excluded by the request, circuit open in this process, lost
 * a race), so that concurrent decisions never see each other's skips.
 */
export class TierDraw implements WeightedCandidates<TierMember> {
  readonly tier: TierCandidates
  /** Sorted by position: `at` adds their weight back in view order. */
  readonly #skipped: TierMember[] = []

  constructor(tier: TierCandidates) {
    this.tier = tier
  }

  get open(): number {
    let open = this.tier.open
    for (const member of this.#skipped) if (member.weight > 0) open--
    return open
  }

  get total(): number {
    let total = this.tier.total
    for (const member of this.#skipped) total -= member.weight
    return total
  }

  /**
   * The member holding the `target`-th free slot once the skipped ones are taken
   * out: each skipped member at or before the landing point shifts it by its weight.
   */
  at(target: number): TierMember {
    // Weights are whole slots, so the unit index decides the landing, and integer
    // sums stay exact where adding weights to a fractional target could round up.
    let shifted = Math.floor(target)
    for (const member of this.#skipped) {
      if (this.tier.weightBefore(member.position) > shifted) break
      shifted += member.weight
    }
    return this.tier.at(shifted)
  }

  weight(member: TierMember): number {
    return member.weight
  }

  skip(member: TierMember): void {
    let i = this.#skipped.length
    while (i > 0 && (this.#skipped[i - 1]?.position ?? -1) > member.position) i--
    if (this.#skipped[i - 1] === member) return
    this.#skipped.splice(i, 0, member)
  }

  skipId(id: string): void {
    const member = this.tier.member(id)
    if (member) this.skip(member)
  }

  unskip(member: TierMember): void {
    const i = this.#skipped.indexOf(member)
    if (i >= 0) this.#skipped.splice(i, 1)
  }

  isSkipped(member: TierMember): boolean {
    return this.#skipped.includes(member)
  }
}
