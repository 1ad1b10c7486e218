import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb'
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { mapKeyPaths } from '../aws/dynamo-toolkit.ts'
import { BACKEND_ATTR as A, backendFromItem, scanBackends } from '../backends/backend-item.ts'
import type { BackendRecord } from '../backends/backend-record.ts'
import { deleteTombstone } from '../backends/dynamo-backend-registry.ts'
import {
  type AcquireOptions,
  type AcquireResult,
  type CapacityStore,
  type LeaseRef,
  MAX_RECLAIM_PER_WRITE,
  type TransferOptions,
} from './capacity-store.ts'

const BATCH_GET_LIMIT = 100

/**
 * Leases as entries of the backend item's `leases` map. Cost per routed request:
 * one conditional UpdateItem to acquire and one to release (1 WCU each for items
 * under 1 KB), no read while the cached snapshot is fresh: both writes return the
 * item (ALL_NEW) and the router refreshes its snapshot from it.
 *
 * No transactions (dynalite has none) and no ReturnValuesOnConditionCheckFailure
 * (dynalite ignores it): a failed condition is simply "no slot here".
 */
export class DynamoCapacityStore implements CapacityStore {
  readonly #doc: DynamoDBDocumentClient
  readonly #table: string

  constructor(options: { doc: DynamoDBDocumentClient; tableName: string }) {
    this.#doc = options.doc
    this.#table = options.tableName
  }

