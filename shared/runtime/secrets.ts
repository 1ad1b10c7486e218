import { getSecret } from '@aws-lambda-powertools/parameters/secrets'
import { hashApiKey } from '../tenants/api-keys.ts'
import type { RuntimeEnv } from './runtime-env.ts'

export interface ResolvedSecrets {
  readonly adminKeyHash: string
  readonly agentKeyHash?: string
  readonly webhookSecret?: string
}

/** The webhook signing secret: plain locally, from Secrets Manager on AWS (read once per cold start). */
export async function webhookSecretFrom(env: RuntimeEnv): Promise<string | undefined> {
  if (env.secrets.webhookSecret) return env.secrets.webhookSecret
  const arn = env.secrets.webhookSecretArn
  return arn ? await getSecret<string>(arn, { maxAge: 300 }) : undefined
}

/**
 * The admin and agent keys, hashed as soon as they are read so the plain keys
 * live nowhere but in Secrets Manager (on AWS) or the local stack's settings.
 * Read once per cold start.
 */
export async function resolveSecrets(env: RuntimeEnv): Promise<ResolvedSecrets> {
  const read = async (plain: string | undefined, arn: string | undefined) =>
    plain ?? (arn ? await getSecret<string>(arn, { maxAge: 300 }) : undefined)
  const adminKey = await read(env.secrets.adminKey, env.secrets.adminKeySecretArn)
  if (!adminKey)
    throw new Error('No admin key: set SPILLWAY_ADMIN_KEY (local) or SPILLWAY_ADMIN_KEY_SECRET_ARN.')
  const agentKey = await read(env.secrets.agentKey, env.secrets.agentKeySecretArn)
  const webhookSecret = await webhookSecretFrom(env)
  return {
    adminKeyHash: hashApiKey(adminKey),
    ...(agentKey ? { agentKeyHash: hashApiKey(agentKey) } : {}),
    ...(webhookSecret ? { webhookSecret } : {}),
  }
}
