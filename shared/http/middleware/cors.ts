import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'

/**
 * What a browser page may read of a cross-origin answer: where the request ran,
 * its id, and what to do next (retry, poll the job).
 */
const EXPOSED_HEADERS = [
  'x-spillway-route',
  'x-spillway-hardware',
  'x-spillway-backend',
  'x-spillway-job-id',
  'x-request-id',
  'x-should-retry',
  'retry-after',
  'location',
]

/**
 * CORS for browser clients on the allowed origins (`*` for any). A preflight
 * (`OPTIONS`) is answered here, before tenant auth, because browsers never send
 * the key on it; every other request still needs its key. Allowed request
 * headers are those the preflight asks for: the openai SDK sends its own
 * `x-stainless-*` set, so a fixed list would break it. No credentials (cookies):
 * the key travels in `Authorization`.
 *
 * @example app.use(corsPolicy({ origins: ['https://app.example.com'] }))
 */
export function corsPolicy(options: { origins: readonly string[] }): MiddlewareHandler {
  const any = options.origins.includes('*')
  return cors({
    origin: any ? '*' : [...options.origins],
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  })
}
