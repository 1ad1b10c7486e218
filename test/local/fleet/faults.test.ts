import { APIConnectionError, APIConnectionTimeoutError, InternalServerError, RateLimitError } from 'openai'
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import { afterEach, describe, expect, it } from 'vitest'
import type { SimFaultOptions } from '../../../local/fleet/faults.ts'
import { GPU_MODEL } from '../../../local/fleet/hardware-profiles.ts'
import { type SimBackend, startSimBackend } from '../../../local/fleet/sim-backend.ts'
import { clientFor, simState, user, waitUntil } from './sim-client.ts'

let backend: SimBackend | undefined
afterEach(() => backend?.stop())

async function start(faults: SimFaultOptions = {}) {
  backend = await startSimBackend({
    id: 'h20-1',
    hardware: 'h20',
    models: [GPU_MODEL],
    maxNumSeqs: 2,
    speed: 0.01,
    faults,
  })
  return backend
}

async function setFaults(url: string, faults: SimFaultOptions) {
  const response = await fetch(`${url}/sim/faults`, { method: 'POST', body: JSON.stringify(faults) })
  expect(response.status).toBe(200)
}

const ask = (url: string, maxTokens = 4) =>
  clientFor(url).chat.completions.create({ model: GPU_MODEL, messages: user('hi'), max_tokens: maxTokens })

const streamOf = (url: string, maxTokens: number) =>
  clientFor(url).chat.completions.create({
    model: GPU_MODEL,
    messages: user('hi'),
    max_tokens: maxTokens,
    stream: true,
  })

const terminated = { name: 'TypeError', message: 'terminated', cause: { code: 'UND_ERR_SOCKET' } }

