/**
 * The SSE body of a streaming completion, chunk for chunk as vLLM sends it: the
 * role chunk with the first token, one chunk per token, a last chunk with
 * `finish_reason`, an optional usage chunk with no choices, then `[DONE]`.
 */

import { setTimeout as delay } from 'node:timers/promises'
import { type AdmittedRequest, runSequence, settle } from './generate-run.ts'
import {
  type CompletionHeader,
  chatChunk,
  type FinishReason,
  sseData,
  type Usage,
  usage,
  usageChunk,
} from './openai-wire.ts'
import { aborted } from './pacer.ts'

const encoder = new TextEncoder()

/**
 * The chunk shapes of one endpoint's stream (chat by default; `/v1/completions` and
 * `/v1/responses` have their own). A hook may return a list: each is one event.
 */
export interface StreamWire {
  /** One event on the wire; `data: …` by default (Responses adds an `event:` line). */
  readonly encode?: (payload: unknown) => string
  /** Chat and completions end with `data: [DONE]`; a Responses stream does not. */
  readonly endsWithDone?: boolean
  readonly start?: (header: CompletionHeader) => unknown
  readonly token: (header: CompletionHeader, token: string) => unknown
  readonly finish: (header: CompletionHeader, finishReason: FinishReason) => unknown
  readonly usage: (header: CompletionHeader, usage: Usage) => unknown
}

export const CHAT_STREAM: StreamWire = {
  start: (header) => chatChunk(header, { delta: { role: 'assistant', content: '' } }),
  token: (header, token) => chatChunk(header, { delta: { content: token } }),
  finish: (header, finishReason) => chatChunk(header, { delta: { content: '' }, finishReason }),
  usage: usageChunk,
}

export function streamCompletion(admitted: AdmittedRequest, wire: StreamWire = CHAT_STREAM): Response {
  const { engine, request, record, header, signal } = admitted
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined
  const body = new ReadableStream<Uint8Array>({
    start: (streamController) => {
      controller = streamController
    },
    cancel: () => admitted.leave(),
  })
  const encode = wire.encode ?? sseData
  const send = (payload: unknown) => {
    for (const one of Array.isArray(payload) ? payload : [payload])
      if (!signal.aborted) controller?.enqueue(encoder.encode(encode(one)))
  }

  const produce = async () => {
    let completionTokens = 0
    const { end, release } = await runSequence({
      ...admitted,
      onToken: (token, index) => {
        if (index === 0 && wire.start) send(wire.start(header))
        send(wire.token(header, token))
        completionTokens++
      },
    })
    try {
      if (end === 'stalled') await aborted(signal)
      if (end === 'cut') {
        // After a pause (a loaded machine) the pacer emits overdue tokens in one go: let them
        // reach the socket first, so the cut comes after the tokens it promises.
        await delay(20)
        admitted.destroySocket()
      }
      if (end === 'cut-mid-event') {
        const next = encoder.encode(sseData(chatChunk(header, { delta: { content: ' cut' } })))
        if (!signal.aborted) controller?.enqueue(next.subarray(0, Math.floor(next.byteLength / 2)))
        // Let the half event reach the socket before the connection ends behind it.
        await delay(20)
        admitted.endSocket()
      }
      const finishReason = request.capped ? 'length' : 'stop'
      settle({ engine, record, end, finishReason })
      if (end !== 'done') {
        // The socket is gone already (client left, cut, crash); closing only matters without one.
        if (!signal.aborted) controller?.close()
        return
      }
      send(wire.finish(header, finishReason))
      if (request.includeUsage) send(wire.usage(header, usage(admitted.promptTokens, completionTokens)))
      if (wire.endsWithDone !== false) send('[DONE]')
      if (!signal.aborted) controller?.close()
    } finally {
      release()
    }
  }
  produce().catch((error: unknown) => {
    if (!signal.aborted) controller?.error(error)
  })

  return new Response(body, {
    headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' },
  })
}
