import type { BackendClient } from '../backends/backend-client.ts'
import { judgeBackendStatus, rejectionMessage } from '../backends/backend-status.ts'
import type { ModelConfig } from '../config/gateway-config.ts'
import { SpillwayError, UpstreamError } from '../errors.ts'
import type { AppLogger } from '../logging.ts'
import type { CircuitBreakers } from '../router/circuit-breakers.ts'
import type { HeldLease } from '../router/held-lease.ts'
import type { Route, Router } from '../router/router.ts'
import { relaySse } from './sse-relay.ts'

export interface ForwardOptions {
  readonly router: Router
  readonly circuits: CircuitBreakers
  readonly client: BackendClient
  readonly clock: () => number
  readonly log: AppLogger
  readonly model: ModelConfig
  readonly mayDegrade: boolean
  readonly body: Record<string, unknown>
  readonly stream: boolean
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal
  readonly firstByteTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly maxAttempts: number
}

export interface Served {
  readonly route: Route
  readonly hardware: string
  readonly backendId: string
}

export type ForwardResult =
  | { readonly kind: 'served'; readonly response: Response; readonly served: Served }
  | { readonly kind: 'saturated'; readonly retryAfterSeconds: number }
  | { readonly kind: 'no-backend' }

/** Why an attempt did not produce a response the client may see. */
type AttemptFailure = { failed: true; countsAgainstBackend: boolean; reason: string }

/**
 * Sends one chat completion to a backend with a reserved slot. Failover to
 * another backend happens only before the client has seen a byte: connection
 * errors, timeouts, 5xx and 429 before the first chunk. After that, a broken
 * stream ends with an SSE error event.
 */
export async function forwardCompletion(o: ForwardOptions): Promise<ForwardResult> {
  const exclude = new Set<string>()
  let lastFailure: AttemptFailure | undefined
  for (let attempt = 0; attempt < o.maxAttempts; attempt++) {
    const routed = await o.router.acquire({ model: o.model, mayDegrade: o.mayDegrade, exclude })
    if (!routed.ok) {
      if (lastFailure && routed.reason === 'no-backend') break
      return routed.reason === 'saturated'
        ? { kind: 'saturated', retryAfterSeconds: routed.retryAfterSeconds }
        : { kind: 'no-backend' }
    }
    const served: Served = {
      route: routed.route,
      hardware: routed.lease.backend.hardware,
      backendId: routed.lease.backend.id,
    }
    const outcome = await attemptOnce(o, routed.lease, { ...o.body, model: routed.tier.model })
    if (!('failed' in outcome)) {
      o.circuits.onSuccess(served.backendId)
      return { kind: 'served', response: outcome, served }
    }
    lastFailure = outcome
    exclude.add(served.backendId)
    if (outcome.countsAgainstBackend) o.circuits.onFailure(served.backendId, o.clock())
    else o.circuits.onNeutral(served.backendId)
    o.log.warn('backend attempt failed', {
      backend: served.backendId,
      attempt: attempt + 1,
      reason: outcome.reason,
    })
    if (o.signal.aborted) throw new SpillwayError(499, 'invalid_request_error', 'Client closed the request.')
  }
  throw new UpstreamError('No model backend could complete the request.')
}

async function attemptOnce(
  o: ForwardOptions,
  lease: HeldLease,
  body: Record<string, unknown>,
): Promise<Response | AttemptFailure> {
  const upstream = new AbortController()
  const onClientAbort = () => upstream.abort(new Error('client closed'))
  o.signal.addEventListener('abort', onClientAbort, { once: true })
  // A holder whose lease is gone must stop: its slot may already be another request's.
  lease.lost.addEventListener('abort', () => upstream.abort(lease.lost.reason), { once: true })
  const firstByte = setTimeout(() => upstream.abort(new Error('first byte timeout')), o.firstByteTimeoutMs)
  const fail = async (reason: string, countsAgainstBackend = true): Promise<AttemptFailure> => {
    upstream.abort()
    await lease.release()
    const notTheBackend = o.signal.aborted || lease.lost.aborted
    return { failed: true, countsAgainstBackend: countsAgainstBackend && !notTheBackend, reason }
  }
  try {
    let res: Response
    try {
      res = await o.client.chatCompletions({ backend: lease.backend, body, signal: upstream.signal })
    } catch (error) {
      return await fail(error instanceof Error ? error.message : 'connection failed')
    }
    const verdict = judgeBackendStatus(res.status)
    if (verdict.kind === 'retry') {
      await res.body?.cancel().catch(() => undefined)
      return await fail(verdict.reason, verdict.countsAgainstBackend)
    }
    if (verdict.kind === 'rejected') {
      const text = await readAll(res).catch(() => '')
      await lease.release()
      return clientErrorFromBackend(res.status, text)
    }
    if (!o.stream) {
      let text: string
      try {
        text = await readAll(res)
        JSON.parse(text)
      } catch {
        // Nothing has reached the client yet, so a body that breaks is still a failover.
        return await fail('body interrupted')
      }
      await lease.release()
      return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } })
    }
    const reader = res.body?.getReader()
    const first = reader ? await reader.read().catch(() => undefined) : undefined
    if (!reader || !first || first.done) return await fail('stream ended before the first chunk')
    clearTimeout(firstByte)
    const stream = relaySse({
      first: first.value,
      reader,
      upstream,
      lease,
      idleTimeoutMs: o.idleTimeoutMs,
      onFinish: (outcome) => {
        o.signal.removeEventListener('abort', onClientAbort)
        if (outcome === 'broken') o.log.warn('upstream stream broke', { backend: lease.backend.id })
      },
    })
    return new Response(stream, {
      status: 200,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      },
    })
  } finally {
    clearTimeout(firstByte)
    if (!o.stream || lease.released) o.signal.removeEventListener('abort', onClientAbort)
  }
}

async function readAll(res: Response): Promise<string> {
  return await res.text()
}

/**
 * A backend's 4xx is about the request (context too long, bad parameter): pass
 * its message on in our error shape, never its raw body, which may name internals.
 */
function clientErrorFromBackend(status: number, text: string): Response {
  const message = rejectionMessage(text)
  const code = status === 404 ? 'model_not_found' : 'invalid_request'
  const type = status === 404 ? 'not_found_error' : 'invalid_request_error'
  return new SpillwayError(status, type, message, { code }).toResponse()
}
