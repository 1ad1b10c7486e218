import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { unlessConditionFails } from './dynamo-expressions.ts'
import { JOB_ATTR } from './job-item.ts'
import type { IdempotencyResult, ReserveIdempotencyOptions } from './job-store.ts'

/**
 * `Idempotency-Key` records share the jobs table under `idem#{tenant}#{key}`:
 * one conditional put binds a key to a job id; a key whose record expired is
 * free again (TTL deletes late, so expiry is checked in the condition).
 */
export function idempotencyItemId(tenantId: string, key: string): string {
  return `idem#${tenantId}#${key}`
}

const keyFree = 'attribute_not_exists(#id) OR #expiresAt < :nowSeconds'

export async function reserveIdempotencyKey(
  options: ReserveIdempotencyOptions & { doc: DynamoDBDocumentClient; tableName: string },
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
    const out = await doc.send(new GetCommand({ TableName: tableName, Key: { id }, ConsistentRead: true }))
    if (out.Item)
      return { ok: false, jobId: String(out.Item.jobId), fingerprint: String(out.Item.fingerprint) }
  }
  throw new Error(`idempotency record ${id} neither writable nor readable`)
}
