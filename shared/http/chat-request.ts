import { z } from 'zod'

/**
 * The parts of an OpenAI chat completion request the gateway must understand;
 * everything else passes through untouched to the backend (`loose`), since
 * model servers differ in the extras they accept.
 */
const ContentPart = z.looseObject({ type: z.string().min(1) })

const Message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
})

export const ChatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  messages: z.array(Message).min(1).max(4096),
  stream: z.boolean().optional(),
  max_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  max_completion_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  n: z.number().int().min(1).max(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
})

export type ChatCompletionRequest = z.output<typeof ChatCompletionRequestSchema>
