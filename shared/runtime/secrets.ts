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

/**
 * Where a secret named by ARN is read. The AWS entry points pass Secrets Manager
 * (`functions/secrets-manager.ts`), so the domain imports no AWS client for it.
 */
export type SecretStore = (arn: string) => Promise<string>

/** The default for processes given only plain values (local stack, tests, bench). */
const noSecretStore: SecretStore = (arn) =>
  Promise.reject(
    new Error(`Secret ${arn} is named by ARN, but this process has no secret store: set the plain value.`),
  )

/** A secret's value: plain locally, from the secret store on AWS. */
async function readSecret(
  plain: string | undefined,
  arn: string | undefined,
  store: SecretStore,
): Promise<string | undefined> {
  return plain ?? (arn ? await store(arn) : undefined)
}

/** The bearer key for backends, for processes that need no other secret (the worker). */
export function backendApiKeyFrom(
  env: RuntimeEnv,
  store: SecretStore = noSecretStore,
): Promise<string | undefined> {
  return readSecret(env.secrets.backendApiKey, env.secrets.backendApiKeySecretArn, store)
}

/**
 * The webhook signing secret in its `whsec_…` form (worker, reaper, DLQ handler; the gateway gets
 * it from `resolveSecrets`). One that cannot sign stops the cold start with the reason, rather
 * than every webhook failing later.
 */
export async function webhookSecretFrom(
  env: RuntimeEnv,
  store: SecretStore = noSecretStore,
): Promise<string | undefined> {
  const secret = await readSecret(env.secrets.webhookSecret, env.secrets.webhookSecretArn, store)
  return secret === undefined ? undefined : parseWebhookSecret(secret)
}

/**
 * The admin and agent keys, hashed as soon as they are read so the plain keys
 * live nowhere but in Secrets Manager (on AWS) or the local stack's settings.
 * Read once per cold start.
 */
export async function resolveSecrets(
  env: RuntimeEnv,
  store: SecretStore = noSecretStore,
): Promise<ResolvedSecrets> {
  const adminKey = await readSecret(env.secrets.adminKey, env.secrets.adminKeySecretArn, store)
  if (!adminKey)
    throw new Error('No admin key: set SPILLWAY_ADMIN_KEY (local) or SPILLWAY_ADMIN_KEY_SECRET_ARN.')
  const agentKey = await readSecret(env.secrets.agentKey, env.secrets.agentKeySecretArn, store)
  const webhookSecret = await webhookSecretFrom(env, store)
  const backendApiKey = await backendApiKeyFrom(env, store)
  return {
    adminKeyHash: hashApiKey(adminKey),
    ...(agentKey ? { agentKeyHash: hashApiKey(agentKey) } : {}),
    ...(webhookSecret ? { webhookSecret } : {}),
    ...(backendApiKey ? { backendApiKey } : {}),
  }
}
