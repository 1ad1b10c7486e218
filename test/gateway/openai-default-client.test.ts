import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type JobStack, KEYS, MODEL, startJobStack } from '../jobs/support/job-stack.ts'

// The scenario: fleet `h20=1x2` (two slots, no CPU tier), the official SDK with its
// default options (2 retries, 600 s timeout) and no Spillway header at all.
let stack: JobStack

beforeAll(async () => {
  stack = await startJobStack({ fleet: 'h20=1x2', speed: 1 })
  await stack.startWorkers()
}, 60_000)
afterAll(async () => {
  await stack?.stop()
})

async function burst(key: string): Promise<void> {
  const backend = stack.fleet.backends[0]
  if (!backend) throw new Error('no backend')
  backend.reset()
  const client = new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey: key })
  const messages = (i: number) => [{ role: 'user' as const, content: `request ${i}` }]
  const plain = Array.from({ length: 30 }, (_, i) =>
    client.chat.completions.create({ model: MODEL, messages: messages(i), max_tokens: 100 }).withResponse(),
  )
  const streams = Array.from({ length: 10 }, async (_, i) => {
    const { data, response } = await client.chat.completions
      .create({ model: MODEL, messages: messages(100 + i), max_tokens: 100, stream: true })
      .withResponse()
    let content = 0
    let finished = false
    for await (const chunk of data) {
      content += chunk.choices[0]?.delta.content?.length ?? 0
      finished ||= Boolean(chunk.choices[0]?.finish_reason)
    }
    // The SDK's iterator only ends cleanly on `[DONE]`; an error event would have thrown.
    return { status: response.status, content, finished }
  })
  const answers = await Promise.all(plain)
  const streamed = await Promise.all(streams)

  expect(answers.map((a) => a.response.status)).toEqual(Array(30).fill(200))
  for (const { data } of answers) {
    expect(data.object).toBe('chat.completion')
    expect(data.choices[0]?.message.content?.length).toBeGreaterThan(0)
  }
  expect(streamed.map((s) => s.status)).toEqual(Array(10).fill(200))
  for (const s of streamed) {
    expect(s.content).toBeGreaterThan(0)
    expect(s.finished).toBe(true)
  }
  const queued = answers.filter((a) => a.response.headers.get('x-spillway-route') === 'queued').length
  expect(queued).toBeGreaterThan(0)
  const state = backend.state()
  // Exactly one execution per request, held ones included, and never more than the two slots.
  expect(state.totals.requests).toBe(40)
  expect(state.peakRunning).toBeLessThanOrEqual(2)
  expect(state.peak).toBeLessThanOrEqual(2)
}

describe('an unmodified openai SDK client against full GPUs', () => {
  it('gets 40 real completions (30 plain, 10 streams) from two slots with the dev key, no 202', async () => {
    await burst(KEYS.dev)
  }, 180_000)

  it('gets the same with a key made from the schema defaults plus may-queue (keys create --may-queue)', async () => {
    await burst(KEYS.queue)
  }, 180_000)
})
