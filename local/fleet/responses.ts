/**
 * `POST /v1/responses` as vLLM serves it: the input (text or messages, plus
 * `instructions`) becomes the prompt, the answer one assistant message of
 * `output_text`; a capped answer is `incomplete`. Streamed, it is the typed
 * event sequence (`event: response.created` … `response.output_text.delta` per
 * token … `response.completed` with the whole response), with no `[DONE]`.
 */
import { randomUUID } from 'node:crypto'
import type { Context } from 'hono'
import { z } from 'zod'
import { admit, arrive, invalid, jsonBody, type SimEnv } from './admission.ts'
import { completeOnce } from './chat-completions.ts'
import { DEFAULT_MAX_TOKENS } from './chat-request.ts'
import type { CompletionHeader, FinishReason, Usage } from './openai-wire.ts'
import type { SimEngine } from './sim-engine.ts'
import { type StreamWire, streamCompletion } from './stream-completion.ts'

const part = z.looseObject({ type: z.string(), text: z.string().optional() })
const inputMessage = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(part)]),
})
const responsesBody = z.looseObject({
  model: z.string().nullish(),
  input: z.union([z.string(), z.array(inputMessage).min(1, 'input must hold at least one message')]),
  instructions: z.string().nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  stream: z.boolean().nullish(),
})

export async function handleResponse(engine: SimEngine, c: Context<SimEnv>): Promise<Response> {
  const arrived = arrive(engine)
  if (arrived instanceof Response) return arrived
  const raw = await jsonBody(engine, c)
  if (raw instanceof Response) return raw
  const parsed = responsesBody.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const param = issue && issue.path.length > 0 ? issue.path.join('.') : null
    return invalid(engine, `${param ?? 'body'}: ${issue?.message ?? 'invalid request'}`, param)
  }
  const body = parsed.data
  const messages = [
    ...(body.instructions ? [{ role: 'system', text: body.instructions }] : []),
    ...(typeof body.input === 'string'
      ? [{ role: 'user', text: body.input }]
      : body.input.map((m) => ({
          role: m.role,
          text: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text ?? '').join(''),
        }))),
  ]
  const run = admit(engine, c, {
    ...arrived,
    task: 'generate',
    api: 'Responses',
    request: {
      model: body.model ?? undefined,
      messages,
      stream: body.stream === true,
      // The usage goes into `response.completed`, which a Responses stream always ends with.
      includeUsage: body.stream === true,
      maxTokens: body.max_output_tokens ?? DEFAULT_MAX_TOKENS,
      capped: body.max_output_tokens != null,
      seed: 0,
    },
  })
  if (run instanceof Response) return run
  const ids = {
    response: `resp_${randomUUID().replaceAll('-', '')}`,
    message: `msg_${randomUUID().replaceAll('-', '')}`,
  }
  if (run.request.stream) return streamCompletion(run, responseStream({ ids, body }))
  return completeOnce(run, ({ header, content, finishReason, usage }) =>
    responseObject({ ids, body, header, content, finishReason, usage }),
  )
}

type ResponsesBody = z.output<typeof responsesBody>

function responseObject(o: {
  ids: { response: string; message: string }
  body: ResponsesBody
  header: CompletionHeader
  content: string
  finishReason: FinishReason | null
  usage: Usage | null
}) {
  const done = o.finishReason !== null
  return {
    id: o.ids.response,
    object: 'response',
    created_at: o.header.created,
    model: o.header.model,
    status: !done ? 'in_progress' : o.finishReason === 'length' ? 'incomplete' : 'completed',
    incomplete_details: o.finishReason === 'length' ? { reason: 'max_output_tokens' } : null,
    instructions: o.body.instructions ?? null,
    max_output_tokens: o.body.max_output_tokens ?? null,
    output: done ? [message(o.ids.message, o.content, 'completed')] : [],
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    usage: o.usage && {
      input_tokens: o.usage.prompt_tokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: o.usage.completion_tokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: o.usage.total_tokens,
    },
  }
}

function message(id: string, text: string, status: 'in_progress' | 'completed') {
  return {
    id,
    type: 'message',
    status,
    role: 'assistant',
    content: status === 'completed' ? [outputText(text)] : [],
  }
}

const outputText = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] })

/** One request's event sequence: it numbers the events and keeps the text for the `done` events. */
function responseStream(o: { ids: { response: string; message: string }; body: ResponsesBody }): StreamWire {
  let sequence = 0
  let text = ''
  let finishReason: FinishReason = 'stop'
  const event = (type: string, fields: Record<string, unknown>) => ({
    type,
    sequence_number: sequence++,
    ...fields,
  })
  const at = { item_id: o.ids.message, output_index: 0, content_index: 0 }
  return {
    encode: (payload) => `event: ${(payload as { type: string }).type}\ndata: ${JSON.stringify(payload)}\n\n`,
    endsWithDone: false,
    start: (header) => {
      const response = responseObject({ ...o, header, content: '', finishReason: null, usage: null })
      return [
        event('response.created', { response }),
        event('response.in_progress', { response }),
        event('response.output_item.added', {
          output_index: 0,
          item: message(o.ids.message, '', 'in_progress'),
        }),
        event('response.content_part.added', { ...at, part: outputText('') }),
      ]
    },
    token: (_header, token) => {
      text += token
      return event('response.output_text.delta', { ...at, delta: token, logprobs: [] })
    },
    finish: (_header, reason) => {
      finishReason = reason
      return [
        event('response.output_text.done', { ...at, text, logprobs: [] }),
        event('response.content_part.done', { ...at, part: outputText(text) }),
        event('response.output_item.done', {
          output_index: 0,
          item: message(o.ids.message, text, 'completed'),
        }),
      ]
    },
    usage: (header, usage) => {
      const response = responseObject({ ...o, header, content: text, finishReason, usage })
      return event(finishReason === 'length' ? 'response.incomplete' : 'response.completed', { response })
    },
  }
}
