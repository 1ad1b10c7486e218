import { randomUUID } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-deps.ts'

const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * `x-request-id` on every response, taken from the client when it is sane.
 * Unlike Hono's `requestId`, it also stamps responses that routes build as raw
 * `Response` objects (proxied streams), which bypass the context's headers.
 */
export function requestIdHeader(): MiddlewareHandler<AppEnv> {
  return async function requestId(c, next) {
    const incoming = c.req.header('x-request-id')
    const id = incoming && ACCEPTED.test(incoming) ? incoming : randomUUID()
    c.set('requestId', id)
    await next()
    try {
      c.res.headers.set('x-request-id', id)
    } catch {
      // Immutable headers (a fetched Response passed through): copy once.
      const headers = new Headers(c.res.headers)
      headers.set('x-request-id', id)
      c.res = new Response(c.res.body, { status: c.res.status, headers })
    }
  }
}
