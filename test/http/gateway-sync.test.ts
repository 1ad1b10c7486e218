import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../local/local-stack.ts'
import {
  ADMIN_KEY,
  chatBody,
  eventually,
  KEYS,
  MODEL,
  openaiFor,
  postChat,
  startTestStack,
} from '../support/gateway-stack.ts'

// Realistic simulator timing (speed 1): short requests take tens of milliseconds,
// long streams hold their slot for seconds until the test aborts them.
let stack: LocalStack

beforeAll(async () => {
  stack = await startTestStack({ fleet: 'h20=2x2,cpu=1x1', speed: 1 })
  await stack.ready()
})
afterAll(async () => {
  await stack?.stop()
})

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${stack.gatewayUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', ...init.headers },
  })

async function leasesByBackend(): Promise<Record<string, number>> {
  const body = (await (await admin('/admin/backends')).json()) as { data: { id: string; leases: number }[] }
  return Object.fromEntries(body.data.map((b) => [b.id, b.leases]))
}

/** Opens a long stream that holds one slot until aborted; resolves once the first byte arrived. */
async function holdSlot(key: string): Promise<{ response: Response; abort: () => void }> {
  const controller = new AbortController()
  const response = await postChat(stack.gatewayUrl, key, chatBody({ stream: true, max_tokens: 20_000 }), {
    signal: controller.signal,
  })
  return { response, abort: () => controller.abort() }
}

describe('POST /v1/chat/completions through the openai SDK', () => {
  it('returns a completion with usage and the routing headers', async () => {
    // Prepare
    const client = openaiFor(stack.gatewayUrl, KEYS.strict)
    // Act
    const { data, response } = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'Say hi' }], max_tokens: 8, seed: 7 })
      .withResponse()
    // Assess
    expect(data.object).toBe('chat.completion')
    expect(data.choices[0]?.message.content?.length).toBeGreaterThan(0)
    expect(data.usage?.completion_tokens).toBe(8)
    expect(response.headers.get('x-spillway-route')).toBe('primary')
    expect(response.headers.get('x-spillway-hardware')).toBe('h20')
    expect(response.headers.get('x-spillway-backend')).toMatch(/^h20-[12]$/)
    expect(response.headers.get('x-request-id')).toBeTruthy()
  })

  it('streams the same deterministic content as the non-streaming call', async () => {
    const client = openaiFor(stack.gatewayUrl, KEYS.strict)
    const request = {
      model: MODEL,
      messages: [{ role: 'user' as const, content: 'Tell me more' }],
      max_tokens: 12,
      seed: 42,
    }
    const whole = await client.chat.completions.create(request)

    const stream = await client.chat.completions.create({ ...request, stream: true })
    let text = ''
    let finish: string | null | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      finish = chunk.choices[0]?.finish_reason ?? finish
    }

    expect(text).toBe(whole.choices[0]?.message.content)
    expect(finish).toBe('length')
  })

  it('maps bad requests to the SDK typed errors', async () => {
    const good = openaiFor(stack.gatewayUrl, KEYS.strict)
    const create = (client: OpenAI, model = MODEL) =>
      client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], max_tokens: 2 })

    await expect(create(openaiFor(stack.gatewayUrl, 'sk-wrong'))).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    )
    await expect(create(good, 'no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(create(openaiFor(stack.gatewayUrl, KEYS.otherModelOnly))).rejects.toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    )
    await expect(good.chat.completions.create({ model: MODEL, messages: [] })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    )
  })

  it('refuses a webhook URL that points at the metadata service', async () => {
    const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody(), {
      headers: { 'x-spillway-webhook': 'http://169.254.169.254/latest/meta-data/' },
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('x-spillway-webhook')
  })

  it('answers 503 when no healthy backend serves the model at all', async () => {
    const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody({ model: 'lonely-model' }))
    expect(res.status).toBe(503)
    expect(res.headers.get('x-should-retry')).toBe('false')
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_backend')
  })
})

