import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { BadRequestError, PayloadTooLargeError, SpillwayError } from '../../errors.ts'
import type { AppEnv } from '../app-deps.ts'

/**
 * Reads a request body once, up front and within `maxBytes` (Hono's body limit,
 * which also counts bodies sent without Content-Length), so that a body over
 * the limit is a 413 and a body that breaks off half way (the client's
 * connection reset while sending) is the client's 400 rather than an unhandled
 * error and a 500 in whichever route read it. Hono caches the text, so the
 * routes' own `c.req.text()` costs nothing more.
 */
export function readBody(options: { maxBytes: number }): MiddlewareHandler<AppEnv> {
  const limit = bodyLimit({
    maxSize: options.maxBytes,
    onError: () => {
      throw new PayloadTooLargeError(options.maxBytes)
    },
  })
  return async function readRequestBody(c, next) {
    const length = c.req.header('content-length')
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      // The usual request: its length says whether it fits, and the body is read straight
      // from the socket (on Node, asking for `raw.body` would build a whole fetch Request).
      if (Number(length) > options.maxBytes) throw new PayloadTooLargeError(options.maxBytes)
      try {
        await c.req.text()
      } catch {
        throw new BadRequestError('The request body could not be read in full.', { code: 'body_unreadable' })
      }
    } else if (c.req.raw.body !== null) {
      try {
        await limit(c, async () => {
          await c.req.text()
        })
      } catch (error) {
        if (error instanceof SpillwayError) throw error
        throw new BadRequestError('The request body could not be read in full.', { code: 'body_unreadable' })
      }
    }
    await next()
  }
}
