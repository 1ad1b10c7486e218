import type { BackendRecord } from '../backends/backend-record.ts'
import { circuitOpenForAll, liveLeaseCount } from '../backends/backend-record.ts'
import type { CircuitState } from '../router/circuit-breakers.ts'

/** `litellm_deployment_state`'s scale: 0 healthy, 1 degraded, 2 out. */
export type HealthLevel = 0 | 1 | 2

export interface BackendHealth {
  readonly level: HealthLevel
  /** Why it is not healthy (`stale`, `circuit-open`, `draining`, …); empty when healthy. */
  readonly reasons: readonly string[]
  readonly leased: number
  readonly free: number
}

export interface HealthContext {
  readonly now: number
  readonly heartbeatStaleMs: number
  /** This process's breaker for the backend. */
  readonly circuit: (backendId: string) => CircuitState
}

/** Above this KV-cache usage a backend is near preemption: degraded, though still routable. */
const HIGH_KV_USAGE = 0.9

/**
 * A backend's health as operators read it. Out means it gets no new work (stale
 * heartbeat, circuit open here or on its item); degraded means it still does but
 * something is off (draining finishes its leases but takes no new ones, a nearly
 * full KV cache preempts, a half-open circuit lets one probe through at a time). Slots are the lease map's: leased and free add up to
 * `maxConcurrency` whatever the health.
 */
export function backendHealth(backend: BackendRecord, context: HealthContext): BackendHealth {
  const leased = Math.min(backend.maxConcurrency, liveLeaseCount(backend, context.now))
  const free = backend.maxConcurrency - leased
  const out: string[] = []
  const degraded: string[] = []
  if (backend.heartbeatAt < context.now - context.heartbeatStaleMs) out.push('stale')
  const circuit = context.circuit(backend.id)
  if (circuit === 'open' || circuitOpenForAll(backend, context.now)) out.push('circuit-open')
  else if (circuit === 'half-open') degraded.push('circuit-half-open')
  if (backend.state === 'draining') degraded.push('draining')
  if (backend.load.kvCacheUsage >= HIGH_KV_USAGE) degraded.push('kv-cache-high')
  const level: HealthLevel = out.length ? 2 : degraded.length ? 1 : 0
  return { level, reasons: [...out, ...degraded], leased, free }
}
