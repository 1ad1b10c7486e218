/**
 * The agent that runs next to one model server: it finds out what the server
 * serves, registers it with the gateway and heartbeats its live load.
 *
 *   discovering ──▶ registering ──▶ serving ◀─┐ heartbeat every interval
 *        ▲               │  ▲          │      │
 *        │   refused: backoff ┘        ├──────┘
 *        │                             ├─ 404: the gateway forgot it ─▶ registering
 *        └──── backend-down ◀──────────┘ server unreachable: no heartbeat, so the
 *              (recovery re-registers)     backend goes stale and leaves rotation
 *
 * One log line per state change (and per heartbeat with `verbose`). A fatal
 * problem (no slot count anywhere) ends the agent in `failed`.
 */
import type { ApiKind } from '../backends/backend-apis.ts'
import { AgentGateway, type AgentRegistration, type GatewayAnswer } from './agent-gateway.ts'
import { type ProbeOptions, probeLoad, probeModels, probeSlots } from './backend-probe.ts'
import type { EngineLoad, EngineName } from './engine-dialects.ts'

export type AgentState =
  | 'discovering'
  | 'registering'
  | 'serving'
  | 'backend-down'
  | 'gateway-error'
  | 'failed'
  | 'stopped'

export interface BackendAgentOptions {
  readonly engine: EngineName
  readonly backendUrl: string
  readonly gatewayUrl: string
  readonly agentKey: string
  readonly id: string
  readonly hardware: string
  /** Default: the server's `/v1/models`, read again at every registration. */
  readonly models?: readonly string[] | undefined
  /** The OpenAI APIs the server serves (`--apis`); the gateway assumes chat and completions when absent. */
  readonly apis?: readonly ApiKind[] | undefined
  /** Default: what the server reports (llama.cpp `/props`, vLLM/SGLang config gauges); else fatal. */
  readonly slots?: number | undefined
  /** The URL the gateway should call, when it differs from the one the agent probes. */
  readonly advertiseUrl?: string | undefined
  readonly backendApiKey?: string | undefined
  readonly intervalMs: number
  /** Longest wait between registration attempts (default 30 s). */
  readonly maxBackoffMs?: number
  /** Per HTTP call (default 2 s). */
  readonly timeoutMs?: number
  readonly verbose?: boolean
  readonly logger?: AgentLogger
}

export interface AgentLogger {
  info(line: string): void
  warn(line: string): void
}

export interface BackendAgentStatus {
  readonly state: AgentState
  readonly registered: boolean
  readonly heartbeats: number
  readonly registrations: number
  /** Why the agent is not serving, if it is not. */
  readonly problem: string | undefined
  readonly registration: AgentRegistration | undefined
  readonly lastLoad: EngineLoad | undefined
}

export interface BackendAgent {
  status(): BackendAgentStatus
  /** Resolves when the agent ends: `failed` (fatal problem) or `stopped`. */
  readonly finished: Promise<BackendAgentStatus>
  /** Stops the loop; with `drain`, first asks the gateway to drain the backend. */
  stop(options?: { drain?: boolean }): Promise<void>
}

