import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb'
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { mapKeyPaths, unlessConditionFails } from '../aws/dynamo-toolkit.ts'
import { BACKEND_ATTR as A, backendFromItem } from '../backends/backend-item.ts'
import type { BackendRecord } from '../backends/backend-record.ts'
import {
  type AcquireOptions,
  type AcquireResult,
  type CapacityStore,
  type LeaseRef,
  MAX_RECLAIM_PER_WRITE,
  type SnapshotPart,
  type SnapshotPartRead,
  type TransferOptions,
} from './capacity-store.ts'
import { purgeRemovedBackend } from './dynamo-shards.ts'
import {
  assembleBackends,
  batchGetItems,
  isShardItem,
  readStoredBackends,
  SHARD_ATTR as S,
  type StoredBackend,
  scanSegment,
  shardCountOf,
  shardFromAttributes,
  shardFromItem,
} from './shard-item.ts'
import {
  expiredShardLeases,
  leaseShard,
  mergedLeases,
  type SlotShard,
  shardItemId,
  shardLeaseId,
  shardsToTry,
} from './slot-shards.ts'

/** Shards one acquire tries before it reports no slot and the router moves to another backend. */
const SHARDS_PER_ACQUIRE = 2

/**
 * Leases in slot shard items of at most 16 slots (`slot-shards.ts`, `shard-item.ts`).
 * Cost per routed request: one conditional UpdateItem on one shard to acquire and one
 * to release, 1 WCU each however many slots the backend has, no read while the cached
 * snapshot is fresh: both writes return the shard (ALL_NEW), and this store keeps what
 * it last saw of each backend's shards to choose where to write and to give the router
 * the backend as written.
 *
 * The hot path's writes go through the low-level client with their attribute values
 * written out, skipping the document client's marshalling. A lost race returns the
 * shard as it is (`ReturnValuesOnConditionCheckFailure`) on DynamoDB and DynamoDB
 * Local; dynalite ignores the parameter, and the shard is then taken as full until the
 * next read. No transactions (dynalite has none).
 */
export class DynamoCapacityStore implements CapacityStore {
  readonly #doc: DynamoDBDocumentClient
  readonly #lean: Pick<DynamoDBClient, 'send'>
  readonly #table: string
  readonly #random: () => number
  readonly #known = new Map<string, StoredBackend>()
  /** The parts of a rolling snapshot read so far in this cycle, and the item ids they held. */
  #cycle: { readonly segments: number; readonly read: Set<number>; readonly seen: Set<string> } | undefined

  constructor(options: {
    doc: DynamoDBDocumentClient
    tableName: string
    /** The low-level client for the lease writes (`AwsClients.lean`); the document client's otherwise. */
    lean?: DynamoDBClient
    random?: () => number
  }) {
    this.#doc = options.doc
    this.#lean = options.lean ?? options.doc
    this.#table = options.tableName
    this.#random = options.random ?? Math.random
  }

  async snapshot(): Promise<BackendRecord[]> {
    return [...(await this.readPart({ segment: 0, segments: 1 })).backends]
  }

