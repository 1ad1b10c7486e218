import type { ApiKind } from '../backends/backend-apis.ts'
import type { BackendClient } from '../backends/backend-client.ts'
import type { BackendRecord } from '../backends/backend-record.ts'
import { jsonBytes } from '../jobs/job-size.ts'
import { wholeAnswerBody } from '../proxy/api-answers.ts'
import { askBackend } from '../proxy/ask-backend.ts'
import { readCompletion } from '../proxy/read-completion.ts'
import { UpstreamTimers } from '../proxy/upstream-timers.ts'

export type CallOutcome =
  /** `bytes`: the size of the result as it will be stored (compact JSON); the streamed body is far larger. */
  | { readonly kind: 'ok'; readonly result: Record<string, unknown>; readonly bytes: number }
  /** The backend refused the request itself (400/413/422): retrying elsewhere gives the same answer. */
  | { readonly kind: 'rejected'; readonly status: number; readonly message: string }
  /** Connection error, stall, backend-fault status, 429, broken body: another try may work. */
  | { readonly kind: 'failed'; readonly reason: string; readonly countsAgainstBackend: boolean }
  /**
   * The answer outgrew our limits (the call's total time, the byte cap) while the backend
   * was still answering: another try would end the same way, and it is no backend fault.
   */
  | {
      readonly kind: 'too-long'
      readonly code: 'upstream_timeout' | 'result_too_large'
      readonly message: string
    }
  /** Our own abort (the claim was lost): nobody wants this result any more. */
  | { readonly kind: 'aborted' }

/**
 * One request of the job's API on a leased backend, read whole: the worker stores the
 * result, and a client that wanted a stream gets it replayed as SSE. The
 * backend is still asked for a stream (see read-completion.ts), so a stalled
 * backend is caught by the idle timeout while a long answer may use all of
 * `timeoutMs`.
 */
export async function callBackend(options: {
  client: BackendClient
  backend: Pick<BackendRecord, 'id' | 'url'>
  /** The job's API (chat when absent): the backend route and how the answer is read. */
  api?: ApiKind
  body: Record<string, unknown>
  /** The whole call, answer included. */
  timeoutMs: number
  firstByteTimeoutMs: number
  idleTimeoutMs: number
  maxResponseBytes: number
  signal: AbortSignal
}): Promise<CallOutcome> {
  const timers = new UpstreamTimers({
    firstByteMs: options.firstByteTimeoutMs,
    idleMs: options.idleTimeoutMs,
    totalMs: options.timeoutMs,
    clientSignal: options.signal,
  })
  const api = options.api ?? 'chat'
  const seconds = Math.round(options.timeoutMs / 1000)
  const tooLong: CallOutcome = {
    kind: 'too-long',
    code: 'upstream_timeout',
    message: `The answer took longer than ${seconds} s, the most a queued job may run; ask for fewer tokens (max_tokens).`,
  }
  const failed = (reason: string, countsAgainstBackend = true): CallOutcome => {
    if (options.signal.aborted) return { kind: 'aborted' }
    if (timers.fired === 'total') return tooLong
    return { kind: 'failed', reason, countsAgainstBackend }
  }
  try {
    const reply = await askBackend(options.client, {
      api,
      backend: options.backend,
      body: wholeAnswerBody(api, options.body),
      timers,
    })
    if (reply.kind === 'unreachable') return failed(reply.reason)
    if (reply.kind === 'retry') return failed(reply.reason, reply.countsAgainstBackend)
    if (reply.kind === 'rejected') return { kind: 'rejected', status: reply.status, message: reply.message }
    const read = await readCompletion(reply.response, { timers, maxBytes: options.maxResponseBytes, api })
    if (read.ok) return { kind: 'ok', result: read.completion, bytes: jsonBytes(read.completion) }
    if (read.failure === 'too-large') {
      return {
        kind: 'too-long',
        code: 'result_too_large',
        message: `The answer is larger than ${options.maxResponseBytes} bytes; ask for fewer tokens (max_tokens).`,
      }
    }
    return failed(read.reason, read.failure === 'backend')
  } finally {
    timers.stop()
  }
}

/** The stored request as the backend of a tier must see it (the whole-answer form is `wholeAnswerBody`'s). */
export function backendBody(
  request: Readonly<Record<string, unknown>>,
  tierModel: string,
): Record<string, unknown> {
  const { stream: _stream, stream_options: _streamOptions, ...rest } = request
  return { ...rest, model: tierModel }
}
