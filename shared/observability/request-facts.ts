import type { LogFields } from '../logging.ts'

/**
 * What one request did, as the observer saw it from outside the route: the
 * response's `x-spillway-*` headers, its status, and timings to the first and
 * the last body byte. Never a key, never a prompt.
 */
export interface RequestFacts {
  readonly requestId: string
  readonly method: string
  readonly path: string
  readonly tenant?: string
  /** A configured model id, `unknown` for any other name (bounded label values). */
  readonly model?: string
  /** `primary`, `fallback`, `queued`, or `none` when nothing served it (an error). */
  readonly route: string
  readonly hardware: string
  readonly backend: string
  readonly status: number
  readonly durationMs: number
  /** Until the first body byte: for a stream, the first token. */
  readonly ttfbMs?: number
  /** From `x-spillway-queue-ms` on answers that waited in the queue. */
  readonly queueWaitMs?: number
  /** The job a queued answer came from. */
  readonly jobId?: string
  /** The client went away before the body ended. */
  readonly aborted?: boolean
}

/** The message of the per-request log line, so tools can filter on it. */
export const REQUEST_LOG_MESSAGE = 'request'

/**
 * The one structured line per request (Powertools Logger on Lambda, the console
 * logger locally): the same fields everywhere, rounded to the millisecond.
 */
export function requestLogFields(facts: RequestFacts): LogFields {
  return {
    requestId: facts.requestId,
    method: facts.method,
    path: facts.path,
    tenant: facts.tenant ?? null,
    model: facts.model ?? null,
    route: facts.route,
    hardware: facts.hardware,
    backend: facts.backend,
    status: facts.status,
    durationMs: Math.round(facts.durationMs),
    ttfbMs: facts.ttfbMs === undefined ? null : Math.round(facts.ttfbMs),
    queueWaitMs: facts.queueWaitMs ?? null,
    ...(facts.jobId ? { jobId: facts.jobId } : {}),
    ...(facts.aborted ? { aborted: true } : {}),
  }
}
