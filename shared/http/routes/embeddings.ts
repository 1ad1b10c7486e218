import { EmbeddingsRequestSchema } from '../embeddings-request.ts'
import type { InferenceEndpoint } from './inference-routes.ts'

/** `POST /v1/embeddings`: routed only to embedding models' tiers and to backends that list the API. */
export const embeddingsEndpoint: InferenceEndpoint = { api: 'embeddings', schema: EmbeddingsRequestSchema }