  async readPart(part: SnapshotPart): Promise<SnapshotPartRead> {
    const { items, readUnits } = await scanSegment({ doc: this.#doc, tableName: this.#table, part })
    const ids = items.map((item) => String(item[S.id]))
    if (part.segments === 1) {
      const before = new Set(this.#known.keys())
      this.#known.clear()
      this.#cycle = undefined
      const stored = assembleBackends(items)
      for (const backend of stored) {
        this.#known.set(backend.record.id, backend)
        before.delete(backend.record.id)
      }
      return { backends: stored.map((backend) => backend.record), goneIds: [...before], readUnits }
    }
    // A segment holds some backends' items and some of other backends' shards: each read item
    // replaces what this process knew of it. Once every segment of the count has been read, an
    // item none of them held was deleted (the segments of one count partition the table).
    if (this.#cycle?.segments !== part.segments)
      this.#cycle = { segments: part.segments, read: new Set(), seen: new Set() }
    const cycle = this.#cycle
    cycle.read.add(part.segment)
    for (const id of ids) cycle.seen.add(id)
    const touched = new Set<string>()
    const goneIds: string[] = []
    for (const item of items) {
      if (isShardItem(item)) {
        const owner = String(item[S.shardOf])
        if (this.#known.has(owner)) this.#updated(owner, shardFromItem(item))
        touched.add(owner)
      } else {
        const id = String(item[A.id])
        const known = this.#known.get(id)
        const shards = known?.shards ?? []
        this.#known.set(id, { record: backendFromItem(item, shards), shards, shardCount: shardCountOf(item) })
        touched.add(id)
      }
    }
    if (cycle.read.size === cycle.segments) {
      for (const [id, known] of this.#known) {
        if (!cycle.seen.has(id)) {
          this.#known.delete(id)
          touched.delete(id)
          goneIds.push(id)
          continue
        }
        const shards = known.shards.filter((shard) => cycle.seen.has(shardItemId(id, shard.index)))
        if (shards.length === known.shards.length) continue
        this.#withShards(known, shards)
        touched.add(id)
      }
      this.#cycle = undefined
    }
    const backends: BackendRecord[] = []
    for (const id of touched) {
      const known = this.#known.get(id)
      if (known) backends.push(known.record)
    }
    return { backends, goneIds, readUnits }
  }

  /**
   * A backend this process knows is read by its shards alone (its leases: what a waiting
   * request looks for; its registration and heartbeat come with the snapshot), one it does
   * not know with its backend item too.
   */
  async read(backendIds: readonly string[]): Promise<BackendRecord[]> {
    const known = backendIds.filter((id) => this.#known.has(id))
    const unknown = backendIds.filter((id) => !this.#known.has(id))
    const shardIds = known.flatMap((id) =>
      Array.from({ length: this.#known.get(id)?.shardCount ?? 0 }, (_, index) => shardItemId(id, index)),
    )
    const [shardItems, stored] = await Promise.all([
      batchGetItems(this.#doc, this.#table, shardIds),
      unknown.length > 0
        ? readStoredBackends({ doc: this.#doc, tableName: this.#table, ids: unknown })
        : Promise.resolve([]),
    ])
    for (const backend of stored) this.#known.set(backend.record.id, backend)
    const read = new Map<string, SlotShard[]>()
    for (const item of shardItems) {
      const owner = String(item[S.shardOf])
      const shards = read.get(owner) ?? []
      shards.push(shardFromItem(item))
      read.set(owner, shards)
    }
    for (const id of known) {
      const before = this.#known.get(id)
      if (!before) continue
      // A shard that did not come back was purged.
      const shards = (read.get(id) ?? []).sort((a, b) => a.index - b.index)
      this.#withShards(before, shards)
    }
    return backendIds.flatMap((id) => this.#known.get(id)?.record ?? [])
  }

  async acquire(options: AcquireOptions): Promise<AcquireResult> {
    const known = this.#known.get(options.backendId) ?? (await this.#readOne(options.backendId))
    // The shards cannot see the heartbeat: staleness is judged on this process's view of it.
    if (known?.record.state !== 'active' || known.record.heartbeatAt < options.staleBefore)
      return { ok: false, reason: 'no-slot' }
    for (const shard of shardsToTry(known.shards, {
      now: options.now,
      limit: SHARDS_PER_ACQUIRE,
      random: this.#random,
    })) {
      const leaseId = shardLeaseId(shard.index, options.leaseId)
      const written = await this.#acquireOnShard(options, shard, leaseId)
      if (written.ok)
        return { ok: true, backend: this.#updated(options.backendId, written.shard) ?? known.record, leaseId }
      this.#updated(options.backendId, written.shard ?? { ...shard, full: true })
    }
    return { ok: false, reason: 'no-slot' }
  }

  async #acquireOnShard(
    options: AcquireOptions,
    shard: SlotShard,
    leaseId: string,
  ): Promise<{ ok: true; shard: SlotShard } | { ok: false; shard: SlotShard | undefined }> {
    const names: Record<string, string> = {
      '#id': S.id,
      '#state': S.state,
      '#leases': S.leases,
      '#cap': S.cap,
      '#debt': S.debt,
      '#lease': leaseId,
    }
    const values: Record<string, AttributeValue> = {
      ':active': { S: 'active' },
      ':exp': { N: String(options.expiresAt) },
      ':zero': { N: '0' },
    }
    const reclaim = expiredShardLeases(shard, options.now).slice(0, MAX_RECLAIM_PER_WRITE)
    const removal = expiredLeaseRemoval(reclaim)
    Object.assign(names, removal.names)
    // Removes nothing and adds one: ends at or under the cap.
    const slotFree = 'size(#leases) < #cap'
    const parts = ['attribute_exists(#id) AND #state = :active AND attribute_not_exists(#leases.#lease)']
    const settles: string[] = []
    if (shard.debt > 0) {
      // In debt (a lowered maximum): only a write that reclaims enough to end at the settled cap
      // (cap - debt) may take a lease, and it settles the debt; cap and debt as this process saw
      // them are pinned, and all k reclaimed leases must still be there and expired.
      if (reclaim.length === 0) return { ok: false, shard: undefined }
      values[':now'] = { N: String(options.now) }
      values[':cap'] = { N: String(shard.cap) }
      values[':debt'] = { N: String(shard.debt) }
      values[':settled'] = { N: String(shard.cap - shard.debt) }
      values[':sizeBound'] = { N: String(shard.cap - shard.debt + reclaim.length - 1) }
      const allPresentAndExpired = removal.paths.map((p) => `${p} < :now`).join(' AND ')
      parts.push(`#cap = :cap AND #debt = :debt AND size(#leases) <= :sizeBound AND ${allPresentAndExpired}`)
      settles.push('#cap = :settled', '#debt = :zero')
    } else if (reclaim.length === 0) {
      parts.push('(attribute_not_exists(#debt) OR #debt = :zero)', slotFree)
    } else {
      // A full shard still has room when the write removes k expired leases: it ends at
      // size - k + 1, which must stay <= cap (a lowered one included). A condition cannot do
      // arithmetic, so the bound is computed from the cap this process saw, which the
      // condition pins; all k must still be there, and still expired, to count as removed.
      values[':now'] = { N: String(options.now) }
      values[':cap'] = { N: String(shard.cap) }
      values[':sizeBound'] = { N: String(shard.cap + reclaim.length - 1) }
      parts.push('(attribute_not_exists(#debt) OR #debt = :zero)', ...removal.stillExpired)
      const allPresentAndExpired = removal.paths.map((p) => `${p} < :now`).join(' AND ')
      parts.push(`(${slotFree} OR (#cap = :cap AND size(#leases) <= :sizeBound AND ${allPresentAndExpired}))`)
    }
    const update = `SET ${['#leases.#lease = :exp', ...settles].join(', ')}${reclaim.length ? ` REMOVE ${removal.paths.join(', ')}` : ''}`
    try {
      const out = await this.#lean.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { id: { S: shardItemId(options.backendId, shard.index) } },
          UpdateExpression: update,
          ConditionExpression: parts.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      )
      return { ok: true, shard: shardFromAttributes(out.Attributes ?? {}) }
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error
      return { ok: false, shard: error.Item ? shardFromAttributes(error.Item) : undefined }
    }
  }

  async renew(lease: LeaseRef & { expiresAt: number }): Promise<boolean> {
    const index = leaseShard(lease.leaseId)
    if (index === undefined) return false
    try {
      await this.#lean.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { id: { S: shardItemId(lease.backendId, index) } },
          UpdateExpression: 'SET #leases.#lease = :exp',
          ConditionExpression: 'attribute_exists(#leases.#lease)',
          ExpressionAttributeNames: { '#leases': S.leases, '#lease': lease.leaseId },
          ExpressionAttributeValues: { ':exp': { N: String(lease.expiresAt) } },
        }),
      )
      return true
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false
      throw error
    }
  }

  async transfer(options: TransferOptions): Promise<BackendRecord | undefined> {
    const index = leaseShard(options.leaseId)
    const known = this.#known.get(options.backendId)
    if (index === undefined || (known && known.record.heartbeatAt < options.staleBefore)) return undefined
    const shard = await unlessConditionFails(async () => {
      const out = await this.#lean.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { id: { S: shardItemId(options.backendId, index) } },
          UpdateExpression: 'SET #leases.#lease = :exp',
          // The lease stays, so the count stays: it may only pass on while that count fits the
          // cap (a lowered one drains through releases) and the backend still takes work.
          // A shard in debt settles it with this lease's release instead.
          ConditionExpression:
            'attribute_exists(#leases.#lease) AND #state = :active AND size(#leases) <= #cap AND (attribute_not_exists(#debt) OR #debt = :zero)',
          ExpressionAttributeNames: {
            '#leases': S.leases,
            '#lease': options.leaseId,
            '#state': S.state,
            '#cap': S.cap,
            '#debt': S.debt,
          },
          ExpressionAttributeValues: {
            ':exp': { N: String(options.expiresAt) },
            ':active': { S: 'active' },
            ':zero': { N: '0' },
          },
          ReturnValues: 'ALL_NEW',
        }),
      )
      return shardFromAttributes(out.Attributes ?? {})
    })
    return shard && this.#updated(options.backendId, shard)
  }

  async release(lease: LeaseRef): Promise<BackendRecord | undefined> {
    const index = leaseShard(lease.leaseId)
    if (index === undefined) return undefined
    const owes = (this.#known.get(lease.backendId)?.shards.find((s) => s.index === index)?.debt ?? 0) > 0
    // The usual release frees the slot; on a shard in debt the slot goes with the lease (the
    // cap drops by one). Each refuses the other's case, so a stale view costs one more write.
    const shard =
      (await this.#releaseOnShard(lease, index, owes)) ?? (await this.#releaseOnShard(lease, index, !owes))
    if (!shard) return undefined
    const backend = this.#updated(lease.backendId, shard)
    // A removed backend's shard just emptied: its tombstone may have nothing left to guard.
    if (shard.state === 'removed' && Object.keys(shard.leases).length === 0)
      await this.purgeRemoved(lease.backendId)
    return backend
  }

  #releaseOnShard(lease: LeaseRef, index: number, paysDebt: boolean): Promise<SlotShard | undefined> {
    return unlessConditionFails(async () => {
      const out = await this.#lean.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { id: { S: shardItemId(lease.backendId, index) } },
          UpdateExpression: paysDebt
            ? 'REMOVE #leases.#lease SET #cap = #cap - :one, #debt = #debt - :one'
            : 'REMOVE #leases.#lease',
          // attribute_exists(#id): without it, an update on a purged shard would create a bare item.
          ConditionExpression: paysDebt
            ? 'attribute_exists(#leases.#lease) AND #debt > :zero'
            : 'attribute_exists(#id) AND (attribute_not_exists(#debt) OR #debt = :zero)',
          ExpressionAttributeNames: paysDebt
            ? { '#leases': S.leases, '#lease': lease.leaseId, '#cap': S.cap, '#debt': S.debt }
            : { '#id': S.id, '#leases': S.leases, '#lease': lease.leaseId, '#debt': S.debt },
          ExpressionAttributeValues: paysDebt
            ? { ':one': { N: '1' }, ':zero': { N: '0' } }
            : { ':zero': { N: '0' } },
          ReturnValues: 'ALL_NEW',
        }),
      )
      return shardFromAttributes(out.Attributes ?? {})
    })
  }

  async purgeRemoved(backendId: string): Promise<boolean> {
    const known = (await this.#readOne(backendId)) ?? this.#known.get(backendId)
    if (!known) return false
    const purged = await purgeRemovedBackend({
      doc: this.#doc,
      tableName: this.#table,
      backendId,
      shardCount: known.shardCount,
    })
    if (purged) this.#known.delete(backendId)
    return purged
  }

  async openCircuit(options: { backendId: string; until: number }): Promise<BackendRecord | undefined> {
    const item = await unlessConditionFails(async () => {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id: options.backendId },
          UpdateExpression: 'SET #circuit = :until',
          ConditionExpression:
            'attribute_exists(#id) AND (attribute_not_exists(#circuit) OR #circuit < :until)',
          ExpressionAttributeNames: { '#id': A.id, '#circuit': A.circuitOpenUntil },
          ExpressionAttributeValues: { ':until': options.until },
          ReturnValues: 'ALL_NEW',
        }),
      )
      return out.Attributes ?? {}
    })
    if (!item) return undefined
    const known = this.#known.get(options.backendId)
    const shards = known?.shards ?? []
    const record = backendFromItem(item, shards)
    if (known) this.#known.set(record.id, { ...known, record })
    return record
  }

  async reclaimExpired(options: {
    backendId: string
    leaseIds: readonly string[]
    now: number
  }): Promise<number> {
    const byShard = new Map<number, string[]>()
    for (const leaseId of options.leaseIds) {
      const index = leaseShard(leaseId)
      if (index === undefined) continue
      const ids = byShard.get(index) ?? []
      ids.push(leaseId)
      byShard.set(index, ids)
    }
    let removed = 0
    for (const [index, leaseIds] of byShard) {
      // One bounded write per chunk: a mass crash leaves more expired leases than one
      // expression may name (DynamoDB caps an expression at 4 KB).
      for (let start = 0; start < leaseIds.length; start += MAX_RECLAIM_PER_WRITE) {
        const chunk = leaseIds.slice(start, start + MAX_RECLAIM_PER_WRITE)
        removed += await this.#reclaimChunk({ ...options, index, leaseIds: chunk })
      }
    }
    return removed
  }

  async #reclaimChunk(options: {
    backendId: string
    index: number
    leaseIds: readonly string[]
    now: number
  }): Promise<number> {
    const removal = expiredLeaseRemoval(options.leaseIds)
    const seen = this.#known.get(options.backendId)?.shards.find((s) => s.index === options.index)
    const remove = (paying: SlotShard | undefined) =>
      unlessConditionFails(async () => {
        const condition = ['attribute_exists(#id)', ...removal.stillExpired]
        const names: Record<string, string> = { '#id': S.id, '#leases': S.leases, ...removal.names }
        const values: Record<string, unknown> = { ':now': options.now }
        let update = `REMOVE ${removal.paths.join(', ')}`
        if (paying) {
          // A shard in debt pays with what the reaper removes (each lease must be there to count),
          // or holders that all died would leave it owing, closed for good.
          const pay = Math.min(paying.debt, options.leaseIds.length)
          condition.push('#cap = :cap AND #debt = :debt', ...removal.paths.map((p) => `${p} < :now`))
          Object.assign(names, { '#cap': S.cap, '#debt': S.debt })
          Object.assign(values, {
            ':cap': paying.cap,
            ':debt': paying.debt,
            ':newCap': paying.cap - pay,
            ':newDebt': paying.debt - pay,
          })
          update += ' SET #cap = :newCap, #debt = :newDebt'
        }
        const out = await this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: { id: shardItemId(options.backendId, options.index) },
            UpdateExpression: update,
            ConditionExpression: condition.join(' AND '),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'UPDATED_OLD',
          }),
        )
        return (out.Attributes?.[S.leases] ?? {}) as Record<string, unknown>
      })
    const old = (seen && seen.debt > 0 ? await remove(seen) : undefined) ?? (await remove(undefined))
    // One of them was renewed meanwhile, or the shard is gone: leave this chunk; the next
    // sweep sees fresh values. Count only this chunk's ids: DynamoDB Local returns the whole
    // old map, not just the removed paths.
    return old ? options.leaseIds.filter((leaseId) => leaseId in old).length : 0
  }

  async #readOne(backendId: string): Promise<StoredBackend | undefined> {
    await this.read([backendId])
    return this.#known.get(backendId)
  }

  /** Puts a shard as written (or as last seen) into what this process knows; the backend's record. */
  #updated(backendId: string, shard: SlotShard): BackendRecord | undefined {
    const known = this.#known.get(backendId)
    if (!known) return undefined
    const shards = known.shards.some((s) => s.index === shard.index)
      ? known.shards.map((s) => (s.index === shard.index ? shard : s))
      : [...known.shards, shard].sort((a, b) => a.index - b.index)
    return this.#withShards(known, shards)
  }

  /** What this process knows of a backend, with these shards and the leases they hold. */
  #withShards(known: StoredBackend, shards: readonly SlotShard[]): BackendRecord {
    const record = { ...known.record, leases: mergedLeases(shards) }
    this.#known.set(record.id, { ...known, record, shards })
    return record
  }
}

/**
 * The REMOVE paths for expired leases (`#leases.#r0`, …), their names, and per path
 * the condition that it is gone or still expired at `:now`: a lease is only ever
 * removed if it is already expired, so one renewed meanwhile blocks the write.
 */
function expiredLeaseRemoval(leaseIds: readonly string[]) {
  const { paths, names } = mapKeyPaths('#leases', leaseIds, '#r')
  const stillExpired = paths.map((p) => `(attribute_not_exists(${p}) OR ${p} < :now)`)
  return { paths, names, stillExpired }
}
