import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { conditionHeld, expressionNames, unlessConditionFails } from '../aws/dynamo-toolkit.ts'
import { BACKEND_ATTR } from '../backends/backend-item.ts'
import type { BackendState } from '../backends/backend-record.ts'
import { SHARD_ATTR as S, shardFromItem } from './shard-item.ts'
import { planShardCaps, type SlotShard, shardCaps, shardItemId } from './slot-shards.ts'

/**
 * The writes that shape a backend's slot shards, shared by the registry (register,
 * drain, deregister) and the capacity store (a removed backend's last release).
 * None is a transaction (dynalite has none); each order below is chosen so that the
 * shards never allow more leases than the backend's maximum, old or new.
 */
interface ShardTable {
  readonly doc: DynamoDBDocumentClient
  readonly tableName: string
  readonly backendId: string
}

const SHARD_NAMES = {
  '#id': S.id,
  '#of': S.shardOf,
  '#index': S.index,
  '#cap': S.cap,
  '#state': S.state,
  '#leases': S.leases,
  '#debt': S.debt,
}

const FREEZE =
  'SET #of = :of, #index = :index, #cap = :zero, #debt = :zero, #state = if_not_exists(#state, :closed), #leases = if_not_exists(#leases, :none)'
const CREATE = 'SET #of = :of, #index = :index, #cap = :cap, #state = :state, #leases = :none'

/**
 * Gives a backend's shards caps for a new maximum (the admin's registration, before the
 * backend item takes the maximum). Every shard is frozen first (cap 0, so no acquire
 * succeeds and counts only fall), its lease count read from that same write, then
 * `planShardCaps` says each shard's cap and debt, and each is written only while its
 * count is still the one planned for; one that fell meanwhile counts the releases as paid.
 * Missing shards are created frozen; a shard past the new count gets cap 0 and keeps its
 * leases until they end.
 */
export async function resizeShards(
  options: ShardTable & { readonly maxConcurrency: number; readonly shardCount: number },
): Promise<void> {
  const { doc, tableName, backendId } = options
  const count = Math.max(shardCaps(options.maxConcurrency).length, options.shardCount)
  const frozen = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const out = await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { id: shardItemId(backendId, index) },
          UpdateExpression: FREEZE,
          ExpressionAttributeNames: expressionNames(FREEZE, SHARD_NAMES),
          ExpressionAttributeValues: {
            ':of': backendId,
            ':index': index,
            ':zero': 0,
            ':closed': 'draining',
            ':none': {},
          },
          ReturnValues: 'ALL_NEW',
        }),
      )
      return shardFromItem(out.Attributes ?? {})
    }),
  )
  const sizes = frozen.map((shard) => Object.keys(shard.leases).length)
  const plan = planShardCaps({ leases: sizes, maxConcurrency: options.maxConcurrency })
  await Promise.all(
    plan.map(async (planned, index) => {
      let { cap, debt } = planned
      let size = sizes[index] ?? 0
      // Frozen, a shard's count only falls: each refused write means at least one release, so
      // this ends within its count of tries.
      for (;;) {
        const written = await conditionHeld(() =>
          doc.send(
            new UpdateCommand({
              TableName: tableName,
              Key: { id: shardItemId(backendId, index) },
              UpdateExpression: 'SET #cap = :cap, #debt = :debt',
              // Still frozen (no other registration re-planned it) and holding what was planned for.
              ConditionExpression: '#cap = :zero AND size(#leases) = :size',
              ExpressionAttributeNames: { '#cap': S.cap, '#debt': S.debt, '#leases': S.leases },
              ExpressionAttributeValues: { ':cap': cap, ':debt': debt, ':zero': 0, ':size': size },
            }),
          ),
        )
        if (written) return
        const now = await doc.send(
          new GetCommand({
            TableName: tableName,
            Key: { id: shardItemId(backendId, index) },
            ConsistentRead: true,
          }),
        )
        if (!now.Item) return
        const shard = shardFromItem(now.Item)
        if (shard.cap !== 0) return
        // Frozen, so it only fell: those releases pay the debt first, then leave room.
        const fell = size - Object.keys(shard.leases).length
        if (fell <= 0) return
        const paid = Math.min(fell, debt)
        cap -= paid
        debt -= paid
        size -= fell
      }
    }),
  )
}

/**
 * Creates the shards a backend lacks, never touching one that exists: an agent's
 * registration must not undo a maximum the admin lowered meanwhile.
 */
export async function createMissingShards(
  options: ShardTable & { readonly caps: readonly number[]; readonly state: BackendState },
): Promise<void> {
  const { doc, tableName, backendId } = options
  await Promise.all(
    options.caps.map((cap, index) =>
      unlessConditionFails(() =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { id: shardItemId(backendId, index) },
            UpdateExpression: CREATE,
            ConditionExpression: 'attribute_not_exists(#id)',
            ExpressionAttributeNames: expressionNames(`${CREATE} attribute_not_exists(#id)`, SHARD_NAMES),
            ExpressionAttributeValues: {
              ':of': backendId,
              ':index': index,
              ':cap': cap,
              ':state': options.state,
              ':none': {},
            },
          }),
        ),
      ),
    ),
  )
}

/**
 * Copies the backend's state to its shards, after the backend item took it: acquires
 * check the shard's copy. A shard that is gone (purged) stays gone.
 */
export async function setShardStates(
  options: ShardTable & { readonly shardCount: number; readonly state: BackendState },
): Promise<SlotShard[]> {
  const { doc, tableName, backendId } = options
  const shards = await Promise.all(
    Array.from({ length: options.shardCount }, (_, index) =>
      unlessConditionFails(async () => {
        const out = await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { id: shardItemId(backendId, index) },
            UpdateExpression: 'SET #state = :state',
            ConditionExpression: 'attribute_exists(#id)',
            ExpressionAttributeNames: { '#id': S.id, '#state': S.state },
            ExpressionAttributeValues: { ':state': options.state },
            ReturnValues: 'ALL_NEW',
          }),
        )
        return shardFromItem(out.Attributes ?? {})
      }),
    ),
  )
  return shards.filter((shard) => shard !== undefined)
}

/**
 * Deletes a removed backend once none of its shards holds a lease: each empty shard,
 * then the backend item. A lease still there, even an expired one, keeps the shard and
 * the backend: its holder may yet renew it, and the slot must not be handed out twice.
 * Shards deleted before a held one was found stay deleted; the next try skips them.
 */
export async function purgeRemovedBackend(
  options: ShardTable & { readonly shardCount: number },
): Promise<boolean> {
  const { doc, tableName, backendId } = options
  for (let index = 0; index < options.shardCount; index++) {
    const gone = await conditionHeld(() =>
      doc.send(
        new DeleteCommand({
          TableName: tableName,
          Key: { id: shardItemId(backendId, index) },
          ConditionExpression:
            'attribute_not_exists(#id) OR (#state = :removed AND (attribute_not_exists(#leases) OR size(#leases) = :zero))',
          ExpressionAttributeNames: { '#id': S.id, '#state': S.state, '#leases': S.leases },
          ExpressionAttributeValues: { ':removed': 'removed', ':zero': 0 },
        }),
      ),
    )
    if (!gone) return false
  }
  return conditionHeld(() =>
    doc.send(
      new DeleteCommand({
        TableName: tableName,
        Key: { id: backendId },
        ConditionExpression: '#state = :removed',
        ExpressionAttributeNames: { '#state': BACKEND_ATTR.state },
        ExpressionAttributeValues: { ':removed': 'removed' },
      }),
    ),
  )
}
