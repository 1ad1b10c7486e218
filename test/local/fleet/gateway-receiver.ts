/** The gateway's side of the heartbeat agent contract, and nothing more, for tests. */
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

export interface Heartbeat {
  running: number
  waiting: number
  kvCacheUsage: number
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>

export async function startReceiver(agentKey: string) {
  const registrations: unknown[] = []
  const heartbeats: Heartbeat[] = []
  const known = new Set<string>()
  let failWith: number | undefined
  const app = new Hono()
  app.use(async (c, next) => {
    if (c.req.header('authorization') !== `Bearer ${agentKey}`) return c.json({ error: 'unauthorized' }, 401)
    if (failWith) return c.body(null, failWith as 500)
    await next()
  })
  app.post('/admin/backends', async (c) => {
    const body = (await c.req.json()) as { id: string }
    registrations.push(body)
    known.add(body.id)
    return c.json(body, 201)
  })
  app.post('/admin/backends/:id/heartbeat', async (c) => {
    if (!known.has(c.req.param('id'))) return c.json({ error: 'unknown backend' }, 404)
    heartbeats.push((await c.req.json()) as Heartbeat)
    return c.json({ ok: true })
  })
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started))
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    registrations,
    heartbeats,
    forget: () => known.clear(),
    failWith: (status: number | undefined) => {
      failWith = status
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
