/**
 * `POST /v1/responses` as vLLM serves it (non-streaming in the simulator): the
 * input (text or messages, plus `instructions`) becomes the prompt, the answer
 * one assistant message of `output_text`; a capped answer is `incomplete`.
 */
import { randomUUID } from 'node:crypto'
import type { Context } from 'hono'
import { z } from 'zod'
import { admit, arrive, invalid, jsonBody, type SimEnv } from './admission.ts'
import { completeOnce } from './chat-completions.ts'
import { DEFAULT_MAX_TOKENS } from './chat-request.ts'
import type { SimEngine } from './sim-engine.ts'

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
  stream: z.literal(false, 'the simulator does not stream /v1/responses').nullish(),
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
      stream: false,
      includeUsage: false,
      maxTokens: body.max_output_tokens ?? DEFAULT_MAX_TOKENS,
      capped: body.max_output_tokens != null,
      seed: 0,
    },
  })
  if (run instanceof Response) return run
  return completeOnce(run, ({ header, content, finishReason, usage }) => ({
    id: `resp_${randomUUID().replaceAll('-', '')}`,
    object: 'response',
    created_at: header.created,
    model: header.model,
    status: finishReason === 'length' ? 'incomplete' : 'completed',
    incomplete_details: finishReason === 'length' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    output: [
      {
        id: `msg_${randomUUID().replaceAll('-', '')}`,
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: content, annotations: [] }],
      },
    ],
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    usage: {
      input_tokens: usage.prompt_tokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: usage.completion_tokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.total_tokens,
    },
  }))
}
