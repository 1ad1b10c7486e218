import { describe, expect, it } from 'vitest'
import { readRuntimeEnv } from '../../../shared/runtime/runtime-env.ts'
import { resolveSecrets, type SecretStore, webhookSecretFrom } from '../../../shared/runtime/secrets.ts'
import { hashApiKey } from '../../../shared/tenants/api-keys.ts'

// The secret store is the one port here; a map stands in for Secrets Manager (pure lookup logic).
const ADMIN_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:admin'
const WEBHOOK_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:webhook'
const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`
const BASE_ENV = {
  SPILLWAY_TABLE_BACKENDS: 'backends',
  SPILLWAY_TABLE_JOBS: 'jobs',
  SPILLWAY_TABLE_TENANTS: 'tenants',
  SPILLWAY_QUEUE_INTERACTIVE_URL: 'http://127.0.0.1:1/interactive',
  SPILLWAY_QUEUE_BATCH_URL: 'http://127.0.0.1:1/batch',
}
const store: SecretStore = async (arn) => {
  const value = { [ADMIN_ARN]: 'sk-admin-from-store', [WEBHOOK_ARN]: WEBHOOK_SECRET }[arn]
  if (value === undefined) throw new Error(`no secret ${arn}`)
  return value
}

describe('Function: resolveSecrets with the secret store it is given', () => {
  it('reads ARN-named secrets from the store the entry point passes', async () => {
    // Arrange
    const env = readRuntimeEnv({
      ...BASE_ENV,
      SPILLWAY_ADMIN_KEY_SECRET_ARN: ADMIN_ARN,
      SPILLWAY_WEBHOOK_SECRET_ARN: WEBHOOK_ARN,
    })
    // Act
    const secrets = await resolveSecrets(env, store)
    // Assess
    expect(secrets.adminKeyHash).toBe(hashApiKey('sk-admin-from-store'))
    expect(secrets.webhookSecret).toBe(WEBHOOK_SECRET)
    expect(await webhookSecretFrom(env, store)).toBe(WEBHOOK_SECRET)
  })

  it('prefers the plain value and never asks the store for it', async () => {
    // Arrange
    const env = readRuntimeEnv({
      ...BASE_ENV,
      SPILLWAY_ADMIN_KEY: 'sk-plain',
      SPILLWAY_ADMIN_KEY_SECRET_ARN: 'arn:unknown',
    })
    // Act
    const secrets = await resolveSecrets(env, store)
    // Assess
    expect(secrets.adminKeyHash).toBe(hashApiKey('sk-plain'))
  })

  it('stops with the reason when a secret is named by ARN and no store was given', async () => {
    // Arrange
    const env = readRuntimeEnv({
      ...BASE_ENV,
      SPILLWAY_ADMIN_KEY_SECRET_ARN: ADMIN_ARN,
    })
    // Act / Assess
    await expect(resolveSecrets(env)).rejects.toThrow(/named by ARN.*no secret store/)
  })
})
