import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { conditionHeld } from '../aws/dynamo-toolkit.ts'
import type { HoldEntryResult, TenantHoldStore } from './tenant-hold-store.ts'

/**
 * Holds in the tenants table, one item per tenant (no table of their own):
 *   holds#{tenant}   `holds`: a map of hold id → expiresAt (epoch ms)
 */
const holdsPk = (tenantId: string) => `holds#${tenantId}`

/**
 * Expired entries one enter removes at most: each adds a condition, and real
 * DynamoDB refuses expressions over 4 KB (dynalite does not check). Any left over
 * still count against the limit until a later enter removes them: never too many.
 */
export const MAX_RECLAIMED_PER_ENTER = 20

/** Conflicting enters retry this often before the request is refused (never admitted unchecked). */
const MAX_ATTEMPTS = 6

export class DynamoTenantHoldStore implements TenantHoldStore {
  readonly #doc: DynamoDBDocumentClient
  readonly #table: string

  constructor(options: { doc: DynamoDBDocumentClient; tableName: string }) {
    this.#doc = options.doc
    this.#table = options.tableName
  }

  async enter(o: {
    tenantId: string
    holdId: string
    limit: number
    now: number
    expiresAt: number
  }): Promise<HoldEntryResult> {
    let live = 0
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const holds = await this.#read(o.tenantId)
      const entries = Object.entries(holds ?? {})
      const expired = entries.filter(([, expiresAt]) => expiresAt < o.now).map(([id]) => id)
      live = entries.length - expired.length
      if (live >= o.limit) return { ok: false, reason: 'too-many-holds', live }
      // After a mass crash: more dead entries than one write may name block the room check.
      while (expired.length > MAX_RECLAIMED_PER_ENTER)
        await this.#purge(o.tenantId, expired.splice(0, MAX_RECLAIMED_PER_ENTER), o.now)
      const written = holds
        ? await this.#add({ ...o, reclaim: expired.slice(0, MAX_RECLAIMED_PER_ENTER) })
        : await this.#create(o)
      if (written) return { ok: true }
      // Another gateway changed the map between the read and the write: look again.
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * (attempt + 1)))
    }
    return { ok: false, reason: 'too-many-holds', live }
  }

  async renew(o: { tenantId: string; holdId: string; expiresAt: number }): Promise<boolean> {
    return this.#conditional({
      TableName: this.#table,
      Key: { pk: holdsPk(o.tenantId) },
      UpdateExpression: 'SET holds.#id = :expiresAt',
      ConditionExpression: 'attribute_exists(holds.#id)',
      ExpressionAttributeNames: { '#id': o.holdId },
      ExpressionAttributeValues: { ':expiresAt': o.expiresAt },
    })
  }

  async leave(o: { tenantId: string; holdId: string }): Promise<void> {
    // The condition keeps a REMOVE from creating an empty item for a tenant with none.
    await this.#conditional({
      TableName: this.#table,
      Key: { pk: holdsPk(o.tenantId) },
      UpdateExpression: 'REMOVE holds.#id',
      ConditionExpression: 'attribute_exists(holds)',
      ExpressionAttributeNames: { '#id': o.holdId },
    })
  }

  async live(o: { tenantId: string; now: number }): Promise<number> {
    return Object.values((await this.#read(o.tenantId)) ?? {}).filter((expiresAt) => expiresAt >= o.now)
      .length
  }

  async #read(tenantId: string): Promise<Record<string, number> | undefined> {
    const out = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { pk: holdsPk(tenantId) }, ConsistentRead: true }),
    )
    return out.Item?.holds as Record<string, number> | undefined
  }

  /** The tenant's first hold: the map does not exist yet (a nested SET would need it). */
  #create(o: { tenantId: string; holdId: string; limit: number; expiresAt: number }): Promise<boolean> {
    return this.#conditional({
      TableName: this.#table,
      Key: { pk: holdsPk(o.tenantId) },
      UpdateExpression: 'SET holds = :holds, kind = :kind',
      ConditionExpression: 'attribute_not_exists(holds)',
      ExpressionAttributeValues: { ':holds': { [o.holdId]: o.expiresAt }, ':kind': 'holds' },
    })
  }

  /**
   * Adds the hold and removes `reclaim` (entries seen expired). The map may hold at
   * most `limit - 1 + reclaim.length` entries before the write, so after it, with the
   * reclaimed ones gone, at most `limit` remain, live or not. Each reclaimed entry
   * must still be there and still expired: one renewed meanwhile is not removed.
   */
  #add(o: {
    tenantId: string
    holdId: string
    limit: number
    now: number
    expiresAt: number
    reclaim: readonly string[]
  }): Promise<boolean> {
    const names: Record<string, string> = { '#id': o.holdId }
    const paths = o.reclaim.map((id, i) => {
      names[`#r${i}`] = id
      return `holds.#r${i}`
    })
    const roomLeft = 'size(holds) <= :max'
    const reclaimedStillExpired = paths.map((p) => `${p} < :now`)
    return this.#conditional({
      TableName: this.#table,
      Key: { pk: holdsPk(o.tenantId) },
      UpdateExpression: `SET holds.#id = :expiresAt${paths.length ? ` REMOVE ${paths.join(', ')}` : ''}`,
      ConditionExpression: [roomLeft, ...reclaimedStillExpired].join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: {
        ':expiresAt': o.expiresAt,
        ':max': o.limit - 1 + paths.length,
        ...(paths.length ? { ':now': o.now } : {}),
      },
    })
  }

  /** Removes entries that are still expired; one renewed meanwhile fails the write, and the next read sees it. */
  async #purge(tenantId: string, ids: readonly string[], now: number): Promise<void> {
    const names = Object.fromEntries(ids.map((id, i) => [`#r${i}`, id]))
    const paths = ids.map((_, i) => `holds.#r${i}`)
    await this.#conditional({
      TableName: this.#table,
      Key: { pk: holdsPk(tenantId) },
      UpdateExpression: `REMOVE ${paths.join(', ')}`,
      ConditionExpression: paths.map((p) => `${p} < :now`).join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':now': now },
    })
  }

  #conditional(input: ConstructorParameters<typeof UpdateCommand>[0]): Promise<boolean> {
    return conditionHeld(() => this.#doc.send(new UpdateCommand(input)))
  }
}
