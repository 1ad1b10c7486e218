import { APIError } from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { GPU_MODEL } from '../../local/fleet/hardware-profiles.ts'
import { type SimBackend, startSimBackend } from '../../local/fleet/sim-backend.ts'
import type { LocalStack } from '../../local/local-stack.ts'
import { createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import {
  ADMIN_KEY,
  BACKEND_KEY,
  chatBody,
  eventually,
  KEYS,
  openaiFor,
  postChat,
  startTestStack,
  testConfig,
} from '../support/gateway-stack.ts'
import {
  keepHeartbeating,
  type RogueBackend,
  registerBackend,
  serveModelList,
  startRogueBackend,
} from '../support/rogue-backend.ts'

/**
 * Backends that answer, but wrongly: registered for a model they do not serve
 * (defect 2), redirecting elsewhere (defect 6), cutting a stream inside an SSE
 * event (defect 10), sending more than the gateway reads (defect 11). Real
 * gateway on the local stack, real HTTP to the simulator or to a hand-written server.
 */
let stack: LocalStack | undefined
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await stack?.stop()
  stack = undefined
})

async function leases(s: LocalStack): Promise<number> {
  const res = await fetch(`${s.gatewayUrl}/admin/backends`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  })
  const body = (await res.json()) as { data: { leases: number }[] }
  return body.data.reduce((sum, b) => sum + b.leases, 0)
}

async function wrongModelBackend(): Promise<SimBackend> {
  const sim = await startSimBackend({
    id: 'h20-wrong',
    hardware: 'h20',
    models: ['some-other-model'],
    maxNumSeqs: 8,
    speed: 0.02,
    apiKey: BACKEND_KEY,
  })
  cleanups.push(() => sim.stop())
  return sim
}

describe('a backend that answers 4xx to every request because it does not serve the model', () => {
  it('gets no request through: they fail over to the healthy backend, and its circuit opens', async () => {
    // Prepare: a backend written straight into the registry (as one re-deployed with another
    // model after registering would be), with more free slots than the healthy one.
    stack = await startTestStack({ fleet: 'h20=1x2' })
    await stack.ready()
    const wrong = await wrongModelBackend()
    const adapters = createAwsAdapters(readRuntimeEnv(stack.env))
    cleanups.push(() => adapters.clients.dynamo.destroy())
    await adapters.registry.register({
      registration: { id: wrong.id, url: wrong.url, hardware: 'h20', models: [GPU_MODEL], maxConcurrency: 8 },
      now: Date.now(),
    })
    cleanups.push(keepHeartbeating(stack.gatewayUrl, wrong.id))

    // Act
    const answers = []
    for (let i = 0; i < 8; i++) {
      const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody())
      answers.push({ status: res.status, backend: res.headers.get('x-spillway-backend') })
      await res.text()
    }

    // Assess: every request served by the healthy backend; the wrong one saw at most the threshold.
    expect(answers).toEqual(Array.from({ length: 8 }, () => ({ status: 200, backend: 'h20-1' })))
    expect(wrong.state().totals.requests).toBeGreaterThan(0)
    expect(wrong.state().totals.requests).toBeLessThanOrEqual(2)
  })

  it('is refused at registration, with the models its /v1/models lists', async () => {
    stack = await startTestStack({ fleet: 'h20=1x2' })
    await stack.ready()
    const wrong = await wrongModelBackend()

    const res = await registerBackend(stack.gatewayUrl, { id: wrong.id, url: wrong.url })
    const body = (await res.json()) as { error: { code: string; param: string; message: string } }

    expect(res.status).toBe(400)
    expect(body.error).toMatchObject({ code: 'model_not_served', param: 'models' })
    expect(body.error.message).toContain(`"${GPU_MODEL}"`)
    expect(body.error.message).toContain('"some-other-model"')
  })

  it('is accepted with a warning when its /v1/models cannot be read (still loading, down)', async () => {
    stack = await startTestStack({ fleet: 'h20=1x2' })
    await stack.ready()
    const gone = await startRogueBackend((_req, res) => res.end())
    await gone.close()

    const res = await registerBackend(stack.gatewayUrl, { id: 'h20-later', url: gone.url })
    const body = (await res.json()) as { id: string; warnings?: string[] }

    expect(res.status).toBe(201)
    expect(body.warnings?.[0]).toMatch(/models not verified/)
  })
})

