/**
 * `POST /v1/chat/completions` as vLLM answers it. Admission (slow start,
 * validation, model, injected faults, queue room) is decided on arrival, before
 * any byte; a stream then gets its 200 headers at once, as vLLM's do, and its
 * tokens once a sequence is free.
 */
import type { HttpBindings } from '@hono/node-server'
import type { Context } from 'hono'
import { parseChatRequest } from './chat-request.ts'
import { decideFault } from './faults.ts'
import { type AdmittedRequest, runSequence, settle } from './generate-run.ts'
import { estimatePromptTokens } from './generation.ts'
import { chatCompletion, errorResponse, newCompletionHeader, usage } from './openai-wire.ts'
import { aborted } from './pacer.ts'
import type { SimEngine } from './sim-engine.ts'
import { streamCompletion } from './stream-completion.ts'

export type SimEnv = { Bindings: Partial<HttpBindings> }

export async function handleChatCompletion(engine: SimEngine, c: Context<SimEnv>): Promise<Response> {
  const { stats } = engine
  const arrival = stats.arrive()
  if (engine.isSlowStarting()) {
    stats.reject('slow-start')
    return errorResponse(503, 'The server is starting up.', { headers: { 'Retry-After': '1' } })
  }
  const raw: unknown = await c.req.json().catch(() => undefined)
  const parsed = raw === undefined ? undefined : parseChatRequest(raw)
  if (!parsed?.ok) {
    stats.reject('invalid')
    const message = parsed ? parsed.message : 'The request body is not valid JSON.'
    return errorResponse(400, message, { param: parsed?.param ?? null })
  }
  const request = parsed.request
  const model = request.model ?? engine.models[0] ?? ''
  if (!engine.models.includes(model)) {
    stats.reject('unknown-model')
    return errorResponse(404, `The model \`${model}\` does not exist.`, { param: 'model' })
  }
  const fault = decideFault(engine.faults, arrival)
  if (fault === 'error') {
    stats.reject('error')
    return errorResponse(500, 'Injected internal server error.')
  }
  if (fault === 'rate-limit') {
    stats.reject('rate-limit')
    const retryAfter = String(engine.faults.retryAfterSeconds)
    return errorResponse(429, 'Injected rate limit.', { headers: { 'Retry-After': retryAfter } })
  }
  // The client is gone when the request aborts or, for a stream, when its body is cancelled.
  const gone = new AbortController()
  const signal = AbortSignal.any([c.req.raw.signal, gone.signal])
  const admitted = engine.scheduler.admit(signal)
  if (!admitted.ok) {
    stats.reject('overload')
    return errorResponse(503, 'The server is overloaded: the waiting queue is full.', {
      headers: { 'Retry-After': '1' },
    })
  }
  const header = newCompletionHeader(model)
  const record = stats.track({
    requestId: c.req.header('x-request-id') ?? header.id,
    model,
    firstMessage: request.messages[0]?.text.slice(0, 200) ?? '',
    stream: request.stream,
    arrival,
  })
  const run: AdmittedRequest = {
    engine,
    request,
    header,
    record,
    promptTokens: estimatePromptTokens(request.messages),
    started: admitted.started,
    signal,
    leave: () => gone.abort(),
    destroySocket: () => c.env?.incoming?.socket.destroy(),
    endSocket: () => c.env?.incoming?.socket.end(),
  }
  return request.stream ? streamCompletion(run) : completeOnce(run)
}

async function completeOnce(admitted: AdmittedRequest): Promise<Response> {
  const { engine, request, record, signal, header } = admitted
  const tokens: string[] = []
  const { end, release } = await runSequence({ ...admitted, onToken: (token) => tokens.push(token) })
  try {
    if (end === 'stalled') await aborted(signal)
    if (end === 'cut' || end === 'cut-mid-event') admitted.destroySocket()
    const finishReason = request.capped ? 'length' : 'stop'
    settle({ engine, record, end, finishReason })
    if (end !== 'done') return errorResponse(500, 'The request did not complete.')
    const content = tokens.join('')
    return Response.json(
      chatCompletion(header, { content, finishReason, usage: usage(admitted.promptTokens, tokens.length) }),
    )
  } finally {
    release()
  }
}
