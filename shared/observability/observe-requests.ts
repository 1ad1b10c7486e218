import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv } from '../http/app-deps.ts'
import type { Observability } from './observability.ts'
import type { RequestFacts } from './request-facts.ts'

/**
 * Observes each `/v1/*` request from outside its route: status and the
 * `x-spillway-*` headers of the answer, the tenant auth set, the model of the
 * body the route parsed, and timings to the first and the last body byte (a
 * stream's body is wrapped, so it is measured to its end; a buffered answer is
 * whole when the route returns it). The facts are recorded
 * before the body closes: on Lambda nothing runs after the stream ends.
 */
export function observeRequests(options: {
  observability: Observability
  /** Configured model ids: any other name is labelled `unknown`, so labels stay bounded. */
  models: readonly string[]
}): MiddlewareHandler<AppEnv> {
  const { observability } = options
  const clock = observability.clock
  const known = new Set(options.models)
  return async function observeRequest(c, next) {
    const startedAt = clock()
    await next()
    const model = await modelOf(c, known)
    const headers = c.res.headers
    const queueMs = Number(headers.get('x-spillway-queue-ms') ?? Number.NaN)
    const jobId = headers.get('x-spillway-job-id') ?? undefined
    const tenant = c.get('tenant')?.id
    const base = {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      ...(tenant ? { tenant } : {}),
      ...(model ? { model } : {}),
      route: headers.get('x-spillway-route') ?? 'none',
      hardware: headers.get('x-spillway-hardware') ?? 'none',
      backend: headers.get('x-spillway-backend') ?? 'none',
      status: c.res.status,
      ...(Number.isFinite(queueMs) ? { queueWaitMs: queueMs } : {}),
      ...(jobId ? { jobId } : {}),
    }
    const finish = (end: { ttfbMs?: number; aborted?: boolean }) =>
      observability.recordRequest({ ...base, durationMs: clock() - startedAt, ...end } satisfies RequestFacts)

    // A buffered answer (JSON, an error) is whole once the route returns it: its first and
    // last byte are ready now. That holds for a JSON body that ends only after its lease
    // release (answer-then-release.ts): its bytes are queued already, and the release is not
    // the client's wait. Only a stream is measured to its end; wrapping every body in a
    // measuring stream cost a web stream per request and forced Hono's node adapter to turn a
    // string body into a stream.
    if (!isEventStream(headers.get('content-type'))) {
      await finish({ ttfbMs: clock() - startedAt })
      return
    }
    const body = c.res.body
    if (!body) {
      await finish({})
      return
    }
    c.res = new Response(measuredBody(body, startedAt, clock, finish), c.res)
  }
}

function isEventStream(contentType: string | null): boolean {
  return contentType?.startsWith('text/event-stream') ?? false
}

/** The body as it was, with `finish` awaited once, before it closes or when the client cancels it. */
function measuredBody(
  body: ReadableStream<Uint8Array>,
  startedAt: number,
  clock: () => number,
  finish: (end: { ttfbMs?: number; aborted?: boolean }) => Promise<void>,
): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  let ttfbMs: number | undefined
  let finished = false
  const once = async (end: { aborted?: boolean }) => {
    if (finished) return
    finished = true
    await finish({ ...(ttfbMs === undefined ? {} : { ttfbMs }), ...end })
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>
      try {
        chunk = await reader.read()
      } catch (error) {
        await once({ aborted: true })
        controller.error(error)
        return
      }
      if (chunk.done) {
        await once({})
        controller.close()
        return
      }
      ttfbMs ??= clock() - startedAt
      controller.enqueue(chunk.value)
    },
    async cancel(reason) {
      // The client left: cancel the route's body first (it aborts upstream and releases the slot).
      await reader.cancel(reason)
      await once({ aborted: true })
    },
  })
}

/** The model the route read from the body (a context variable when set, else the cached body). */
async function modelOf(c: Context<AppEnv>, known: ReadonlySet<string>): Promise<string | undefined> {
  const named = c.get('model') ?? (await modelInCachedBody(c))
  if (named === undefined) return undefined
  return known.has(named) ? named : 'unknown'
}

async function modelInCachedBody(c: Context<AppEnv>): Promise<string | undefined> {
  const text = c.req.bodyCache.text
  if (!text) return undefined
  try {
    const parsed: unknown = JSON.parse(await text)
    const model = (parsed as { model?: unknown } | null)?.model
    return typeof model === 'string' ? model : undefined
  } catch {
    return undefined
  }
}
