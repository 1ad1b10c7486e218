import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isTerminal, type JobRecord } from '../../shared/jobs/job-record.ts'
import {
  chatBody,
  eventually,
  type JobStack,
  KEYS,
  MODEL,
  postChat,
  startJobStack,
} from '../jobs/support/job-stack.ts'

// Fleet `h20=1x2`: one backend, two slots, no CPU tier to fall back to.
let stack: JobStack

beforeAll(async () => {
  stack = await startJobStack({ fleet: 'h20=1x2', speed: 1 })
  await stack.startWorkers({ worker: { claimTtlMs: 3_000, slotWaitMs: 2_000 } })
})
afterAll(async () => {
  await stack?.stop()
})

/** Frees the slots once the request is queued (not after a guessed delay: a slow machine routes late). */
function unblockOnceQueued(unblock: () => Promise<void>): void {
  void eventually(
    async () => (await stack.adapters.jobs.countOpen({ status: 'queued', max: 10 })).count >= 1,
    20_000,
  ).then(() => unblock())
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

async function burst(label: string): Promise<void> {
  const backend = stack.fleet.backends[0]
  if (!backend) throw new Error('no backend')
  backend.reset()
  // Both slots busy first, so every request of the burst must queue.
  const unblock = await stack.blockSlots(backend.id, 2)
  const responses = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      postChat(
        stack.gatewayUrl,
        KEYS.queue,
        chatBody({ messages: [{ role: 'user', content: `burst ${i}` }] }),
        {
          prefer: 'respond-async',
        },
      ),
    ),
  )
  expect(responses.map((r) => r.status)).toEqual(Array(40).fill(202))
  const ids = await Promise.all(responses.map(async (r) => ((await r.json()) as { id: string }).id))
  expect(new Set(ids).size).toBe(40)

  const freedAt = Date.now()
  await unblock()
  const jobs = new Map<string, JobRecord>()
  const allDone = await eventually(
    async () => {
      for (const id of ids) {
        if (jobs.has(id)) continue
        const job = await stack.adapters.jobs.get(id)
        if (job && isTerminal(job.status)) jobs.set(id, job)
      }
      return jobs.size === ids.length
    },
    60_000,
    100,
  )
  expect(allDone).toBe(true)
  expect([...jobs.values()].map((j) => j.status)).toEqual(Array(40).fill('succeeded'))
  expect([...jobs.values()].every((j) => j.attempts === 1 && j.servedBy?.backendId === backend.id)).toBe(true)
  const state = backend.state()
  expect(state.totals.requests).toBe(40)
  expect(state.totals.completed).toBe(40)
  // Never more than the two slots at once, and both were in use while the backlog lasted.
  expect(state.peakRunning).toBe(2)
  expect(state.peak).toBe(2)

  // Drain latency: the k-th start (k ≥ 2) took the slot freed by the (k−2)-th finish;
  // the first two took the slots the blockers freed.
  const starts = [...jobs.values()].map((j) => j.startedAt ?? 0).sort((a, b) => a - b)
  const finishes = [...jobs.values()].map((j) => j.finishedAt ?? 0).sort((a, b) => a - b)
  const latencies = starts
    .map((start, k) => start - (k < 2 ? freedAt : (finishes[k - 2] ?? start)))
    .map((ms) => Math.max(0, ms))
    .sort((a, b) => a - b)
  const drained = Math.max(...finishes) - freedAt
  console.log(
    `[drain] ${label}: 40 jobs on 2 slots drained in ${drained} ms; slot freed → queued job started: ` +
      `p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${latencies.at(-1)} ms`,
  )
}

describe('overflow end to end: gateway → jobs + SQS → local poller → worker → simulator', () => {
  it('drains a burst of 40 async requests: all accepted, all succeed, each run exactly once', async () => {
    await burst('one worker process')
  }, 120_000)

  it('drains the same burst with two worker processes, each with its own capacity view', async () => {
    const second = await stack.startWorkers({ worker: { claimTtlMs: 3_000, slotWaitMs: 2_000 } })
    try {
      await burst('two worker processes')
    } finally {
      await second.stop()
    }
  }, 120_000)

  it('returns the result inline to an unchanged openai SDK client that prefers wait=10', async () => {
    const backend = stack.fleet.backends[0]
    if (!backend) throw new Error('no backend')
    const unblock = await stack.blockSlots(backend.id, 2)
    unblockOnceQueued(unblock)
    const { data, response } = await stack
      .openai(KEYS.queue)
      .chat.completions.create(
        { model: MODEL, messages: [{ role: 'user', content: 'Queued, then inline' }], max_tokens: 8 },
        { headers: { Prefer: 'wait=10' } },
      )
      .withResponse()
    expect(response.status).toBe(200)
    expect(response.headers.get('x-spillway-route')).toBe('queued')
    expect(response.headers.get('x-spillway-hardware')).toBe('h20')
    expect(response.headers.get('x-spillway-backend')).toBe(backend.id)
    expect(data.object).toBe('chat.completion')
    expect(data.choices[0]?.message.content).toEqual(expect.any(String))
  })

  it('streams the result of a queued streaming request as SSE, read by the openai SDK', async () => {
    const backend = stack.fleet.backends[0]
    if (!backend) throw new Error('no backend')
    const unblock = await stack.blockSlots(backend.id, 2)
    unblockOnceQueued(unblock)
    // The waiter tenant holds requests 10 s by default, without any Prefer header.
    const stream = await stack.openai(KEYS.wait).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Queued stream' }],
      max_tokens: 8,
      stream: true,
      stream_options: { include_usage: true },
    })
    let content = ''
    let finish: string | null | undefined
    let usage: unknown
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? ''
      finish = chunk.choices[0]?.finish_reason ?? finish
      usage = chunk.usage ?? usage
    }
    expect(content.length).toBeGreaterThan(0)
    expect(finish).toEqual(expect.any(String))
    expect(usage).toMatchObject({ completion_tokens: expect.any(Number) })
  })

  it('runs interactive jobs ahead of a batch backlog', async () => {
    const backend = stack.fleet.backends[0]
    if (!backend) throw new Error('no backend')
    const unblock = await stack.blockSlots(backend.id, 2)
    const submit = async (key: string, n: number) =>
      Promise.all(
        Array.from({ length: n }, async () => {
          const res = await postChat(stack.gatewayUrl, key, chatBody(), { prefer: 'respond-async' })
          return ((await res.json()) as { id: string }).id
        }),
      )
    const batchIds = await submit(KEYS.batch, 10)
    // Let the batch lane's messages reach the workers (and wait for a slot) first.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const interactiveIds = await submit(KEYS.queue, 4)
    await unblock()
    const load = async (ids: string[]) => Promise.all(ids.map((id) => stack.adapters.jobs.get(id)))
    expect(
      await eventually(
        async () =>
          [...(await load(batchIds)), ...(await load(interactiveIds))].every(
            (j) => j?.status === 'succeeded',
          ),
        30_000,
      ),
    ).toBe(true)
    const lastInteractive = Math.max(...(await load(interactiveIds)).map((j) => j?.startedAt ?? 0))
    const batchStarts = (await load(batchIds)).map((j) => j?.startedAt ?? 0)
    // Not a timing assertion: an order. Most of the batch backlog ran after the interactive jobs.
    expect(batchStarts.filter((t) => t > lastInteractive).length).toBeGreaterThanOrEqual(5)
  })
})
