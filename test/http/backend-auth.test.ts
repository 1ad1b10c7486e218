import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../local/local-stack.ts'
import { type GatewayProcess, spawnGateway } from '../support/gateway-process.ts'
import { chatBody, KEYS, postChat, startTestStack } from '../support/gateway-stack.ts'

// The test fleets require a bearer key on /v1 (like `vllm serve --api-key`). The stack's
// gateway sends the right one; a second gateway process is deployed with a wrong one.
let stack: LocalStack
let misconfigured: GatewayProcess

beforeAll(async () => {
  stack = await startTestStack({ fleet: 'h20=1x2' })
  await stack.ready()
  misconfigured = await spawnGateway({ ...stack.env, SPILLWAY_BACKEND_API_KEY: 'sk-not-the-backend-key' })
}, 60_000)
afterAll(async () => {
  await misconfigured?.kill()
  await stack?.stop()
})

describe('the key the gateway sends to backends', () => {
  it('is accepted by a backend that requires it', async () => {
    const res = await postChat(stack.gatewayUrl, KEYS.strict, chatBody())
    expect(res.status).toBe(200)
    expect(res.headers.get('x-spillway-backend')).toBe('h20-1')
    await res.text()
  })

  it('when refused, fails as the backend’s fault: a 502, never the backend’s 401 passed on as the client’s', async () => {
    const res = await postChat(misconfigured.url, KEYS.strict, chatBody())
    const body = (await res.json()) as { error: { type: string; code: string; message: string } }
    expect(res.status).toBe(502)
    expect(body.error.code).toBe('upstream_error')
    expect(body.error.message).not.toMatch(/unauthori[sz]ed|api key/i)
    // The slot came back: the correctly configured gateway still gets both slots.
    const both = await Promise.all([0, 1].map(() => postChat(stack.gatewayUrl, KEYS.strict, chatBody())))
    expect(both.map((r) => r.status)).toEqual([200, 200])
    await Promise.all(both.map((r) => r.text()))
  })
})
