import { CompletionsRequestSchema } from '../completions-request.ts'
import type { InferenceEndpoint } from './inference-routes.ts'

/** `POST /v1/completions`: OpenAI legacy (text) completions, streamed or whole, as vLLM serves them. */
export const completionsEndpoint: InferenceEndpoint = { api: 'completions', schema: CompletionsRequestSchema }
