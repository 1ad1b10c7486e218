import * as z from '../validation/zod-mini.ts'

/**
 * The parts of an OpenAI Responses request (`POST /v1/responses`) the gateway
 * must understand; the rest (tools, reasoning, text format …) passes through to
 * backends that serve the API, e.g. vLLM. Spillway keeps no conversation
 * state, so `previous_response_id` cannot be honoured across
 * backends and are refused up front rather than failing on whichever backend is picked.
 */
const InputItem = z.looseObject({
  type: z.optional(z.string().check(z.minLength(1))),
  role: z.optional(z.string().check(z.minLength(1))),
})

export const ResponsesRequestSchema = z.looseObject({
  model: z.string().check(z.minLength(1), z.maxLength(256)),
  input: z.union([
    z.string().check(z.maxLength(4 * 1024 * 1024)),
    z.array(InputItem).check(z.minLength(1), z.maxLength(4096)),
  ]),
  instructions: z.nullish(z.string()),
  stream: z.optional(z.boolean()),
  max_output_tokens: z.nullish(z.int().check(z.gte(1), z.lte(1_000_000))),
  temperature: z.nullish(z.number().check(z.gte(0), z.lte(2))),
  top_p: z.nullish(z.number().check(z.gte(0), z.lte(1))),
  previous_response_id: z.nullish(
    z.null('previous_response_id is not supported: Spillway stores no responses'),
  ),
  background: z.nullish(z.literal(false, 'background is not supported; use Prefer: respond-async')),
})

export type ResponsesRequest = z.output<typeof ResponsesRequestSchema>
