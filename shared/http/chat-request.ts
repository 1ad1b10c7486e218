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

/**
 * Request fields that model servers read as scheduling or placement orders
 * rather than as generation parameters: vLLM's `priority` (with
 * `--scheduling-policy priority` a lower value runs first, ahead of every other
 * tenant), `request_id` (vLLM keys its scheduler and aborts by it), SGLang's
 * `rid`, vLLM's `kv_transfer_params` (disaggregated-prefill placement). The
 * gateway passes other extras through, since servers differ in what they accept;
 * these only for tenants whose policy says `passSchedulingFields`.
 */
export const SCHEDULING_FIELDS = ['priority', 'request_id', 'rid', 'kv_transfer_params'] as const

export function applySchedulingPolicy<T extends Record<string, unknown>>(
  request: T,
  policy: { readonly passSchedulingFields: boolean },
): T {
  if (policy.passSchedulingFields || !SCHEDULING_FIELDS.some((field) => field in request)) return request
  const kept: Record<string, unknown> = { ...request }
  for (const field of SCHEDULING_FIELDS) delete kept[field]
  return kept as T
}
