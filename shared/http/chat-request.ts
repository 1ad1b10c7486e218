import * as z from '../validation/zod-mini.ts'

/**
 * The parts of an OpenAI chat completion request the gateway must understand;
 * everything else passes through untouched to the backend (`loose`), since
 * model servers differ in the extras they accept.
 */
const ContentPart = z.looseObject({ type: z.string().check(z.minLength(1)) })

const Message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.optional(z.union([z.string(), z.array(ContentPart), z.null()])),
})

const tokenCount = z.nullish(z.int().check(z.gte(1), z.lte(1_000_000)))

export const ChatCompletionRequestSchema = z.looseObject({
  model: z.string().check(z.minLength(1), z.maxLength(256)),
  messages: z.array(Message).check(z.minLength(1), z.maxLength(4096)),
  stream: z.optional(z.boolean()),
  max_tokens: tokenCount,
  max_completion_tokens: tokenCount,
  n: z.nullish(z.int().check(z.gte(1), z.lte(1))),
  temperature: z.nullish(z.number().check(z.gte(0), z.lte(2))),
  top_p: z.nullish(z.number().check(z.gte(0), z.lte(1))),
  seed: z.nullish(z.int()),
  stream_options: z.nullish(z.looseObject({ include_usage: z.optional(z.boolean()) })),
})

export type ChatCompletionRequest = z.output<typeof ChatCompletionRequestSchema>
