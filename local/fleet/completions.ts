/**
 * `POST /v1/completions` (the legacy text API) as vLLM answers it: one prompt
 * in, text out, streamed or not; the same scheduler, timing and deterministic
 * words as chat (the prompt counts as one user message).
 */
import type { Context } from 'hono'
import { z } from 'zod'
import { admit, arrive, invalid, jsonBody, type SimEnv } from './admission.ts'
import { completeOnce } from './chat-completions.ts'
import { DEFAULT_MAX_TOKENS } from './chat-request.ts'
import type { CompletionHeader, FinishReason } from './openai-wire.ts'
import type { SimEngine } from './sim-engine.ts'
import { type StreamWire, streamCompletion } from './stream-completion.ts'

const positiveInt = z.number().int().min(1)
const completionBody = z.looseObject({
  model: z.string().nullish(),
  // A batch of prompts is a list of choices in vLLM; the simulator answers one prompt per request.
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'the simulator takes one prompt per request')]),
  max_tokens: positiveInt.nullish(),
  seed: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.literal(1).nullish(),
})

const textId = (header: CompletionHeader) => ({ ...header, id: header.id.replace(/^chatcmpl-/, 'cmpl-') })
const choice = (text: string, finishReason: FinishReason | null) => ({
  index: 0,
  text,
  logprobs: null,
  finish_reason: finishReason,
  stop_reason: null,
})

const TEXT_STREAM: StreamWire = {
  token: (header, token) => ({
    ...textId(header),
    object: 'text_completion',
    choices: [choice(token, null)],
  }),
  finish: (header, reason) => ({
    ...textId(header),
    object: 'text_completion',
    choices: [choice('', reason)],
  }),
  usage: (header, usage) => ({ ...textId(header), object: 'text_completion', choices: [], usage }),
}

export async function handleCompletion(engine: SimEngine, c: Context<SimEnv>): Promise<Response> {
  const arrived = arrive(engine)
  if (arrived instanceof Response) return arrived
  const raw = await jsonBody(engine, c)
  if (raw instanceof Response) return raw
  const parsed = completionBody.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const param = issue && issue.path.length > 0 ? issue.path.join('.') : null
    return invalid(engine, `${param ?? 'body'}: ${issue?.message ?? 'invalid request'}`, param)
  }
  const body = parsed.data
  const prompt = typeof body.prompt === 'string' ? body.prompt : (body.prompt[0] ?? '')
  const run = admit(engine, c, {
    ...arrived,
    task: 'generate',
    api: 'Completions',
    request: {
      model: body.model ?? undefined,
      messages: [{ role: 'user', text: prompt }],
      stream: body.stream === true,
      includeUsage: body.stream_options?.include_usage === true,
      maxTokens: body.max_tokens ?? DEFAULT_MAX_TOKENS,
      capped: body.max_tokens != null,
      seed: body.seed ?? 0,
    },
  })
  if (run instanceof Response) return run
  if (run.request.stream) return streamCompletion(run, TEXT_STREAM)
  return completeOnce(run, ({ header, content, finishReason, usage }) => ({
    ...textId(header),
    object: 'text_completion',
    choices: [choice(content, finishReason)],
    usage,
  }))
}
