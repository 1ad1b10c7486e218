import type { ApiKind } from '../backends/backend-apis.ts'

/**
 * A stored answer replayed as the stream its API would have sent, for a
 * streaming client whose answer was produced without it (a queued job, an
 * `Idempotency-Key` replay): what the OpenAI SDK parses for that API.
 */
type Json = Record<string, unknown>

export function answerAsSse(options: {
  api: ApiKind
  result: Readonly<Json>
  includeUsage: boolean
}): ReadableStream<Uint8Array> {
  const text =
    options.api === 'responses'
      ? responseEvents(options.result)
      : options.api === 'completions'
        ? textCompletionEvents(options.result, options.includeUsage)
        : chatCompletionEvents(options.result, options.includeUsage)
  return new Response(text).body as ReadableStream<Uint8Array>
}

/** Did the request ask for a usage chunk at the end of its stream (`stream_options.include_usage`)? */
export function wantsUsage(request: Readonly<Json>): boolean {
  return (request.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
}

const data = (events: readonly unknown[]) =>
  `${events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join('')}data: [DONE]\n\n`

type Choice = {
  index?: number
  message?: Json
  text?: unknown
  finish_reason?: unknown
  logprobs?: unknown
}

/**
 * `chat.completion.chunk` events: one chunk with each choice's whole message
 * as its delta, one with the finish reasons, an optional usage chunk, then `[DONE]`.
 */
function chatCompletionEvents(result: Readonly<Json>, includeUsage: boolean): string {
  const choices = Array.isArray(result.choices) ? (result.choices as Choice[]) : []
  const base = {
    id: result.id ?? 'chatcmpl-queued',
    object: 'chat.completion.chunk',
    created: result.created ?? Math.floor(Date.now() / 1000),
    model: result.model,
    ...(result.system_fingerprint ? { system_fingerprint: result.system_fingerprint } : {}),
  }
  const delta = (message: Json = {}) => {
    const { tool_calls: toolCalls, ...rest } = message
    return Array.isArray(toolCalls)
      ? { ...rest, tool_calls: toolCalls.map((call, index) => ({ index, ...(call as object) })) }
      : rest
  }
  return data([
    {
      ...base,
      choices: choices.map((c, i) => ({ index: c.index ?? i, delta: delta(c.message), finish_reason: null })),
    },
    {
      ...base,
      choices: choices.map((c, i) => ({
        index: c.index ?? i,
        delta: {},
        finish_reason: c.finish_reason ?? 'stop',
      })),
    },
    ...(includeUsage && result.usage ? [{ ...base, choices: [], usage: result.usage }] : []),
  ])
}

/** `text_completion` chunks: each choice's whole text with its finish reason, optional usage, `[DONE]`. */
function textCompletionEvents(result: Readonly<Json>, includeUsage: boolean): string {
  const choices = Array.isArray(result.choices) ? (result.choices as Choice[]) : []
  const base = {
    id: result.id ?? 'cmpl-queued',
    object: 'text_completion',
    created: result.created ?? Math.floor(Date.now() / 1000),
    model: result.model,
  }
  return data([
    {
      ...base,
      choices: choices.map((c, i) => ({
        index: c.index ?? i,
        text: typeof c.text === 'string' ? c.text : '',
        logprobs: c.logprobs ?? null,
        finish_reason: c.finish_reason ?? 'stop',
      })),
    },
    ...(includeUsage && result.usage ? [{ ...base, choices: [], usage: result.usage }] : []),
  ])
}

/**
 * The Responses event sequence for a finished response: `response.created`, then per
 * output item its `added` / `done` events (a message's text as one
 * `response.output_text.delta`), then `response.completed` (or `.incomplete`)
 * with the whole response; typed `event:` lines, increasing `sequence_number`, no `[DONE]`.
 */
function responseEvents(response: Readonly<Json>): string {
  let sequence = 0
  const lines: string[] = []
  const emit = (type: string, fields: Json) => {
    lines.push(
      `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`,
    )
  }
  const output = Array.isArray(response.output) ? (response.output as Json[]) : []
  emit('response.created', { response: { ...response, status: 'in_progress', output: [] } })
  output.forEach((item, outputIndex) => {
    const content = Array.isArray(item.content) ? (item.content as Json[]) : []
    const opening = item.type === 'message' ? { ...item, status: 'in_progress', content: [] } : item
    emit('response.output_item.added', { output_index: outputIndex, item: opening })
    if (item.type === 'message') {
      content.forEach((part, contentIndex) => {
        const at = { item_id: item.id, output_index: outputIndex, content_index: contentIndex }
        const text = typeof part.text === 'string' ? part.text : ''
        emit('response.content_part.added', { ...at, part: { ...part, text: '' } })
        if (part.type === 'output_text') {
          emit('response.output_text.delta', { ...at, delta: text, logprobs: [] })
          emit('response.output_text.done', { ...at, text, logprobs: [] })
        }
        emit('response.content_part.done', { ...at, part })
      })
    }
    emit('response.output_item.done', { output_index: outputIndex, item })
  })
  emit(response.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response })
  return lines.join('')
}
