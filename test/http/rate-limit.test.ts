import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../local/local-stack.ts'
import { type GatewayProcess, spawnGateway } from '../support/gateway-process.ts'
import { chatBody, postChat, startTestStack } from '../support/gateway-stack.ts'

const LIMITED_KEY = 'sk-test-limited'
let stack: LocalStack
let second: GatewayProcess

beforeAll(async () => {
  stack = await startTestStack({
    fleet: 'h20=1x4',
    tenants: [{ key: LIMITED_KEY, policy: { id: 'limited', rateLimitPerMinute: 5 } }],
  })
  await stack.ready()
  second = await spawnGateway(stack.env)
}, 60_000)
afterAll(async () => {
  await second?.kill()
  await stack?.stop()
})

describe('per-tenant rate limit', () => {
  it('is enforced across gateway instances, with Retry-After until the next minute', async () => {
    // Guard against running across a minute boundary, where the counter resets.
    const msIntoMinute = Date.now() % 60_000
    if (msIntoMinute > 55_000) await new Promise((resolve) => setTimeout(resolve, 60_500 - msIntoMinute))

    const statuses: number[] = []
    let lastRefusal: Response | undefined
    for (let i = 0; i < 8; i++) {
      const url = i % 2 === 0 ? stack.gatewayUrl : second.url
      const res = await postChat(url, LIMITED_KEY, chatBody())
      statuses.push(res.status)
      if (res.status === 429) lastRefusal = res
      else await res.text()
    }

    expect(statuses.filter((s) => s === 200)).toHaveLength(5)
    expect(statuses.slice(5)).toEqual([429, 429, 429])
    const retryAfter = Number(lastRefusal!.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(((await lastRefusal!.json()) as { error: { code: string } }).error.code).toBe(
      'rate_limit_exceeded',
    )
  })
})
