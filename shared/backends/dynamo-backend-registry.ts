import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { expressionNames, expressionValues, unlessConditionFails } from '../aws/dynamo-toolkit.ts'
import {
  createMissingShards,
  purgeRemovedBackend,
  resizeShards,
  setShardStates,
} from '../capacity/dynamo-shards.ts'
import {
  batchGetItems,
  readStoredBackends,
  scanStoredBackends,
  shardCountOf,
  shardFromItem,
} from '../capacity/shard-item.ts'
import { mergedLeases, shardCaps, shardItemId } from '../capacity/slot-shards.ts'
import { backendApis } from './backend-apis.ts'
import { BACKEND_ATTR as A, backendFromItem } from './backend-item.ts'
import type { BackendLoad, BackendRecord, BackendState } from './backend-record.ts'
import type { BackendRegistry, RegisterBackendOptions } from './backend-registry.ts'

const NAMES = {
  '#id': A.id,
  '#url': A.url,
  '#hw': A.hardware,
  '#models': A.models,
  '#apis': A.apis,
  '#max': A.maxConcurrency,
  '#state': A.state,
  '#hb': A.heartbeatAt,
  '#reg': A.registeredAt,
  '#load': A.load,
  '#shards': A.shards,
  '#circuit': A.circuitOpenUntil,
} as const

/** A backend item as a write returned it: its record (no leases yet) and its shard count. */
interface Written {
  readonly record: BackendRecord
  readonly shardCount: number
}

export class DynamoBackendRegistry implements BackendRegistry {
  readonly #doc: DynamoDBDocumentClient
  readonly #table: string

  constructor(options: { doc: DynamoDBDocumentClient; tableName: string }) {
    this.#doc = options.doc
    this.#table = options.tableName
  }

