import * as z from '../validation/zod-mini.ts'

/**
 * The parts of an OpenAI legacy completion request (`POST /v1/completions`) the
 * gateway must understand; the rest passes through to the backend (`loose`).
 * A prompt is text, a list of texts, token ids or lists of token ids, as the
 * OpenAI API and vLLM accept it.
 */
const tokenIds = z.array(z.int().check(z.gte(0))).check(z.minLength(1))
const text = z.string().check(z.maxLength(4 * 1024 * 1024))

export const CompletionsRequestSchema = z.looseObject({
  model: z.string().check(z.minLength(1), z.maxLength(256)),
  prompt: z.union([
    text,
    z.array(text).check(z.minLength(1), z.maxLength(2048)),
    tokenIds,
    z.array(tokenIds).check(z.minLength(1), z.maxLength(2048)),
  ]),
  stream: z.optional(z.boolean()),
  max_tokens: z.nullish(z.int().check(z.gte(1), z.lte(1_000_000))),
  n: z.nullish(z.int().check(z.gte(1), z.lte(1))),
  best_of: z.nullish(z.int().check(z.gte(1), z.lte(1))),
  temperature: z.nullish(z.number().check(z.gte(0), z.lte(2))),
  top_p: z.nullish(z.number().check(z.gte(0), z.lte(1))),
  logprobs: z.nullish(z.int().check(z.gte(0), z.lte(20))),
  echo: z.nullish(z.boolean()),
  seed: z.nullish(z.int()),
  stream_options: z.nullish(z.looseObject({ include_usage: z.optional(z.boolean()) })),
})

export type CompletionsRequest = z.output<typeof CompletionsRequestSchema>
