import { afterEach, describe, expect, it } from 'vitest'
import { GPU_MODEL } from '../../../local/fleet/hardware-profiles.ts'
import { type HeartbeatAgent, startHeartbeatAgent } from '../../../local/fleet/heartbeat-agent.ts'
import { type SimBackend, startSimBackend } from '../../../local/fleet/sim-backend.ts'
import { readEngineLoad } from '../../../shared/agent/engine-dialects.ts'
import { type Receiver, startReceiver } from './gateway-receiver.ts'
import { clientFor, user, waitUntil } from './sim-client.ts'

const KEY = 'sk-agent-test'
const SERVING = `[agent h20-1] serving: registered as h20, 1 slots, models ${GPU_MODEL}`
const started = (url: string) => [`info [agent h20-1] registering: vllm server at ${url}`, `info ${SERVING}`]

let receiver: Receiver | undefined
let backend: SimBackend | undefined
let agent: HeartbeatAgent | undefined
afterEach(async () => {
  await agent?.stop()
  await backend?.stop()
  await receiver?.stop()
})

async function setUp(options: { stallAfterTokens?: number } = {}) {
  receiver = await startReceiver(KEY)
  backend = await startSimBackend({
    id: 'h20-1',
    hardware: 'h20',
    models: [GPU_MODEL],
    maxNumSeqs: 1,
    speed: 0.01,
    faults: { stallAfterTokens: options.stallAfterTokens ?? 0 },
  })
  const logs: string[] = []
  const logger = {
    info: (line: string) => logs.push(`info ${line}`),
    warn: (line: string) => logs.push(`warn ${line}`),
  }
  agent = startHeartbeatAgent({ backend, gatewayUrl: receiver.url, agentKey: KEY, intervalMs: 20, logger })
  return { receiver, backend, agent, logs }
}

describe('startHeartbeatAgent', () => {
  it('registers the backend, then reports the same load its /metrics shows', async () => {
    const { receiver, backend, logs } = await setUp({ stallAfterTokens: 2 })
    await waitUntil(async () => (receiver.heartbeats.length > 0 ? true : undefined))
    expect(logs).toEqual(started(backend.url))
    expect(receiver.registrations).toEqual([
      {
        id: 'h20-1',
        url: backend.url,
        hardware: 'h20',
        models: [GPU_MODEL],
        maxConcurrency: 1,
        apis: ['chat', 'completions', 'responses'],
      },
    ])

    // One stalled request holds the sequence (so its KV cache stays put), one waits behind it.
    const client = clientFor(backend.url)
    const calls = [new AbortController(), new AbortController()].map((controller) => ({
      controller,
      done: client.chat.completions
        .create(
          { model: GPU_MODEL, messages: user('keep me busy'), max_tokens: 50 },
          { signal: controller.signal },
        )
        .catch(() => undefined),
    }))
    const busy = await waitUntil(async () =>
      receiver.heartbeats.find((beat) => beat.running === 1 && beat.waiting === 1),
    )
    const scraped = readEngineLoad('vllm', await (await fetch(`${backend.url}/metrics`)).text())
    expect(scraped).toEqual({ ok: true, load: busy })
    expect(busy.kvCacheUsage).toBeGreaterThan(0)

    for (const call of calls) call.controller.abort()
    await Promise.all(calls.map((call) => call.done))
    await waitUntil(async () => (receiver.heartbeats.at(-1)?.running === 0 ? true : undefined))
  })

  it('registers again when the gateway answers 404 to a heartbeat', async () => {
    const { receiver } = await setUp()
    await waitUntil(async () => (receiver.heartbeats.length > 0 ? true : undefined))
    receiver.forget()
    const before = receiver.heartbeats.length
    await waitUntil(async () => (receiver.registrations.length === 2 ? true : undefined))
    await waitUntil(async () => (receiver.heartbeats.length > before ? true : undefined))
  })

  it('logs a problem once when it starts and once when it clears, not every tick', async () => {
    const { receiver, backend, agent, logs } = await setUp()
    await waitUntil(async () => (receiver.heartbeats.length > 0 ? true : undefined))
    receiver.failWith(500)
    await waitUntil(async () => (agent.status().problem ? true : undefined))
    const failing = receiver.heartbeats.length
    await new Promise((resolve) => setTimeout(resolve, 150)) // several ticks go by
    receiver.failWith(undefined)
    await waitUntil(async () => (agent.status().problem === undefined ? true : undefined))
    expect(receiver.heartbeats.length).toBeGreaterThan(failing)

    expect(logs).toEqual([
      ...started(backend.url),
      'warn [agent h20-1] gateway-error: heartbeat refused: HTTP 500',
      'info [agent h20-1] serving',
    ])
    expect(agent.status()).toMatchObject({ registered: true, problem: undefined })
  })

  it('sends nothing for a backend it cannot scrape, and nothing at all once stopped', async () => {
    const { receiver, backend, agent, logs } = await setUp()
    await waitUntil(async () => (receiver.heartbeats.length > 0 ? true : undefined))
    backend.crash()
    await waitUntil(async () => (agent.status().problem ? true : undefined))
    await new Promise((resolve) => setTimeout(resolve, 100)) // several failing ticks
    expect(logs).toHaveLength(3)
    expect(logs[2]).toMatch(
      /^warn \[agent h20-1\] backend-down: \/health: \w+; no heartbeats until it answers$/,
    )

    await agent.stop()
    const sent = receiver.heartbeats.length + receiver.registrations.length
    await backend.restart()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(receiver.heartbeats.length + receiver.registrations.length).toBe(sent)
  })
})
