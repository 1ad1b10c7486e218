/** A backend as the gateway sees it: identity, capacity, live load and its slot leases. */

import { type ApiKind, backendApis } from './backend-apis.ts'

/**
 * `removed`: deregistered while requests still held leases. The item stays as a
 * tombstone, out of rotation with its leases, until they end or expire (then the
 * release or the reaper deletes it), so a re-registration never hands out slots
 * that running requests still hold.
 */
export type BackendState = 'active' | 'draining' | 'removed'

/** Live load a backend reports with its heartbeat, in vLLM's terms. */
export interface BackendLoad {
  /** `vllm:num_requests_running` */
  readonly running: number
  /** `vllm:num_requests_waiting` */
  readonly waiting: number
  /** `vllm:kv_cache_usage_perc`, 0..1 */
  readonly kvCacheUsage: number
}

export interface BackendRegistration {
  readonly id: string
  readonly url: string
  readonly hardware: string
  readonly models: readonly string[]
  readonly maxConcurrency: number
  /** The OpenAI APIs it serves; absent (an older agent) means `DEFAULT_BACKEND_APIS`. */
  readonly apis?: readonly ApiKind[]
}

/** Who registers: the admin may change a registered backend; an agent only refreshes it. */
export type Registrant = 'admin' | 'agent'

export interface BackendRecord extends BackendRegistration {
  readonly state: BackendState
  readonly registeredAt: number
  /** Epoch ms of the last heartbeat; a stale backend counts as full. */
  readonly heartbeatAt: number
  readonly load: BackendLoad
  /** Lease id → expiry (epoch ms). A lease past its expiry no longer holds a slot. */
  readonly leases: Readonly<Record<string, number>>
  /**
   * Epoch ms until which some process's circuit breaker holds this backend open:
   * every process skips it meanwhile instead of each finding out by failing.
   */
  readonly circuitOpenUntil?: number
}

export const IDLE_LOAD: BackendLoad = Object.freeze({ running: 0, waiting: 0, kvCacheUsage: 0 })

export function liveLeaseCount(backend: BackendRecord, now: number): number {
  let live = 0
  for (const expiresAt of Object.values(backend.leases)) if (expiresAt >= now) live++
  return live
}

export function expiredLeaseIds(backend: BackendRecord, now: number): string[] {
  return Object.entries(backend.leases)
    .filter(([, expiresAt]) => expiresAt < now)
    .map(([leaseId]) => leaseId)
}

export function freeSlots(backend: BackendRecord, now: number): number {
  return Math.max(0, backend.maxConcurrency - liveLeaseCount(backend, now))
}

/** Whether a backend may take new work at all (slots aside). */
export function isInRotation(backend: BackendRecord, staleBefore: number): boolean {
  return backend.state === 'active' && backend.heartbeatAt >= staleBefore
}

/** Whether a process's circuit breaker has taken this backend out for everyone. */
export function circuitOpenForAll(backend: BackendRecord, now: number): boolean {
  return (backend.circuitOpenUntil ?? 0) > now
}

/** What clients and admin tools may see: everything but the lease ids. */
export function describeBackend(backend: BackendRecord, now: number) {
  return {
    id: backend.id,
    url: backend.url,
    hardware: backend.hardware,
    models: backend.models,
    apis: backendApis(backend),
    state: backend.state,
    maxConcurrency: backend.maxConcurrency,
    leases: liveLeaseCount(backend, now),
    freeSlots: freeSlots(backend, now),
    load: backend.load,
    heartbeatAt: new Date(backend.heartbeatAt).toISOString(),
    heartbeatAgeSeconds: Math.max(0, (now - backend.heartbeatAt) / 1000),
    ...(circuitOpenForAll(backend, now)
      ? { circuitOpenUntil: new Date(backend.circuitOpenUntil ?? now).toISOString() }
      : {}),
  }
}
