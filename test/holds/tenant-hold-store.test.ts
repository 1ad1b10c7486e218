import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAws, startLocalAws } from '../../local/emulators.ts'
import { destroyAwsClients } from '../../shared/aws/clients.ts'
import { DynamoTenantHoldStore } from '../../shared/holds/dynamo-tenant-hold-store.ts'
import { MemoryTenantHoldStore } from '../../shared/holds/memory-tenant-hold-store.ts'
import type { TenantHoldStore } from '../../shared/holds/tenant-hold-store.ts'
import { clientsFor } from '../support/aws.ts'
import { DYNAMO_ENGINES } from '../support/dynamo-engines.ts'

const T0 = 1_800_000_000_000
const TTL = 30_000
let tenants = 0
/** A tenant of its own per test: the stores keep one record per tenant. */
const freshTenant = () => `tenant-${++tenants}`

type Setup = {
  store: TenantHoldStore
  putHolds?: (tenantId: string, holds: Record<string, number>) => Promise<void>
}

/** The contract both adapters keep; the DynamoDB one against the emulators over HTTP. */
function holdStoreContract(setup: () => Setup) {
  const enter = (
    store: TenantHoldStore,
    tenantId: string,
    holdId: string,
    o: { limit: number; now?: number },
  ) => store.enter({ tenantId, holdId, limit: o.limit, now: o.now ?? T0, expiresAt: (o.now ?? T0) + TTL })

  it('admits exactly the limit out of many concurrent enters', async () => {
    // Prepare
    const { store } = setup()
    const tenantId = freshTenant()

    // Act: 30 gateways ask at once for a tenant limited to 4.
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => enter(store, tenantId, `hold-${i}`, { limit: 4 })),
    )

    // Assess
    expect(results.filter((r) => r.ok)).toHaveLength(4)
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'too-many-holds')).toBe(true)
    expect(await store.live({ tenantId, now: T0 })).toBe(4)
  })

  it("gives a crashed holder's place back once its entry has expired", async () => {
    const { store } = setup()
    const tenantId = freshTenant()
    expect((await enter(store, tenantId, 'crashed', { limit: 1 })).ok).toBe(true)

    // Still live: the place is taken.
    expect((await enter(store, tenantId, 'early', { limit: 1, now: T0 + TTL - 1 })).ok).toBe(false)
    // Never renewed, past its expiry: the next holder reclaims it.
    expect((await enter(store, tenantId, 'next', { limit: 1, now: T0 + TTL + 1 })).ok).toBe(true)
    expect(await store.renew({ tenantId, holdId: 'crashed', expiresAt: T0 + 2 * TTL })).toBe(false)
    expect(await store.live({ tenantId, now: T0 + TTL + 1 })).toBe(1)
  })

  it('keeps a renewed hold live past its first expiry, and frees it on leave', async () => {
    const { store } = setup()
    const tenantId = freshTenant()
    await enter(store, tenantId, 'long', { limit: 1 })
    expect(await store.renew({ tenantId, holdId: 'long', expiresAt: T0 + 2 * TTL })).toBe(true)

    expect((await enter(store, tenantId, 'other', { limit: 1, now: T0 + TTL + 1 })).ok).toBe(false)
    await store.leave({ tenantId, holdId: 'long' })
    await store.leave({ tenantId, holdId: 'long' })
    expect((await enter(store, tenantId, 'other', { limit: 1, now: T0 + TTL + 1 })).ok).toBe(true)
  })

  it('refuses every hold when the limit is 0, and leaving an unknown tenant is harmless', async () => {
    const { store } = setup()
    const tenantId = freshTenant()
    expect(await enter(store, tenantId, 'none', { limit: 0 })).toMatchObject({ ok: false, live: 0 })
    await store.leave({ tenantId: freshTenant(), holdId: 'never' })
    expect(await store.live({ tenantId, now: T0 })).toBe(0)
  })
}

describe('Class: MemoryTenantHoldStore', () => {
  const store = new MemoryTenantHoldStore()
  holdStoreContract(() => ({ store }))
})

describe.each(DYNAMO_ENGINES)('Class: DynamoTenantHoldStore on %s', (engine) => {
  let aws: LocalAws
  let clients: ReturnType<typeof clientsFor>
  let store: DynamoTenantHoldStore
  let table: string

  beforeAll(async () => {
    aws = await startLocalAws({ dynamodb: engine, prefix: `holds-${engine}` })
    clients = clientsFor(aws)
    table = aws.names.tables.tenants
    store = new DynamoTenantHoldStore({ doc: clients.doc, tableName: table })
  })
  afterAll(async () => {
    if (clients) destroyAwsClients(clients)
    await aws?.stop()
  })

  holdStoreContract(() => ({ store }))

  it('reclaims 200 dead entries after a mass crash within the 4 KB expression limit', async () => {
    // Prepare: 200 expired holds (a fleet of crashed gateways) and 2 live ones.
    const tenantId = freshTenant()
    const holds: Record<string, number> = {}
    for (let i = 0; i < 200; i++) holds[`dead-${String(i).padStart(4, '0')}-${'x'.repeat(24)}`] = T0 - 1
    holds['live-a'] = T0 + TTL
    holds['live-b'] = T0 + TTL
    await clients.doc.send(new PutCommand({ TableName: table, Item: { pk: `holds#${tenantId}`, holds } }))

    // Act: DynamoDB Local rejects any single expression that names them all.
    const third = await store.enter({ tenantId, holdId: 'live-c', limit: 3, now: T0, expiresAt: T0 + TTL })
    const fourth = await store.enter({ tenantId, holdId: 'live-d', limit: 3, now: T0, expiresAt: T0 + TTL })

    // Assess
    expect(third.ok).toBe(true)
    expect(fourth).toMatchObject({ ok: false, live: 3 })
    const item = await clients.doc.send(
      new GetCommand({ TableName: table, Key: { pk: `holds#${tenantId}` }, ConsistentRead: true }),
    )
    expect(Object.keys(item.Item?.holds ?? {}).sort()).toEqual(['live-a', 'live-b', 'live-c'])
  })
})
