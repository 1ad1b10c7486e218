import { ChatCompletionRequestSchema } from '../chat-request.ts'
import type { InferenceEndpoint } from './inference-routes.ts'

/** `POST /v1/chat/completions`: OpenAI chat completions, streamed (`data:` chunks, `[DONE]`) or whole. */
export const chatCompletionsEndpoint: InferenceEndpoint = { api: 'chat', schema: ChatCompletionRequestSchema }
