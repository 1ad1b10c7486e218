import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  chatBody,
  eventually,
  gpuOnlyConfig,
  type JobStack,
  KEYS,
  postChat,
  startJobStack,
} from '../jobs/support/job-stack.ts'

/**
 * A held job runs with the proxy's own clocks (`UpstreamTimers` through
 * `readCompletion`): the first-byte timeout ends at the first token, so an
 * answer that takes longer in all than that timeout, while streaming tokens
 * steadily, is served, not retried into a 502. (Defect: held runs had their own
 * first-byte timer, cleared only when the run ended, and read a non-streaming
 * body whose headers vLLM sends only once generation is done.)
 */
let stack: JobStack

beforeAll(async () => {
  stack = await startJobStack({
    fleet: 'h20=1x1',
    // 200 tokens at ~6 ms each on the simulated H20: about 1.2 s, three times the first-byte timeout.
    config: { ...gpuOnlyConfig(), upstream: { firstByteTimeoutMs: 400 } },
  })
}, 60_000)
afterAll(async () => {
  await stack?.stop()
})

describe('a held job with a long answer', () => {
  it('is served whole although it takes longer than the first-byte timeout', async () => {
    const backend = stack.fleet.backends[0]
    if (!backend) throw new Error('no backend')
    const unblock = await stack.blockSlots(backend.id, 1)
    const answer = postChat(stack.gatewayUrl, KEYS.queue, chatBody({ max_tokens: 200 }))
    // Unblocked only once the request is a queued job, however slow the machine.
    expect(
      await eventually(
        async () => (await stack.adapters.jobs.countOpen({ status: 'queued', max: 10 })).count > 0,
      ),
    ).toBe(true)
    await unblock()
    const res = await answer
    expect(res.status).toBe(200)
    expect(res.headers.get('x-spillway-route')).toBe('queued')
    const completion = (await res.json()) as { usage?: { completion_tokens?: number } }
    expect(completion.usage?.completion_tokens).toBe(200)
    // One generation: no retry after a timeout that was not the backend's fault.
    expect(stack.simRequests()).toBe(1)
  }, 60_000)
})