describe('failure injection', () => {
  it('errorRate answers 500, on the same requests for the same seed', async () => {
    const { url } = await start({ errorRate: 0.5, seed: 42 })
    const pattern = async () => {
      const outcomes: string[] = []
      for (let i = 0; i < 12; i++) {
        outcomes.push(
          await ask(url).then(
            () => 'ok',
            (error: unknown) => (error instanceof InternalServerError ? '500' : String(error)),
          ),
        )
      }
      return outcomes.join(' ')
    }
    const first = await pattern()
    await fetch(`${url}/sim/reset`, { method: 'POST' })
    expect(await pattern()).toBe(first)
    expect(first).toContain('ok')
    expect(first).toContain('500')
    await setFaults(url, { errorRate: 1 })
    await expect(ask(url)).rejects.toBeInstanceOf(InternalServerError)
  })

  it('rateLimitRate answers 429 with Retry-After', async () => {
    const { url } = await start({ rateLimitRate: 1, retryAfterSeconds: 3 })
    const error = await ask(url).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(RateLimitError)
    expect((error as RateLimitError).headers?.get('retry-after')).toBe('3')
    expect((await simState(url)).totals.rejected['rate-limit']).toBe(1)
  })

  it('redirectRate answers 307 to another address, never the completion', async () => {
    const { url } = await start({ redirectRate: 1 })
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: GPU_MODEL, messages: user('hi'), max_tokens: 4 }),
      redirect: 'manual',
    })
    expect(response.status).toBe(307)
    expect(response.headers.get('location')).toBe(`${url}/sim/state`)
    expect((await simState(url)).totals.rejected.redirect).toBe(1)
  })

  it('slowStartMs answers 503 on /health and completions until it has passed', async () => {
    const { url } = await start({ slowStartMs: 300 })
    expect((await fetch(`${url}/health`)).status).toBe(503)
    await expect(ask(url)).rejects.toMatchObject({ status: 503 })
    await waitUntil(async () => ((await fetch(`${url}/health`)).status === 200 ? true : undefined))
    expect((await ask(url)).choices).toHaveLength(1)
  })

  it('stallAfterTokens keeps the stream open and silent, which only a client-side timeout notices', async () => {
    const { url } = await start({ stallAfterTokens: 2 })
    const stream = await streamOf(url, 50)
    const iterator = stream[Symbol.asyncIterator]()
    const received: ChatCompletionChunk[] = []
    const idle = Symbol('idle')
    for (;;) {
      const next = await Promise.race([
        iterator.next(),
        new Promise<typeof idle>((resolve) => setTimeout(() => resolve(idle), 300)),
      ])
      if (next === idle) break
      if (next.done) throw new Error('the stream ended instead of stalling')
      received.push(next.value)
    }
    expect(received.map((chunk) => chunk.choices[0]?.delta.content).filter(Boolean)).toHaveLength(2)
    expect((await simState(url)).running).toBe(1)

    stream.controller.abort()
    const state = await waitUntil(async () => {
      const current = await simState(url)
      return current.running === 0 ? current : undefined
    })
    expect(state.totals.aborted).toBe(1)
  })

  it('cutAfterTokens destroys the connection mid-stream (and before a non-streaming answer)', async () => {
    const { url } = await start({ cutAfterTokens: 3 })
    const stream = await streamOf(url, 50)
    const tokens: string[] = []
    const error = await (async () => {
      for await (const chunk of stream) tokens.push(chunk.choices[0]?.delta.content ?? '')
    })().catch((caught: unknown) => caught)
    // Once headers are in, the SDK hands on undici's own error for a lost connection.
    expect(error).toMatchObject(terminated)
    expect(tokens.filter(Boolean).length).toBeLessThanOrEqual(3)

    await expect(ask(url, 10)).rejects.toBeInstanceOf(APIConnectionError)
    expect((await simState(url)).totals.failed).toBe(2)
  })

  it('cutMidEventAfterTokens ends the connection inside an SSE event, mid-JSON', async () => {
    const { url } = await start({ cutMidEventAfterTokens: 3 })
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: GPU_MODEL, messages: user('hi'), max_tokens: 50, stream: true }),
    })
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    let text = ''
    const error = await (async () => {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return undefined
        text += new TextDecoder().decode(value)
      }
    })().catch((caught: unknown) => caught)
    expect(error).toMatchObject(terminated)
    const events = text.split('\n\n')
    const partial = events.at(-1) ?? ''
    // Whole events first (role chunk and three tokens), then half of one: its JSON never closes.
    expect(events.slice(0, -1)).toHaveLength(4)
    expect(partial.startsWith('data: {')).toBe(true)
    expect(() => JSON.parse(partial.slice(6))).toThrow()
    await waitUntil(async () => ((await simState(url)).totals.failed === 1 ? true : undefined))
  })

  it('crash drops in-flight streams and refuses connections until restarted', async () => {
    const { url } = await start()
    const inFlight = await streamOf(url, 1_000_000)
    const drained = (async () => {
      for await (const _ of inFlight);
    })().catch((caught: unknown) => caught)
    await waitUntil(async () => ((await simState(url)).running === 1 ? true : undefined))

    await setFaults(url, { crash: true })
    expect(await drained).toMatchObject(terminated)
    const refused = await ask(url).catch((caught: unknown) => caught)
    expect(refused).toBeInstanceOf(APIConnectionError)
    expect(refused).not.toBeInstanceOf(APIConnectionTimeoutError)
    await expect(fetch(`${url}/health`)).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } })
    await waitUntil(async () => (backend?.state().totals.failed === 1 ? true : undefined))

    await backend?.restart()
    expect((await ask(url)).choices).toHaveLength(1)
  })

  it('rejects nonsense faults with 400', async () => {
    const { url } = await start()
    const bad = async (body: string) => (await fetch(`${url}/sim/faults`, { method: 'POST', body })).status
    expect(await bad('{"errorRate": 2}')).toBe(400)
    expect(await bad('{"errrorRate": 0.1}')).toBe(400)
    expect(await bad('not json')).toBe(400)
  })
})
