import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isTerminal } from '../../shared/jobs/job-record.ts'
import { MAX_QUEUED_REQUEST_BYTES } from '../../shared/jobs/job-size.ts'
import { chatBody, eventually, type JobStack, KEYS, postChat, startJobStack } from './support/job-stack.ts'

// A job is one DynamoDB item (400 KB at most) holding its request and then its result:
// what does not fit must end with a reason, never a 5xx or a job that crashes the worker.
let stack: JobStack

beforeAll(async () => {
  stack = await startJobStack({ fleet: 'h20=1x1', speed: 0 })
  await stack.startWorkers()
})
afterAll(async () => {
  await stack?.stop()
})

const backendId = () => stack.fleet.backends[0]?.id ?? 'none'
const content = (bytes: number) => 'x'.repeat(bytes)

describe('job size limits', () => {
  it('answers 429 with Retry-After, and queues nothing, for a request too large to queue', async () => {
    const unblock = await stack.blockSlots(backendId(), 1)
    try {
      const res = await postChat(
        stack.gatewayUrl,
        KEYS.queue,
        chatBody({ messages: [{ role: 'user', content: content(MAX_QUEUED_REQUEST_BYTES) }] }),
        { prefer: 'respond-async' },
      )
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(res.status).toBe(429)
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(body.error.code).toBe('capacity_exhausted')
      expect(body.error.message).toMatch(/larger than a queued job can hold \(256 KB\)/)
      expect(await stack.adapters.jobs.countOpen({ status: 'queued', max: 10 })).toEqual({
        count: 0,
        capped: false,
      })
    } finally {
      await unblock()
    }
    // The same request goes straight through once a slot is free (and the gateway's view has seen it).
    const big = chatBody({ messages: [{ role: 'user', content: content(MAX_QUEUED_REQUEST_BYTES) }] })
    const served = await eventually(async () => {
      const res = await postChat(stack.gatewayUrl, KEYS.queue, big)
      await res.text()
      return res.status === 200
    }, 5_000)
    expect(served).toBe(true)
  })

  it('fails a job whose answer its item cannot hold with the reason, and stores one that fits', async () => {
    const unblock = await stack.blockSlots(backendId(), 1)
    // 40,000 simulated tokens are about 245 KB of JSON: too much next to a 200 KB request.
    const submit = async (requestBytes: number) => {
      const res = await postChat(
        stack.gatewayUrl,
        KEYS.queue,
        chatBody({ messages: [{ role: 'user', content: content(requestBytes) }], max_tokens: 40_000 }),
        { prefer: 'respond-async' },
      )
      expect(res.status).toBe(202)
      return ((await res.json()) as { id: string }).id
    }
    const tooMuch = await submit(200 * 1024)
    const fits = await submit(1024)
    await unblock()

    const ended = async (id: string) => {
      await eventually(
        async () => isTerminal((await stack.adapters.jobs.get(id))?.status ?? 'queued'),
        20_000,
      )
      return stack.adapters.jobs.get(id)
    }
    expect(await ended(tooMuch)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'result_too_large' },
    })
    expect(await ended(fits)).toMatchObject({ status: 'succeeded', attempts: 1 })
  })
})
