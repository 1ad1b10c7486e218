import type OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HeartbeatAgent, startHeartbeatAgent } from '../../local/fleet/heartbeat-agent.ts'
import { type SimBackend, startSimBackend } from '../../local/fleet/sim-backend.ts'
import type { LocalStack } from '../../local/local-stack.ts'
import {
  ADMIN_KEY,
  AGENT_KEY,
  BACKEND_KEY,
  eventually,
  KEYS,
  MODEL,
  openaiFor,
  startTestStack,
} from '../support/gateway-stack.ts'

/**
 * Acceptance for the OpenAI endpoints beyond chat, against the real local stack
 * over HTTP with the official SDK: the default configuration's embedding model
 * (`bge-small-en-v1.5` on CPU), an H20 and a CPU backend through their agents,
 * and a third backend that lists the embedding model but serves only chat and
 * completions, free and idle: embeddings must never land there.
 */
const EMBEDDING_MODEL = 'bge-small-en-v1.5'
let stack: LocalStack
let chatOnly: SimBackend
let chatOnlyAgent: HeartbeatAgent
let client: OpenAI

beforeAll(async () => {
  stack = await startTestStack({ fleet: 'h20=1x2,cpu=1x2' })
  await stack.ready()
  chatOnly = await startSimBackend({
    id: 'cpu-chat-only',
    hardware: 'cpu',
    models: [EMBEDDING_MODEL, 'deepseek-r1-distill-qwen-1.5b-q4'],
    maxNumSeqs: 8,
    speed: 0.02,
    apiKey: BACKEND_KEY,
  })
  chatOnlyAgent = startHeartbeatAgent({
    backend: { ...chatOnly, apis: ['chat', 'completions'] },
    gatewayUrl: stack.gatewayUrl,
    agentKey: AGENT_KEY,
    intervalMs: 250,
    logger: { info() {}, warn() {} },
  })
  await eventually(() => chatOnlyAgent.status().registered, 10_000)
  client = openaiFor(stack.gatewayUrl, KEYS.degrade)
}, 60_000)

afterAll(async () => {
  await chatOnlyAgent?.stop()
  await chatOnly?.stop()
  await stack?.stop()
})

function expectRouted(headers: Headers, hardware: string) {
  expect(headers.get('x-spillway-route')).toMatch(/^(primary|fallback)$/)
  expect(headers.get('x-spillway-hardware')).toBe(hardware)
  expect(headers.get('x-spillway-backend')).toMatch(/\S/)
  expect(headers.get('x-request-id')).toMatch(/\S/)
}

describe('OpenAI endpoints on the local stack (openai SDK)', { timeout: 60_000 }, () => {
  it('lists each backend with the APIs it serves', async () => {
    const res = await fetch(`${stack.gatewayUrl}/admin/backends`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    })
    const { data } = (await res.json()) as { data: { id: string; hardware: string; apis: string[] }[] }
    expect(data.find((b) => b.id === chatOnly.id)?.apis).toEqual(['chat', 'completions'])
    expect(data.find((b) => b.hardware === 'cpu' && b.id !== chatOnly.id)?.apis).toEqual(
      expect.arrayContaining(['chat', 'completions', 'responses', 'embeddings']),
    )
  })

  it('completions.create answers a text_completion, whole and streamed, with the routing headers', async () => {
    const { data, response } = await client.completions
      .create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 6 })
      .withResponse()
    expect(data.object).toBe('text_completion')
    expect(data.choices[0]?.text.length).toBeGreaterThan(0)
    expect(data.usage?.completion_tokens).toBeGreaterThan(0)
    expectRouted(response.headers, 'h20')

    const streamed = await client.completions
      .create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 6, stream: true })
      .withResponse()
    expectRouted(streamed.response.headers, 'h20')
    let text = ''
    for await (const chunk of streamed.data) text += chunk.choices[0]?.text ?? ''
    expect(text.length).toBeGreaterThan(0)
  })

  it('embeddings.create answers deterministic vectors, never from the idle chat-only backend', async () => {
    const landed = new Set<string>()
    let first: number[] | undefined
    for (let i = 0; i < 6; i++) {
      const { data, response } = await client.embeddings
        .create({ model: EMBEDDING_MODEL, input: ['hello world', 'goodbye'] })
        .withResponse()
      expectRouted(response.headers, 'cpu')
      landed.add(response.headers.get('x-spillway-backend') ?? '')
      expect(data.data).toHaveLength(2)
      expect(data.data[0]?.embedding).toHaveLength(384)
      if (first) expect(data.data[0]?.embedding).toEqual(first)
      first = data.data[0]?.embedding
    }
    expect(landed.has(chatOnly.id)).toBe(false)
    expect(landed.size).toBe(1)
    // The chat-only backend never saw an embeddings request, though it had every slot free.
    expect(chatOnly.state().totals.requests).toBe(0)
  })

  it('responses.create answers a response, whole and as typed events, with the routing headers', async () => {
    const { data, response } = await client.responses
      .create({ model: MODEL, input: 'Say hello', max_output_tokens: 6 })
      .withResponse()
    expect(data.object).toBe('response')
    expect(data.output_text.length).toBeGreaterThan(0)
    expectRouted(response.headers, 'h20')

    const streamed = await client.responses
      .create({ model: MODEL, input: 'Say hello', max_output_tokens: 6, stream: true })
      .withResponse()
    expectRouted(streamed.response.headers, 'h20')
    const types: string[] = []
    let text = ''
    let completed = ''
    for await (const event of streamed.data) {
      types.push(event.type)
      if (event.type === 'response.output_text.delta') text += event.delta
      if (event.type === 'response.completed') completed = event.response.output_text
    }
    expect(types[0]).toBe('response.created')
    expect(types.at(-1)).toMatch(/^response\.(completed|incomplete)$/)
    expect(text.length).toBeGreaterThan(0)
    if (types.at(-1) === 'response.completed') expect(completed).toBe(text)
  })

  it('models.retrieve answers the model with its kind and APIs', async () => {
    const { data, response } = await client.models.retrieve(EMBEDDING_MODEL).withResponse()
    expect(data.id).toBe(EMBEDDING_MODEL)
    expect(data).toMatchObject({ kind: 'embedding', apis: ['embeddings'] })
    expect(response.headers.get('x-request-id')).toMatch(/\S/)
    const chat = await client.models.retrieve(MODEL)
    expect(chat).toMatchObject({ kind: 'generation', apis: ['chat', 'completions', 'responses'] })
  })

  it('refuses an embedding model on a generation API with a 400, and the reverse', async () => {
    await expect(
      client.chat.completions.create({ model: EMBEDDING_MODEL, messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 400, code: 'model_not_supported' })
    await expect(client.embeddings.create({ model: MODEL, input: 'hi' })).rejects.toMatchObject({
      status: 400,
      code: 'model_not_supported',
    })
  })
})
