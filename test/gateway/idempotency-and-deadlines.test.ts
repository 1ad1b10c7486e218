import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chatBody, KEYS } from '../jobs/support/job-stack.ts'
import { type MemoryJobStack, postChat, startMemoryJobStack } from '../support/memory-job-stack.ts'

// The HTTP contract of Idempotency-Key and x-spillway-deadline, on memory adapters.
let stack: MemoryJobStack

beforeAll(async () => {
  stack = await startMemoryJobStack({ fleet: 'h20=1x2' })
})
afterAll(async () => {
  await stack?.stop()
})

const backendId = () => stack.fleet.backends[0]?.id ?? ''

describe('Idempotency-Key on the direct path', () => {
  it('a retry after a direct 200 gets the stored completion: one backend execution, the same id', async () => {
    const before = stack.simRequests()
    const headers = { 'idempotency-key': `direct-${Date.now()}` }
    const first = await postChat(stack.app, KEYS.queue, chatBody(), headers)
    expect(first.status).toBe(200)
    expect(first.headers.get('x-spillway-route')).toBe('primary')
    const answer = (await first.json()) as { id: string; choices: { message: { content: string } }[] }
    const retry = await postChat(stack.app, KEYS.queue, chatBody(), headers)
    expect(retry.status).toBe(200)
    expect(retry.headers.get('x-spillway-idempotent-replay')).toBe('true')
    expect(retry.headers.get('x-spillway-backend')).toBe(backendId())
    const again = (await retry.json()) as typeof answer
    expect(again.id).toBe(answer.id)
    expect(again.choices[0]?.message.content).toBe(answer.choices[0]?.message.content)
    expect(stack.simRequests()).toBe(before + 1)
  })

  it('a streamed answer is stored as its completion and replayed as SSE with the same id', async () => {
    const before = stack.simRequests()
    const headers = { 'idempotency-key': `stream-${Date.now()}` }
    const read = async () => {
      const res = await postChat(stack.app, KEYS.queue, chatBody({ stream: true }), headers)
      expect(res.status).toBe(200)
      const text = await res.text()
      expect(text).toContain('data: [DONE]')
      const chunks = [...text.matchAll(/^data: (\{.*\})$/gm)].map(
        (m) => JSON.parse(m[1] ?? '{}') as { id: string; choices: { delta?: { content?: string } }[] },
      )
      return {
        id: chunks[0]?.id,
        content: chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''),
      }
    }
    const first = await read()
    const second = await read()
    expect(second).toEqual(first)
    expect(first.content.length).toBeGreaterThan(0)
    expect(stack.simRequests()).toBe(before + 1)
  })

  it('refuses the same key with another body: 422 idempotency_key_reused', async () => {
    const key = `reuse-${Date.now()}`
    expect((await postChat(stack.app, KEYS.queue, chatBody(), { 'idempotency-key': key })).status).toBe(200)
    const other = await postChat(stack.app, KEYS.queue, chatBody({ max_tokens: 9 }), {
      'idempotency-key': key,
    })
    expect(other.status).toBe(422)
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('idempotency_key_reused')
  })
})

describe('x-spillway-deadline', () => {
  const async = { prefer: 'respond-async' }
  const spill = (deadline: string) =>
    postChat(stack.app, KEYS.queue, chatBody(), { ...async, 'x-spillway-deadline': deadline })

  it.each([
    ['99999999999999', 422],
    ['-5', 422],
    ['NaN', 400],
    ['Infinity', 400],
    ['1e9', 400],
    ['soon', 400],
    ['2001-01-01T00:00:00Z', 422],
  ])('refuses %s with %i and an OpenAI error naming the header, never a 500', async (deadline, status) => {
    const res = await spill(deadline)
    expect(res.status).toBe(status)
    expect(await res.json()).toEqual({
      error: {
        message: expect.any(String),
        type: 'invalid_request_error',
        param: 'x-spillway-deadline',
        code: expect.any(String),
      },
    })
  })

  it("clamps ten years to the tenant's job deadline (3600 s)", async () => {
    const unblock = await stack.blockSlots(backendId(), 2)
    try {
      const sent = Date.now()
      const res = await spill('315360000')
      expect(res.status).toBe(202)
      const { id } = (await res.json()) as { id: string }
      const job = await stack.jobs.get(id)
      expect(job?.deadlineAt).toBeGreaterThan(sent)
      expect(job?.deadlineAt).toBeLessThanOrEqual(Date.now() + 3600_000)
      await stack.jobs.cancel({ id, tenantId: 'queuer', now: Date.now() })
    } finally {
      await unblock()
    }
  })
})
