import { APIUserAbortError } from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { GPU_MODEL } from '../../../local/fleet/hardware-profiles.ts'
import { type SimBackend, startSimBackend } from '../../../local/fleet/sim-backend.ts'
import { parsePrometheusText } from '../../../shared/backends/prometheus-text.ts'
import { clientFor, simState, user, waitUntil } from './sim-client.ts'

let backend: SimBackend | undefined
afterEach(() => backend?.stop())

async function start(maxNumSeqs: number, options: { speed?: number; maxWaiting?: number } = {}) {
  backend = await startSimBackend({
    id: 'h20-1',
    hardware: 'h20',
    models: [GPU_MODEL],
    maxNumSeqs,
    speed: options.speed ?? 0.05,
    ...(options.maxWaiting === undefined ? {} : { maxWaiting: options.maxWaiting }),
  })
  return backend
}

async function metric(url: string, name: string): Promise<number | undefined> {
  const page = parsePrometheusText(await (await fetch(`${url}/metrics`)).text())
  return page.samples.find((sample) => sample.name === name)?.value
}

describe('scheduling like vLLM', () => {
  it('runs at most maxNumSeqs of 50 concurrent requests and reports a peak of 50 held', async () => {
    const { url } = await start(4)
    const client = clientFor(url)
    const ask = (maxTokens: number, i: number) =>
      client.chat.completions.create({
        model: GPU_MODEL,
        messages: user(`request ${i}`),
        max_tokens: maxTokens,
      })
    // Four long requests take every sequence, so the other 46 are all held at once.
    const long = [0, 1, 2, 3].map((i) => ask(4_000, i))
    await waitUntil(async () => ((await simState(url)).running === 4 ? true : undefined))
    const short = Array.from({ length: 46 }, (_, i) => ask(8, i + 4))

    let sampledMax = 0
    const all = Promise.all([...long, ...short])
    let done = false
    void all.finally(() => {
      done = true
    })
    while (!done) {
      const state = await simState(url)
      sampledMax = Math.max(sampledMax, state.running)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const completions = await all

    expect(completions).toHaveLength(50)
    expect(sampledMax).toBeLessThanOrEqual(4)
    const state = await simState(url)
    expect(state.peakRunning).toBe(4)
    expect(state.totals.completed).toBe(50)
    expect(await metric(url, 'spillway_sim_peak_concurrent_requests')).toBe(50)
    expect(await metric(url, 'spillway_sim_peak_running_requests')).toBe(4)
    expect(await metric(url, 'spillway_sim_requests_total')).toBe(50)
    expect(await metric(url, 'vllm:num_requests_running')).toBe(0)
  })

  it('starts waiting requests in arrival order as sequences free up', async () => {
    const { url } = await start(1)
    const client = clientFor(url)
    const ask = (id: string, maxTokens: number) =>
      client.chat.completions.create(
        { model: GPU_MODEL, messages: user(id), max_tokens: maxTokens },
        { headers: { 'x-request-id': id } },
      )
    const order: string[] = []
    const pending = [ask('first', 2_000).then(() => order.push('first'))]
    await waitUntil(async () => ((await simState(url)).running === 1 ? true : undefined))
    for (const [i, id] of ['b', 'c', 'd', 'e'].entries()) {
      pending.push(ask(id, 4).then(() => order.push(id)))
      await waitUntil(async () => ((await simState(url)).waiting === i + 1 ? true : undefined))
    }
    await Promise.all(pending)

    expect(order).toEqual(['first', 'b', 'c', 'd', 'e'])
    const started = (await simState(url)).recent.toSorted((x, y) => (x.start ?? 0) - (y.start ?? 0))
    expect(started.map((record) => record.requestId)).toEqual(['first', 'b', 'c', 'd', 'e'])
    expect(started.map((record) => record.arrival)).toEqual([1, 2, 3, 4, 5])
  })

  it('answers 503 with Retry-After once the waiting queue is full', async () => {
    const { url } = await start(1, { maxWaiting: 1 })
    const client = clientFor(url)
    const running = new AbortController()
    const waiting = new AbortController()
    const ask = (signal: AbortSignal) =>
      client.chat.completions.create(
        { model: GPU_MODEL, messages: user('x'), max_tokens: 100_000 },
        { signal },
      )
    const held = [ask(running.signal).catch(() => 'aborted'), ask(waiting.signal).catch(() => 'aborted')]
    await waitUntil(async () => ((await simState(url)).waiting === 1 ? true : undefined))

    const refused = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ messages: user('one too many') }),
    })
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect((await simState(url)).totals.rejected.overload).toBe(1)
    running.abort()
    waiting.abort()
    expect(await Promise.all(held)).toEqual(['aborted', 'aborted'])
  })
})

