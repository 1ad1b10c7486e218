import type { BackendClient } from '../../shared/backends/backend-client.ts'
import type { BackendRecord } from '../../shared/backends/backend-record.ts'
import { judgeBackendStatus, rejectionMessage } from '../../shared/backends/backend-status.ts'

export type CallOutcome =
  /** `bytes`: the body as received, an upper bound of the stored (re-serialised, compact) result. */
  | { readonly kind: 'ok'; readonly result: Record<string, unknown>; readonly bytes: number }
  /** The backend refused the request itself (4xx): retrying elsewhere gives the same answer. */
  | { readonly kind: 'rejected'; readonly status: number; readonly message: string }
  /** Connection error, timeout, 5xx, 429, broken body: another try may work. */
  | { readonly kind: 'failed'; readonly reason: string; readonly countsAgainstBackend: boolean }
  /** Our own abort (the claim was lost): nobody wants this result any more. */
  | { readonly kind: 'aborted' }

/**
 * One non-streaming chat completion on a leased backend. Whatever the job's
 * client asked, the worker never streams: the result is stored whole, and a
 * client that wanted a stream gets it replayed as SSE.
 */
export async function callBackend(options: {
  client: BackendClient
  backend: Pick<BackendRecord, 'id' | 'url'>
  body: Record<string, unknown>
  timeoutMs: number
  signal: AbortSignal
}): Promise<CallOutcome> {
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(Math.max(1, options.timeoutMs))])
  const failed = (reason: string, countsAgainstBackend = true): CallOutcome =>
    options.signal.aborted ? { kind: 'aborted' } : { kind: 'failed', reason, countsAgainstBackend }
  let text: string
  let status: number
  try {
    const res = await options.client.chatCompletions({ backend: options.backend, body: options.body, signal })
    status = res.status
    text = await res.text()
  } catch (error) {
    return failed(signal.aborted ? 'timed out' : error instanceof Error ? error.message : 'connection failed')
  }
  const verdict = judgeBackendStatus(status)
  if (verdict.kind === 'retry') return failed(verdict.reason, verdict.countsAgainstBackend)
  if (verdict.kind === 'rejected') return { kind: 'rejected', status, message: rejectionMessage(text) }
  try {
    const result = JSON.parse(text) as unknown
    if (
      typeof result === 'object' &&
      result !== null &&
      Array.isArray((result as { choices?: unknown }).choices)
    ) {
      return { kind: 'ok', result: result as Record<string, unknown>, bytes: Buffer.byteLength(text) }
    }
  } catch {
    // Falls through: a body that is not a completion is a failed attempt.
  }
  return failed('malformed completion body')
}

/** The stored request as the backend of a tier must see it. */
export function backendBody(
  request: Readonly<Record<string, unknown>>,
  tierModel: string,
): Record<string, unknown> {
  const { stream: _stream, stream_options: _streamOptions, ...rest } = request
  return { ...rest, model: tierModel, stream: false }
}
