import * as z from '../validation/zod-mini.ts'

/**
 * An OpenAI embeddings request (`POST /v1/embeddings`): input as text, texts,
 * token ids or lists of token ids (at most 2,048 inputs, as OpenAI's limit).
 * Embeddings have no stream; `stream` is refused rather than passed on.
 */
const MAX_INPUTS = 2048
const tokenIds = z.array(z.int().check(z.gte(0))).check(z.minLength(1))
const text = z.string().check(z.minLength(1, 'an input must not be empty'), z.maxLength(1024 * 1024))

export const EmbeddingsRequestSchema = z.looseObject({
  model: z.string().check(z.minLength(1), z.maxLength(256)),
  input: z.union([
    text,
    z.array(text).check(z.minLength(1), z.maxLength(MAX_INPUTS)),
    tokenIds,
    z.array(tokenIds).check(z.minLength(1), z.maxLength(MAX_INPUTS)),
  ]),
  encoding_format: z.optional(z.enum(['float', 'base64'])),
  dimensions: z.optional(z.int().check(z.gte(1), z.lte(65_536))),
  user: z.optional(z.string()),
  stream: z.optional(z.literal(false, 'embeddings do not stream')),
})

export type EmbeddingsRequest = z.output<typeof EmbeddingsRequestSchema>
