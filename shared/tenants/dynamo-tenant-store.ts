import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { conditionHeld } from '../aws/dynamo-toolkit.ts'
import { type TenantPolicy, TenantPolicySchema } from './tenant-policy.ts'
import type { ApiKeyRecord, RateLimitResult, TenantStore } from './tenant-store.ts'

/**
 * Items of the tenants table (key `pk`):
 *   key#{sha256}            an API key: tenantId, hint, createdAt, revokedAt?
 *   tenant#{id}             a tenant policy (JSON in `policy`)
 *   rate#{tenant}#{minute}  requests counted in one minute; `expiresAt` lets TTL collect it
 *   holds#{tenant}          the tenant's concurrent holds (shared/holds/dynamo-tenant-hold-store.ts)
 */
const keyPk = (keyHash: string) => `key#${keyHash}`
const tenantPk = (tenantId: string) => `tenant#${tenantId}`
const ratePk = (tenantId: string, minute: number) => `rate#${tenantId}#${minute}`

export class DynamoTenantStore implements TenantStore {
  readonly #doc: DynamoDBDocumentClient
  readonly #table: string

  constructor(options: { doc: DynamoDBDocumentClient; tableName: string }) {
    this.#doc = options.doc
    this.#table = options.tableName
  }

  async putTenant(policy: TenantPolicy): Promise<void> {
    await this.#doc.send(
      new PutCommand({ TableName: this.#table, Item: { pk: tenantPk(policy.id), kind: 'tenant', policy } }),
    )
  }

  async getTenant(tenantId: string): Promise<TenantPolicy | undefined> {
    const out = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { pk: tenantPk(tenantId) } }),
    )
    const parsed = TenantPolicySchema.safeParse(out.Item?.policy)
    return parsed.success ? parsed.data : undefined
  }

  async listTenants(): Promise<TenantPolicy[]> {
    const items = await this.#scanKind('tenant')
    return items.flatMap((item) => {
      const parsed = TenantPolicySchema.safeParse(item.policy)
      return parsed.success ? [parsed.data] : []
    })
  }

  async putKey(record: ApiKeyRecord): Promise<void> {
    await this.#doc.send(
      new PutCommand({ TableName: this.#table, Item: { pk: keyPk(record.keyHash), kind: 'key', ...record } }),
    )
  }

  async getKey(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const out = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk: keyPk(keyHash) } }))
    return out.Item ? toKeyRecord(out.Item) : undefined
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return (await this.#scanKind('key')).map(toKeyRecord).sort((a, b) => a.createdAt - b.createdAt)
  }

  revokeKey(keyHash: string, now: number): Promise<boolean> {
    return conditionHeld(() =>
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: keyPk(keyHash) },
          UpdateExpression: 'SET revokedAt = :now',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': now },
        }),
      ),
    )
  }

  async consumeRate(options: {
    tenantId: string
    limitPerMinute: number
    now: number
  }): Promise<RateLimitResult> {
    const minute = Math.floor(options.now / 60_000)
    const counted = await conditionHeld(() =>
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: ratePk(options.tenantId, minute) },
          UpdateExpression: 'ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expires)',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: {
            ':one': 1,
            ':limit': options.limitPerMinute,
            ':expires': (minute + 2) * 60,
          },
        }),
      ),
    )
    if (counted) return { ok: true }
    return {
      ok: false,
      retryAfterSeconds: Math.max(1, Math.ceil(((minute + 1) * 60_000 - options.now) / 1000)),
    }
  }

  async #scanKind(kind: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = []
    let ExclusiveStartKey: Record<string, unknown> | undefined
    do {
      const page = await this.#doc.send(
        new ScanCommand({
          TableName: this.#table,
          FilterExpression: 'kind = :kind',
          ExpressionAttributeValues: { ':kind': kind },
          ExclusiveStartKey,
        }),
      )
      items.push(...(page.Items ?? []))
      ExclusiveStartKey = page.LastEvaluatedKey
    } while (ExclusiveStartKey)
    return items
  }
}

function toKeyRecord(item: Record<string, unknown>): ApiKeyRecord {
  return {
    keyHash: String(item.keyHash),
    tenantId: String(item.tenantId),
    hint: String(item.hint ?? ''),
    createdAt: Number(item.createdAt ?? 0),
    ...(item.revokedAt === undefined ? {} : { revokedAt: Number(item.revokedAt) }),
  }
}