  async snapshot(): Promise<BackendRecord[]> {
    return scanBackends(this.#doc, this.#table)
  }

  async read(backendIds: readonly string[]): Promise<BackendRecord[]> {
    const backends: BackendRecord[] = []
    // BatchGetItem takes at most 100 keys, and may hand some back unprocessed under throttling.
    for (let start = 0; start < backendIds.length; start += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] | undefined = backendIds
        .slice(start, start + BATCH_GET_LIMIT)
        .map((id) => ({ id }))
      for (let round = 0; keys && keys.length > 0 && round < 3; round++) {
        const out: BatchGetCommandOutput = await this.#doc.send(
          new BatchGetCommand({
            RequestItems: { [this.#table]: { Keys: keys, ConsistentRead: true } },
          }),
        )
        for (const item of out.Responses?.[this.#table] ?? []) backends.push(backendFromItem(item))
        keys = out.UnprocessedKeys?.[this.#table]?.Keys
      }
    }
    return backends
  }

  async acquire(options: AcquireOptions): Promise<AcquireResult> {
    const names: Record<string, string> = {
      '#id': A.id,
      '#state': A.state,
      '#hb': A.heartbeatAt,
      '#leases': A.leases,
      '#max': A.maxConcurrency,
      '#lease': options.leaseId,
    }
    const values: Record<string, unknown> = {
      ':active': 'active',
      ':staleBefore': options.staleBefore,
      ':exp': options.expiresAt,
    }
    const {
      paths: reclaimed,
      names: reclaimNames,
      stillExpired: reclaimedAreExpired,
    } = expiredLeaseRemoval(options.reclaim.slice(0, MAX_RECLAIM_PER_WRITE))
    Object.assign(names, reclaimNames)

    const inRotation = 'attribute_exists(#id) AND #state = :active AND #hb >= :staleBefore'
    const leaseIsNew = 'attribute_not_exists(#leases.#lease)'
    // Removes nothing and adds one: ends at or under the maximum.
    const slotFree = 'size(#leases) < #max'
    const parts = [inRotation, leaseIsNew, ...reclaimedAreExpired]
    if (reclaimed.length === 0 || options.maxConcurrency === undefined) {
      if (reclaimed.length > 0) values[':now'] = options.now
      parts.push(slotFree)
    } else {
      // A full map still has room when the write removes k expired leases: then it ends at
      // size - k + 1, which must stay <= maxConcurrency (a lowered maximum included). A
      // condition cannot do arithmetic, so the bound is computed here from the maximum this
      // caller saw, which the condition pins; all k must still be there to count as removed.
      values[':now'] = options.now
      values[':max'] = options.maxConcurrency
      values[':sizeBound'] = options.maxConcurrency + reclaimed.length - 1
      const allPresentAndExpired = reclaimed.map((p) => `${p} < :now`).join(' AND ')
      const reclaimFrees = `#max = :max AND size(#leases) <= :sizeBound AND ${allPresentAndExpired}`
      parts.push(`(${slotFree} OR (${reclaimFrees}))`)
    }
    const condition = parts.join(' AND ')

    const update = ['SET #leases.#lease = :exp', reclaimed.length ? `REMOVE ${reclaimed.join(', ')}` : '']
      .filter(Boolean)
      .join(' ')
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id: options.backendId },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      )
      return { ok: true, backend: backendFromItem(out.Attributes ?? {}) }
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { ok: false, reason: 'no-slot' }
      throw error
    }
  }

  async renew(lease: LeaseRef & { expiresAt: number }): Promise<boolean> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id: lease.backendId },
          UpdateExpression: 'SET #leases.#lease = :exp',
          ConditionExpression: 'attribute_exists(#leases.#lease)',
          ExpressionAttributeNames: { '#leases': A.leases, '#lease': lease.leaseId },
          ExpressionAttributeValues: { ':exp': lease.expiresAt },
        }),
      )
      return true
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false
      throw error
    }
  }

  async transfer(options: TransferOptions): Promise<BackendRecord | undefined> {
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id: options.backendId },
          UpdateExpression: 'SET #leases.#lease = :exp',
          // The lease stays, so the count stays: it may only pass on while that count fits the
          // maximum (a lowered one drains through releases) and the backend still takes work.
          ConditionExpression:
            'attribute_exists(#leases.#lease) AND #state = :active AND #hb >= :staleBefore AND size(#leases) <= #max',
          ExpressionAttributeNames: {
            '#leases': A.leases,
            '#lease': options.leaseId,
            '#state': A.state,
            '#hb': A.heartbeatAt,
            '#max': A.maxConcurrency,
          },
          ExpressionAttributeValues: {
            ':exp': options.expiresAt,
            ':active': 'active',
            ':staleBefore': options.staleBefore,
          },
          ReturnValues: 'ALL_NEW',
        }),
      )
      return backendFromItem(out.Attributes ?? {})
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined
      throw error
    }
  }

  async release(lease: LeaseRef): Promise<BackendRecord | undefined> {
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id: lease.backendId },
          UpdateExpression: 'REMOVE #leases.#lease',
          // Without it, an update on a deregistered backend would create a bare item.
          ConditionExpression: 'attribute_exists(#id)',
          ExpressionAttributeNames: { '#id': A.id, '#leases': A.leases, '#lease': lease.leaseId },
          ReturnValues: 'ALL_NEW',
        }),
      )
      const backend = backendFromItem(out.Attributes ?? {})
      // The last lease of a removed backend is gone: its tombstone has nothing left to guard.
      if (backend.state === 'removed' && Object.keys(backend.leases).length === 0) {
        await deleteTombstone({ doc: this.#doc, tableName: this.#table, id: backend.id })
      }
      return backend
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined
      throw error
    }
  }

  purgeRemoved(backendId: string): Promise<boolean> {
    return deleteTombstone({ doc: this.#doc, tableName: this.#table, id: backendId })
  }

  async openCircuit(options: { backendId: string; until: number }): Promise<BackendRecord | undefined> {
    try {
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
      return backendFromItem(out.Attributes ?? {})
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined
      throw error
    }
  }

  async reclaimExpired(options: {
    backendId: string
    leaseIds: readonly string[]
    now: number
  }): Promise<number> {
    let removed = 0
    // One bounded write per chunk: a mass crash leaves more expired leases than one
    // expression may name (DynamoDB caps an expression at 4 KB).
    for (let start = 0; start < options.leaseIds.length; start += MAX_RECLAIM_PER_WRITE) {
      const chunk = options.leaseIds.slice(start, start + MAX_RECLAIM_PER_WRITE)
      removed += await this.#reclaimChunk({ ...options, leaseIds: chunk })
    }
    return removed
  }

  async #reclaimChunk(options: {
    backendId: string
    leaseIds: readonly string[]
    now: number
  }): Promise<number> {
    const removal = expiredLeaseRemoval(options.leaseIds)
    const names: Record<string, string> = { '#id': A.id, '#leases': A.leases, ...removal.names }
    const paths = removal.paths
    const condition = ['attribute_exists(#id)', ...removal.stillExpired]
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id: options.backendId },
          UpdateExpression: `REMOVE ${paths.join(', ')}`,
          ConditionExpression: condition.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':now': options.now },
          ReturnValues: 'UPDATED_OLD',
        }),
      )
      // Count only this chunk's ids: DynamoDB Local returns the whole old map, not just the removed paths.
      const old = (out.Attributes?.[A.leases] ?? {}) as Record<string, unknown>
      return options.leaseIds.filter((leaseId) => leaseId in old).length
    } catch (error) {
      // One of them was renewed meanwhile, or the backend is gone: leave this chunk; the next
      // sweep sees fresh values.
      if (error instanceof ConditionalCheckFailedException) return 0
      throw error
    }
  }
}

/**
 * The REMOVE paths for expired leases (`#leases.#r0`, …; `#leases` is the caller's
 * name), their names, and per path the condition that it is gone or still expired
 * at `:now`: a lease is only ever removed if it is already expired, so one renewed
 * meanwhile blocks the write.
 */
function expiredLeaseRemoval(leaseIds: readonly string[]) {
  const { paths, names } = mapKeyPaths('#leases', leaseIds, '#r')
  const stillExpired = paths.map((p) => `(attribute_not_exists(${p}) OR ${p} < :now)`)
  return { paths, names, stillExpired }
}
