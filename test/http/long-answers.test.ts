import type { ChatCompletion } from 'openai/resources/chat/completions'
import { afterEach, describe, expect, it } from 'vitest'
import { GPU_MODEL } from '../../local/fleet/hardware-profiles.ts'
import type { LocalStack } from '../../local/local-stack.ts'
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

/**
 * Defect 1: the first-byte timer stayed armed while a non-streaming body was
 * read, and vLLM sends a non-streaming answer's headers only when generation is
 * done, so the first-byte timeout was the total limit, and hitting it counted
 * against the backend's circuit. The simulator answers non-streaming requests
 * the same way (headers at the end); its pace is scaled so a "long" answer
 * takes about two seconds against sub-second timeouts.
 */
let stack: LocalStack | undefined
afterEach(async () => {
  await stack?.stop()
  stack = undefined
})

type Completion = ChatCompletion & { usage: unknown }

// Generous against load (a busy CI machine can pause a process for a second), yet far shorter than the answers.
const SHORT_TIMEOUTS = { firstByteTimeoutMs: 1_500, idleTimeoutMs: 1_500, maxAttempts: 1 }

async function leases(s: LocalStack): Promise<number> {
  const res = await fetch(`${s.gatewayUrl}/admin/backends`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  })
  const body = (await res.json()) as { data: { leases: number }[] }
  return body.data.reduce((sum, b) => sum + b.leases, 0)
}

describe('non-streaming answers that take longer than the first-byte timeout', () => {
  it('are served whole, three of them, without benching the backend', async () => {
    // Prepare: 3,000 tokens at 1.5 ms each ≈ 4.5 s, against a 1.5 s first-byte timeout.
    stack = await startTestStack({
      fleet: 'h20=1x2',
      speed: 0.25,
      config: testConfig({ upstream: { ...SHORT_TIMEOUTS, totalTimeoutMs: 60_000 } }),
    })
    await stack.ready()
    const client = openaiFor(stack.gatewayUrl, KEYS.strict)

    // Act: more requests than the circuit's threshold (2): two at once, then one more.
    const ask = (i: number) =>
      client.chat.completions.create({
        model: GPU_MODEL,
        messages: [{ role: 'user', content: `Think long, ${i}` }],
        max_tokens: 3000,
      })
    const answers = [...(await Promise.all([ask(0), ask(1)])), await ask(2)]

    // Assess: each answer is complete, with its usage and why it stopped.
    for (const answer of answers) {
      expect(answer.object).toBe('chat.completion')
      expect(answer.usage?.completion_tokens).toBe(3000)
      expect(answer.choices[0]?.finish_reason).toBe('length')
      expect(answer.choices[0]?.message.content?.split(' ').length).toBe(3000)
    }
    expect(await eventually(async () => (await leases(stack!)) === 0, 3_000)).toBe(true)
  }, 60_000)

  it('carry the same content, usage and finish reason as the backend answering directly', async () => {
    stack = await startTestStack({ fleet: 'h20=1x2' })
    await stack.ready()
    const body = chatBody({ max_tokens: 40, seed: 7 })

    const viaGateway = (await (await postChat(stack.gatewayUrl, KEYS.strict, body)).json()) as Completion
    const backendUrl = stack.fleet.backends[0]?.url
    const direct = (await (
      await fetch(`${backendUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${BACKEND_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    ).json()) as Completion

    expect(viaGateway.object).toBe('chat.completion')
    expect(viaGateway.model).toBe(direct.model)
    expect(viaGateway.usage).toEqual(direct.usage)
    expect(viaGateway.choices[0]?.message.content).toBe(direct.choices[0]?.message.content)
    expect(viaGateway.choices[0]?.message.role).toBe('assistant')
    expect(viaGateway.choices[0]?.finish_reason).toBe(direct.choices[0]?.finish_reason)
  })
})

describe('an answer that outlasts the total timeout', () => {
  it('ends 504 upstream_timeout, never counted against the backend, whose slot comes back', async () => {
    // Prepare: about 4.5 s of generation against a 1 s total limit; one backend, circuit threshold 2.
    stack = await startTestStack({
      fleet: 'h20=1x2',
      speed: 0.25,
      config: testConfig({ upstream: { ...SHORT_TIMEOUTS, totalTimeoutMs: 1_000 } }),
    })
    await stack.ready()

    // Act: three too-long requests, more than the circuit's threshold.
    for (let i = 0; i < 3; i++) {
      const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody({ max_tokens: 3000 }))
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(res.status).toBe(504)
      expect(res.headers.get('x-should-retry')).toBe('false')
      expect(body.error.code).toBe('upstream_timeout')
      expect(body.error.message).toMatch(/max_tokens/)
    }

    // Assess: the only backend is still in service, and no slot stayed leased.
    const short = await postChat(stack.gatewayUrl, KEYS.strict, chatBody({ max_tokens: 4 }))
    expect(short.status).toBe(200)
    expect(short.headers.get('x-spillway-backend')).toBe('h20-1')
    await short.text()
    expect(await eventually(async () => (await leases(stack!)) === 0, 3_000)).toBe(true)
  }, 60_000)
})
