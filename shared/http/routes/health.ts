import { Hono } from 'hono'
import type { AppEnv } from '../app-deps.ts'

/** Liveness of the gateway process itself; it reads no store, so a load balancer may poll it freely. */
export function healthRoutes(options: { version: string; clock: () => number }) {
  const startedAt = options.clock()
  return new Hono<AppEnv>().get('/health', (c) =>
    c.json({ status: 'ok', version: options.version, uptimeSeconds: (options.clock() - startedAt) / 1000 }),
  )
}
