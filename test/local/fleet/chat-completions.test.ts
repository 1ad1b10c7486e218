import { APIError, BadRequestError, NotFoundError } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CPU_MODEL, GPU_MODEL } from '../../../local/fleet/hardware-profiles.ts'
import { type SimBackend, startSimBackend } from '../../../local/fleet/sim-backend.ts'
import { clientFor, user } from './sim-client.ts'

let backend: SimBackend

beforeAll(async () => {
  backend = await startSimBackend({
    id: 'h20-1',
    hardware: 'h20',
    models: [GPU_MODEL],
    maxNumSeqs: 4,
    speed: 0.01,
  })
})
afterAll(() => backend.stop())

describe('POST /v1/chat/completions', () => {
  it('answers a non-streaming request the SDK parses, with usage', async () => {
    const completion = await clientFor(backend.url).chat.completions.create({
      model: GPU_MODEL,
      messages: user('Say something about rivers, please.'),
      max_tokens: 12,
      seed: 7,
    })
    expect(completion.object).toBe('chat.completion')
    expect(completion.id).toMatch(/^chatcmpl-/)
    expect(completion.model).toBe(GPU_MODEL)
    expect(completion.choices[0]?.message.role).toBe('assistant')
    expect(completion.choices[0]?.message.content?.trim().split(/\s+/)).toHaveLength(12)
    expect(completion.choices[0]?.finish_reason).toBe('length')
    // 35 characters → ceil(35 / 4) prompt tokens
    expect(completion.usage).toEqual({ prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 })
  })

  it('says the same thing for the same seed and prompt, and something else for another seed', async () => {
    const client = clientFor(backend.url)
    const ask = async (seed: number) =>
      (
        await client.chat.completions.create({
          model: GPU_MODEL,
          messages: user('hello'),
          seed,
          max_tokens: 8,
        })
      ).choices[0]?.message.content
    const first = await ask(1)
    expect(await ask(1)).toBe(first)
    expect(await ask(2)).not.toBe(first)
    expect(first).toBe('And then overflow slowly heartbeat queue reservoir latency.')
  })

  it('streams chat.completion.chunk objects ending in a usage chunk and [DONE]', async () => {
    const stream = await clientFor(backend.url).chat.completions.create({
      model: GPU_MODEL,
      messages: user('hello'),
      seed: 1,
      max_tokens: 8,
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(new Set(chunks.map((chunk) => chunk.object))).toEqual(new Set(['chat.completion.chunk']))
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1)
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant')
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')
    expect(text).toBe('And then overflow slowly heartbeat queue reservoir latency.')
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('length')
    expect(chunks.at(-1)?.choices).toEqual([])
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 2, completion_tokens: 8, total_tokens: 10 })
  })

  it('sends no usage chunk unless asked, and stops by itself at 64 tokens without max_tokens', async () => {
    const stream = await clientFor(backend.url).chat.completions.create({
      model: GPU_MODEL,
      messages: user('hello'),
      stream: true,
    })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.every((chunk) => chunk.usage === undefined || chunk.usage === null)).toBe(true)
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop')
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content)).toHaveLength(64)
  })

  it('honours max_completion_tokens and accepts content parts', async () => {
    const completion = await clientFor(backend.url).chat.completions.create({
      model: GPU_MODEL,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'abcdefgh' }] }],
      max_completion_tokens: 3,
    })
    expect(completion.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3 })
  })

  it('rejects a model it does not serve with 404', async () => {
    const attempt = clientFor(backend.url).chat.completions.create({ model: CPU_MODEL, messages: user('hi') })
    await expect(attempt).rejects.toBeInstanceOf(NotFoundError)
    await expect(attempt).rejects.toMatchObject({ status: 404, param: 'model' })
  })

  it('rejects missing messages and bad JSON with 400 in the OpenAI error shape', async () => {
    const attempt = clientFor(backend.url).chat.completions.create({ model: GPU_MODEL, messages: [] })
    await expect(attempt).rejects.toBeInstanceOf(BadRequestError)
    const response = await fetch(`${backend.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"messages": [',
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({
      error: {
        message: 'The request body is not valid JSON.',
        type: 'BadRequestError',
        param: null,
        code: 400,
      },
    })
  })

  it('uses the first served model when the request names none', async () => {
    const response = await fetch(`${backend.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ messages: user('hi'), max_tokens: 1 }),
    })
    expect(((await response.json()) as { model: string }).model).toBe(GPU_MODEL)
  })
})

describe('GET routes', () => {
  it('lists the served models', async () => {
    const models = await clientFor(backend.url).models.list()
    expect(models.data.map((model) => model.id)).toEqual([GPU_MODEL])
  })

  it('answers /health with 200 and unknown paths with a 404 error body', async () => {
    expect((await fetch(`${backend.url}/health`)).status).toBe(200)
    const missing = await fetch(`${backend.url}/v2/nothing`)
    expect(missing.status).toBe(404)
    await expect(
      clientFor(backend.url).embeddings.create({ model: GPU_MODEL, input: 'x' }),
    ).rejects.toBeInstanceOf(APIError)
  })
})
