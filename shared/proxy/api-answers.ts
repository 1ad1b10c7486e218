import type { ApiKind } from '../backends/backend-apis.ts'
import { CompletionAggregator } from './completion-aggregator.ts'
import { TextCompletionAggregator } from './text-completion-aggregator.ts'

/**
 * What differs between the OpenAI APIs once a request is routed: the body a
 * backend is sent, how its stream ends, and how a stream folds back into the
 * one answer a non-streaming client (or a stored job) gets.
 *
 * Chat and completions streams end with `data: [DONE]`. A Responses stream has
 * typed events (`event: response.output_text.delta` …) and no `[DONE]`: it ends
 * with `response.completed` or `response.incomplete`, whose `response` is the
 * whole answer, or with `response.failed` / `error`. Embeddings never stream.
 */
type Json = Record<string, unknown>

export type StreamStep =
  | { readonly kind: 'more' }
  | { readonly kind: 'done' }
  | { readonly kind: 'failed'; readonly reason: string }

/** Folds one API's stream, one event's `data` at a time. */
export interface StreamFold {
  push(data: string): StreamStep
  build(): Json
}

const MORE: StreamStep = { kind: 'more' }
const DONE: StreamStep = { kind: 'done' }

/** Does this API's backend route stream at all? */
export function apiStreams(api: ApiKind): boolean {
  return api !== 'embeddings'
}

/**
 * The body to send a backend for a client that wants one whole answer: a stream
 * where the API has one (liveness is then judged between chunks, see
 * read-completion.ts), with usage asked for where the API makes it optional.
 */
export function wholeAnswerBody(api: ApiKind, body: Readonly<Json>): Json {
  if (api === 'embeddings') return { ...body }
  if (api === 'responses') return { ...body, stream: true }
  const streamOptions =
    typeof body.stream_options === 'object' && body.stream_options ? body.stream_options : {}
  return { ...body, stream: true, stream_options: { ...streamOptions, include_usage: true } }
}

/** A stored request as the backend of a tier must see it, streamed (a held stream) or not. */
export function backendBody(options: {
  api: ApiKind
  request: Readonly<Json>
  tierModel: string
  stream: boolean
}): Json {
  const { stream: _stream, stream_options: streamOptions, ...rest } = options.request
  const body = { ...rest, model: options.tierModel }
  if (!options.stream) return wholeAnswerBody(options.api, body)
  return {
    ...body,
    stream: true,
    ...(streamOptions && options.api !== 'responses' ? { stream_options: streamOptions } : {}),
  }
}

/** Whether a JSON (non-streamed) answer has the shape of this API's answer. */
export function isWholeAnswer(api: ApiKind, answer: Json): boolean {
  if (api === 'embeddings') return Array.isArray(answer.data)
  if (api === 'responses') return Array.isArray(answer.output)
  return Array.isArray(answer.choices)
}

/** How one event's data ends (or not) a stream of this API, without folding it. */
export function streamStep(api: ApiKind, data: string): StreamStep {
  if (api !== 'responses') {
    if (data.trim() === '[DONE]') return DONE
    return data.startsWith('{"error"') ? { kind: 'failed', reason: 'error event in the stream' } : MORE
  }
  const type = /"type"\s*:\s*"([^"]+)"/.exec(data)?.[1]
  if (type === 'response.completed' || type === 'response.incomplete') return DONE
  if (type === 'response.failed' || type === 'error' || data.startsWith('{"error"'))
    return { kind: 'failed', reason: `${type ?? 'error'} event in the stream` }
  return MORE
}

export function streamFold(api: ApiKind): StreamFold {
  return api === 'responses' ? new ResponseFold() : new ChoicesFold(api)
}

class ChoicesFold implements StreamFold {
  readonly #aggregator: CompletionAggregator | TextCompletionAggregator

  constructor(api: ApiKind) {
    this.#aggregator = api === 'completions' ? new TextCompletionAggregator() : new CompletionAggregator()
  }

  push(data: string): StreamStep {
    if (data.trim() === '[DONE]') return DONE
    const chunk = parseObject(data)
    if (!chunk) return { kind: 'failed', reason: 'malformed stream chunk' }
    if ('error' in chunk) return { kind: 'failed', reason: 'error event in the stream' }
    this.#aggregator.push(chunk)
    return MORE
  }

  build(): Json {
    return this.#aggregator.build()
  }
}

/** The terminal event carries the whole response object: nothing to assemble from the deltas. */
class ResponseFold implements StreamFold {
  #response: Json = {}

  push(data: string): StreamStep {
    const event = parseObject(data)
    if (!event) return { kind: 'failed', reason: 'malformed stream event' }
    const step = streamStep('responses', data)
    if (step.kind === 'done') {
      const response = event.response
      if (typeof response !== 'object' || response === null || Array.isArray(response))
        return { kind: 'failed', reason: `${String(event.type)} without a response` }
      this.#response = response as Json
    }
    return step
  }

  build(): Json {
    return this.#response
  }
}

export function parseObject(text: string): Json | undefined {
  try {
    const value = JSON.parse(text) as unknown
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined
  } catch {
    return undefined
  }
}
