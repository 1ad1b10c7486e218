import type { APIGatewayProxyEventV2, Context } from 'aws-lambda'

type FetchApp = { fetch(request: Request, env?: unknown): Response | Promise<Response> }

/**
 * A Lambda Function URL (`RESPONSE_STREAM`) handler for a fetch-style app.
 *
 * Hono's `streamHandle` pipes the body with an async generator: when the client
 * goes away, the generator is dropped but the body stream is never cancelled, so
 * our relay would not abort the upstream call nor release the slot. Here a
 * failed write cancels the body and waits for that cancellation (which releases
 * the lease) before the invocation returns: on Lambda nothing runs afterwards.
 */
export function functionUrlStreamHandler(app: FetchApp) {
  return awslambda.streamifyResponse(
    async (event: APIGatewayProxyEventV2, responseStream, context: Context) => {
      const clientGone = new AbortController()
      responseStream.once('close', () => clientGone.abort())
      // A write to a stream whose client left fails; unhandled, that 'error' would crash the runtime.
      responseStream.on('error', () => clientGone.abort())
      const response = await app.fetch(toRequest(event, clientGone.signal), { event, context })
      const headers: Record<string, string> = {}
      const cookies: string[] = []
      response.headers.forEach((value, name) => {
        if (name === 'set-cookie') cookies.push(value)
        else headers[name] = value
      })
      const out = awslambda.HttpResponseStream.from(responseStream, {
        statusCode: response.status,
        headers,
        cookies,
      })
      const reader = response.body?.getReader()
      try {
        for (;;) {
          if (!reader) break
          const { done, value } = await reader.read()
          if (done) break
          await write(out, value)
        }
      } catch {
        await reader?.cancel().catch(() => undefined)
      } finally {
        out.end()
      }
    },
  )
}

function write(out: NodeJS.WritableStream & { destroyed?: boolean }, chunk: Uint8Array): Promise<void> {
  if (out.destroyed) return Promise.reject(new Error('response stream closed'))
  return new Promise((resolve, reject) => {
    out.write(chunk, (error) => (error ? reject(error) : resolve()))
  })
}

function toRequest(event: APIGatewayProxyEventV2, signal: AbortSignal): Request {
  const host = event.headers?.host ?? event.requestContext?.domainName ?? 'localhost'
  const query = event.rawQueryString ? `?${event.rawQueryString}` : ''
  const headers = new Headers()
  for (const [name, value] of Object.entries(event.headers ?? {}))
    if (value !== undefined) headers.set(name, value)
  if (event.cookies?.length) headers.set('cookie', event.cookies.join('; '))
  const method = event.requestContext?.http?.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD' && event.body !== undefined
  const body = hasBody
    ? event.isBase64Encoded
      ? Buffer.from(event.body ?? '', 'base64')
      : event.body
    : undefined
  return new Request(`https://${host}${event.rawPath ?? '/'}${query}`, {
    method,
    headers,
    signal,
    ...(body === undefined ? {} : { body }),
  })
}
