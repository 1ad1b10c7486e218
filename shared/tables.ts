/**
 * The one definition of Spillway's DynamoDB tables and SQS queues.
 *
 * The CDK stack (`infra/`) and the local bootstrap (`local/`) both build their
 * resources from these objects, so the emulated stack has the same keys,
 * indexes, queues and redrive policies as a deployment.
 *
 * Access patterns, by table:
 * - backends  `id`                      get/update one backend (register, heartbeat,
 *                                       acquire/release a lease); scan for the snapshot
 * - jobs      `id`                      get/update one job; idempotency records share the
 *                                       table under `idem#{tenant}#{key}`
 *             GSI `by-open-status`      `openStatus` (queued|running, absent once the job
 *                                       is terminal: a sparse index) + `checkAt` (when the
 *                                       reaper should look again): outbox sweep, stuck claims,
 *                                       deadlines
 *             GSI `by-webhook-due`      `webhookOutbox` (`pending`, only on jobs with a webhook,
 *                                       removed once delivered or given up) + `webhookDueAt`
 *                                       (set when the job ends): webhooks whose sender died
 * - tenants   `pk`                      `key#{sha256}` an API key, `tenant#{id}` a policy,
 *                                       `rate#{tenant}#{minute}` a rate-limit counter,
 *                                       `holds#{tenant}` its concurrent holds (expiring entries)
 * Every table carries the TTL attribute `expiresAt` (epoch seconds) for garbage
 * collection only: TTL deletes within days, so expiry is always checked on read.
 */

export type TableKey = 'backends' | 'jobs' | 'tenants'
export type QueueKey = 'interactive' | 'batch'

export interface AttributeDefinition {
  readonly name: string
  readonly type: 'S' | 'N'
}

export interface IndexDefinition {
  readonly indexName: string
  readonly partitionKey: AttributeDefinition
  readonly sortKey?: AttributeDefinition
}

export interface TableDefinition {
  readonly key: TableKey
  /** Suffix of the physical name (`{prefix}-{suffix}`) and of the env var `SPILLWAY_TABLE_{KEY}`. */
  readonly suffix: string
  readonly partitionKey: AttributeDefinition
  readonly sortKey?: AttributeDefinition
  readonly globalIndexes: readonly IndexDefinition[]
  readonly ttlAttribute: string
}

export interface QueueDefinition {
  readonly key: QueueKey
  readonly suffix: string
  /** Seconds; must stay at least 6x the worker's timeout (AWS guidance for SQS event sources). */
  readonly visibilityTimeoutSeconds: number
  readonly retentionSeconds: number
  readonly receiveWaitSeconds: number
  readonly deadLetter: {
    readonly suffix: string
    /** Deliveries that crash the worker before the message is parked in the DLQ. */
    readonly maxReceiveCount: number
    readonly retentionSeconds: number
  }
}

export const TTL_ATTRIBUTE = 'expiresAt'

export const TABLES: Readonly<Record<TableKey, TableDefinition>> = Object.freeze({
  backends: {
    key: 'backends',
    suffix: 'backends',
    partitionKey: { name: 'id', type: 'S' },
    globalIndexes: [],
    ttlAttribute: TTL_ATTRIBUTE,
  },
  jobs: {
    key: 'jobs',
    suffix: 'jobs',
    partitionKey: { name: 'id', type: 'S' },
    globalIndexes: [
      {
        indexName: 'by-open-status',
        partitionKey: { name: 'openStatus', type: 'S' },
        sortKey: { name: 'checkAt', type: 'N' },
      },
      {
        indexName: 'by-webhook-due',
        partitionKey: { name: 'webhookOutbox', type: 'S' },
        sortKey: { name: 'webhookDueAt', type: 'N' },
      },
    ],
    ttlAttribute: TTL_ATTRIBUTE,
  },
  tenants: {
    key: 'tenants',
    suffix: 'tenants',
    partitionKey: { name: 'pk', type: 'S' },
    globalIndexes: [],
    ttlAttribute: TTL_ATTRIBUTE,
  },
})

/**
 * The worker's Lambda timeout; the queues' visibility timeout derives from it (6x:
 * 30 minutes), and so does the longest backend call a queued job may make (20 s
 * less, see `functions/worker/worker-options.ts`). Long enough for a reasoning
 * model's thousands of tokens; Lambda allows up to 900.
 */
export const WORKER_TIMEOUT_SECONDS = 300

export const QUEUES: Readonly<Record<QueueKey, QueueDefinition>> = Object.freeze({
  interactive: {
    key: 'interactive',
    suffix: 'interactive',
    visibilityTimeoutSeconds: 6 * WORKER_TIMEOUT_SECONDS,
    retentionSeconds: 4 * 24 * 3600,
    receiveWaitSeconds: 20,
    deadLetter: { suffix: 'interactive-dlq', maxReceiveCount: 5, retentionSeconds: 14 * 24 * 3600 },
  },
  batch: {
    key: 'batch',
    suffix: 'batch',
    visibilityTimeoutSeconds: 6 * WORKER_TIMEOUT_SECONDS,
    retentionSeconds: 4 * 24 * 3600,
    receiveWaitSeconds: 20,
    deadLetter: { suffix: 'batch-dlq', maxReceiveCount: 5, retentionSeconds: 14 * 24 * 3600 },
  },
})

/** Physical names for a deployment or a local stack, from one prefix. */
export function resourceNames(prefix: string): {
  tables: Record<TableKey, string>
  queues: Record<QueueKey, string>
  deadLetterQueues: Record<QueueKey, string>
} {
  const name = (suffix: string) => `${prefix}-${suffix}`
  return {
    tables: {
      backends: name(TABLES.backends.suffix),
      jobs: name(TABLES.jobs.suffix),
      tenants: name(TABLES.tenants.suffix),
    },
    queues: { interactive: name(QUEUES.interactive.suffix), batch: name(QUEUES.batch.suffix) },
    deadLetterQueues: {
      interactive: name(QUEUES.interactive.deadLetter.suffix),
      batch: name(QUEUES.batch.deadLetter.suffix),
    },
  }
}
