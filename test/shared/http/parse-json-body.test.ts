import { describe, expect, it } from 'vitest'
import { parseGatewayConfig } from '../../../shared/config/gateway-config.ts'
import { BadRequestError } from '../../../shared/errors.ts'
import { ChatCompletionRequestSchema } from '../../../shared/http/chat-request.ts'
import { parseJsonBody } from '../../../shared/http/parse-json-body.ts'

/**
 * The schemas use `zod/mini`, which ships no messages of its own ("Invalid
 * input" for everything). This file imports no classic `zod`, which would
 * register English for the whole process and hide a missing locale.
 */
function badRequest(text: string): BadRequestError {
  try {
    parseJsonBody(ChatCompletionRequestSchema, text)
  } catch (error) {
    if (error instanceof BadRequestError) return error
    throw error
  }
  throw new Error('expected a BadRequestError')
}

describe('Function: parseJsonBody', () => {
  it('returns the parsed body, unknown fields kept', () => {
    // Act
    const body = parseJsonBody(
      ChatCompletionRequestSchema,
      '{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true}',
    )

    // Assess
    expect(body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'hi' }], logprobs: true })
  })

  it('names the first bad field and says in English what is wrong with it', () => {
    // Act
    const error = badRequest('{"model":"m","messages":[{"role":"user"}],"max_tokens":0}')

    // Assess
    expect(error.param).toBe('max_tokens')
    expect(error.message).toBe('Invalid request: max_tokens: Too small: expected number to be >=1')
  })

  it('lists the values an enum field accepts', () => {
    // Act
    const error = badRequest('{"model":"m","messages":[{"role":"robot"}]}')

    // Assess
    expect(error.param).toBe('messages.0.role')
    expect(error.message).toMatch(
      /^Invalid request: messages\.0\.role: Invalid option: expected one of "system"/,
    )
  })

  it('refuses a body that is not JSON, with no param', () => {
    // Act
    const error = badRequest('{"model":')

    // Assess
    expect(error.code).toBe('invalid_json')
    expect(error.param).toBeNull()
  })
})

describe('Function: parseGatewayConfig', () => {
  it('reports type errors in English with their paths', () => {
    // Act
    const act = () => parseGatewayConfig({ hardwareClasses: [], models: 'none' })

    // Assess
    expect(act).toThrow(/- hardwareClasses: Too small: expected array to have >=1 items/)
    expect(act).toThrow(/- models: Invalid input: expected array, received string/)
  })
})
