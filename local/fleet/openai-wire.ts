/**
 * The JSON objects a vLLM OpenAI-compatible server sends, built in one place so
 * the streaming and non-streaming paths cannot drift apart.
 */
import { randomUUID } from 'node:crypto'

export type FinishReason = 'stop' | 'length'

export interface Usage {
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly total_tokens: number
}

export interface CompletionHeader {
  readonly id: string
  readonly created: number
  readonly model: string
}

export function newCompletionHeader(model: string): CompletionHeader {
  return {
    id: `chatcmpl-${randomUUID().replaceAll('-', '')}`,
    created: Math.floor(Date.now() / 1000),
    model,
  }
}

export function usage(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  }
}

export function chatCompletion(
  header: CompletionHeader,
  options: { content: string; finishReason: FinishReason; usage: Usage },
) {
  return {
    ...header,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: options.content, tool_calls: [] },
        logprobs: null,
        finish_reason: options.finishReason,
        stop_reason: null,
      },
    ],
    usage: options.usage,
  }
}

export function chatChunk(
  header: CompletionHeader,
  options: { delta: { role?: 'assistant'; content: string }; finishReason?: FinishReason },
) {
  return {
    ...header,
    object: 'chat.completion.chunk',
    choices: [
      { index: 0, delta: options.delta, logprobs: null, finish_reason: options.finishReason ?? null },
    ],
  }
}

/** OpenAI sends usage in a last chunk with no choices when `stream_options.include_usage` is set. */
export function usageChunk(header: CompletionHeader, chunkUsage: Usage) {
  return { ...header, object: 'chat.completion.chunk', choices: [], usage: chunkUsage }
}

export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`
}

const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'BadRequestError',
  404: 'NotFoundError',
  429: 'RateLimitError',
  500: 'InternalServerError',
  503: 'ServiceUnavailableError',
}

/** vLLM's error body: the OpenAI envelope with vLLM's type names and the status as `code`. */
export function errorResponse(
  status: number,
  message: string,
  options: { param?: string | null; headers?: Record<string, string> } = {},
): Response {
  const error = { message, type: ERROR_TYPES[status] ?? 'Error', param: options.param ?? null, code: status }
  return Response.json({ error }, { status, headers: options.headers ?? {} })
}
