import { BadRequestError } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { embeddingVector } from '../../../local/fleet/embeddings.ts'
import { CPU_MODEL, EMBEDDING_MODEL } from '../../../local/fleet/hardware-profiles.ts'
import { type SimBackend, startSimBackend } from '../../../local/fleet/sim-backend.ts'
import { clientFor } from './sim-client.ts'

/** The simulator's completions, embeddings and responses endpoints, through the openai SDK pointed at it directly. */
let backend: SimBackend
beforeAll(async () => {
  backend = await startSimBackend({
    id: 'cpu-1',
    hardware: 'cpu',
    engine: 'llamacpp',
    models: [CPU_MODEL, EMBEDDING_MODEL],
    maxNumSeqs: 2,
    speed: 0,
  })
})
afterAll(() => backend?.stop())

describe('POST /v1/completions', () => {
  it('answers completions.create with deterministic text, capped at max_tokens', async () => {
    const client = clientFor(backend.url)
    const ask = () => client.completions.create({ model: CPU_MODEL, prompt: 'The river', max_tokens: 5 })
    const [first, again] = [await ask(), await ask()]
    expect(first).toMatchObject({
      object: 'text_completion',
      model: CPU_MODEL,
      choices: [{ index: 0, finish_reason: 'length' }],
      usage: { completion_tokens: 5 },
    })
    expect(first.id).toMatch(/^cmpl-/)
    expect(first.choices[0]?.text.split(' ')).toHaveLength(5)
    expect(again.choices[0]?.text).toBe(first.choices[0]?.text)
  })

  it('streams text_completion chunks, the same text as without streaming', async () => {
    const client = clientFor(backend.url)
    const whole = await client.completions.create({ model: CPU_MODEL, prompt: 'Flow', max_tokens: 4 })
    const stream = await client.completions.create({
      model: CPU_MODEL,
      prompt: 'Flow',
      max_tokens: 4,
      stream: true,
    })
    let text = ''
    let finish: string | null = null
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? ''
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect(text).toBe(whole.choices[0]?.text)
    expect(finish).toBe('length')
  })
})

describe('POST /v1/embeddings', () => {
  it('answers embeddings.create with one deterministic unit vector per input (base64, the SDK default)', async () => {
    const client = clientFor(backend.url)
    const result = await client.embeddings.create({ model: EMBEDDING_MODEL, input: ['spill', 'way'] })
    expect(result.model).toBe(EMBEDDING_MODEL)
    expect(result.data.map((d) => d.index)).toEqual([0, 1])
    const [spill, way] = result.data.map((d) => d.embedding)
    expect(spill).toHaveLength(384)
    expect(spill).toEqual(embeddingVector(EMBEDDING_MODEL, 'spill', 384))
    expect(Math.hypot(...(spill ?? []))).toBeCloseTo(1, 5)
    expect(way).not.toEqual(spill)
    const floats = await client.embeddings.create({
      model: EMBEDDING_MODEL,
      input: 'spill',
      encoding_format: 'float',
    })
    expect(floats.data[0]?.embedding).toEqual(spill)
    expect(result.usage.prompt_tokens).toBeGreaterThan(0)
  })

  it('refuses a chat model, and a chat request to the embedding model, as vLLM does', async () => {
    const client = clientFor(backend.url)
    const embedChat = await client.embeddings
      .create({ model: CPU_MODEL, input: 'x' })
      .catch((e: unknown) => e)
    expect(embedChat).toBeInstanceOf(BadRequestError)
    expect((embedChat as BadRequestError).message).toContain('does not support the Embeddings API')
    const chatEmbed = await client.chat.completions
      .create({ model: EMBEDDING_MODEL, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e)
    expect(chatEmbed).toBeInstanceOf(BadRequestError)
    const sized = await client.embeddings
      .create({ model: EMBEDDING_MODEL, input: 'x', dimensions: 64 })
      .catch((e: unknown) => e)
    expect((sized as BadRequestError).status).toBe(400)
    expect(backend.state().running).toBe(0)
  })
})

describe('POST /v1/responses', () => {
  it('answers responses.create with one output_text message', async () => {
    const client = clientFor(backend.url)
    const response = await client.responses.create({
      model: CPU_MODEL,
      instructions: 'Be brief.',
      input: 'Why do rivers flow?',
      max_output_tokens: 6,
    })
    expect(response).toMatchObject({
      object: 'response',
      model: CPU_MODEL,
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      usage: { output_tokens: 6 },
    })
    expect(response.id).toMatch(/^resp_/)
    expect(response.output_text.split(' ')).toHaveLength(6)
    const full = await client.responses.create({ model: CPU_MODEL, input: [{ role: 'user', content: 'Hi' }] })
    expect(full.status).toBe('completed')
    expect(full.output_text.length).toBeGreaterThan(0)
  })
})
