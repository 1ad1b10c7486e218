import { Hono, type MiddlewareHandler } from 'hono'
import type { Observability } from '../../observability/observability.ts'
import type { AppEnv } from '../app-deps.ts'
import { keyAuth } from '../middleware/tenant-auth.ts'

/** `GET /metrics`: this process's Prometheus text, with the admin key (or open, locally). */
export function metricsRoutes(options: { observability: Observability; adminKeyHash: string }) {
  return new Hono<AppEnv>().get('/metrics', adminUnlessOpen(options), async (c) => {
    const text = await options.observability.metrics.render()
    return c.body(text, 200, { 'content-type': options.observability.metrics.contentType })
  })
}

/** The admin key, unless the local stack explicitly opened observability on 127.0.0.1. */
export function adminUnlessOpen(options: {
  observability: Observability
  adminKeyHash: string
}): MiddlewareHandler<AppEnv> {
  const admin = keyAuth({ acceptedHashes: [options.adminKeyHash] })
  return async function observabilityAuth(c, next) {
    if (options.observability.openWithoutKey) return next()
    return admin(c, next)
  }
}