describe('a backend that redirects', () => {
  it('is a failed attempt: the redirect target is never called and never reaches a client', async () => {
    // Prepare: an "internal" service, and a backend that sends completions there.
    stack = await startTestStack({ fleet: 'h20=1x2' })
    await stack.ready()
    const internal = await startRogueBackend((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ object: 'chat.completion', internal: 'secret-of-the-intranet', choices: [] }))
    })
    cleanups.push(() => internal.close())
    const redirector: RogueBackend = await startRogueBackend((req, res) => {
      if (req.method === 'GET' && req.url === '/v1/models') return serveModelList(res)
      res.writeHead(307, { location: `${internal.url}/v1/chat/completions` })
      res.end()
    })
    cleanups.push(() => redirector.close())
    const registered = await registerBackend(stack.gatewayUrl, { id: 'h20-redirect', url: redirector.url })
    expect(registered.status).toBe(201)
    cleanups.push(keepHeartbeating(stack.gatewayUrl, 'h20-redirect'))
    const posts = () => redirector.hits.filter((hit) => hit.startsWith('POST')).length

    // Act: until the redirecting backend has been picked at least twice (its circuit's threshold).
    const texts: string[] = []
    for (let i = 0; i < 40 && posts() < 2; i++) {
      const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody())
      expect(res.status).toBe(200)
      expect(res.headers.get('x-spillway-backend')).toBe('h20-1')
      texts.push(await res.text())
    }

    // Assess
    expect(posts()).toBe(2)
    expect(internal.hits).toEqual([])
    expect(texts.join('')).not.toContain('secret-of-the-intranet')
  })
})

describe('a stream cut inside an SSE event', () => {
  it('raises an error in the openai SDK from an intact error event, after whole chunks only', async () => {
    // Realistic pacing, so the first chunks reach the gateway before the cut.
    stack = await startTestStack({
      fleet: 'h20=1x2',
      speed: 1,
      faults: { '*': { cutMidEventAfterTokens: 5 } },
    })
    await stack.ready()

    // Act
    const stream = await openaiFor(stack.gatewayUrl, KEYS.strict).chat.completions.create({
      model: GPU_MODEL,
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 20,
      stream: true,
    })
    const tokens: string[] = []
    const error = await (async () => {
      for await (const chunk of stream) tokens.push(chunk.choices[0]?.delta.content ?? '')
    })().catch((caught: unknown) => caught)

    // Assess: the SDK saw our error event, not garbled JSON, and every token chunk before it.
    expect(error).toBeInstanceOf(APIError)
    expect((error as APIError).message).toMatch(/stopped mid-stream/)
    expect(tokens.filter(Boolean)).toHaveLength(5)
    expect(await eventually(async () => (await leases(stack!)) === 0, 3_000)).toBe(true)
  })

  it('never puts a data line on the wire that is not whole JSON or [DONE]', async () => {
    stack = await startTestStack({
      fleet: 'h20=1x2',
      speed: 1,
      faults: { '*': { cutMidEventAfterTokens: 3 } },
    })
    await stack.ready()

    const text = await (
      await postChat(stack.gatewayUrl, KEYS.strict, chatBody({ stream: true, max_tokens: 20 }))
    ).text()

    const lines = text.split('\n').filter((line) => line.startsWith('data:'))
    expect(lines.at(-1)).toContain('"code":"upstream_stream_error"')
    for (const line of lines) expect(() => JSON.parse(line.slice(5))).not.toThrow()
  })
})

describe('a backend answer larger than upstream.maxResponseBytes', () => {
  it('ends a whole answer with 502 and a stream with an SSE error event, and frees the slot', async () => {
    stack = await startTestStack({
      fleet: 'h20=1x2',
      config: testConfig({ upstream: { maxResponseBytes: 4096 } }),
    })
    await stack.ready()

    const whole = await postChat(stack.gatewayUrl, KEYS.strict, chatBody({ max_tokens: 400 }))
    const wholeBody = (await whole.json()) as { error: { code: string } }
    const streamed = await postChat(
      stack.gatewayUrl,
      KEYS.strict,
      chatBody({ max_tokens: 400, stream: true }),
    )
    const streamedText = await streamed.text()

    expect(whole.status).toBe(502)
    expect(wholeBody.error.code).toBe('upstream_response_too_large')
    expect(streamed.status).toBe(200)
    expect(streamedText).toContain('"code":"upstream_response_too_large"')
    expect(streamedText).not.toContain('[DONE]')
    // A short answer still fits, from the same backend: it was not benched.
    const short = await postChat(stack.gatewayUrl, KEYS.strict, chatBody({ max_tokens: 4 }))
    expect(short.status).toBe(200)
    await short.text()
    expect(await eventually(async () => (await leases(stack!)) === 0, 3_000)).toBe(true)
  })
})
