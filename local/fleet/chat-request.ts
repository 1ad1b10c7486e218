/**
 * Validation of `POST /v1/chat/completions` bodies, close to what vLLM's
 * pydantic model accepts: unknown fields are ignored, `model` may be omitted
 * (the first served model answers), `n` must be 1 in this simulator.
 */
import { z } from 'zod'
import type { ChatMessageText } from './generation.ts'

export const DEFAULT_MAX_TOKENS = 64

const contentPart = z.looseObject({ type: z.string(), text: z.string().optional() })
const message = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
})
const positiveInt = z.number().int().min(1)

const chatBody = z.looseObject({
  model: z.string().nullish(),
  messages: z.array(message).min(1, 'messages must contain at least one message'),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: positiveInt.nullish(),
  max_completion_tokens: positiveInt.nullish(),
  seed: z.number().int().nullish(),
  n: z.literal(1).nullish(),
})

export interface ChatRequest {
  readonly model: string | undefined
  readonly messages: readonly ChatMessageText[]
  readonly stream: boolean
  readonly includeUsage: boolean
  readonly maxTokens: number
  /** Whether the client capped the length; decides `finish_reason` ('length' vs 'stop'). */
  readonly capped: boolean
  readonly seed: number
}

export type ParseChatResult =
  | { readonly ok: true; readonly request: ChatRequest }
  | { readonly ok: false; readonly message: string; readonly param: string | null }

export function parseChatRequest(raw: unknown): ParseChatResult {
  const parsed = chatBody.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const param = issue && issue.path.length > 0 ? issue.path.join('.') : null
    return { ok: false, message: `${param ?? 'body'}: ${issue?.message ?? 'invalid request'}`, param }
  }
  const body = parsed.data
  const cap = body.max_completion_tokens ?? body.max_tokens ?? undefined
  return {
    ok: true,
    request: {
      model: body.model ?? undefined,
      messages: body.messages.map((m) => ({ role: m.role, text: messageText(m.content) })),
      stream: body.stream === true,
      includeUsage: body.stream_options?.include_usage === true,
      maxTokens: cap ?? DEFAULT_MAX_TOKENS,
      capped: cap !== undefined,
      seed: body.seed ?? 0,
    },
  }
}

function messageText(content: z.infer<typeof message>['content']): string {
  if (typeof content === 'string') return content
  if (!content) return ''
  return content.map((part) => part.text ?? '').join('')
}
