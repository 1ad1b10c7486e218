import type { ApiKind } from '../backends/backend-apis.ts'
import { isWholeAnswer, parseObject, streamFold, wholeAnswerBody } from './api-answers.ts'
import { eventData, SseEventSplitter } from './sse-events.ts'
import type { UpstreamTimers } from './upstream-timers.ts'

/**
 * Why a backend answer could not be read:
 * - `backend`: its fault (stalled, broke, malformed, an error event): another backend may do better;
 * - `timeout`: the total time ran out while it was still answering: the answer is too long, nobody's fault;
 * - `too-large`: the answer passed the byte cap;
 * - `aborted`: the caller gave up (client gone, claim lost).
 */
export type ReadFailure = 'backend' | 'timeout' | 'too-large' | 'aborted'

export type ReadCompletionResult =
  | { readonly ok: true; readonly completion: Record<string, unknown>; readonly bytes: number }
  | { readonly ok: false; readonly failure: ReadFailure; readonly reason: string }

/**
 * The request to send a backend for a client that wants one whole chat answer. vLLM
 * sends a non-streaming answer's headers only once generation is done, so
 * waiting for them makes liveness and total time the same clock; asking for a
 * stream gets the headers at once and a chunk per token, and the gateway folds
 * the chunks back into the `chat.completion` (usage included, as non-streaming
 * answers always carry it). Other APIs: `wholeAnswerBody` (api-answers.ts).
 */
export function streamingBody(body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return wholeAnswerBody('chat', body)
}

export interface ReadCompletionOptions {
  readonly timers: UpstreamTimers
  readonly maxBytes: number
  /** The API answered (chat when absent): how its stream ends and folds. */
  readonly api?: ApiKind
  /**
   * Each whole event of a streamed answer as it passes, before the read goes on (a held
   * stream's client gets it live); an error event is not passed on, it fails the read.
   */
  readonly onEvent?: (event: string) => void
}

/**
 * Reads a 2xx backend answer into the API's one answer: a stream is folded, a
 * JSON body (embeddings, or a server that ignores `stream`) is taken as is.
 * Every chunk restarts the idle timer; more than `maxBytes` stops the read.
 */
export async function readCompletion(
  res: Response,
  options: ReadCompletionOptions,
): Promise<ReadCompletionResult> {
  const { timers } = options
  const api = options.api ?? 'chat'
  const streamed = (res.headers.get('content-type') ?? '').includes('text/event-stream')
  const reader = res.body?.getReader()
  if (!reader) return { ok: false, failure: 'backend', reason: 'empty body' }
  const splitter = new SseEventSplitter()
  const fold = streamFold(api)
  const chunks: Uint8Array[] = []
  let bytes = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      timers.progress()
      bytes += value.byteLength
      if (bytes > options.maxBytes) {
        await reader.cancel().catch(() => undefined)
        return { ok: false, failure: 'too-large', reason: `answer larger than ${options.maxBytes} bytes` }
      }
      if (!streamed) {
        chunks.push(value)
        continue
      }
      for (const event of splitter.push(value)) {
        const data = eventData(event)
        if (data === undefined) continue
        const step = fold.push(data)
        if (step.kind === 'failed') {
          // The backend may still be generating behind an error event: a failed read never leaves
          // the body open, or the caller's released slot would still be busy on the backend.
          await reader.cancel().catch(() => undefined)
          return { ok: false, failure: 'backend', reason: step.reason }
        }
        options.onEvent?.(event)
        if (step.kind === 'done') {
          if (!(await endsAtOnce(reader))) await reader.cancel().catch(() => undefined)
          return { ok: true, completion: fold.build(), bytes }
        }
      }
    }
  } catch {
    return interrupted(timers)
  }
  if (streamed) return { ok: false, failure: 'backend', reason: 'stream ended before its last event' }
  const completion = parseObject(Buffer.concat(chunks).toString('utf8'))
  if (!completion || !isWholeAnswer(api, completion))
    return { ok: false, failure: 'backend', reason: 'malformed answer body' }
  return { ok: true, completion, bytes }
}

/**
 * Whether the body ends right after its last event, as a backend's usually does (the
 * chunked body's end comes in the same packet). Reading that end, rather than cancelling,
 * keeps the connection for the next request and skips the abort a cancel costs (fetch
 * builds an AbortError for it); a backend that keeps the body open is cancelled after all.
 */
async function endsAtOnce(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const later = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), 0)
  })
  try {
    return await Promise.race([
      reader.read().then(
        (next) => next.done,
        () => false,
      ),
      later,
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** A read that threw: which clock (if any) stopped it decides whose fault it was. */
export function interrupted(timers: UpstreamTimers): ReadCompletionResult {
  const fired = timers.fired
  if (fired === 'total') return { ok: false, failure: 'timeout', reason: 'total timeout' }
  if (fired) return { ok: false, failure: 'backend', reason: `${fired} timeout` }
  if (timers.signal.aborted) return { ok: false, failure: 'aborted', reason: 'aborted' }
  return { ok: false, failure: 'backend', reason: 'body interrupted' }
}

/** At most `maxBytes` of a body as text (an error body is read only for its message). */
export async function readTextCapped(res: Response, maxBytes: number): Promise<string> {
  const reader = res.body?.getReader()
  if (!reader) return ''
  const chunks: Uint8Array[] = []
  let bytes = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      bytes += value.byteLength
      if (bytes >= maxBytes) {
        await reader.cancel().catch(() => undefined)
        break
      }
    }
  } catch {
    // What arrived is all there is.
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8')
}
