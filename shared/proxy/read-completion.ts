import { CompletionAggregator } from './completion-aggregator.ts'
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
 * The request to send a backend for a client that wants one whole answer. vLLM
 * sends a non-streaming answer's headers only once generation is done, so
 * waiting for them makes liveness and total time the same clock; asking for a
 * stream gets the headers at once and a chunk per token, and the gateway folds
 * the chunks back into the `chat.completion` (usage included, as non-streaming
 * answers always carry it).
 */
export function streamingBody(body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const streamOptions =
    typeof body.stream_options === 'object' && body.stream_options ? body.stream_options : {}
  return { ...body, stream: true, stream_options: { ...streamOptions, include_usage: true } }
}

/**
 * Reads a 2xx backend answer into one `chat.completion`: a stream is
 * aggregated, a JSON body (a server that ignores `stream`) is taken as is.
 * Every chunk restarts the idle timer; more than `maxBytes` stops the read.
 */
export async function readCompletion(
  res: Response,
  options: { timers: UpstreamTimers; maxBytes: number },
): Promise<ReadCompletionResult> {
  const { timers } = options
  const streamed = (res.headers.get('content-type') ?? '').includes('text/event-stream')
  const reader = res.body?.getReader()
  if (!reader) return { ok: false, failure: 'backend', reason: 'empty body' }
  const splitter = new SseEventSplitter()
  const aggregator = new CompletionAggregator()
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
        if (data.trim() === '[DONE]') {
          await reader.cancel().catch(() => undefined)
          return { ok: true, completion: aggregator.build(), bytes }
        }
        const chunk = parseObject(data)
        if (!chunk) return { ok: false, failure: 'backend', reason: 'malformed stream chunk' }
        if ('error' in chunk) return { ok: false, failure: 'backend', reason: 'error event in the stream' }
        aggregator.push(chunk)
      }
    }
  } catch {
    return interrupted(timers)
  }
  if (streamed) return { ok: false, failure: 'backend', reason: 'stream ended before [DONE]' }
  const completion = parseObject(Buffer.concat(chunks).toString('utf8'))
  if (!completion || !Array.isArray(completion.choices))
    return { ok: false, failure: 'backend', reason: 'malformed completion body' }
  return { ok: true, completion, bytes }
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

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}
