import OpenAI, { AuthenticationError } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GPU_MODEL } from '../../../local/fleet/hardware-profiles.ts'
import { type SimBackend, startSimBackend } from '../../../local/fleet/sim-backend.ts'
import { user } from './sim-client.ts'

// The simulator guards its API like `vllm serve --api-key`: only /v1/* needs the key.
let backend: SimBackend

beforeAll(async () => {
  backend = await startSimBackend({
    id: 'h20-1',
    hardware: 'h20',
    models: [GPU_MODEL],
    maxNumSeqs: 2,
    speed: 0.01,
    apiKey: 'sk-backend-secret',
  })
})
afterAll(() => backend.stop())

const client = (apiKey: string) =>
  new OpenAI({ baseURL: `${backend.url}/v1`, apiKey, maxRetries: 0, timeout: 5_000 })

describe('simulator with an API key', () => {
  it('answers a client that sends the key', async () => {
    const completion = await client('sk-backend-secret').chat.completions.create({
      model: GPU_MODEL,
      messages: user('hello'),
      max_tokens: 4,
    })
    expect(completion.choices[0]?.message.content).toEqual(expect.any(String))
  })

  it('refuses a wrong key with 401 before the request counts, as vLLM does', async () => {
    backend.reset()
    const refused = client('sk-wrong').chat.completions.create({
      model: GPU_MODEL,
      messages: user('hello'),
      max_tokens: 4,
    })
    await expect(refused).rejects.toBeInstanceOf(AuthenticationError)
    const models = await fetch(`${backend.url}/v1/models`)
    expect(models.status).toBe(401)
    expect(await models.json()).toEqual({ error: 'Unauthorized' })
    expect(backend.state().totals.requests).toBe(0)
  })

  it('keeps /health and /metrics open for probes and heartbeat agents', async () => {
    expect((await fetch(`${backend.url}/health`)).status).toBe(200)
    const metrics = await fetch(`${backend.url}/metrics`)
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toContain('vllm:num_requests_running')
  })
})
