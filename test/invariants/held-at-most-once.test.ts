import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LocalStack } from '../../local/local-stack.ts'
import { type GatewayProcess, spawnGateway } from '../support/gateway-process.ts'
import { chatBody, postChat, startTestStack } from '../support/gateway-stack.ts'

// Invariants 1, 3 and 4 with held requests: three gateway processes (each holding its
// own clients and running their jobs itself) and the workers, all on three slots.
const QUEUE_KEY = 'sk-test-held-queue'
let stack: LocalStack
let gateways: GatewayProcess[] = []

beforeAll(async () => {
  stack = await startTestStack({
    fleet: 'h20=1x3',
    speed: 1,
    workers: true,
    tenants: [{ key: QUEUE_KEY, policy: { id: 'held-queuer', mayQueue: true } }],
  })
  await stack.ready()
  gateways = await Promise.all([1, 2].map(() => spawnGateway(stack.env)))
}, 60_000)

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.kill()))
  await stack?.stop()
})

describe('Invariant: held requests and gateway-run jobs', () => {
  it('60 held requests through 3 gateway processes: all answered, each run exactly once, never past the slots', async () => {
    // Prepare
    const backend = stack.fleet.backends[0]
    if (!backend) throw new Error('no backend')
    backend.reset()
    const urls = [stack.gatewayUrl, ...gateways.map((g) => g.url)]

    // Act: far more than the three slots at once, a third of them streams.
    const answers = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const stream = i % 3 === 0
        const res = await postChat(
          urls[i % urls.length] ?? '',
          QUEUE_KEY,
          chatBody({ max_tokens: 40, stream }),
        )
        const text = await res.text()
        return { status: res.status, route: res.headers.get('x-spillway-route'), stream, text }
      }),
    )

    // Assess
    expect(answers.map((a) => a.status)).toEqual(Array(60).fill(200))
    for (const a of answers) {
      if (a.stream) {
        expect(a.text).toContain('data: [DONE]')
        expect(a.text).not.toContain('"error"')
      } else expect((JSON.parse(a.text) as { object: string }).object).toBe('chat.completion')
    }
    expect(answers.filter((a) => a.route === 'queued').length).toBeGreaterThan(0)
    const state = backend.state()
    expect(state.peak).toBeLessThanOrEqual(backend.maxConcurrency)
    expect(state.totals.rejected.overload).toBe(0)
    expect(state.totals.requests).toBe(60)
    expect(state.totals.completed).toBe(60)
  }, 240_000)
})
