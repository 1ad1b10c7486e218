import type { BackendLoad, BackendRecord, BackendState } from '../backends/backend-record.ts'
import { IDLE_LOAD } from '../backends/backend-record.ts'
import type { BackendRegistry, RegisterBackendOptions } from '../backends/backend-registry.ts'
import {
  type AcquireOptions,
  type AcquireResult,
  type CapacityStore,
  type LeaseRef,
  MAX_RECLAIM_PER_WRITE,
  type TransferOptions,
} from './capacity-store.ts'

/**
 * Backends and leases in one process's memory, with the same conditions as the
 * DynamoDB adapter. For unit tests and for the benchmark that separates the
 * gateway's own cost from the store's; a single process only.
 */
export class MemoryBackendStore implements CapacityStore, BackendRegistry {
  readonly #backends = new Map<string, BackendRecord>()

  async snapshot(): Promise<BackendRecord[]> {
    return [...this.#backends.values()]
  }

  async read(backendIds: readonly string[]): Promise<BackendRecord[]> {
    return backendIds.flatMap((id) => this.#backends.get(id) ?? [])
  }

  async acquire(options: AcquireOptions): Promise<AcquireResult> {
    const backend = this.#backends.get(options.backendId)
    if (backend?.state !== 'active' || backend.heartbeatAt < options.staleBefore) {
      return { ok: false, reason: 'no-slot' }
    }
    if (options.leaseId in backend.leases) return { ok: false, reason: 'no-slot' }
    const leases = { ...backend.leases }
    const reclaim = options.reclaim.slice(0, MAX_RECLAIM_PER_WRITE)
    const reclaimable = reclaim.filter((id) => id in leases)
    if (reclaimable.some((id) => (leases[id] ?? 0) >= options.now)) return { ok: false, reason: 'no-slot' }
    // The same two branches as the DynamoDB condition: a free slot, or removing k expired
    // leases of the maximum the caller saw so that the write ends at or under it.
    const size = Object.keys(leases).length
    const slotFree = size < backend.maxConcurrency
    const reclaimFrees =
      options.maxConcurrency === backend.maxConcurrency &&
      reclaim.length > 0 &&
      reclaimable.length === reclaim.length &&
      size - reclaim.length + 1 <= backend.maxConcurrency
    if (!slotFree && !reclaimFrees) return { ok: false, reason: 'no-slot' }
    for (const id of reclaimable) delete leases[id]
    leases[options.leaseId] = options.expiresAt
    return { ok: true, backend: this.#put({ ...backend, leases }), leaseId: options.leaseId }
  }

  async renew(lease: LeaseRef & { expiresAt: number }): Promise<boolean> {
    const backend = this.#backends.get(lease.backendId)
    if (!backend || !(lease.leaseId in backend.leases)) return false
    this.#put({ ...backend, leases: { ...backend.leases, [lease.leaseId]: lease.expiresAt } })
    return true
  }

  async transfer(options: TransferOptions): Promise<BackendRecord | undefined> {
    const backend = this.#backends.get(options.backendId)
    if (!backend || !(options.leaseId in backend.leases)) return undefined
    if (backend.state !== 'active' || backend.heartbeatAt < options.staleBefore) return undefined
    if (Object.keys(backend.leases).length > backend.maxConcurrency) return undefined
    return this.#put({ ...backend, leases: { ...backend.leases, [options.leaseId]: options.expiresAt } })
  }

  async release(lease: LeaseRef): Promise<BackendRecord | undefined> {
    const backend = this.#backends.get(lease.backendId)
    if (!backend) return undefined
    const { [lease.leaseId]: _released, ...leases } = backend.leases
    const written = this.#put({ ...backend, leases })
    await this.purgeRemoved(backend.id)
    return written
  }

  async purgeRemoved(backendId: string): Promise<boolean> {
    const backend = this.#backends.get(backendId)
    if (backend?.state !== 'removed' || Object.keys(backend.leases).length > 0) return false
    return this.#backends.delete(backendId)
  }

  async openCircuit(options: { backendId: string; until: number }): Promise<BackendRecord | undefined> {
    const backend = this.#backends.get(options.backendId)
    if (!backend || (backend.circuitOpenUntil ?? 0) >= options.until) return undefined
    return this.#put({ ...backend, circuitOpenUntil: options.until })
  }

  async reclaimExpired(options: {
    backendId: string
    leaseIds: readonly string[]
    now: number
  }): Promise<number> {
    const backend = this.#backends.get(options.backendId)
    if (!backend) return 0
    const present = options.leaseIds.filter((id) => id in backend.leases)
    if (present.some((id) => (backend.leases[id] ?? 0) >= options.now)) return 0
    const leases = { ...backend.leases }
    for (const id of present) delete leases[id]
    this.#put({ ...backend, leases })
    return present.length
  }

  async register({ registration, now, by = 'admin' }: RegisterBackendOptions): Promise<BackendRecord> {
    const existing = this.#backends.get(registration.id)
    // As in DynamoDB: an agent only refreshes an existing backend; the admin keeps its drain state.
    if (existing && by === 'agent') return this.#put({ ...existing, heartbeatAt: now })
    const { circuitOpenUntil: _closed, ...kept } = existing ?? {}
    return this.#put({
      ...kept,
      ...registration,
      models: [...registration.models],
      state: existing?.state === 'draining' ? 'draining' : 'active',
      registeredAt: existing?.registeredAt ?? now,
      heartbeatAt: now,
      load: existing?.load ?? IDLE_LOAD,
      leases: existing?.leases ?? {},
    })
  }

  async heartbeat(options: {
    id: string
    load: BackendLoad
    now: number
  }): Promise<BackendRecord | undefined> {
    const { id, load, now } = options
    const backend = this.#backends.get(id)
    return backend && this.#put({ ...backend, load: { ...load }, heartbeatAt: now })
  }

  async setState(options: { id: string; state: BackendState }): Promise<BackendRecord | undefined> {
    const { id, state } = options
    const backend = this.#backends.get(id)
    if (!backend || backend.state === 'removed') return undefined
    return this.#put({ ...backend, state })
  }

  async deregister(id: string): Promise<boolean> {
    const backend = this.#backends.get(id)
    if (!backend) return false
    this.#put({ ...backend, state: 'removed' })
    await this.purgeRemoved(id)
    return true
  }

  async get(id: string): Promise<BackendRecord | undefined> {
    return this.#backends.get(id)
  }

  async list(): Promise<BackendRecord[]> {
    return [...this.#backends.values()].sort((a, b) => a.id.localeCompare(b.id))
  }

  #put(backend: BackendRecord): BackendRecord {
    this.#backends.set(backend.id, backend)
    return backend
  }
}
