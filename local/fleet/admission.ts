/**
 * What every simulated endpoint decides on arrival, before any byte: slow
 * start, the model (and whether it generates text or embeds), injected faults,
 * room in the waiting queue. Chat, completions, responses and embeddings all
 * pass through here, so they share one scheduler and one set of counters.
 */
import type { HttpBindings } from '@hono/node-server'
import type { Context } from 'hono'
import type { ChatRequest } from './chat-request.ts'
import { decideFault } from './faults.ts'
import type { AdmittedRequest } from './generate-run.ts'
import { estimatePromptTokens } from './generation.ts'
import { isEmbeddingModel } from './hardware-profiles.ts'
import { errorResponse, newCompletionHeader } from './openai-wire.ts'
import type { SimEngine } from './sim-engine.ts'

export type SimEnv = { Bindings: Partial<HttpBindings> }

export type ModelTask = 'generate' | 'embed'

/** Counts the arrival; a server still "loading" refuses everything with 503. */
export function arrive(engine: SimEngine): { arrival: number } | Response {
  const arrival = engine.stats.arrive()
  if (!engine.isSlowStarting()) return { arrival }
  engine.stats.reject('slow-start')
  return errorResponse(503, 'The server is starting up.', { headers: { 'Retry-After': '1' } })
}

/** The body as JSON, or the 400 vLLM sends for anything else. */
export async function jsonBody(engine: SimEngine, c: Context<SimEnv>): Promise<unknown | Response> {
  const raw: unknown = await c.req.json().catch(() => undefined)
  if (raw !== undefined) return raw
  engine.stats.reject('invalid')
  return errorResponse(400, 'The request body is not valid JSON.')
}

export function invalid(engine: SimEngine, message: string, param: string | null): Response {
  engine.stats.reject('invalid')
  return errorResponse(400, message, { param })
}

/**
 * Admits a parsed request: the model must be served here and fit the endpoint
 * (vLLM runs a model either to generate or to embed, never both), then faults,
 * then a place in the scheduler.
 */
export function admit(
  engine: SimEngine,
  c: Context<SimEnv>,
  options: { arrival: number; request: ChatRequest; task: ModelTask; api: string },
): AdmittedRequest | Response {
  const { stats } = engine
  const { request, arrival } = options
  const model = request.model ?? engine.models.find((m) => taskOf(m) === options.task) ?? ''
  if (!engine.models.includes(model)) {
    stats.reject('unknown-model')
    return errorResponse(404, `The model \`${model}\` does not exist.`, { param: 'model' })
  }
  if (taskOf(model) !== options.task) {
    stats.reject('invalid')
    return errorResponse(400, `The model \`${model}\` does not support the ${options.api} API.`, {
      param: 'model',
    })
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
  if (fault === 'redirect') {
    stats.reject('redirect')
    // To the simulator's own state: JSON a client must never see as an answer.
    return new Response(null, { status: 307, headers: { Location: new URL('/sim/state', c.req.url).href } })
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
  return {
    engine,
    request: { ...request, model },
    header,
    record,
    promptTokens: estimatePromptTokens(request.messages),
    started: admitted.started,
    signal,
    leave: () => gone.abort(),
    destroySocket: () => c.env?.incoming?.socket.destroy(),
    endSocket: () => c.env?.incoming?.socket.end(),
  }
}

function taskOf(model: string): ModelTask {
  return isEmbeddingModel(model) ? 'embed' : 'generate'
}
