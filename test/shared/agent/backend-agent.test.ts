/**
 * The product agent against a real local gateway (in-process local stack over
 * dynalite) and a simulated backend in each engine's dialect, over HTTP: it
 * registers with what the server reports, its load on `GET /admin/backends`
 * follows the server's metrics within two heartbeats, it leaves rotation when
 * the server stops answering, and re-registers when it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CPU_MODEL, GPU_MODEL } from '../../../local/fleet/hardware-profiles.ts'
import { type SimBackend, startSimBackend } from '../../../local/fleet/sim-backend.ts'
import type { LocalStack } from '../../../local/local-stack.ts'
import { type BackendAgent, startBackendAgent } from '../../../shared/agent/backend-agent.ts'
import type { EngineName } from '../../../shared/agent/engine-dialects.ts'
import { ADMIN_KEY, AGENT_KEY, BACKEND_KEY, eventually, startTestStack } from '../../support/gateway-stack.ts'

const INTERVAL_MS = 150
/** testConfig's heartbeatStaleSeconds. */
const STALE_SECONDS = 2

let stack: LocalStack
beforeAll(async () => {
  stack = await startTestStack({ fleet: 'cpu=1x1' })
  await stack.ready()
}, 60_000)
afterAll(() => stack?.stop())

interface AdminBackend {
  id: string
  models: string[]
  maxConcurrency: number
  load: { running: number; waiting: number; kvCacheUsage: number }
  heartbeatAgeSeconds: number
}

async function adminBackend(id: string): Promise<AdminBackend | undefined> {
  const response = await fetch(`${stack.gatewayUrl}/admin/backends`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  })
  const { data } = (await response.json()) as { data: AdminBackend[] }
  return data.find((backend) => backend.id === id)
}

/** Backends of a class serving a model whose heartbeat is fresh (a stale one counts as full). */
async function inRotation(model: string, hardware: string): Promise<number> {
  const backends = await fetch(`${stack.gatewayUrl}/admin/backends`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  })
  const { data } = (await backends.json()) as { data: (AdminBackend & { hardware: string })[] }
  return data.filter(
    (b) => b.hardware === hardware && b.models.includes(model) && b.heartbeatAgeSeconds < STALE_SECONDS,
  ).length
}

const DIALECTS: {
  engine: EngineName
  hardware: 'h20' | 'cpu'
  model: string
  slots?: number
  tracksLoad: boolean
}[] = [
  { engine: 'vllm', hardware: 'h20', model: GPU_MODEL, slots: 1, tracksLoad: true },
  { engine: 'sglang', hardware: 'h20', model: GPU_MODEL, slots: 1, tracksLoad: true },
  // llama.cpp says its slot count itself (`/props` total_slots): no --slots.
  { engine: 'llamacpp', hardware: 'cpu', model: CPU_MODEL, tracksLoad: true },
  { engine: 'tgi', hardware: 'h20', model: GPU_MODEL, slots: 1, tracksLoad: true },
  // A bare OpenAI-compatible server has no metrics: health and models only.
  { engine: 'openai', hardware: 'cpu', model: CPU_MODEL, slots: 1, tracksLoad: false },
]

