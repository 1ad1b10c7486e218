import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CapacitySignal } from '../../shared/gateway/capacity-signal.ts'
import {
  chatBody,
  eventually,
  type JobStack,
  KEYS,
  postChat,
  startJobStack,
} from '../jobs/support/job-stack.ts'
import { postChat as postChatWith } from '../support/gateway-stack.ts'

// Fleet `h20=1x2`, GPU tier only; workers run too, so a job the gateway leaves queued would run.
let stack: JobStack
const signals: { wanted: string[]; satisfied: string[] } = { wanted: [], satisfied: [] }
const recording: CapacitySignal = {
  wanted: (model) => void signals.wanted.push(model),
  satisfied: (model) => void signals.satisfied.push(model),
}

beforeAll(async () => {
  stack = await startJobStack({
    fleet: 'h20=1x2',
    app: { capacitySignal: recording, hold: { keepAliveMs: 200, noBackendPollMs: 100 } },
  })
  await stack.startWorkers()
})
afterAll(async () => {
  await stack?.stop()
})

const backend = () => {
  const b = stack.fleet.backends[0]
  if (!b) throw new Error('no backend')
  return b
}
const openQueued = async () => (await stack.adapters.jobs.countOpen({ status: 'queued', max: 100 })).count
const jobStatus = async (id: string) => (await stack.adapters.jobs.get(id))?.status
const leasesHeld = async () =>
  Object.keys((await stack.adapters.registry.get(backend().id))?.leases ?? {}).length
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Reads an SSE body until `until` matches the text so far. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  seen: { text: string },
  until: RegExp,
) {
  const decoder = new TextDecoder()
  while (!until.test(seen.text)) {
    const { done, value } = await reader.read()
    if (done) break
    seen.text += decoder.decode(value, { stream: true })
  }
  return until.test(seen.text)
}

