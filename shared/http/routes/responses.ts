import { ResponsesRequestSchema } from '../responses-request.ts'
import type { InferenceEndpoint } from './inference-routes.ts'

/**
 * `POST /v1/responses`: the OpenAI Responses API passed through to backends that serve it
 * (vLLM); a stream is typed events (`event: response.output_text.delta` …) ending with
 * `response.completed`.
 */
export const responsesEndpoint: InferenceEndpoint = { api: 'responses', schema: ResponsesRequestSchema }
