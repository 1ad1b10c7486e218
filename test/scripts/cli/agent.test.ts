import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CPU_MODEL } from '../../../local/fleet/hardware-profiles.ts'
import { startSimBackend } from '../../../local/fleet/sim-backend.ts'
import type { LocalStack } from '../../../local/local-stack.ts'
import { runAgentCommand } from '../../../scripts/cli/agent.ts'
import { ADMIN_KEY, BACKEND_KEY, eventually, startTestStack } from '../../support/gateway-stack.ts'

function captureLogger() {
  const lines: string[] = []
  return {
    lines,
    logger: {
      info: (l: string) => lines.push(l),
      warn: (l: string) => lines.push(l),
      error: (l: string) => lines.push(l),
    },
  }
}

describe('runAgentCommand usage', () => {
  it('answers 2 and names every problem at once, without starting anything', async () => {
    const { lines, logger } = captureLogger()
    const code = await runAgentCommand(
      ['--engine', 'ollama', '--backend-url', 'localhost:8000', '--slots', '0', '--apis', 'chat,rerank'],
      {
        env: {},
        logger,
      },
    )
    expect(code).toBe(2)
    expect(lines[0]).toContain('--gateway is required; --id is required; --hardware is required')
    expect(lines[0]).toContain('--engine must be one of vllm, sglang, llamacpp, tgi, openai')
    expect(lines[0]).toContain('--backend-url must be an http(s) URL')
    expect(lines[0]).toContain('--slots must be a whole number ≥ 1')
    expect(lines[0]).toContain('--apis takes chat, completions, embeddings, responses (not rerank)')
    expect(lines[0]).toContain('no agent key: set SPILLWAY_AGENT_KEY or pass --agent-key-file')
  })

  it('refuses an unknown flag, so a typo never runs an agent with defaults', async () => {
    const { lines, logger } = captureLogger()
    expect(await runAgentCommand(['--engin', 'vllm'], { env: {}, logger })).toBe(2)
    expect(lines[0]).toContain("Unknown option '--engin'")
  })
})

describe('runAgentCommand against a local gateway', () => {
  let stack: LocalStack
  beforeAll(async () => {
    stack = await startTestStack({ fleet: 'cpu=1x1' })
    await stack.ready()
  }, 60_000)
  afterAll(() => stack?.stop())

  it('registers a llama.cpp server from its /props and /v1/models, and drains it on SIGTERM', async () => {
    const backend = await startSimBackend({
      id: 'cpu-llama',
      hardware: 'cpu',
      engine: 'llamacpp',
      models: [CPU_MODEL],
      maxNumSeqs: 3,
      speed: 0,
      apiKey: BACKEND_KEY,
    })
    const { lines, logger } = captureLogger()
    const stop = new AbortController()
    const list = async () =>
      (
        (await (
          await fetch(`${stack.gatewayUrl}/admin/backends`, {
            headers: { authorization: `Bearer ${ADMIN_KEY}` },
          })
        ).json()) as { data: { id: string; state: string; maxConcurrency: number; models: string[] }[] }
      ).data.find((b) => b.id === 'cpu-llama')
    try {
      const exit = runAgentCommand(
        [
          '--engine=llamacpp',
          `--backend-url=${backend.url}`,
          `--gateway=${stack.gatewayUrl}`,
          '--id=cpu-llama',
          '--hardware=cpu',
          '--interval-seconds=0.1',
          '--drain-on-exit',
        ],
        // The admin key may drain; an agent key alone may only register and heartbeat.
        {
          env: { SPILLWAY_AGENT_KEY: ADMIN_KEY, SPILLWAY_BACKEND_API_KEY: BACKEND_KEY },
          signal: stop.signal,
          logger,
        },
      )
      expect(await eventually(async () => (await list()) !== undefined)).toBe(true)
      expect(await list()).toMatchObject({ state: 'active', maxConcurrency: 3, models: [CPU_MODEL] })
      expect(await eventually(() => lines.some((line) => line.startsWith('[agent cpu-llama] serving')))).toBe(
        true,
      )
      stop.abort()
      expect(await exit).toBe(0)
      expect(await list()).toMatchObject({ state: 'draining' })
      expect(lines).toContain('[agent cpu-llama] drained: the gateway sends it no new work')
      expect(lines.at(-1)).toBe('[agent cpu-llama] stopped')
    } finally {
      await backend.stop()
    }
  })
})
