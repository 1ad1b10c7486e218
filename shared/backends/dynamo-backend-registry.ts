import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb'
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { BACKEND_ATTR as A, backendFromItem, scanBackends } from './backend-item.ts'
import type { BackendLoad, BackendRecord, BackendRegistration, BackendState } from './backend-record.ts'
import type { BackendRegistry } from './backend-registry.ts'

export class DynamoBackendRegistry implements BackendRegistry {
  readonly #doc: DynamoDBDocumentClient
  readonly #table: string

  constructor(options: { doc: DynamoDBDocumentClient; tableName: string }) {
    this.#doc = options.doc
    this.#table = options.tableName
  }

  async register(registration: BackendRegistration, now: number): Promise<BackendRecord> {
    // An update, not a put: an agent that restarts re-registers while requests
    // still hold leases on the backend, and those must survive.
    const out = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { id: registration.id },
        UpdateExpression:
          'SET #url = :url, #hw = :hw, #models = :models, #max = :max, #state = :active, #hb = :now, ' +
          '#reg = if_not_exists(#reg, :now), #load = if_not_exists(#load, :idle), #leases = if_not_exists(#leases, :none) ' +
          // A (re-)registering backend says it is up: whatever circuit was open for everyone closes.
          'REMOVE #circuit',
        ExpressionAttributeNames: {
          '#url': A.url,
          '#hw': A.hardware,
          '#models': A.models,
          '#max': A.maxConcurrency,
          '#state': A.state,
          '#hb': A.heartbeatAt,
          '#reg': A.registeredAt,
          '#load': A.load,
          '#leases': A.leases,
          '#circuit': A.circuitOpenUntil,
        },
        ExpressionAttributeValues: {
          ':url': registration.url,
          ':hw': registration.hardware,
          ':models': [...registration.models],
          ':max': registration.maxConcurrency,
          ':active': 'active',
          ':now': now,
          ':idle': { running: 0, waiting: 0, kvCacheUsage: 0 },
          ':none': {},
        },
        ReturnValues: 'ALL_NEW',
      }),
    )
    return backendFromItem(out.Attributes ?? {})
  }

  async heartbeat(id: string, load: BackendLoad, now: number): Promise<BackendRecord | undefined> {
    return this.#updateExisting(
      id,
      'SET #load = :load, #hb = :now',
      { '#load': A.load, '#hb': A.heartbeatAt },
      {
        ':load': { running: load.running, waiting: load.waiting, kvCacheUsage: load.kvCacheUsage },
        ':now': now,
      },
    )
  }

  async setState(id: string, state: BackendState): Promise<BackendRecord | undefined> {
    return this.#updateExisting(id, 'SET #state = :state', { '#state': A.state }, { ':state': state })
  }

  async deregister(id: string): Promise<boolean> {
    const out = await this.#doc.send(
      new DeleteCommand({ TableName: this.#table, Key: { id }, ReturnValues: 'ALL_OLD' }),
    )
    return out.Attributes !== undefined
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

  async #updateExisting(
    id: string,
    expression: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<BackendRecord | undefined> {
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id },
          UpdateExpression: expression,
          ConditionExpression: 'attribute_exists(#id)',
          ExpressionAttributeNames: { '#id': A.id, ...names },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      )
      return backendFromItem(out.Attributes ?? {})
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined
      throw error
    }
  }
}
