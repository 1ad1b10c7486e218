import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import {
  conditionHeld,
  expressionNames,
  expressionValues,
  unlessConditionFails,
} from '../aws/dynamo-toolkit.ts'
import { backendApis } from './backend-apis.ts'
import { BACKEND_ATTR as A, backendFromItem, scanBackends } from './backend-item.ts'
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
  '#leases': A.leases,
  '#circuit': A.circuitOpenUntil,
} as const

export class DynamoBackendRegistry implements BackendRegistry {
  readonly #doc: DynamoDBDocumentClient
  readonly #table: string

  constructor(options: { doc: DynamoDBDocumentClient; tableName: string }) {
    this.#doc = options.doc
    this.#table = options.tableName
  }

  async register({ registration, now, by = 'admin' }: RegisterBackendOptions): Promise<BackendRecord> {
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
      ':none': {},
    }
    // An update, not a put: an agent that restarts re-registers while requests
    // still hold leases on the backend, and those must survive.
    const kept =
      '#reg = if_not_exists(#reg, :now), #load = if_not_exists(#load, :idle), #leases = if_not_exists(#leases, :none)'
    const write = (update: string, condition?: string) =>
      this.#write({ id: registration.id, update, values, ...(condition ? { condition } : {}) })
    if (by === 'agent') {
      // Creates a new backend; on one that exists, every field stays as the admin left it.
      return write(
        'SET #url = if_not_exists(#url, :url), #hw = if_not_exists(#hw, :hw), ' +
          '#models = if_not_exists(#models, :models), #apis = if_not_exists(#apis, :apis), ' +
          '#max = if_not_exists(#max, :max), ' +
          `#state = if_not_exists(#state, :active), #hb = :now, ${kept}`,
      )
    }
    const settings = `SET #url = :url, #hw = :hw, #models = :models, #apis = :apis, #max = :max, #hb = :now, ${kept}`
    // The admin re-registering says the backend is up: whatever circuit was open for everyone closes.
    // A drained backend stays drained: drain and undrain are the admin's switch for that.
    const registered = await unlessConditionFails(() =>
      write(
        `${settings}, #state = if_not_exists(#state, :active) REMOVE #circuit`,
        'attribute_not_exists(#id) OR #state <> :removed',
      ),
    )
    // A removed backend's tombstone: the admin brings it back, with the leases it still holds.
    return registered ?? write(`${settings}, #state = :active REMOVE #circuit`)
  }

  async heartbeat(options: {
    id: string
    load: BackendLoad
    now: number
  }): Promise<BackendRecord | undefined> {
    const { id, load, now } = options
    return this.#updateExisting({
      id,
      update: 'SET #load = :load, #hb = :now',
      values: {
        ':load': { running: load.running, waiting: load.waiting, kvCacheUsage: load.kvCacheUsage },
        ':now': now,
      },
    })
  }

  async setState(options: { id: string; state: BackendState }): Promise<BackendRecord | undefined> {
    const { id, state } = options
    return this.#updateExisting({
      id,
      update: 'SET #state = :state',
      // A tombstone is not brought back by undrain: only a registration by the admin does that.
      condition: '#state <> :removed',
      values: { ':state': state, ':removed': 'removed' },
    })
  }

  async deregister(id: string): Promise<boolean> {
    const removed = await this.#updateExisting({
      id,
      update: 'SET #state = :removed',
      values: { ':removed': 'removed' },
    })
    if (!removed) return false
    // No acquire succeeds on a removed backend, so its lease map only shrinks from here.
    if (Object.keys(removed.leases).length === 0)
      await deleteTombstone({ doc: this.#doc, tableName: this.#table, id })
    return true
  }

  async get(id: string): Promise<BackendRecord | undefined> {
    const out = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { id }, ConsistentRead: true }),
    )
    return out.Item ? backendFromItem(out.Item) : undefined
  }

  async list(): Promise<BackendRecord[]> {
    return (await scanBackends(this.#doc, this.#table)).sort((a, b) => a.id.localeCompare(b.id))
  }

  async #write(options: {
    id: string
    update: string
    condition?: string
    values: Record<string, unknown>
  }): Promise<BackendRecord> {
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
    return backendFromItem(out.Attributes ?? {})
  }

  async #updateExisting(options: {
    id: string
    update: string
    condition?: string
    values: Record<string, unknown>
  }): Promise<BackendRecord | undefined> {
    return unlessConditionFails(() =>
      this.#write({
        ...options,
        condition: ['attribute_exists(#id)', ...(options.condition ? [options.condition] : [])].join(' AND '),
      }),
    )
  }
}

/**
 * Deletes a removed backend's item once no lease is left in its map (the last release or
 * the reaper's reclaim emptied it). A lease still there, even an expired one, keeps it: its
 * holder may yet renew it, and the slot must not be handed out twice.
 */
export async function deleteTombstone(options: {
  doc: DynamoDBDocumentClient
  tableName: string
  id: string
}): Promise<boolean> {
  const { doc, tableName, id } = options
  return conditionHeld(() =>
    doc.send(
      new DeleteCommand({
        TableName: tableName,
        Key: { id },
        ConditionExpression: '#state = :removed AND (attribute_not_exists(#leases) OR size(#leases) = :zero)',
        ExpressionAttributeNames: { '#state': A.state, '#leases': A.leases },
        ExpressionAttributeValues: { ':removed': 'removed', ':zero': 0 },
      }),
    ),
  )
}
