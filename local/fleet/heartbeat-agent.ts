/**
 * Registers one backend with the gateway and then reports its live load on an
 * interval, scraped from the backend's own `/metrics` (the numbers vLLM shows).
 *
 *   POST {gateway}/admin/backends                 { id, url, hardware, models, maxConcurrency }
 *   POST {gateway}/admin/backends/{id}/heartbeat  { running, waiting, kvCacheUsage }
 *
 * A 404 on heartbeat means the gateway forgot the backend: register again.
 * Problems are logged once when they start and once when they clear, not per
 * tick. When `/metrics` cannot be read no heartbeat is sent, so the gateway sees
 * the backend go stale, which is the truth.
 */
import { readVllmLoad, type VllmLoad } from './vllm-load.ts'

export interface AgentBackend {
  readonly id: string
  readonly url: string
  readonly hardware: string
  readonly models: readonly string[]
  readonly maxConcurrency: number
}

export interface HeartbeatAgentOptions {
  readonly backend: AgentBackend
  readonly gatewayUrl: string
  readonly agentKey: string
  readonly intervalMs: number
  /** Per HTTP call (default 2 s; ticks never overlap, a slow call only delays the next). */
  readonly timeoutMs?: number
  readonly logger?: Pick<Console, 'info' | 'warn'>
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

/** @example const agent = startHeartbeatAgent({ backend, gatewayUrl, agentKey: 'sk-spillway-admin', intervalMs: 1000 }) */
export function startHeartbeatAgent(options: HeartbeatAgentOptions): HeartbeatAgent {
  const { backend, logger = console } = options
  const gateway = options.gatewayUrl.replace(/\/+$/, '')
  const timeoutMs = options.timeoutMs ?? 2_000
  const stopping = new AbortController()
  let registered = false
  let heartbeats = 0
  let problem: string | undefined
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()

  // A problem's kind decides when to log; the detail (status, error code) is only reported.
  let problemKind: string | undefined
  const note = (kind?: string, detail?: string) => {
    if (kind === problemKind || stopping.signal.aborted) return
    if (kind) logger.warn(`[heartbeat ${backend.id}] ${detail}; retrying every ${options.intervalMs} ms`)
    else logger.info(`[heartbeat ${backend.id}] recovered: heartbeats flowing`)
    problemKind = kind
    problem = detail
  }

  const call = async (path: string, body: unknown): Promise<number | string> => {
    try {
      const response = await fetch(`${gateway}${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${options.agentKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(timeoutMs)]),
      })
      await response.body?.cancel()
      return response.status
    } catch (error) {
      return describeFailure(error)
    }
  }

  const register = async (): Promise<boolean> => {
    const { id, url, hardware, models, maxConcurrency } = backend
    const outcome = await call('/admin/backends', { id, url, hardware, models, maxConcurrency })
    registered = outcome === 200 || outcome === 201
    if (!registered) note('register', `registration failed: ${describeOutcome(outcome)}`)
    return registered
  }

  const tick = async () => {
    if (!registered && !(await register())) return
    const load = await scrape(backend.url, timeoutMs, stopping.signal)
    if (typeof load === 'string') return note('scrape', `cannot read ${backend.url}/metrics: ${load}`)
    const path = `/admin/backends/${encodeURIComponent(backend.id)}/heartbeat`
    let outcome = await call(path, load)
    if (outcome === 404) {
      note('unknown', 'gateway does not know this backend: registering again')
      if (!(await register())) return
      outcome = await call(path, load)
    }
    if (outcome !== 200) return note('heartbeat', `heartbeat failed: ${describeOutcome(outcome)}`)
    heartbeats++
    note()
  }

  const loop = () => {
    running = tick().finally(() => {
      if (!stopping.signal.aborted) timer = setTimeout(loop, options.intervalMs)
    })
  }
  loop()

  return {
    status: () => ({ registered, heartbeats, problem }),
    stop: async () => {
      stopping.abort()
      clearTimeout(timer)
      await running
    },
  }
}

async function scrape(url: string, timeoutMs: number, stopping: AbortSignal): Promise<VllmLoad | string> {
  try {
    const response = await fetch(`${url}/metrics`, {
      signal: AbortSignal.any([stopping, AbortSignal.timeout(timeoutMs)]),
    })
    if (!response.ok) return `HTTP ${response.status}`
    const read = readVllmLoad(await response.text())
    return read.ok ? read.load : read.reason
  } catch (error) {
    return describeFailure(error)
  }
}

function describeOutcome(outcome: number | string): string {
  return typeof outcome === 'number' ? `HTTP ${outcome}` : outcome
}

/** fetch hides the socket error in `cause`; its code is the stable part worth logging. */
function describeFailure(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined
  if (cause && typeof cause === 'object' && 'code' in cause) return String(cause.code)
  return error instanceof Error ? error.name : String(error)
}