/** @example const agent = startBackendAgent({ engine: 'llamacpp', backendUrl, gatewayUrl, agentKey, id: 'cpu-1', hardware: 'cpu', intervalMs: 5000 }) */
export function startBackendAgent(options: BackendAgentOptions): BackendAgent {
  const logger = options.logger ?? console
  const timeoutMs = options.timeoutMs ?? 2_000
  const maxBackoffMs = Math.max(options.intervalMs, options.maxBackoffMs ?? 30_000)
  const stopping = new AbortController()
  const gateway = new AgentGateway({ ...options, timeoutMs, signal: stopping.signal })
  const probe: ProbeOptions = { ...options, timeoutMs, signal: stopping.signal }
  const tag = `[agent ${options.id}]`

  let state: AgentState = 'discovering'
  let problem: string | undefined
  let registration: AgentRegistration | undefined
  let registered = false
  let heartbeats = 0
  let registrations = 0
  let refusals = 0
  let lastLoad: EngineLoad | undefined
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  let finish: (status: BackendAgentStatus) => void = () => {}
  const finished = new Promise<BackendAgentStatus>((resolve) => {
    finish = resolve
  })

  const status = (): BackendAgentStatus => ({
    state,
    registered,
    heartbeats,
    registrations,
    problem,
    registration,
    lastLoad,
  })

  /** Logs only when the state changes, so a long outage is one line, not one per tick. */
  const enter = (next: AgentState, detail?: string) => {
    problem = next === 'serving' || next === 'registering' ? undefined : detail
    if (next === state || stopping.signal.aborted) return
    state = next
    const line = `${tag} ${next}${detail ? `: ${detail}` : ''}`
    if (next === 'backend-down' || next === 'gateway-error' || next === 'failed') logger.warn(line)
    else logger.info(line)
  }

  const discover = async (): Promise<AgentRegistration | 'retry' | 'fatal'> => {
    const models = options.models?.length
      ? { ok: true as const, value: [...options.models] }
      : await probeModels(probe)
    if (!models.ok) {
      enter('backend-down', `cannot list models: ${models.reason}`)
      return 'retry'
    }
    let slots = options.slots
    if (slots === undefined) {
      const found = await probeSlots(probe)
      if (!found.ok) {
        enter('backend-down', `cannot read the slot count: ${found.reason}`)
        return 'retry'
      }
      if (found.value === undefined) {
        enter('failed', `${options.engine} does not report how many requests it runs at once: pass --slots`)
        return 'fatal'
      }
      slots = found.value
    }
    const url = (options.advertiseUrl ?? options.backendUrl).replace(/\/+$/, '')
    return {
      id: options.id,
      url,
      hardware: options.hardware,
      models: models.value,
      maxConcurrency: slots,
      ...(options.apis?.length ? { apis: [...options.apis] } : {}),
    }
  }

  const register = async (): Promise<boolean | 'fatal'> => {
    const load = await probeLoad(probe)
    if (!load.ok) {
      enter('backend-down', load.reason)
      return false
    }
    const found = await discover()
    if (found === 'fatal') return 'fatal'
    if (found === 'retry') return false
    // A retry after a refusal stays in gateway-error: one line per outage, not two per attempt.
    if (state === 'discovering' || state === 'backend-down') {
      enter('registering', `${options.engine} server at ${options.backendUrl}`)
    }
    // Known before the answer: a stop that cuts the call short must still be able to drain it.
    registration = found
    const answer = await gateway.register(found)
    if (!answer.ok) return refused('registration refused', answer)
    registered = true
    registrations++
    refusals = 0
    const { hardware, maxConcurrency, models } = found
    enter('serving', `registered as ${hardware}, ${maxConcurrency} slots, models ${models.join(', ')}`)
    return true
  }

  const refused = (what: string, answer: GatewayAnswer & { ok: false }): false => {
    refusals++
    enter('gateway-error', `${what}: ${answer.reason}`)
    return false
  }

  const tick = async (): Promise<'again' | 'backoff' | 'fatal'> => {
    if (!registered) {
      const outcome = await register()
      if (outcome === 'fatal') return 'fatal'
      if (!outcome) return state === 'gateway-error' ? 'backoff' : 'again'
    }
    const load = await probeLoad(probe)
    if (!load.ok) {
      // The server went away: stop heartbeating so the gateway sees it go stale,
      // and register afresh when it answers again (it may have restarted with other models).
      registered = false
      enter('backend-down', `${load.reason}; no heartbeats until it answers`)
      return 'again'
    }
    const id = registration?.id ?? options.id
    let answer = await gateway.heartbeat(id, load.value)
    if (!answer.ok && answer.status === 404) {
      registered = false
      enter('registering', 'the gateway does not know this backend: registering again')
      const again = await register()
      if (again !== true) return again === 'fatal' ? 'fatal' : 'backoff'
      answer = await gateway.heartbeat(id, load.value)
    }
    if (!answer.ok) {
      refused('heartbeat refused', answer)
      return 'again'
    }
    heartbeats++
    lastLoad = load.value
    enter('serving')
    if (options.verbose) {
      const { running, waiting, kvCacheUsage } = load.value
      logger.info(`${tag} heartbeat running=${running} waiting=${waiting} kv=${kvCacheUsage.toFixed(3)}`)
    }
    return 'again'
  }

  const end = (final: AgentState) => {
    if (final === 'stopped') state = 'stopped'
    finish(status())
  }

  const loop = () => {
    running = tick().then(
      (next) => {
        if (stopping.signal.aborted) return
        if (next === 'fatal') return end('failed')
        const backoff = Math.min(maxBackoffMs, options.intervalMs * 2 ** Math.max(0, refusals - 1))
        timer = setTimeout(loop, next === 'backoff' ? backoff : options.intervalMs)
      },
      (error: unknown) => {
        // A bug, not an outage: say so and keep going rather than silently stop heartbeating.
        logger.warn(`${tag} unexpected error: ${error instanceof Error ? error.message : String(error)}`)
        if (!stopping.signal.aborted) timer = setTimeout(loop, options.intervalMs)
      },
    )
  }
  loop()

  return {
    status,
    finished,
    stop: async (stopOptions = {}) => {
      if (stopping.signal.aborted) return
      stopping.abort()
      clearTimeout(timer)
      await running
      if (stopOptions.drain && registration) {
        const answer = await gateway.drain(registration?.id ?? options.id)
        if (answer.ok) logger.info(`${tag} drained: the gateway sends it no new work`)
        else logger.warn(`${tag} drain refused (${answer.reason}); the backend goes stale instead`)
      }
      logger.info(`${tag} stopped`)
      end('stopped')
    },
  }
}
