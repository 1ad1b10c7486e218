import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { conditionHeld, unlessConditionFails } from '../aws/dynamo-toolkit.ts'
import { JOB_ATTR } from './job-item.ts'
import type { JobServedBy } from './job-record.ts'
import type {
  IdempotencyRecord,
  IdempotencyResult,
  ReserveIdempotencyOptions,
  SettleIdempotencyOptions,
} from './job-store.ts'

/**
 * `Idempotency-Key` records share the jobs table under `idem#{tenant}#{key}`:
 * one conditional put binds a key to a job id; a key whose record expired is
 * free again (TTL deletes late, so expiry is checked in the condition). A
 * request served directly stores its completion on the record (`resultJson`),
 * so a retry replays it instead of running again; a queued one's answer lives
 * on its job, which the record names.
 *
 *   reserve ──▶ bound to jobId ──┬── served directly ─▶ settle: + resultJson, servedBy
 *                                ├── queued ─▶ the job `jobId` exists (a retry joins it)
 *                                └── refused / failed ─▶ release: deleted (a retry runs)
 */
export function idempotencyItemId(tenantId: string, key: string): string {
  return `idem#${tenantId}#${key}`
}

const keyFree = 'attribute_not_exists(#id) OR #expiresAt < :nowSeconds'
const boundToJob = '#jobId = :jobId'

type Table = { doc: DynamoDBDocumentClient; tableName: string }

export async function reserveIdempotencyKey(
  options: ReserveIdempotencyOptions & Table,
): Promise<IdempotencyResult> {
  const { doc, tableName } = options
  const id = idempotencyItemId(options.tenantId, options.key)
  // Two tries: an expired record may vanish (TTL) between our failed put and our read.
  for (let attempt = 0; attempt < 2; attempt++) {
    const written = await unlessConditionFails(() =>
      doc.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            id,
            kind: 'idempotency',
            jobId: options.jobId,
            fingerprint: options.fingerprint,
            createdAt: options.now,
            [JOB_ATTR.expiresAt]: Math.ceil(options.now / 1000) + options.ttlSeconds,
          },
          ConditionExpression: keyFree,
          ExpressionAttributeNames: { '#id': JOB_ATTR.id, '#expiresAt': JOB_ATTR.expiresAt },
          ExpressionAttributeValues: { ':nowSeconds': Math.floor(options.now / 1000) },
        }),
      ),
    )
    if (written) return { ok: true }
    const record = await readIdempotencyKey(options)
    if (record) return { ok: false, ...record }
  }
  throw new Error(`idempotency record ${id} neither writable nor readable`)
}

export async function readIdempotencyKey(
  options: { tenantId: string; key: string } & Table,
): Promise<IdempotencyRecord | undefined> {
  const out = await options.doc.send(
    new GetCommand({
      TableName: options.tableName,
      Key: { id: idempotencyItemId(options.tenantId, options.key) },
      ConsistentRead: true,
    }),
  )
  const item = out.Item
  if (!item) return undefined
  const record: IdempotencyRecord = {
    jobId: String(item.jobId),
    fingerprint: String(item.fingerprint),
    ...(typeof item[JOB_ATTR.result] === 'string'
      ? { result: JSON.parse(item[JOB_ATTR.result] as string) as Record<string, unknown> }
      : {}),
    ...(item[JOB_ATTR.servedBy] ? { servedBy: item[JOB_ATTR.servedBy] as JobServedBy } : {}),
  }
  return record
}

export async function settleIdempotencyKey(options: SettleIdempotencyOptions & Table): Promise<boolean> {
  return conditionHeld(() =>
    options.doc.send(
      new UpdateCommand({
        TableName: options.tableName,
        Key: { id: idempotencyItemId(options.tenantId, options.key) },
        UpdateExpression: 'SET #result = :result, #servedBy = :servedBy',
        ConditionExpression: boundToJob,
        ExpressionAttributeNames: {
          '#result': JOB_ATTR.result,
          '#servedBy': JOB_ATTR.servedBy,
          '#jobId': 'jobId',
        },
        ExpressionAttributeValues: {
          ':result': JSON.stringify(options.result),
          ':servedBy': { ...options.servedBy },
          ':jobId': options.jobId,
        },
      }),
    ),
  )
}

export async function releaseIdempotencyKey(
  options: { tenantId: string; key: string; jobId: string } & Table,
): Promise<void> {
  await unlessConditionFails(() =>
    options.doc.send(
      new DeleteCommand({
        TableName: options.tableName,
        Key: { id: idempotencyItemId(options.tenantId, options.key) },
        ConditionExpression: boundToJob,
        ExpressionAttributeNames: { '#jobId': 'jobId' },
        ExpressionAttributeValues: { ':jobId': options.jobId },
      }),
    ),
  )
}