describe.each(DIALECTS)(
  'spillway agent --engine $engine',
  ({ engine, hardware, model, slots, tracksLoad }) => {
    let backend: SimBackend
    let agent: BackendAgent
    const id = `${engine}-agent-1`
    const logs: string[] = []

    beforeAll(async () => {
      backend = await startSimBackend({
        id,
        hardware,
        engine,
        models: [model],
        maxNumSeqs: 1,
        speed: 0.02,
        apiKey: BACKEND_KEY,
        // One request holds the only sequence (stalled) so a second one waits: running 1, waiting 1.
        faults: { stallAfterTokens: 2 },
      })
      agent = startBackendAgent({
        engine,
        backendUrl: backend.url,
        gatewayUrl: stack.gatewayUrl,
        agentKey: AGENT_KEY,
        backendApiKey: BACKEND_KEY,
        id,
        hardware,
        slots,
        intervalMs: INTERVAL_MS,
        logger: { info: (line) => logs.push(line), warn: (line) => logs.push(line) },
      })
    })
    afterAll(async () => {
      await agent?.stop()
      await backend?.stop()
    })

    it('registers the backend with the models its /v1/models lists and its slot count', async () => {
      expect(await eventually(async () => (await adminBackend(id)) !== undefined)).toBe(true)
      expect(await adminBackend(id)).toMatchObject({ models: [model], maxConcurrency: 1 })
      // The backend is listed once its item is written; the agent's answer comes after its slot shards.
      const serving = `[agent ${id}] serving: registered as ${hardware}, 1 slots, models ${model}`
      expect(await eventually(async () => logs[logs.length - 1] === serving)).toBe(true)
    })

    it.runIf(tracksLoad)("shows the server's load on /admin/backends within two heartbeats", async () => {
      // Both calls end when the backend crashes below, which drops every connection.
      const calls = [1, 2].map(() =>
        fetch(`${backend.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${BACKEND_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hold' }], max_tokens: 20 }),
        })
          .then((response) => response.text())
          .catch(() => undefined),
      )
      expect(await eventually(() => backend.state().running === 1 && backend.state().waiting === 1)).toBe(
        true,
      )
      // Counted in heartbeats, not milliseconds: a loaded CI machine slows both sides alike.
      const before = agent.status().heartbeats
      expect(
        await eventually(async () => {
          const load = (await adminBackend(id))?.load
          return load?.running === 1 && load.waiting === 1
        }),
      ).toBe(true)
      expect(agent.status().heartbeats - before).toBeLessThanOrEqual(2)
      backend.crash()
      await Promise.all(calls)
      await backend.restart()
      backend.setFaults({ stallAfterTokens: 0 })
      expect(
        await eventually(async () => {
          const load = (await adminBackend(id))?.load
          return agent.status().state === 'serving' && load?.running === 0 && load.waiting === 0
        }),
      ).toBe(true)
    })

    it('leaves rotation when the server stops answering, and registers again when it is back', async () => {
      expect(
        await eventually(
          async () => (await inRotation(model, hardware)) > 0 && agent.status().state === 'serving',
        ),
      ).toBe(true)
      const registrations = agent.status().registrations
      backend.crash()
      expect(await eventually(() => agent.status().state === 'backend-down')).toBe(true)
      const heartbeats = agent.status().heartbeats
      // No heartbeat while it is down, so the gateway sees it go stale: out of rotation.
      expect(
        await eventually(async () => ((await adminBackend(id))?.heartbeatAgeSeconds ?? 0) > STALE_SECONDS),
      ).toBe(true)
      expect(agent.status().heartbeats).toBe(heartbeats)
      expect(logs.some((line) => line.startsWith(`[agent ${id}] backend-down: `))).toBe(true)

      await backend.restart()
      expect(await eventually(() => agent.status().registrations > registrations)).toBe(true)
      expect(
        await eventually(async () => ((await adminBackend(id))?.heartbeatAgeSeconds ?? 99) < STALE_SECONDS),
      ).toBe(true)
    })
  },
)

/** A vLLM-like simulator and an agent for it, its log lines collected; the agent options override. */
async function agentOnSim(options: {
  id: string
  maxNumSeqs: number
  agent: Partial<Parameters<typeof startBackendAgent>[0]>
}): Promise<{ backend: SimBackend; agent: BackendAgent; logs: string[]; stop(): Promise<void> }> {
  const backend = await startSimBackend({
    id: options.id,
    hardware: 'h20',
    models: [GPU_MODEL],
    maxNumSeqs: options.maxNumSeqs,
    speed: 0,
  })
  const logs: string[] = []
  const agent = startBackendAgent({
    engine: 'vllm',
    backendUrl: backend.url,
    gatewayUrl: stack.gatewayUrl,
    agentKey: AGENT_KEY,
    id: options.id,
    hardware: 'h20',
    intervalMs: INTERVAL_MS,
    logger: { info: (line) => logs.push(line), warn: (line) => logs.push(line) },
    ...options.agent,
  })
  return {
    backend,
    agent,
    logs,
    async stop() {
      await agent.stop()
      await backend.stop()
    },
  }
}

describe('spillway agent discovery', () => {
  it('ends in failed with a clear message when the engine does not report its slot count and --slots is absent', async () => {
    const { agent, stop } = await agentOnSim({ id: 'vllm-noslots', maxNumSeqs: 2, agent: {} })
    try {
      const end = await agent.finished
      expect(end.state).toBe('failed')
      expect(end.problem).toBe('vllm does not report how many requests it runs at once: pass --slots')
      expect(await adminBackend('vllm-noslots')).toBeUndefined()
    } finally {
      await stop()
    }
  })

  it("logs the gateway's own reason when it refuses the registration, and retries", async () => {
    const { agent, logs, stop } = await agentOnSim({
      id: 'bad-class',
      maxNumSeqs: 1,
      agent: { hardware: 'tpu-v9', slots: 1, intervalMs: 50, maxBackoffMs: 100 },
    })
    try {
      expect(await eventually(() => agent.status().state === 'gateway-error')).toBe(true)
      expect(agent.status().problem).toBe('registration refused: HTTP 400: Unknown hardware class "tpu-v9".')
      const warnings = logs.filter((line) => line.includes('gateway-error'))
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(logs.filter((line) => line.includes('gateway-error'))).toEqual(warnings)
    } finally {
      await stop()
    }
  })
})
