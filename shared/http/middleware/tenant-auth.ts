import type { MiddlewareHandler } from 'hono'
import { LruCache } from '../../cache/lru-cache.ts'
import { AuthenticationError } from '../../errors.ts'
import { bearerToken, hashApiKey, hashIsAccepted } from '../../tenants/api-keys.ts'
import type { TenantPolicy } from '../../tenants/tenant-policy.ts'
import type { TenantStore } from '../../tenants/tenant-store.ts'
import type { AppEnv } from '../app-deps.ts'

/**
 * How long a key lookup is trusted: a revoked key keeps working at most this
 * long on a process that saw it just before (2 GetItem per key and process per
 * period; docs/SECURITY.md).
 */
export const DEFAULT_KEY_CACHE_MS = 10_000
/** An unknown key is remembered for less: a key created just after a miss works this soon. */
export const DEFAULT_MISS_CACHE_MS = 5_000
export const KEY_CACHE_ENTRIES = 10_000

/**
 * Bearer-key auth: the key is hashed and looked up (key → tenant → policy).
 * Good keys and unknown or revoked ones are cached apart, each in its own LRU:
 * a flood of distinct bad keys costs one lookup each and evicts only other bad
 * keys, never a good one; the same bad key again costs nothing while remembered.
 * Concurrent requests with one key share one lookup.
 */
export function tenantAuth(options: {
  tenants: TenantStore
  clock: () => number
  cacheMs: number
  missCacheMs?: number
  maxEntries?: number
}): MiddlewareHandler<AppEnv> {
  const maxEntries = options.maxEntries ?? KEY_CACHE_ENTRIES
  const good = new LruCache<string, TenantPolicy>({ maxEntries })
  const bad = new LruCache<string, true>({ maxEntries })
  const missMs = Math.min(options.cacheMs, options.missCacheMs ?? DEFAULT_MISS_CACHE_MS)
  const inFlight = new Map<string, Promise<TenantPolicy | undefined>>()

  const fetchTenant = async (keyHash: string): Promise<TenantPolicy | undefined> => {
    const key = await options.tenants.getKey(keyHash)
    const tenant =
      key && key.revokedAt === undefined ? await options.tenants.getTenant(key.tenantId) : undefined
    const now = options.clock()
    if (tenant) good.set(keyHash, tenant, now + options.cacheMs)
    else bad.set(keyHash, true, now + missMs)
    return tenant
  }
  const lookup = (keyHash: string, now: number): Promise<TenantPolicy | undefined> => {
    const hit = good.get(keyHash, now)
    if (hit) return Promise.resolve(hit)
    if (bad.get(keyHash, now)) return Promise.resolve(undefined)
    let pending = inFlight.get(keyHash)
    if (!pending) {
      pending = fetchTenant(keyHash).finally(() => inFlight.delete(keyHash))
      inFlight.set(keyHash, pending)
    }
    return pending
  }
  return async function authenticateTenant(c, next) {
    const key = bearerToken(c.req.header('authorization'))
    if (!key) throw new AuthenticationError()
    const tenant = await lookup(hashApiKey(key), options.clock())
    if (!tenant) throw new AuthenticationError('Invalid or revoked API key.')
    c.set('tenant', tenant)
    await next()
  }
}

/** Admin and agent routes: one fixed key each, compared by hash in constant time. */
export function keyAuth(options: {
  acceptedHashes: readonly (string | undefined)[]
}): MiddlewareHandler<AppEnv> {
  const accepted = options.acceptedHashes.filter((h): h is string => Boolean(h))
  return async function authenticateKey(c, next) {
    const key = bearerToken(c.req.header('authorization'))
    if (!key) throw new AuthenticationError()
    if (!hashIsAccepted(hashApiKey(key), accepted))
      throw new AuthenticationError('Invalid key for this route.')
    await next()
  }
}
