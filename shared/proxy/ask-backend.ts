import type { ApiKind } from '../backends/backend-apis.ts'
import { type BackendClient, callBackendApi } from '../backends/backend-client.ts'
import type { BackendRecord } from '../backends/backend-record.ts'
import { judgeBackendStatus, rejectionMessage } from '../backends/backend-status.ts'
import { readTextCapped } from './read-completion.ts'
import type { UpstreamTimers } from './upstream-timers.ts'

/** A rejection is read only for its message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024

/**
 * How a backend met one request, up to its status; what each caller makes of
 * it (failover, a stored job error, the client's 4xx) stays the caller's.
 * - `unreachable`: no response (connection error, a timer fired, our abort);
 * - `retry`: a status another backend may answer (body already cancelled);
 * - `rejected`: the request's own fault, with the backend's message (never its raw body);
 * - `answering`: a 2xx whose body is the caller's to read.
 */
export type BackendReply =
  | { readonly kind: 'unreachable'; readonly reason: string }
  | { readonly kind: 'retry'; readonly reason: string; readonly countsAgainstBackend: boolean }
  | { readonly kind: 'rejected'; readonly status: number; readonly message: string }
  | { readonly kind: 'answering'; readonly response: Response }

/** Sends the request on `timers.signal` and judges the backend's status. */
export async function askBackend(
  client: BackendClient,
  options: {
    api: ApiKind
    backend: Pick<BackendRecord, 'id' | 'url'>
    body: Record<string, unknown>
    timers: UpstreamTimers
  },
): Promise<BackendReply> {
  const { timers } = options
  let res: Response
  try {
    res = await callBackendApi(client, {
      api: options.api,
      backend: options.backend,
      body: options.body,
      signal: timers.signal,
    })
  } catch (error) {
    const reason = timers.fired
      ? `${timers.fired} timeout`
      : error instanceof Error
        ? error.message
        : 'connection failed'
    return { kind: 'unreachable', reason }
  }
  const verdict = judgeBackendStatus(res.status)
  if (verdict.kind === 'retry') {
    await res.body?.cancel().catch(() => undefined)
    return { kind: 'retry', reason: verdict.reason, countsAgainstBackend: verdict.countsAgainstBackend }
  }
  if (verdict.kind === 'rejected') {
    const message = rejectionMessage(await readTextCapped(res, MAX_ERROR_BODY_BYTES))
    return { kind: 'rejected', status: res.status, message }
  }
  return { kind: 'answering', response: res }
}
