import { loadGatewayConfigFile } from '../config/config-file.ts'
import {
  ConfigError,
  DEFAULT_CONFIG,
  type GatewayConfig,
  parseGatewayConfig,
} from '../config/gateway-config.ts'
import type { QueueKey, TableKey } from '../tables.ts'
import { parseCorsOrigins } from './cors-origins.ts'

/**
 * Everything a Spillway process reads from its environment, read once. The
 * entry points (Lambda handlers, the Node server, the local stack) are the only
 * callers; the domain never sees `process.env`.
 */
export interface RuntimeEnv {
  readonly region?: string
  readonly endpoints: { dynamodb?: string; sqs?: string }
  readonly tables: Record<TableKey, string>
  readonly queues: Record<QueueKey, string>
  readonly deadLetterQueues: Record<QueueKey, string>
  readonly config: GatewayConfig
  /** `SPILLWAY_CORS_ORIGINS`, comma-separated; empty: CORS off. */
  readonly corsOrigins: readonly string[]
  readonly secrets: {
    /** Plain keys: local stack only. A deployment passes secret ARNs instead. */
    readonly adminKey?: string
    readonly agentKey?: string
    readonly webhookSecret?: string
    /** Sent to every backend as a bearer key (vLLM's `--api-key`). */
    readonly backendApiKey?: string
    readonly adminKeySecretArn?: string
    readonly agentKeySecretArn?: string
    readonly webhookSecretArn?: string
    readonly backendApiKeySecretArn?: string
  }
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error'
  /** `SPILLWAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true`: webhooks may target loopback and private addresses (local only). */
  readonly webhookAllowPrivateNetworks: boolean
}

export function readRuntimeEnv(env: Record<string, string | undefined>): RuntimeEnv {
  const missing: string[] = []
  const required = (name: string): string => {
    const value = env[name]
    if (!value) missing.push(name)
    return value ?? ''
  }
  const optional = (name: string) => (env[name] ? { [name]: env[name] } : {})
  const runtime = {
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    endpoints: {
      ...(env.SPILLWAY_DYNAMODB_ENDPOINT ? { dynamodb: env.SPILLWAY_DYNAMODB_ENDPOINT } : {}),
      ...(env.SPILLWAY_SQS_ENDPOINT ? { sqs: env.SPILLWAY_SQS_ENDPOINT } : {}),
    },
    tables: {
      backends: required('SPILLWAY_TABLE_BACKENDS'),
      jobs: required('SPILLWAY_TABLE_JOBS'),
      tenants: required('SPILLWAY_TABLE_TENANTS'),
    },
    queues: {
      interactive: required('SPILLWAY_QUEUE_INTERACTIVE_URL'),
      batch: required('SPILLWAY_QUEUE_BATCH_URL'),
    },
    deadLetterQueues: {
      interactive: env.SPILLWAY_DLQ_INTERACTIVE_URL ?? '',
      batch: env.SPILLWAY_DLQ_BATCH_URL ?? '',
    },
    config: parseConfig(env),
    corsOrigins: parseCorsOrigins(env.SPILLWAY_CORS_ORIGINS),
    secrets: {
      ...renameKeys(optional('SPILLWAY_ADMIN_KEY'), 'adminKey'),
      ...renameKeys(optional('SPILLWAY_AGENT_KEY'), 'agentKey'),
      ...renameKeys(optional('SPILLWAY_WEBHOOK_SECRET'), 'webhookSecret'),
      ...renameKeys(optional('SPILLWAY_BACKEND_API_KEY'), 'backendApiKey'),
      ...renameKeys(optional('SPILLWAY_ADMIN_KEY_SECRET_ARN'), 'adminKeySecretArn'),
      ...renameKeys(optional('SPILLWAY_AGENT_KEY_SECRET_ARN'), 'agentKeySecretArn'),
      ...renameKeys(optional('SPILLWAY_WEBHOOK_SECRET_ARN'), 'webhookSecretArn'),
      ...renameKeys(optional('SPILLWAY_BACKEND_API_KEY_SECRET_ARN'), 'backendApiKeySecretArn'),
    },
    logLevel: parseLogLevel(env.LOG_LEVEL),
    webhookAllowPrivateNetworks: env.SPILLWAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS === 'true',
  }
  if (missing.length > 0) throw new ConfigError(`Missing environment variables: ${missing.join(', ')}`)
  return runtime
}

function renameKeys(entry: Record<string, string | undefined>, name: string): Record<string, string> {
  const value = Object.values(entry)[0]
  return value ? { [name]: value } : {}
}

/**
 * `SPILLWAY_CONFIG` holds the configuration as JSON (what a deployment sets when it
 * fits Lambda's 4 KB of environment), `SPILLWAY_CONFIG_FILE` names a file (a bigger
 * one bundled with the function, or a gateway run by hand); neither: the default.
 */
function parseConfig(env: Record<string, string | undefined>): GatewayConfig {
  const raw = env.SPILLWAY_CONFIG
  if (raw && env.SPILLWAY_CONFIG_FILE) {
    throw new ConfigError('Set SPILLWAY_CONFIG or SPILLWAY_CONFIG_FILE, not both.')
  }
  if (env.SPILLWAY_CONFIG_FILE) return loadGatewayConfigFile(env.SPILLWAY_CONFIG_FILE)
  if (!raw) return parseGatewayConfig(DEFAULT_CONFIG)
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch {
    throw new ConfigError('SPILLWAY_CONFIG is not valid JSON.')
  }
  return parseGatewayConfig(json)
}

function parseLogLevel(raw: string | undefined): RuntimeEnv['logLevel'] {
  const level = raw?.toLowerCase()
  return level === 'debug' || level === 'warn' || level === 'error' ? level : 'info'
}