describe('client aborts', () => {
  it('a closed stream frees its sequence at once for the next request and counts as aborted', async () => {
    const { url } = await start(1, { speed: 0.01 })
    const client = clientFor(url)
    const stream = await client.chat.completions.create({
      model: GPU_MODEL,
      messages: user('long story'),
      max_tokens: 1_000_000,
      stream: true,
    })
    const next = client.chat.completions.create({ model: GPU_MODEL, messages: user('next'), max_tokens: 4 })
    await waitUntil(async () => ((await simState(url)).waiting === 1 ? true : undefined))
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) break // leaving the loop aborts the HTTP request
    }

    expect((await next).choices[0]?.finish_reason).toBe('length')
    const state = await waitUntil(async () => {
      const current = await simState(url)
      return current.totals.aborted === 1 ? current : undefined
    })
    expect(state.running).toBe(0)
    expect(state.kvCacheUsage).toBe(0)
    expect(state.recent.map((record) => record.outcome)).toEqual(['aborted', 'completed'])
    expect(await metric(url, 'spillway_sim_requests_aborted_total')).toBe(1)
  })

  it('an aborted non-streaming request, running or waiting, gives its place back', async () => {
    const { url } = await start(1, { speed: 0.01 })
    const client = clientFor(url)
    const controllers = [new AbortController(), new AbortController()]
    const calls = controllers.map((controller, i) =>
      client.chat.completions
        .create(
          { model: GPU_MODEL, messages: user(`x${i}`), max_tokens: 1_000_000 },
          { signal: controller.signal },
        )
        .catch((error: unknown) => (error instanceof APIUserAbortError ? 'aborted' : error)),
    )
    await waitUntil(async () => ((await simState(url)).waiting === 1 ? true : undefined))
    controllers[1]?.abort()
    await waitUntil(async () => ((await simState(url)).waiting === 0 ? true : undefined))
    controllers[0]?.abort()

    expect(await Promise.all(calls)).toEqual(['aborted', 'aborted'])
    const state = await waitUntil(async () => {
      const current = await simState(url)
      return current.totals.aborted === 2 ? current : undefined
    })
    expect(state.running).toBe(0)
    expect(state.waiting).toBe(0)
  })

  it('a stream that is still waiting for a sequence leaves the queue when closed', async () => {
    const { url } = await start(1, { speed: 0.01 })
    const client = clientFor(url)
    const holder = new AbortController()
    const held = client.chat.completions
      .create({ model: GPU_MODEL, messages: user('hold'), max_tokens: 1_000_000 }, { signal: holder.signal })
      .catch(() => 'aborted')
    await waitUntil(async () => ((await simState(url)).running === 1 ? true : undefined))
    // Like vLLM, the stream's headers arrive while it still waits for a sequence.
    const stream = await client.chat.completions.create({
      model: GPU_MODEL,
      messages: user('queued'),
      stream: true,
    })
    expect((await simState(url)).waiting).toBe(1)
    stream.controller.abort()

    const state = await waitUntil(async () => {
      const current = await simState(url)
      return current.waiting === 0 ? current : undefined
    })
    expect(state.running).toBe(1)
    expect(state.recent.map((record) => record.outcome)).toEqual(['running', 'aborted'])
    holder.abort()
    expect(await held).toBe('aborted')
  })
})
