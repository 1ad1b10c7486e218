import type { MiddlewareHandler } from 'hono'
import { AuthenticationError } from '../../errors.ts'
import { bearerToken, hashApiKey } from '../../tenants/api-keys.ts'
import type { TenantPolicy } from '../../tenants/tenant-policy.ts'
import type { TenantStore } from '../../tenants/tenant-store.ts'
import type { AppEnv } from '../app-deps.ts'

interface CacheEntry {
  readonly tenant: TenantPolicy | undefined
  readonly until: number
}

/**
 * Bearer-key auth: the key is hashed and looked up (key → tenant → policy).
 * Lookups are cached per process, misses too, so a flood of bad keys costs no
 * DynamoDB reads; a revoked key stops working within `cacheMs`.
 */
export function tenantAuth(options: {
  tenants: TenantStore
  clock: () => number
  cacheMs: number
}): MiddlewareHandler<AppEnv> {
  const cache = new Map<string, CacheEntry>()
  const lookup = async (keyHash: string, now: number): Promise<TenantPolicy | undefined> => {
    const hit = cache.get(keyHash)
    if (hit && hit.until > now) return hit.tenant
    const key = await options.tenants.getKey(keyHash)
    const tenant =
      key && key.revokedAt === undefined ? await options.tenants.getTenant(key.tenantId) : undefined
    if (cache.size > 10_000) cache.clear()
    cache.set(keyHash, { tenant, until: now + options.cacheMs })
    return tenant
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
    const hash = hashApiKey(key)
    // Hashes are fixed-length hex, so comparing them is not a timing oracle on the key itself.
    if (!accepted.includes(hash)) throw new AuthenticationError('Invalid key for this route.')
    await next()
  }
}