  async register({ registration, now, by = 'admin' }: RegisterBackendOptions): Promise<BackendRecord> {
    const table = { doc: this.#doc, tableName: this.#table, backendId: registration.id }
    const caps = shardCaps(registration.maxConcurrency)
    const values: Record<string, unknown> = {
      ':url': registration.url,
      ':hw': registration.hardware,
      ':models': [...registration.models],
      ':apis': [...backendApis(registration)],
      ':max': registration.maxConcurrency,
      ':active': 'active',
      ':removed': 'removed',
      ':now': now,
      ':idle': { running: 0, waiting: 0, kvCacheUsage: 0 },
    }
    // An update, not a put: an agent that restarts re-registers while requests
    // still hold leases on the backend, and those must survive (they are in the shards).
    const kept = '#reg = if_not_exists(#reg, :now), #load = if_not_exists(#load, :idle)'
    const write = (update: string, condition?: string) =>
      this.#write({ id: registration.id, update, values, ...(condition ? { condition } : {}) })
    if (by === 'agent') {
      // Creates a new backend; on one that exists, every field stays as the admin left it,
      // its shards' caps too.
      values[':shards'] = caps.length
      const { record: written } = await write(
        'SET #url = if_not_exists(#url, :url), #hw = if_not_exists(#hw, :hw), ' +
          '#models = if_not_exists(#models, :models), #apis = if_not_exists(#apis, :apis), ' +
          '#max = if_not_exists(#max, :max), #shards = if_not_exists(#shards, :shards), ' +
          `#state = if_not_exists(#state, :active), #hb = :now, ${kept}`,
      )
      await createMissingShards({ ...table, caps: shardCaps(written.maxConcurrency), state: written.state })
      return (await this.get(registration.id)) ?? written
    }
    // The new caps go on before the new maximum: a lowered one binds from the first write.
    const before = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { id: registration.id }, ConsistentRead: true }),
    )
    const shardCount = Math.max(caps.length, before.Item ? shardCountOf(before.Item) : 0)
    // Only a new backend or a new maximum re-plans the shards: a plain re-registration leaves them be.
    // (A tombstone may have lost some shards to a purge that stopped at a held one: re-plan it too.)
    const item = before.Item
    if (
      !item ||
      item[A.maxConcurrency] !== registration.maxConcurrency ||
      item[A.state] === 'removed' ||
      shardCountOf(item) === 0
    )
      await resizeShards({ ...table, maxConcurrency: registration.maxConcurrency, shardCount })
    values[':shards'] = shardCount
    const settings = `SET #url = :url, #hw = :hw, #models = :models, #apis = :apis, #max = :max, #shards = :shards, #hb = :now, ${kept}`
    // The admin re-registering says the backend is up: whatever circuit was open for everyone closes.
    // A drained backend stays drained: drain and undrain are the admin's switch for that.
    const registered =
      (await unlessConditionFails(() =>
        write(
          `${settings}, #state = if_not_exists(#state, :active) REMOVE #circuit`,
          'attribute_not_exists(#id) OR #state <> :removed',
        ),
      )) ??
      // A removed backend's tombstone: the admin brings it back, with the leases it still holds.
      (await write(`${settings}, #state = :active REMOVE #circuit`))
    return this.#withShardState(registered)
  }

  async heartbeat(options: {
    id: string
    load: BackendLoad
    now: number
  }): Promise<BackendRecord | undefined> {
    const { id, load, now } = options
    const written = await this.#updateExisting({
      id,
      update: 'SET #load = :load, #hb = :now',
      values: {
        ':load': { running: load.running, waiting: load.waiting, kvCacheUsage: load.kvCacheUsage },
        ':now': now,
      },
    })
    if (!written) return undefined
    // The answer tells the agent its slots as they are: one read of the shards (a backend of up
    // to 16 slots has one) after the write, which touches only the backend item.
    const shards = await batchGetItems(
      this.#doc,
      this.#table,
      Array.from({ length: written.shardCount }, (_, index) => shardItemId(id, index)),
    )
    return { ...written.record, leases: mergedLeases(shards.map(shardFromItem)) }
  }

  async setState(options: { id: string; state: BackendState }): Promise<BackendRecord | undefined> {
    const { id, state } = options
    const written = await this.#updateExisting({
      id,
      update: 'SET #state = :state',
      // A tombstone is not brought back by undrain: only a registration by the admin does that.
      condition: '#state <> :removed',
      values: { ':state': state, ':removed': 'removed' },
    })
    return written && (await this.#withShardState(written))
  }

  async deregister(id: string): Promise<boolean> {
    const removed = await this.#updateExisting({
      id,
      update: 'SET #state = :removed',
      values: { ':removed': 'removed' },
    })
    if (!removed) return false
    // No acquire succeeds on a removed shard, so the leases only shrink from here.
    const backend = await this.#withShardState(removed)
    if (Object.keys(backend.leases).length === 0)
      await purgeRemovedBackend({
        doc: this.#doc,
        tableName: this.#table,
        backendId: id,
        shardCount: removed.shardCount,
      })
    return true
  }

  async get(id: string): Promise<BackendRecord | undefined> {
    const [stored] = await readStoredBackends({ doc: this.#doc, tableName: this.#table, ids: [id] })
    return stored?.record
  }

  async list(): Promise<BackendRecord[]> {
    return (await scanStoredBackends(this.#doc, this.#table))
      .map((stored) => stored.record)
      .sort((a, b) => a.id.localeCompare(b.id))
  }

  /** The backend item's state copied to its shards (acquires check the copy); the record with their leases. */
  async #withShardState({ record, shardCount }: Written): Promise<BackendRecord> {
    const shards = await setShardStates({
      doc: this.#doc,
      tableName: this.#table,
      backendId: record.id,
      shardCount,
      state: record.state,
    })
    return { ...record, leases: mergedLeases(shards) }
  }

  async #write(options: {
    id: string
    update: string
    condition?: string
    values: Record<string, unknown>
  }): Promise<Written> {
    const expressions = `${options.update} ${options.condition ?? ''}`
    const out = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { id: options.id },
        UpdateExpression: options.update,
        ...(options.condition ? { ConditionExpression: options.condition } : {}),
        ExpressionAttributeNames: expressionNames(expressions, NAMES),
        ExpressionAttributeValues: expressionValues(expressions, options.values),
        ReturnValues: 'ALL_NEW',
      }),
    )
    const item = out.Attributes ?? {}
    return { record: backendFromItem(item), shardCount: shardCountOf(item) }
  }

  async #updateExisting(options: {
    id: string
    update: string
    condition?: string
    values: Record<string, unknown>
  }): Promise<Written | undefined> {
    return unlessConditionFails(() =>
      this.#write({
        ...options,
        condition: ['attribute_exists(#id)', ...(options.condition ? [options.condition] : [])].join(' AND '),
      }),
    )
  }
}