describe('capacity: fallback, saturation and release', () => {
  it('falls back to CPU for a tenant that may degrade, 429s one that may not, and frees slots on disconnect', async () => {
    // Prepare: hold all four GPU slots with long streams.
    const holders = await Promise.all([1, 2, 3, 4].map(() => holdSlot(KEYS.strict)))
    expect(holders.map((h) => h.response.headers.get('x-spillway-hardware'))).toEqual([
      'h20',
      'h20',
      'h20',
      'h20',
    ])
    const abortedBefore = stack.fleet.backends.reduce((sum, b) => sum + b.state().totals.aborted, 0)

    // Act
    const degraded = await postChat(stack.gatewayUrl, KEYS.degrade, chatBody())
    const refused = await postChat(stack.gatewayUrl, KEYS.strict, chatBody())

    // Assess
    expect(degraded.status).toBe(200)
    expect(degraded.headers.get('x-spillway-route')).toBe('fallback')
    expect(degraded.headers.get('x-spillway-hardware')).toBe('cpu')
    expect(((await degraded.json()) as { model: string }).model).toBe('deepseek-r1-distill-qwen-1.5b-q4')
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('capacity_exhausted')

    // Disconnecting the holders frees their slots at once and aborts the upstream calls.
    for (const holder of holders) holder.abort()
    expect(
      await eventually(async () => Object.values(await leasesByBackend()).every((n) => n === 0), 5_000),
    ).toBe(true)
    expect(
      await eventually(
        () => stack.fleet.backends.reduce((sum, b) => sum + b.state().totals.aborted, 0) >= abortedBefore + 4,
      ),
    ).toBe(true)
    const after = await postChat(stack.gatewayUrl, KEYS.strict, chatBody())
    expect(after.status).toBe(200)
  })
})

describe('admin routes', () => {
  it('refuses backend URLs that point at metadata or link-local addresses', async () => {
    for (const url of ['http://169.254.169.254/latest', 'http://[fe80::1]:8000', 'file:///etc/passwd']) {
      const res = await admin('/admin/backends', {
        method: 'POST',
        body: JSON.stringify({ id: 'evil', url, hardware: 'h20', models: [MODEL], maxConcurrency: 1 }),
      })
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe('url')
    }
  })

  it('needs the admin key; tenant keys and the agent key cannot list or drain', async () => {
    const asTenant = await fetch(`${stack.gatewayUrl}/admin/backends`, {
      headers: { authorization: `Bearer ${KEYS.strict}` },
    })
    expect(asTenant.status).toBe(401)
    const asAgent = await fetch(`${stack.gatewayUrl}/admin/backends/h20-1/drain`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-agent' },
    })
    expect(asAgent.status).toBe(401)
  })

  it('takes a drained backend out of rotation and puts it back', async () => {
    expect((await admin('/admin/backends/h20-1/drain', { method: 'POST' })).status).toBe(200)
    // The snapshot is cached up to 200 ms in the test config.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const served = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(async () =>
        (await postChat(stack.gatewayUrl, KEYS.strict, chatBody())).headers.get('x-spillway-backend'),
      ),
    )
    expect(served.every((id) => id === 'h20-2' || id === null)).toBe(true)
    expect((await admin('/admin/backends/h20-1/undrain', { method: 'POST' })).status).toBe(200)
  })

  it('lists backends with URL, class, slots and leases, and capacity per class', async () => {
    const list = (await (await admin('/admin/backends')).json()) as { data: Record<string, unknown>[] }
    expect(list.data.map((b) => b.id)).toEqual(['cpu-1', 'h20-1', 'h20-2'])
    expect(list.data[1]).toMatchObject({
      hardware: 'h20',
      maxConcurrency: 2,
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:/),
    })
    const capacity = (await (await admin('/admin/capacity')).json()) as {
      hardware: Record<string, { slots: number }>
    }
    expect(capacity.hardware.h20?.slots).toBe(4)
  })
})
