import type { QueueKey, TableKey } from '../tables.ts'

/**
 * The one list of environment variables a Spillway process reads: the CDK stack
 * sets them (`infra/constructs/spillway-gateway.ts`), the local stack sets them
 * (`local/emulators.ts`), and `readRuntimeEnv` reads them, all by these names.
 */
export const ENV = Object.freeze({
  region: 'AWS_REGION',
  dynamodbEndpoint: 'SPILLWAY_DYNAMODB_ENDPOINT',
  sqsEndpoint: 'SPILLWAY_SQS_ENDPOINT',
  config: 'SPILLWAY_CONFIG',
  configFile: 'SPILLWAY_CONFIG_FILE',
  corsOrigins: 'SPILLWAY_CORS_ORIGINS',
  adminKey: 'SPILLWAY_ADMIN_KEY',
  agentKey: 'SPILLWAY_AGENT_KEY',
  webhookSecret: 'SPILLWAY_WEBHOOK_SECRET',
  backendApiKey: 'SPILLWAY_BACKEND_API_KEY',
  adminKeySecretArn: 'SPILLWAY_ADMIN_KEY_SECRET_ARN',
  agentKeySecretArn: 'SPILLWAY_AGENT_KEY_SECRET_ARN',
  webhookSecretArn: 'SPILLWAY_WEBHOOK_SECRET_ARN',
  backendApiKeySecretArn: 'SPILLWAY_BACKEND_API_KEY_SECRET_ARN',
  logLevel: 'LOG_LEVEL',
  webhookAllowPrivateNetworks: 'SPILLWAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS',
})

export const TABLE_ENV: Readonly<Record<TableKey, string>> = Object.freeze({
  backends: 'SPILLWAY_TABLE_BACKENDS',
  jobs: 'SPILLWAY_TABLE_JOBS',
  tenants: 'SPILLWAY_TABLE_TENANTS',
})

export const QUEUE_ENV: Readonly<Record<QueueKey, string>> = Object.freeze({
  interactive: 'SPILLWAY_QUEUE_INTERACTIVE_URL',
  batch: 'SPILLWAY_QUEUE_BATCH_URL',
})

export const DEAD_LETTER_QUEUE_ENV: Readonly<Record<QueueKey, string>> = Object.freeze({
  interactive: 'SPILLWAY_DLQ_INTERACTIVE_URL',
  batch: 'SPILLWAY_DLQ_BATCH_URL',
})

/** The Lambda entry points, one folder each under `functions/`. */
export type FunctionKey = 'gateway' | 'worker' | 'dlq' | 'reaper'

/** The tables and queues a process reads: it requires their names, and the stack grants only them. */
export interface RuntimeNeeds {
  readonly tables: readonly TableKey[]
  /** Sends to the lanes (the overflow, backoff re-sends, the outbox sweep). */
  readonly queues: boolean
  /** Reads the DLQs' depth (`GET /admin/queues`); the DLQ handler's event source needs no URL. */
  readonly deadLetterQueues: boolean
}

export const FUNCTION_NEEDS: Readonly<Record<FunctionKey, RuntimeNeeds>> = Object.freeze({
  gateway: { tables: ['backends', 'jobs', 'tenants'], queues: true, deadLetterQueues: true },
  // The tenant's policy travels on the job: the worker never reads the tenants table.
  worker: { tables: ['backends', 'jobs'], queues: true, deadLetterQueues: false },
  dlq: { tables: ['jobs'], queues: false, deadLetterQueues: false },
  reaper: { tables: ['backends', 'jobs'], queues: true, deadLetterQueues: false },
})

/** Everything: the local stack and the Node gateway run every part in one process. */
export const ALL_NEEDS: RuntimeNeeds = FUNCTION_NEEDS.gateway
