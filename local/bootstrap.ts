import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  type TableDescription,
} from '@aws-sdk/client-dynamodb'
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueNameExists,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import {
  QUEUES,
  type QueueDefinition,
  resourceNames,
  TABLES,
  type TableDefinition,
} from '../shared/tables.ts'

export type ResourceNames = ReturnType<typeof resourceNames>

export interface QueueUrls {
  interactive: string
  batch: string
  interactiveDlq: string
  batchDlq: string
}

export interface BootstrapOptions {
  clients: { dynamo: DynamoDBClient; sqs: SQSClient }
  prefix: string
}

export interface BootstrapResult {
  names: ResourceNames
  queueUrls: QueueUrls
}

/** Real AWS can take tens of seconds to create a table; emulators take milliseconds. */
const TABLE_ACTIVE_TIMEOUT_MS = 120_000

/**
 * Creates Spillway's tables and queues from `shared/tables.ts`, as the CDK stack does.
 * Idempotent: resources that already exist (a persisted local stack) are reused.
 *
 * TTL is not enabled here: dynalite has no UpdateTimeToLive, and nothing depends on
 * TTL anyway (expiry is always checked on read). Deployments get it from CDK.
 *
 * @example
 * const { names, queueUrls } = await bootstrapResources({ clients, prefix: 'spillway-local' })
 */
export async function bootstrapResources(options: BootstrapOptions): Promise<BootstrapResult> {
  const names = resourceNames(options.prefix)
  const { dynamo, sqs } = options.clients
  const [, interactive, batch] = await Promise.all([
    Promise.all(Object.values(TABLES).map((def) => ensureTable(dynamo, names.tables[def.key], def))),
    ensureQueue(sqs, { definition: QUEUES.interactive, names }),
    ensureQueue(sqs, { definition: QUEUES.batch, names }),
  ])
  return {
    names,
    queueUrls: {
      interactive: interactive.url,
      batch: batch.url,
      interactiveDlq: interactive.dlqUrl,
      batchDlq: batch.dlqUrl,
    },
  }
}

async function ensureTable(dynamo: DynamoDBClient, tableName: string, def: TableDefinition): Promise<void> {
  const keyAttributes = [
    def.partitionKey,
    def.sortKey,
    ...def.globalIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ]
  const attributeDefinitions = new Map<string, AttributeDefinition>()
  for (const attr of keyAttributes) {
    if (attr) attributeDefinitions.set(attr.name, { AttributeName: attr.name, AttributeType: attr.type })
  }
  const keySchema = (pk: { name: string }, sk: { name: string } | undefined) => [
    { AttributeName: pk.name, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
  ]
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributeDefinitions.values()],
        KeySchema: keySchema(def.partitionKey, def.sortKey),
        ...(def.globalIndexes.length > 0
          ? {
              GlobalSecondaryIndexes: def.globalIndexes.map((index) => ({
                IndexName: index.indexName,
                KeySchema: keySchema(index.partitionKey, index.sortKey),
                Projection: { ProjectionType: 'ALL' as const },
              })),
            }
          : {}),
      }),
    )
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error
  }
  const table = await waitUntilActive(dynamo, tableName)
  // A table persisted by an older definition would silently lack an index the code queries.
  const existing = new Set((table.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName))
  const missing = def.globalIndexes.filter((index) => !existing.has(index.indexName))
  if (missing.length > 0) {
    throw new Error(
      `table ${tableName} exists without index ${missing.map((i) => i.indexName).join(', ')}; ` +
        'delete the local data directory or the table to recreate it',
    )
  }
}

async function waitUntilActive(dynamo: DynamoDBClient, tableName: string): Promise<TableDescription> {
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS
  for (let delayMs = 5; ; delayMs = Math.min(delayMs * 2, 1_000)) {
    const { Table: table } = await dynamo.send(new DescribeTableCommand({ TableName: tableName }))
    const indexesActive = (table?.GlobalSecondaryIndexes ?? []).every(
      (index) => index.IndexStatus === 'ACTIVE',
    )
    if (table?.TableStatus === 'ACTIVE' && indexesActive) return table
    if (Date.now() > deadline)
      throw new Error(`table ${tableName} is not ACTIVE after ${TABLE_ACTIVE_TIMEOUT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, delayMs))
  }
}

async function ensureQueue(
  sqs: SQSClient,
  options: { definition: QueueDefinition; names: ResourceNames },
): Promise<{ url: string; dlqUrl: string }> {
  const { definition: def, names } = options
  const dlqUrl = await createOrUpdateQueue(sqs, {
    queueName: names.deadLetterQueues[def.key],
    attributes: { MessageRetentionPeriod: String(def.deadLetter.retentionSeconds) },
  })
  const { Attributes: dlqAttributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  )
  const redrivePolicy = {
    deadLetterTargetArn: required(dlqAttributes?.QueueArn, 'dead-letter queue ARN'),
    maxReceiveCount: def.deadLetter.maxReceiveCount,
  }
  const url = await createOrUpdateQueue(sqs, {
    queueName: names.queues[def.key],
    attributes: {
      VisibilityTimeout: String(def.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(def.retentionSeconds),
      ReceiveMessageWaitTimeSeconds: String(def.receiveWaitSeconds),
      RedrivePolicy: JSON.stringify(redrivePolicy),
    },
  })
  return { url, dlqUrl }
}

/**
 * CreateQueue returns the existing queue when its attributes match, so a re-run is a
 * no-op; a queue persisted under an older definition is brought up to this one.
 */
async function createOrUpdateQueue(
  sqs: SQSClient,
  options: { queueName: string; attributes: Record<string, string> },
): Promise<string> {
  try {
    const created = await sqs.send(
      new CreateQueueCommand({ QueueName: options.queueName, Attributes: options.attributes }),
    )
    return required(created.QueueUrl, 'queue URL')
  } catch (error) {
    if (!isQueueNameExists(error)) throw error
  }
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: options.queueName }))
  const url = required(QueueUrl, 'queue URL')
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: options.attributes }))
  return url
}

/**
 * fauxqs answers with the query-protocol code `AWS.SimpleQueueService.QueueNameExists`,
 * which the SDK does not map to its `QueueNameExists` class; real SQS gets the class.
 */
function isQueueNameExists(error: unknown): boolean {
  return (
    error instanceof QueueNameExists || (error instanceof Error && error.name.endsWith('QueueNameExists'))
  )
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new Error(`SQS returned no ${what}`)
  return value
}
