import type { APIGatewayProxyEventV2, Context } from 'aws-lambda'
import { sseErrorEvent } from '../../shared/proxy/sse-relay.ts'

type FetchApp = { fetch(request: Request, env?: unknown): Response | Promise<Response> }

/**
 * A Lambda Function URL (`RESPONSE_STREAM`) handler for a fetch-style app.
 *
 * Hono's `streamHandle` pipes the body with an async generator: when the client
 * goes away, the generator is dropped but the body stream is never cancelled, so
 * our relay would not abort the upstream call nor release the slot. Here a
 * failed write cancels the body and waits for that cancellation (which releases
 * the lease) before the invocation returns: on Lambda nothing runs afterwards.
 *
 * Lambda cuts an invocation off at its timeout mid-write, which a client sees as a
 * silent truncated 200. So a body still streaming `deadlineMarginMs` before the end
 * (from `context.getRemainingTimeInMillis()`) is cancelled the same way (the upstream
 * call aborted, the lease released, a held job cancelled) and an SSE stream then
 * ends with an error event, direct and held streams alike.
 */
export function functionUrlStreamHandler(app: FetchApp, options: { deadlineMarginMs?: number } = {}) {
  const marginMs = options.deadlineMarginMs ?? DEADLINE_MARGIN_MS
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
      const isSse = (headers['content-type'] ?? '').startsWith('text/event-stream')
      const deadline = deadlineTimer(context, marginMs)
      let tail = Buffer.alloc(0)
      try {
        for (;;) {
          if (!reader) break
          const next = await Promise.race([reader.read(), deadline.reached])
          if (next === TIMED_OUT) {
            await reader.cancel(new Error('Lambda timeout')).catch(() => undefined)
            // A chunk may have ended inside an SSE event: close it, or the error event joins its line.
            if (isSse) {
              const atBoundary = tail.length === 0 || tail.toString() === '\n\n'
              const error = sseErrorEvent(DEADLINE_MESSAGE, 'gateway_timeout')
              await write(out, atBoundary ? error : Buffer.concat([Buffer.from('\n\n'), error])).catch(
                () => undefined,
              )
            }
            break
          }
          if (next.done) break
          await write(out, next.value)
          if (isSse) tail = Buffer.concat([tail, next.value.subarray(-2)]).subarray(-2)
        }
      } catch {
        await reader?.cancel().catch(() => undefined)
      } finally {
        deadline.clear()
        out.end()
      }
    },
  )
}

/**
 * Before the invocation's end: enough to cancel the body (a lease release and a job
 * write, a few DynamoDB calls) and write the error event. Shorter than the app's own
 * hold margin, so a request still waiting in a hold gets its `hold_timeout` first.
 */
export const DEADLINE_MARGIN_MS = 3_000
const DEADLINE_MESSAGE =
  'The gateway reached its time limit before the stream ended; the answer is incomplete. Ask for fewer tokens or use Prefer: respond-async.'
const TIMED_OUT = Symbol('timed out')

function deadlineTimer(context: Context | undefined, marginMs: number) {
  const remainingMs = context?.getRemainingTimeInMillis?.()
  if (remainingMs === undefined) return { reached: new Promise<never>(() => {}), clear() {} }
  let timer: NodeJS.Timeout | undefined
  const reached = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, remainingMs - marginMs))
  })
  return { reached, clear: () => clearTimeout(timer) }
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
