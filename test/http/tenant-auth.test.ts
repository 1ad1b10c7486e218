import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { seedTenantKey } from '../../local/tenants.ts'
import { LruCache } from '../../shared/cache/lru-cache.ts'
import { SpillwayError } from '../../shared/errors.ts'
import type { AppEnv } from '../../shared/http/app-deps.ts'
import {
  DEFAULT_KEY_CACHE_MS,
  DEFAULT_MISS_CACHE_MS,
  KEY_CACHE_ENTRIES,
  tenantAuth,
} from '../../shared/http/middleware/tenant-auth.ts'
import { hashApiKey } from '../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../shared/tenants/memory-tenant-store.ts'
import { memoryGateway, T0 } from '../support/memory-gateway.ts'

/** The tenant store, counting the reads the auth cache lets through. */
class CountingTenantStore extends MemoryTenantStore {
  keyReads = 0
  override getKey(keyHash: string) {
    this.keyReads++
    return super.getKey(keyHash)
  }
}

const GOOD = 'sk-test-good'

async function gateway() {
  let now = T0
  const tenants = new CountingTenantStore()
  const built = await memoryGateway({ deps: { tenants, clock: () => now } })
  await seedTenantKey({ tenants, policy: { id: 'good' }, key: GOOD, now: T0 })
  const models = (key: string) =>
    Promise.resolve(built.app.request('/v1/models', { headers: { authorization: `Bearer ${key}` } }))
  return { ...built, tenants, models, advance: (ms: number) => (now += ms) }
}

describe('Middleware: tenantAuth', () => {
  it('looks up each of more distinct bad keys than the cache holds once, and never evicts a good key', async () => {
    // Prepare: the middleware alone (the flood is long through the whole app), a good key cached.
    const tenants = new CountingTenantStore()
    await seedTenantKey({ tenants, policy: { id: 'good' }, key: GOOD, now: T0 })
    const app = new Hono<AppEnv>()
      .use(tenantAuth({ tenants, clock: () => T0, cacheMs: DEFAULT_KEY_CACHE_MS }))
      .get('/', (c) => c.text('ok'))
      .onError((error) =>
        error instanceof SpillwayError ? error.toResponse() : new Response(null, { status: 500 }),
      )
    const g = {
      tenants,
      models: async (key: string) => await app.request('/', { headers: { authorization: `Bearer ${key}` } }),
    }
    expect((await g.models(GOOD)).status).toBe(200)
    const readsForGood = g.tenants.keyReads

    // Act: a flood of distinct bad keys, more than the cache's size.
    for (let i = 0; i <= KEY_CACHE_ENTRIES + 50; i++) expect((await g.models(`sk-bad-${i}`)).status).toBe(401)

    // Assess: one read per bad key, and the good key is still served from the cache.
    expect(g.tenants.keyReads - readsForGood).toBe(KEY_CACHE_ENTRIES + 51)
    const before = g.tenants.keyReads
    expect((await g.models(GOOD)).status).toBe(200)
    expect(g.tenants.keyReads).toBe(before)
  }, 60_000)

  it('remembers a bad key for the miss period only, so a key created after a miss soon works', async () => {
    const g = await gateway()
    expect((await g.models('sk-test-new')).status).toBe(401)
    expect((await g.models('sk-test-new')).status).toBe(401)
    expect(g.tenants.keyReads).toBe(1)

    await seedTenantKey({ tenants: g.tenants, policy: { id: 'new' }, key: 'sk-test-new', now: T0 })
    g.advance(DEFAULT_MISS_CACHE_MS)

    expect((await g.models('sk-test-new')).status).toBe(200)
  })

  it(`stops a revoked key within ${DEFAULT_KEY_CACHE_MS / 1000} s, the documented bound`, async () => {
    const g = await gateway()
    expect((await g.models(GOOD)).status).toBe(200)
    await g.tenants.revokeKey(hashApiKey(GOOD), T0)

    g.advance(DEFAULT_KEY_CACHE_MS - 1)
    expect((await g.models(GOOD)).status).toBe(200)
    g.advance(1)
    expect((await g.models(GOOD)).status).toBe(401)
  })

  it('shares one lookup among concurrent requests with the same key', async () => {
    const g = await gateway()
    const statuses = await Promise.all(Array.from({ length: 20 }, () => g.models(GOOD).then((r) => r.status)))
    expect(statuses.every((s) => s === 200)).toBe(true)
    expect(g.tenants.keyReads).toBe(1)
  })
})

describe('Class: LruCache', () => {
  it('evicts the least recently used entry first and drops expired ones', () => {
    const cache = new LruCache<string, number>({ maxEntries: 2 })
    cache.set('a', 1, 100)
    cache.set('b', 2, 100)
    expect(cache.get('a', 0)).toBe(1) // a is now the most recently used
    cache.set('c', 3, 100)
    expect(cache.get('b', 0)).toBeUndefined()
    expect(cache.get('a', 0)).toBe(1)
    expect(cache.get('c', 100)).toBeUndefined()
    expect(cache.size).toBe(1)
  })
})
