import { loadGatewayConfigFile } from '../config/config-file.ts'
import {
  ConfigError,
  DEFAULT_CONFIG,
  type GatewayConfig,
  parseGatewayConfig,
} from '../config/gateway-config.ts'
import type { QueueKey, TableKey } from '../tables.ts'
import { parseCorsOrigins } from './cors-origins.ts'
import {
  ALL_NEEDS,
  DEAD_LETTER_QUEUE_ENV,
  ENV,
  QUEUE_ENV,
  type RuntimeNeeds,
  TABLE_ENV,
} from './env-names.ts'

/**
 * Everything a Spillway process reads from its environment, read once. The
 * entry points (Lambda handlers, the Node server, the local stack) are the only
 * callers; the domain never sees `process.env`.
 */
export interface RuntimeEnv {
  readonly region?: string
  readonly endpoints: { dynamodb?: string; sqs?: string }
  /** The tables this process was given (`RuntimeNeeds`); `tableName` asks for one. */
  readonly tables: Readonly<Partial<Record<TableKey, string>>>
  /** Absent in a process that sends no job (the DLQ handler); `queueUrls` asks for them. */
  readonly queues?: Readonly<Record<QueueKey, string>>
  readonly deadLetterQueues: Readonly<Partial<Record<QueueKey, string>>>
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

/**
 * Reads the environment of a process that uses `needs` (default: everything, as the
 * local stack and the Node gateway do); every missing name is reported in one error.
 *
 * @example
 * const env = readRuntimeEnv(process.env, FUNCTION_NEEDS.worker)
 */
export function readRuntimeEnv(
  env: Record<string, string | undefined>,
  needs: RuntimeNeeds = ALL_NEEDS,
): RuntimeEnv {
  const missing: string[] = []
  const required = (name: string): string => {
    const value = env[name]
    if (!value) missing.push(name)
    return value ?? ''
  }
  const lanes = (names: Readonly<Record<QueueKey, string>>, read: (name: string) => string | undefined) => ({
    interactive: read(names.interactive) ?? '',
    batch: read(names.batch) ?? '',
  })
  const runtime = {
    ...(env[ENV.region] ? { region: env[ENV.region] } : {}),
    endpoints: {
      ...(env[ENV.dynamodbEndpoint] ? { dynamodb: env[ENV.dynamodbEndpoint] } : {}),
      ...(env[ENV.sqsEndpoint] ? { sqs: env[ENV.sqsEndpoint] } : {}),
    },
    tables: Object.fromEntries(needs.tables.map((key) => [key, required(TABLE_ENV[key])])),
    ...(needs.queues ? { queues: lanes(QUEUE_ENV, required) } : {}),
    deadLetterQueues: needs.deadLetterQueues
      ? Object.fromEntries(
          Object.entries(lanes(DEAD_LETTER_QUEUE_ENV, (name) => env[name])).filter(([, url]) => url !== ''),
        )
      : {},
    config: parseConfig(env),
    corsOrigins: parseCorsOrigins(env[ENV.corsOrigins]),
    secrets: Object.fromEntries(
      SECRET_FIELDS.flatMap((field) => (env[ENV[field]] ? [[field, env[ENV[field]] as string]] : [])),
    ),
    logLevel: parseLogLevel(env[ENV.logLevel]),
    webhookAllowPrivateNetworks: env[ENV.webhookAllowPrivateNetworks] === 'true',
  }
  if (missing.length > 0) throw new ConfigError(`Missing environment variables: ${missing.join(', ')}`)
  return runtime
}

const SECRET_FIELDS = [
  'adminKey',
  'agentKey',
  'webhookSecret',
  'backendApiKey',
  'adminKeySecretArn',
  'agentKeySecretArn',
  'webhookSecretArn',
  'backendApiKeySecretArn',
] as const satisfies readonly (keyof RuntimeEnv['secrets'] & keyof typeof ENV)[]

/** A table this process needs; a process not given it was not meant to use it (nor granted it). */
export function tableName(env: Pick<RuntimeEnv, 'tables'>, key: TableKey): string {
  const name = env.tables[key]
  if (!name)
    throw new ConfigError(`${TABLE_ENV[key]} is not set: this process was not given the ${key} table.`)
  return name
}

/** The lanes' URLs, for a process that sends jobs. */
export function queueUrls(env: Pick<RuntimeEnv, 'queues'>): Readonly<Record<QueueKey, string>> {
  if (!env.queues) {
    throw new ConfigError(`${QUEUE_ENV.interactive} is not set: this process was not given the job queues.`)
  }
  return env.queues
}

/**
 * `SPILLWAY_CONFIG` holds the configuration as JSON (what a deployment sets when it
 * fits Lambda's 4 KB of environment), `SPILLWAY_CONFIG_FILE` names a file (a bigger
 * one bundled with the function, or a gateway run by hand); neither: the default.
 */
function parseConfig(env: Record<string, string | undefined>): GatewayConfig {
  const raw = env[ENV.config]
  const file = env[ENV.configFile]
  if (raw && file) {
    throw new ConfigError('Set SPILLWAY_CONFIG or SPILLWAY_CONFIG_FILE, not both.')
  }
  if (file) return loadGatewayConfigFile(file)
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
