import { afterEach, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../local/local-stack.ts'
import { spawnGateway } from '../support/gateway-process.ts'
import {
  ADMIN_KEY,
  chatBody,
  eventually,
  KEYS,
  postChat,
  startTestStack,
  testConfig,
} from '../support/gateway-stack.ts'

let stack: LocalStack | undefined
afterEach(async () => {
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

const backend = (s: LocalStack, id: string) => {
  const found = s.fleet.backends.find((b) => b.id === id)
  if (!found) throw new Error(`no backend ${id}`)
  return found
}

describe('failover before the first byte', () => {
  it('retries a failing backend elsewhere, then skips it once its circuit opens', async () => {
    // Prepare: h20-1 answers 500 to everything; the circuit opens after 2 failures.
    stack = await startTestStack({ fleet: 'h20=2x2', faults: { 'h20-1': { errorRate: 1 } } })
    await stack.ready()

    // Act
    const statuses: (number | null)[] = []
    for (let i = 0; i < 20; i++) {
      const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody())
      statuses.push(res.status)
      expect(res.headers.get('x-spillway-backend')).toBe('h20-2')
      await res.text()
    }

    // Assess: every request served, and the broken backend saw exactly the threshold.
    expect(statuses.every((s) => s === 200)).toBe(true)
    expect(backend(stack, 'h20-1').state().totals.requests).toBe(2)
  })

  it('fails a stream over when the backend dies before its first chunk', async () => {
    stack = await startTestStack({ fleet: 'h20=2x2', faults: { 'h20-2': { errorRate: 1 } } })
    await stack.ready()

    // The pick is random: send until the failing backend has been tried at least once.
    const results = []
    for (let i = 0; i < 30 && backend(stack, 'h20-2').state().totals.requests === 0; i++) {
      const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody({ stream: true }))
      results.push({
        status: res.status,
        backend: res.headers.get('x-spillway-backend'),
        text: await res.text(),
      })
    }
    for (const result of results) {
      expect(result.status).toBe(200)
      expect(result.backend).toBe('h20-1')
      expect(result.text.trim().endsWith('data: [DONE]')).toBe(true)
    }
    expect(backend(stack, 'h20-2').state().totals.requests).toBeGreaterThan(0)
  })
})

describe('circuits shared across gateway processes', () => {
  it('keeps every other process off a backend whose circuit one process opened', async () => {
    // Prepare: h20-1 answers 500 to everything; this stack's gateway opens its circuit after 2 failures.
    stack = await startTestStack({ fleet: 'h20=2x2', faults: { 'h20-1': { errorRate: 1 } } })
    await stack.ready()
    for (let i = 0; i < 20 && backend(stack, 'h20-1').state().totals.requests < 2; i++) {
      const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody())
      expect(res.status).toBe(200)
      await res.text()
    }
    const openedForAll = await eventually(async () => {
      const res = await fetch(`${stack?.gatewayUrl}/admin/backends`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      })
      const body = (await res.json()) as { data: { id: string; circuitOpenUntil?: string }[] }
      return body.data.some((b) => b.id === 'h20-1' && b.circuitOpenUntil !== undefined)
    }, 3_000)
    expect(openedForAll).toBe(true)

    // Act: a second gateway process, whose own breaker has never seen h20-1 fail.
    const other = await spawnGateway(stack.env)
    try {
      for (let i = 0; i < 20; i++) {
        const res = await postChat(other.url, KEYS.strict, chatBody())
        expect(res.status).toBe(200)
        expect(res.headers.get('x-spillway-backend')).toBe('h20-2')
        await res.text()
      }
    } finally {
      await other.kill()
    }

    // Assess: the broken backend saw only the two requests that opened the circuit.
    expect(backend(stack, 'h20-1').state().totals.requests).toBe(2)
  })
})

describe('mid-stream failures', () => {
  it('ends a stream cut by the backend with an SSE error event, not a silent truncated 200', async () => {
    // Realistic pacing, so the first chunks reach the gateway before the cut.
    stack = await startTestStack({ fleet: 'h20=1x2', speed: 1, faults: { '*': { cutAfterTokens: 5 } } })
    await stack.ready()

    const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody({ stream: true, max_tokens: 20 }))
    const text = await res.text()

    expect(res.status).toBe(200)
    expect(text).toContain('"code":"upstream_stream_error"')
    expect(text).not.toContain('[DONE]')
    // The slot is released even though the stream broke.
    expect(await eventually(async () => (await leases(stack!)) === 0, 3_000)).toBe(true)
  })

  it('ends a stalled stream after the idle timeout with an SSE error event', async () => {
    stack = await startTestStack({
      fleet: 'h20=1x1',
      faults: { '*': { stallAfterTokens: 2 } },
      config: {
        ...testConfig(),
        upstream: { firstByteTimeoutMs: 5_000, idleTimeoutMs: 300, maxAttempts: 2 },
      },
    })
    await stack.ready()

    const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody({ stream: true, max_tokens: 20 }))
    const text = await res.text()

    expect(text).toContain('"code":"upstream_stream_error"')
    // The single slot is free again.
    expect(await eventually(async () => (await leases(stack!)) === 0, 3_000)).toBe(true)
  })
})

describe('heartbeat staleness', () => {
  it('takes a backend whose heartbeat went stale out of rotation', async () => {
    // Prepare
    stack = await startTestStack({ fleet: 'h20=2x2' })
    await stack.ready()
    const index = stack.fleet.backends.findIndex((b) => b.id === 'h20-1')
    await stack.agents[index]?.stop()

    // Act: past the 2 s staleness window, h20-1 gets nothing.
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    const before = backend(stack, 'h20-1').state().totals.requests
    const served = []
    for (let i = 0; i < 8; i++) {
      const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody())
      served.push(res.headers.get('x-spillway-backend'))
      await res.text()
    }

    // Assess
    expect(served.every((id) => id === 'h20-2')).toBe(true)
    expect(backend(stack, 'h20-1').state().totals.requests).toBe(before)
  })
})
