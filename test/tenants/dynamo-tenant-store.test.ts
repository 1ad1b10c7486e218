import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAws, startLocalAws } from '../../local/emulators.ts'
import { destroyAwsClients } from '../../shared/aws/clients.ts'
import { hashApiKey } from '../../shared/tenants/api-keys.ts'
import { DynamoTenantStore } from '../../shared/tenants/dynamo-tenant-store.ts'
import { TenantPolicySchema } from '../../shared/tenants/tenant-policy.ts'
import { clientsFor } from '../support/aws.ts'
import { DYNAMO_ENGINES } from '../support/dynamo-engines.ts'

const T0 = 1_800_000_000_000

describe.each(DYNAMO_ENGINES)('Class: DynamoTenantStore on %s', (engine) => {
  let aws: LocalAws
  let clients: ReturnType<typeof clientsFor>
  let store: DynamoTenantStore

  beforeAll(async () => {
    aws = await startLocalAws({ dynamodb: engine, prefix: `tenants-${engine}` })
    clients = clientsFor(aws)
    store = new DynamoTenantStore({ doc: clients.doc, tableName: aws.names.tables.tenants })
  })
  afterAll(async () => {
    if (clients) destroyAwsClients(clients)
    await aws?.stop()
  })

  it('stores a policy and a hashed key, finds the key by its hash and revokes it', async () => {
    const policy = TenantPolicySchema.parse({ id: 'acme', mayQueue: true })
    const keyHash = hashApiKey('sk-test-acme')
    await store.putTenant(policy)
    await store.putKey({ keyHash, tenantId: 'acme', hint: 'sk-test…', createdAt: T0 })

    const found = await store.getKey(keyHash)
    const revoked = await store.revokeKey(keyHash, T0 + 1)
    const unknown = await store.revokeKey(hashApiKey('sk-nobody'), T0 + 1)

    expect(await store.getTenant('acme')).toEqual(policy)
    expect(found).toEqual({ keyHash, tenantId: 'acme', hint: 'sk-test…', createdAt: T0 })
    expect(revoked).toBe(true)
    expect(unknown).toBe(false)
    expect((await store.getKey(keyHash))?.revokedAt).toBe(T0 + 1)
  })

  it('counts 20 concurrent requests against a limit of 5 a minute: exactly 5 pass', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        store.consumeRate({ tenantId: 'limited', limitPerMinute: 5, now: T0 }),
      ),
    )

    expect(results.filter((r) => r.ok)).toHaveLength(5)
    expect(results.every((r) => r.ok || r.retryAfterSeconds >= 1)).toBe(true)
  })
})
