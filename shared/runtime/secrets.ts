import { getSecret } from '@aws-lambda-powertools/parameters/secrets'
import { parseWebhookSecret } from '../jobs/webhook-secret.ts'
import { hashApiKey } from '../tenants/api-keys.ts'
import type { RuntimeEnv } from './runtime-env.ts'

export interface ResolvedSecrets {
  readonly adminKeyHash: string
  readonly agentKeyHash?: string
  readonly webhookSecret?: string
  /** Plain, because it is sent: the bearer key every backend gets. */
  readonly backendApiKey?: string
}

/** A secret's value: plain locally, from Secrets Manager on AWS (cached 5 minutes). */
async function readSecret(plain: string | undefined, arn: string | undefined): Promise<string | undefined> {
  return plain ?? (arn ? await getSecret<string>(arn, { maxAge: 300 }) : undefined)
}

/** The bearer key for backends, for processes that need no other secret (the worker). */
export function backendApiKeyFrom(env: RuntimeEnv): Promise<string | undefined> {
  return readSecret(env.secrets.backendApiKey, env.secrets.backendApiKeySecretArn)
}

/**
 * The webhook signing secret in its `whsec_…` form (worker, reaper, DLQ handler; the gateway gets
 * it from `resolveSecrets`). One that cannot sign stops the cold start with the reason, rather
 * than every webhook failing later.
 */
export async function webhookSecretFrom(env: RuntimeEnv): Promise<string | undefined> {
  const secret = await readSecret(env.secrets.webhookSecret, env.secrets.webhookSecretArn)
  return secret === undefined ? undefined : parseWebhookSecret(secret)
}

/**
 * The admin and agent keys, hashed as soon as they are read so the plain keys
 * live nowhere but in Secrets Manager (on AWS) or the local stack's settings.
 * Read once per cold start.
 */
export async function resolveSecrets(env: RuntimeEnv): Promise<ResolvedSecrets> {
  const adminKey = await readSecret(env.secrets.adminKey, env.secrets.adminKeySecretArn)
  if (!adminKey)
    throw new Error('No admin key: set SPILLWAY_ADMIN_KEY (local) or SPILLWAY_ADMIN_KEY_SECRET_ARN.')
  const agentKey = await readSecret(env.secrets.agentKey, env.secrets.agentKeySecretArn)
  const webhookSecret = await webhookSecretFrom(env)
  const backendApiKey = await backendApiKeyFrom(env)
  return {
    adminKeyHash: hashApiKey(adminKey),
    ...(agentKey ? { agentKeyHash: hashApiKey(agentKey) } : {}),
    ...(webhookSecret ? { webhookSecret } : {}),
    ...(backendApiKey ? { backendApiKey } : {}),
  }
}
