import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  ScanCommand,
  type ScanCommandOutput,
} from '@aws-sdk/lib-dynamodb'
import { BACKEND_ATTR, backendFromItem } from '../backends/backend-item.ts'
import type { BackendRecord, BackendState } from '../backends/backend-record.ts'
import { type SlotShard, shardItemId } from './slot-shards.ts'

/**
 * Slot shard items live in the backends table next to the backend's own item
 * (key `<backendId>#<index>`), so one Scan still reads the whole fleet:
 *
 *   { id: "h20-1#0", shardOf: "h20-1", shard: 0, cap: 16, state: "active",
 *     leases: { "0.k2x…": 1795917560123 } }
 *
 * The backend item keeps its registration and heartbeat and `shards`, the number
 * of shard items it has (it never shrinks: a shard whose cap a lowered maximum
 * took away keeps its leases until they end).
 */
export const SHARD_ATTR = {
  id: 'id',
  shardOf: 'shardOf',
  index: 'shard',
  cap: 'cap',
  state: 'state',
  leases: 'leases',
  debt: 'debt',
} as const

/** A backend as stored: its record (leases merged from its shards) and the shards themselves. */
export interface StoredBackend {
  readonly record: BackendRecord
  /** In index order; a shard item that is missing (being created or purged) is left out. */
  readonly shards: readonly SlotShard[]
  /** How many shard items the backend item says it has. */
  readonly shardCount: number
}

const BATCH_GET_LIMIT = 100

export function isShardItem(item: Record<string, unknown>): boolean {
  return typeof item[SHARD_ATTR.shardOf] === 'string'
}

function stateOf(value: unknown): BackendState {
  return value === 'active' || value === 'removed' ? value : 'draining'
}

/** A shard from a document-client item. */
export function shardFromItem(item: Record<string, unknown>): SlotShard {
  const leases: Record<string, number> = {}
  for (const [id, expiry] of Object.entries((item[SHARD_ATTR.leases] ?? {}) as Record<string, unknown>))
    leases[id] = Number(expiry)
  return {
    index: Number(item[SHARD_ATTR.index] ?? 0),
    cap: Number(item[SHARD_ATTR.cap] ?? 0),
    state: stateOf(item[SHARD_ATTR.state]),
    leases,
    debt: Number(item[SHARD_ATTR.debt] ?? 0),
  }
}

/**
 * A shard from the low-level client's attribute values: the hot path's writes skip
 * the document client's marshalling, and a shard has only these five shapes.
 */
export function shardFromAttributes(item: Record<string, AttributeValue>): SlotShard {
  const leases: Record<string, number> = {}
  const map = item[SHARD_ATTR.leases]?.M ?? {}
  for (const id in map) leases[id] = Number(map[id]?.N ?? 0)
  return {
    index: Number(item[SHARD_ATTR.index]?.N ?? 0),
    cap: Number(item[SHARD_ATTR.cap]?.N ?? 0),
    state: stateOf(item[SHARD_ATTR.state]?.S),
    leases,
    debt: Number(item[SHARD_ATTR.debt]?.N ?? 0),
  }
}

export function shardCountOf(item: Record<string, unknown>): number {
  return Number(item[BACKEND_ATTR.shards] ?? 0)
}

/** Backend items and shard items, as a Scan or a BatchGet returns them, put together. */
export function assembleBackends(items: readonly Record<string, unknown>[]): StoredBackend[] {
  const shardsOf = new Map<string, SlotShard[]>()
  const parents: Record<string, unknown>[] = []
  for (const item of items) {
    if (!isShardItem(item)) {
      parents.push(item)
      continue
    }
    const owner = String(item[SHARD_ATTR.shardOf])
    const list = shardsOf.get(owner) ?? []
    list.push(shardFromItem(item))
    shardsOf.set(owner, list)
  }
  return parents.map((item) => {
    const shards = (shardsOf.get(String(item.id)) ?? []).sort((a, b) => a.index - b.index)
    return { record: backendFromItem(item, shards), shards, shardCount: shardCountOf(item) }
  })
}

/** Every backend with its shards, following pagination (the snapshot and the admin listing). */
export async function scanStoredBackends(
  doc: DynamoDBDocumentClient,
  tableName: string,
): Promise<StoredBackend[]> {
  const { items } = await scanSegment({ doc, tableName, part: { segment: 0, segments: 1 } })
  return assembleBackends(items)
}

/**
 * The items of one scan segment (`segments` 1: the whole table), following pagination, and
 * the read units they cost as DynamoDB reports them.
 */
export async function scanSegment(options: {
  doc: DynamoDBDocumentClient
  tableName: string
  part: { readonly segment: number; readonly segments: number }
}): Promise<{ items: Record<string, unknown>[]; readUnits: number }> {
  const { doc, tableName, part } = options
  const items: Record<string, unknown>[] = []
  let readUnits = 0
  let ExclusiveStartKey: Record<string, unknown> | undefined
  do {
    const page: ScanCommandOutput = await doc.send(
      new ScanCommand({
        TableName: tableName,
        ExclusiveStartKey,
        ...(part.segments > 1 ? { Segment: part.segment, TotalSegments: part.segments } : {}),
        ReturnConsumedCapacity: 'TOTAL',
      }),
    )
    items.push(...(page.Items ?? []))
    readUnits += page.ConsumedCapacity?.CapacityUnits ?? 0
    ExclusiveStartKey = page.LastEvaluatedKey
  } while (ExclusiveStartKey)
  return { items, readUnits }
}

/**
 * The named backends with their shards, strongly consistent. `shardCounts` (what the
 * caller last saw) lets the shards come in the same BatchGet; a backend with more
 * shards than that costs a second one. Unknown ids are left out.
 */
export async function readStoredBackends(options: {
  doc: DynamoDBDocumentClient
  tableName: string
  ids: readonly string[]
  shardCounts?: ReadonlyMap<string, number>
}): Promise<StoredBackend[]> {
  const { doc, tableName, ids } = options
  const keys = new Set<string>()
  for (const id of ids) {
    keys.add(id)
    const count = options.shardCounts?.get(id) ?? 0
    for (let i = 0; i < count; i++) keys.add(shardItemId(id, i))
  }
  const items = await batchGetItems(doc, tableName, [...keys])
  const missing: string[] = []
  for (const item of items) {
    if (isShardItem(item)) continue
    const id = String(item.id)
    for (let i = 0; i < shardCountOf(item); i++)
      if (!keys.has(shardItemId(id, i))) missing.push(shardItemId(id, i))
  }
  if (missing.length > 0) items.push(...(await batchGetItems(doc, tableName, missing)))
  return assembleBackends(items)
}

/** Items by id, strongly consistent, 100 keys per BatchGetItem, unprocessed keys retried. */
export async function batchGetItems(
  doc: DynamoDBDocumentClient,
  tableName: string,
  ids: readonly string[],
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = []
  // BatchGetItem takes at most 100 keys, and may hand some back unprocessed under throttling.
  for (let start = 0; start < ids.length; start += BATCH_GET_LIMIT) {
    let keys: Record<string, unknown>[] | undefined = ids
      .slice(start, start + BATCH_GET_LIMIT)
      .map((id) => ({ id }))
    for (let round = 0; keys && keys.length > 0 && round < 3; round++) {
      const out: BatchGetCommandOutput = await doc.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }),
      )
      items.push(...(out.Responses?.[tableName] ?? []))
      keys = out.UnprocessedKeys?.[tableName]?.Keys
    }
  }
  return items
}
