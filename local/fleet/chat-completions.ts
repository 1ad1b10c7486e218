/**
 * `POST /v1/chat/completions` as vLLM answers it. Admission is decided on
 * arrival, before any byte (admission.ts); a stream then gets its 200 headers
 * at once, as vLLM's do, and its tokens once a sequence is free.
 */
import type { Context } from 'hono'
import { admit, arrive, invalid, jsonBody, type SimEnv } from './admission.ts'
import { parseChatRequest } from './chat-request.ts'
import { type AdmittedRequest, runSequence, settle } from './generate-run.ts'
import { chatCompletion, errorResponse, type FinishReason, type Usage, usage } from './openai-wire.ts'
import { aborted } from './pacer.ts'
import type { SimEngine } from './sim-engine.ts'
import { streamCompletion } from './stream-completion.ts'

export type { SimEnv } from './admission.ts'

export async function handleChatCompletion(engine: SimEngine, c: Context<SimEnv>): Promise<Response> {
  const arrived = arrive(engine)
  if (arrived instanceof Response) return arrived
  const raw = await jsonBody(engine, c)
  if (raw instanceof Response) return raw
  const parsed = parseChatRequest(raw)
  if (!parsed.ok) return invalid(engine, parsed.message, parsed.param)
  const run = admit(engine, c, {
    ...arrived,
    request: parsed.request,
    task: 'generate',
    api: 'Chat Completions',
  })
  if (run instanceof Response) return run
  return run.request.stream
    ? streamCompletion(run)
    : completeOnce(run, ({ header, content, finishReason, usage }) =>
        chatCompletion(header, { content, finishReason, usage }),
      )
}

export interface CompletedText {
  readonly header: AdmittedRequest['header']
  readonly content: string
  readonly finishReason: FinishReason
  readonly usage: Usage
  readonly promptText: string
}

/** Runs a non-streaming generation to its end and renders the answer in the endpoint's own shape. */
export async function completeOnce(
  admitted: AdmittedRequest,
  render: (done: CompletedText) => unknown,
): Promise<Response> {
  const { engine, request, record, signal, header } = admitted
  const tokens: string[] = []
  const { end, release } = await runSequence({ ...admitted, onToken: (token) => tokens.push(token) })
  try {
    if (end === 'stalled') await aborted(signal)
    if (end === 'cut' || end === 'cut-mid-event') admitted.destroySocket()
    const finishReason = request.capped ? 'length' : 'stop'
    settle({ engine, record, end, finishReason })
    if (end !== 'done') return errorResponse(500, 'The request did not complete.')
    return Response.json(
      render({
        header,
        content: tokens.join(''),
        finishReason,
        usage: usage(admitted.promptTokens, tokens.length),
        promptText: request.messages.map((m) => m.text).join('\n'),
      }),
    )
  } finally {
    release()
  }
}
