import type { ApiKind } from '../backends/backend-apis.ts'
import type { BackendClient } from '../backends/backend-client.ts'
import type { ModelConfig } from '../config/gateway-config.ts'
import { SpillwayError, UpstreamError } from '../errors.ts'
import type { AppLogger } from '../logging.ts'
import type { CircuitBreakers } from '../router/circuit-breakers.ts'
import type { HeldLease } from '../router/held-lease.ts'
import type { Route, Router } from '../router/router.ts'
import { type AnswerThenReleaseOptions, answerThenRelease } from './answer-then-release.ts'
import { streamStep, wholeAnswerBody } from './api-answers.ts'
import { askBackend } from './ask-backend.ts'
import { interrupted, type ReadCompletionResult, readCompletion } from './read-completion.ts'
import { eventData, SseEventSplitter } from './sse-events.ts'
import { relaySse } from './sse-relay.ts'
import { UpstreamTimers } from './upstream-timers.ts'

/** Defaults for the options below that callers may leave out. */
export const DEFAULT_TOTAL_TIMEOUT_MS = 15 * 60_000
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024

export interface ForwardOptions {
  readonly router: Router
  readonly circuits: CircuitBreakers
  readonly client: BackendClient
  readonly clock: () => number
  readonly log: AppLogger
  readonly model: ModelConfig
  readonly mayDegrade: boolean
  /** The API called (chat when absent): which backends are candidates, and which route they get. */
  readonly api?: ApiKind
  readonly body: Record<string, unknown>
  readonly stream: boolean
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal
  /** Until the backend's first chunk (its headers and first token); then another backend is tried. */
  readonly firstByteTimeoutMs: number
  /** Longest silence between two chunks once the backend is answering. */
  readonly idleTimeoutMs: number
  readonly maxAttempts: number
  /** Longest an answer may take in all; hitting it is never held against the backend. */
  readonly totalTimeoutMs?: number
  /** Cap on the bytes read from a backend for one answer (stream or not). */
  readonly maxResponseBytes?: number
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
 * Sends one request (chat, completions, embeddings, responses) to a backend with a reserved slot. Failover to
 * another backend happens only before the client has seen a byte: connection
 * errors, timeouts, backend-fault statuses and 429 before the first chunk. After
 * that, a broken stream ends with an SSE error event. A client that wants one
 * whole answer is still served from a backend stream (read-completion.ts), so
 * liveness is judged between chunks and a long answer is limited only by
 * `totalTimeoutMs`. That whole answer (or the attempt's final error) is sent
 * before its lease release finishes, which only holds the body's end
 * (answer-then-release.ts): the acquire is the one write the client waits for.
 */
export async function forwardCompletion(o: ForwardOptions): Promise<ForwardResult> {
  const exclude = new Set<string>()
  let lastFailure: AttemptFailure | undefined
  for (let attempt = 0; attempt < o.maxAttempts; attempt++) {
    const routed = await o.router.acquire({ model: o.model, mayDegrade: o.mayDegrade, api: o.api, exclude })
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
  const maxBytes = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  const api = o.api ?? 'chat'
  const timers = new UpstreamTimers({
    firstByteMs: o.firstByteTimeoutMs,
    idleMs: o.idleTimeoutMs,
    totalMs: o.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS,
    clientSignal: o.signal,
  })
  // A holder whose lease is gone must stop: its slot may already be another request's.
  lease.lost.addEventListener('abort', () => timers.abort(lease.lost.reason), { once: true })
  let relaying = false
  const fail = async (reason: string, countsAgainstBackend = true): Promise<AttemptFailure> => {
    timers.abort()
    await lease.release()
    const notTheBackend = o.signal.aborted || lease.lost.aborted
    return { failed: true, countsAgainstBackend: countsAgainstBackend && !notTheBackend, reason }
  }
  try {
    const reply = await askBackend(o.client, {
      api,
      backend: lease.backend,
      body: o.stream ? body : wholeAnswerBody(api, body),
      timers,
    })
    if (reply.kind === 'unreachable') {
      if (timers.fired === 'total' || o.signal.aborted)
        return await endedByUs(o, lease, timers, interrupted(timers))
      return await fail(reply.reason)
    }
    if (reply.kind === 'retry') return await fail(reply.reason, reply.countsAgainstBackend)
    if (reply.kind === 'rejected') return errorThenRelease(clientErrorFromBackend(reply), releasing(o, lease))
    const res = reply.response
    if (!o.stream) {
      const read = await readCompletion(res, { timers, maxBytes, api })
      // The backend has answered in full: its slot may stay warm for this process's next request.
      if (read.ok)
        return answerThenRelease({
          json: read.completion,
          release: () => lease.release({ reusable: true }),
          log: o.log,
        })
      // Nothing has reached the client yet, so a backend fault is still a failover.
      if (read.failure === 'backend') return await fail(read.reason)
      return await endedByUs(o, lease, timers, read)
    }
    const reader = res.body?.getReader()
    if (!reader) return await fail('stream without a body')
    // The response starts with the first whole event: until then, failover is still possible.
    const splitter = new SseEventSplitter()
    let first: string[] = []
    let bytes = 0
    try {
      while (first.length === 0) {
        const { done, value } = await reader.read()
        if (done) return await fail('stream ended before the first event')
        timers.progress()
        bytes += value.byteLength
        first = splitter.push(value)
      }
    } catch {
      const cut = interrupted(timers)
      if (!cut.ok && cut.failure === 'backend') return await fail(cut.reason)
      return await endedByUs(o, lease, timers, cut)
    }
    if (first.some((event) => streamStep(api, eventData(event) ?? '').kind === 'failed'))
      return await fail('error event first')
    relaying = true
    const stream = relaySse({
      first,
      reader,
      splitter,
      timers,
      lease,
      bytesSoFar: bytes,
      maxBytes,
      api,
      onFinish: (outcome) => {
        if (outcome !== 'done' && outcome !== 'client-closed')
          o.log.warn('upstream stream ended early', { backend: lease.backend.id, outcome })
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
    if (!relaying) timers.stop()
  }
}

/**
 * An attempt stopped by our own limits or by the client, not by the backend:
 * no failover (another backend would take as long, or nobody is listening) and
 * nothing against the backend's circuit.
 */
async function endedByUs(
  o: ForwardOptions,
  lease: HeldLease,
  timers: UpstreamTimers,
  read: ReadCompletionResult,
): Promise<Response | AttemptFailure> {
  timers.abort()
  if (read.ok || read.failure === 'aborted' || o.signal.aborted) {
    await lease.release()
    return { failed: true, countsAgainstBackend: false, reason: 'client closed' }
  }
  if (read.failure === 'timeout') {
    const seconds = Math.round((o.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS) / 1000)
    const error = new SpillwayError(
      504,
      'server_error',
      `The answer took longer than ${seconds} s, the most the gateway waits; ask for fewer tokens (max_tokens) or stream it.`,
      { code: 'upstream_timeout', headers: { 'x-should-retry': 'false' } },
    )
    return errorThenRelease(error, releasing(o, lease))
  }
  const error = new SpillwayError(
    502,
    'server_error',
    'The answer is larger than the gateway relays; ask for fewer tokens (max_tokens).',
    { code: 'upstream_response_too_large', headers: { 'x-should-retry': 'false' } },
  )
  return errorThenRelease(error, releasing(o, lease))
}

/**
 * A backend's 4xx that is about the request (context too long, bad parameter):
 * pass its message on in our error shape, never its raw body, which may name internals.
 */
function clientErrorFromBackend(reply: { readonly status: number; readonly message: string }): SpillwayError {
  return new SpillwayError(reply.status, 'invalid_request_error', reply.message, { code: 'invalid_request' })
}

/** The lease as an answer's release: the client has the answer before the release write ends. */
function releasing(o: ForwardOptions, lease: HeldLease): Pick<AnswerThenReleaseOptions, 'release' | 'log'> {
  return { release: () => lease.release(), log: o.log }
}

/** An attempt's final error answer, sent like a completion: the error, then the release. */
function errorThenRelease(
  error: SpillwayError,
  release: Pick<AnswerThenReleaseOptions, 'release' | 'log'>,
): Response {
  return answerThenRelease({ json: error.toJSON(), status: error.status, headers: error.headers, ...release })
}
