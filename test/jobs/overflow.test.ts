import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  deleteJob,
  getJob,
  type MemoryJobStack,
  postChat,
  startMemoryJobStack,
} from '../support/memory-job-stack.ts'
import { chatBody, eventually, KEYS } from './support/job-stack.ts'

// No workers here: every spilled job stays queued, so the gateway side is seen alone. The
// HTTP contract only, on memory adapters (the store's own behaviour is job-store-contract's).
let stack: MemoryJobStack
let unblock: () => Promise<void>
const async = { prefer: 'respond-async' }

beforeAll(async () => {
  stack = await startMemoryJobStack({ overflow: { outboxGraceMs: 60_000 } })
  unblock = await stack.blockSlots('h20-1', 2)
})
afterAll(async () => {
  await unblock?.()
  await stack?.stop()
})

describe('overflow: spilling a request that finds no slot', () => {
  it('answers 202 with Location and Retry-After, and the job is durable and queued', async () => {
    const res = await postChat(stack.app, KEYS.queue, chatBody(), async)
    expect(res.status).toBe(202)
    const body = (await res.json()) as { id: string; object: string; status: string }
    expect(body).toEqual({ id: expect.stringMatching(/^job_/), object: 'inference.job', status: 'queued' })
    expect(res.headers.get('location')).toBe(`/v1/jobs/${body.id}`)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(res.headers.get('x-spillway-route')).toBe('queued')
    expect(res.headers.get('x-request-id')).toBeTruthy()

    const job = await stack.jobs.get(body.id)
    expect(job).toMatchObject({
      status: 'queued',
      tenantId: 'queuer',
      lane: 'interactive',
      enqueuedAt: expect.any(Number),
    })
    expect(stack.drain('interactive')).toEqual([body.id])
    expect(stack.simRequests()).toBe(0)
  })

  it('queues a batch tenant in the batch lane', async () => {
    const res = await postChat(stack.app, KEYS.batch, chatBody(), async)
    const { id } = (await res.json()) as { id: string }
    expect(stack.drain('batch')).toEqual([id])
  })

  it('joins a retried request with the same Idempotency-Key to the same job, and refuses the key for another request', async () => {
    const headers = { ...async, 'idempotency-key': `key-${Date.now()}` }
    const [a, b] = await Promise.all([
      postChat(stack.app, KEYS.queue, chatBody(), headers),
      postChat(stack.app, KEYS.queue, chatBody(), headers),
    ])
    const ids = [((await a.json()) as { id: string }).id, ((await b.json()) as { id: string }).id]
    expect(ids[0]).toBe(ids[1])
    expect(stack.drain('interactive')).toEqual([ids[0]])

    const other = await postChat(stack.app, KEYS.queue, chatBody({ max_tokens: 9 }), headers)
    expect(other.status).toBe(422)
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('idempotency_key_reused')
    const bad = await postChat(stack.app, KEYS.queue, chatBody(), {
      ...async,
      'idempotency-key': 'ünïcode',
    })
    expect(bad.status).toBe(400)
  })

  it('holds a request that prefers wait=N without respond-async, never a 202: 503 when no slot frees', async () => {
    const res = await postChat(stack.app, KEYS.queue, chatBody(), { prefer: 'wait=1' })
    expect(res.status).toBe(503)
    expect(res.headers.get('x-should-retry')).toBe('true')
    const job = await stack.jobs.get(res.headers.get('x-spillway-job-id') ?? '')
    expect(job?.status).toBe('cancelled')
    stack.drain('interactive')
  })
})

describe('jobs API', () => {
  it("shows a job to its tenant only: another tenant's job is 404", async () => {
    const { id } = (await (await postChat(stack.app, KEYS.queue, chatBody(), async)).json()) as {
      id: string
    }
    const mine = await getJob(stack.app, KEYS.queue, id)
    expect(mine.status).toBe(200)
    expect(await mine.json()).toMatchObject({
      id,
      object: 'inference.job',
      status: 'queued',
      result: null,
      error: null,
    })
    const theirs = await getJob(stack.app, KEYS.other, id)
    expect(theirs.status).toBe(404)
    expect(await theirs.json()).toEqual({
      error: { message: expect.any(String), type: 'not_found_error', param: null, code: 'job_not_found' },
    })
    expect((await getJob(stack.app, KEYS.queue, 'idem%23queuer%23key')).status).toBe(404)
    expect((await getJob(stack.app, KEYS.queue, id, '?wait=soon')).status).toBe(400)
    stack.drain('interactive')
  })

  it('cancels a queued job, idempotently, and not for another tenant', async () => {
    const { id } = (await (await postChat(stack.app, KEYS.queue, chatBody(), async)).json()) as {
      id: string
    }
    const del = (key: string) => deleteJob(stack.app, key, id)
    expect((await del(KEYS.other)).status).toBe(404)
    const first = await del(KEYS.queue)
    expect(first.status).toBe(200)
    expect(await first.json()).toMatchObject({ id, status: 'cancelled', error: { code: 'job_cancelled' } })
    expect((await del(KEYS.queue)).status).toBe(200)
    stack.drain('interactive')
  })

  it('long-polls with ?wait=N and reports a job past its deadline as expired', async () => {
    const res = await postChat(stack.app, KEYS.queue, chatBody(), {
      ...async,
      'x-spillway-deadline': '1',
    })
    const { id } = (await res.json()) as { id: string }
    const polled = await getJob(stack.app, KEYS.queue, id, '?wait=3')
    expect(await polled.json()).toMatchObject({ id, status: 'expired', error: { code: 'job_expired' } })
    expect(await eventually(async () => (await stack.jobs.get(id))?.status === 'expired')).toBe(true)
    stack.drain('interactive')
    expect(stack.simRequests()).toBe(0)
  })
})
