/**
 * The simulator's heartbeat agent: the product agent (`shared/agent/`), the one
 * operators run next to a real vLLM or llama.cpp, pointed at one simulated
 * backend in its own dialect. Models and slots come from the simulator's
 * spec, so the local stack registers without waiting for discovery.
 */
import { startBackendAgent } from '../../shared/agent/backend-agent.ts'
import type { EngineName } from '../../shared/agent/engine-dialects.ts'
import type { ApiKind } from '../../shared/backends/backend-apis.ts'

export interface AgentBackend {
  readonly id: string
  readonly url: string
  readonly hardware: string
  readonly models: readonly string[]
  readonly maxConcurrency: number
  /** The OpenAI APIs it serves (what the simulator answers for its models). */
  readonly apis?: readonly ApiKind[]
  /** The metric dialect the backend speaks; vLLM when absent. */
  readonly engine?: EngineName
}

export interface HeartbeatAgentOptions {
  readonly backend: AgentBackend
  readonly gatewayUrl: string
  readonly agentKey: string
  readonly intervalMs: number
  /** Per HTTP call (default 2 s; ticks never overlap, a slow call only delays the next). */
  readonly timeoutMs?: number
  readonly logger?: Pick<Console, 'info' | 'warn'>
  readonly verbose?: boolean
}

export interface HeartbeatAgentStatus {
  readonly registered: boolean
  readonly heartbeats: number
  /** The current problem, if any. */
  readonly problem: string | undefined
}

export interface HeartbeatAgent {
  status(): HeartbeatAgentStatus
  stop(): Promise<void>
}

/** @example const agent = startHeartbeatAgent({ backend, gatewayUrl, agentKey: 'sk-spillway-agent', intervalMs: 1000 }) */
export function startHeartbeatAgent(options: HeartbeatAgentOptions): HeartbeatAgent {
  const { backend } = options
  const agent = startBackendAgent({
    engine: backend.engine ?? 'vllm',
    backendUrl: backend.url,
    gatewayUrl: options.gatewayUrl,
    agentKey: options.agentKey,
    id: backend.id,
    hardware: backend.hardware,
    models: backend.models,
    slots: backend.maxConcurrency,
    ...(backend.apis ? { apis: backend.apis } : {}),
    intervalMs: options.intervalMs,
    // Local registrations never need a long backoff: the gateway is in the same process.
    maxBackoffMs: Math.max(options.intervalMs, 1_000),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.verbose ? { verbose: true } : {}),
  })
  return {
    status: () => {
      const { registered, heartbeats, problem } = agent.status()
      return { registered, heartbeats, problem }
    },
    stop: () => agent.stop(),
  }
}