describe('held requests (no Prefer: respond-async)', () => {
  it('a held stream answers 200 text/event-stream at once, comments while it waits, then streams live', async () => {
    const unblock = await stack.blockSlots(backend().id, 2)
    const res = await postChat(stack.gatewayUrl, KEYS.queue, chatBody({ stream: true, max_tokens: 60 }))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(res.headers.get('x-spillway-route')).toBe('queued')
    const jobId = res.headers.get('x-spillway-job-id') ?? ''
    const reader = res.body?.getReader()
    if (!reader) throw new Error('no body')
    const seen = { text: '' }
    // Two comments (the first at once, then one per keep-alive period) while every slot is busy.
    expect(await readUntil(reader, seen, /: queued[\s\S]*: queued \d+s/)).toBe(true)
    expect(seen.text).not.toContain('data:')
    await unblock()
    expect(await readUntil(reader, seen, /data: \{/)).toBe(true)
    // Live, not a replay: the first chunk is here while the job is still running.
    expect(await jobStatus(jobId)).toBe('running')
    expect(await readUntil(reader, seen, /data: \[DONE\]/)).toBe(true)
    const content = [...seen.text.matchAll(/^data: (\{.*\})$/gm)]
      .map((m) => (JSON.parse(m[1] ?? '{}') as { choices?: { delta?: { content?: string } }[] }).choices?.[0])
      .map((choice) => choice?.delta?.content ?? '')
      .join('')
    expect(content.length).toBeGreaterThan(0)
    // The job stores the stream folded back into its chat.completion.
    expect(await eventually(async () => (await jobStatus(jobId)) === 'succeeded')).toBe(true)
    const job = await stack.adapters.jobs.get(jobId)
    const stored = job?.result as { object: string; choices: { message: { content: string } }[] }
    expect(stored.object).toBe('chat.completion')
    expect(stored.choices[0]?.message.content).toBe(content)
  })

  it('a held client that disconnects before its job starts cancels it: the backend never sees it', async () => {
    const unblock = await stack.blockSlots(backend().id, 2)
    const before = stack.simRequests()
    const client = new AbortController()
    const pending = postChatWith(stack.gatewayUrl, KEYS.queue, chatBody(), { signal: client.signal }).catch(
      () => 'aborted',
    )
    expect(await eventually(async () => (await openQueued()) === 1)).toBe(true)
    client.abort()
    expect(await pending).toBe('aborted')
    expect(await eventually(async () => (await openQueued()) === 0)).toBe(true)
    await unblock()
    // Slots free and the workers polling: a job left queued would run now.
    await pause(1_500)
    expect(stack.simRequests()).toBe(before)
  })

  it('a held stream whose client leaves before its job starts is cancelled too', async () => {
    const unblock = await stack.blockSlots(backend().id, 2)
    const before = stack.simRequests()
    const res = await postChat(stack.gatewayUrl, KEYS.queue, chatBody({ stream: true }))
    const jobId = res.headers.get('x-spillway-job-id') ?? ''
    await res.body?.cancel()
    expect(await eventually(async () => (await jobStatus(jobId)) === 'cancelled')).toBe(true)
    await unblock()
    await pause(1_500)
    expect(stack.simRequests()).toBe(before)
  })

  it('a held client that disconnects while its job runs aborts the backend call and frees the slot', async () => {
    const unblockFirst = await stack.blockSlots(backend().id, 1)
    const unblockSecond = await stack.blockSlots(backend().id, 1)
    const abortedBefore = backend().state().totals.aborted
    const client = new AbortController()
    const pending = postChatWith(stack.gatewayUrl, KEYS.queue, chatBody({ max_tokens: 3_000 }), {
      signal: client.signal,
    }).catch(() => 'aborted')
    expect(await eventually(async () => (await openQueued()) === 1)).toBe(true)
    await unblockFirst()
    expect(await eventually(() => backend().state().running === 1)).toBe(true)
    client.abort()
    expect(await pending).toBe('aborted')
    expect(await eventually(() => backend().state().running === 0)).toBe(true)
    expect(backend().state().totals.aborted).toBe(abortedBefore + 1)
    // Capacity whole again: only the remaining blocker holds a lease.
    expect(await eventually(async () => (await leasesHeld()) === 1)).toBe(true)
    await unblockSecond()
  })

  it('a hold that runs out answers 503 with Retry-After and x-should-retry: true, and cancels the job', async () => {
    const unblock = await stack.blockSlots(backend().id, 2)
    const res = await postChat(stack.gatewayUrl, KEYS.queue, chatBody(), { prefer: 'wait=1' })
    expect(res.status).toBe(503)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(res.headers.get('x-should-retry')).toBe('true')
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('hold_timeout')
    expect(await jobStatus(res.headers.get('x-spillway-job-id') ?? '')).toBe('cancelled')
    await unblock()
  })

  it('with an Idempotency-Key the job outlives the hold, and the retry joins it and gets its answer', async () => {
    const unblock = await stack.blockSlots(backend().id, 2)
    const before = stack.simRequests()
    const headers = { prefer: 'wait=1', 'idempotency-key': `hold-${Date.now()}` }
    const first = await postChat(stack.gatewayUrl, KEYS.queue, chatBody(), headers)
    expect(first.status).toBe(503)
    const jobId = first.headers.get('x-spillway-job-id') ?? ''
    expect(await jobStatus(jobId)).toBe('queued')
    setTimeout(() => void unblock(), 300)
    const retry = await postChat(stack.gatewayUrl, KEYS.queue, chatBody(), {
      'idempotency-key': headers['idempotency-key'],
    })
    expect(retry.status).toBe(200)
    expect(retry.headers.get('x-spillway-job-id')).toBe(jobId)
    expect(((await retry.json()) as { object: string }).object).toBe('chat.completion')
    expect(stack.simRequests()).toBe(before + 1)
  })

  it('a respond-async request is never cancelled by a disconnect, even while it waits (wait=N)', async () => {
    const unblock = await stack.blockSlots(backend().id, 2)
    const client = new AbortController()
    const pending = postChatWith(stack.gatewayUrl, KEYS.queue, chatBody(), {
      headers: { prefer: 'respond-async, wait=5' },
      signal: client.signal,
    }).catch(() => 'aborted')
    expect(await eventually(async () => (await openQueued()) === 1)).toBe(true)
    client.abort()
    await pending
    await pause(300)
    expect(await openQueued()).toBe(1)
    await unblock()
    expect(await eventually(async () => (await openQueued()) === 0, 15_000)).toBe(true)
  })
})

describe('waiting for capacity: the model has no healthy backend', () => {
  it('holds a may-queue request while every backend drains, signals capacity wanted, and serves it after undrain', async () => {
    const admin = (path: string) =>
      fetch(`${stack.gatewayUrl}/admin/backends/${backend().id}/${path}`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-test-admin' },
      })
    expect((await admin('drain')).status).toBe(200)
    signals.wanted.length = 0
    signals.satisfied.length = 0
    let settled = false
    const pending = postChat(stack.gatewayUrl, KEYS.queue, chatBody()).then((res) => {
      settled = true
      return res
    })
    expect(await eventually(() => signals.wanted.includes('deepseek-r1-distill-llama-8b'))).toBe(true)
    await pause(500)
    expect(settled).toBe(false)
    expect((await admin('undrain')).status).toBe(200)
    const res = await pending
    expect(res.status).toBe(200)
    expect(res.headers.get('x-spillway-route')).toBe('queued')
    expect(signals.satisfied).toContain('deepseek-r1-distill-llama-8b')
  })

  it('answers 404, not a wait, for a model that no configuration serves', async () => {
    const res = await postChat(stack.gatewayUrl, KEYS.queue, chatBody({ model: 'nope' }))
    expect(res.status).toBe(404)
  })
})
