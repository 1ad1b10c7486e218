import type {
  BackendLoad,
  BackendRecord,
  BackendRegistration,
  BackendState,
  Registrant,
} from './backend-record.ts'

/**
 * Where backends register, heartbeat and drain. Registration keeps existing leases
 * and the admin's state (a drained backend stays drained). An agent's registration
 * of a backend that exists changes nothing but its heartbeat: one shared agent key
 * must not be able to re-point, resize, undrain or close the circuit of any backend.
 */
export interface RegisterBackendOptions {
  readonly registration: BackendRegistration
  readonly now: number
  /** Who registers: an agent only refreshes an existing backend's heartbeat. Default admin. */
  readonly by?: Registrant
}

export interface BackendRegistry {
  register(options: RegisterBackendOptions): Promise<BackendRecord>
  /** Undefined when the backend is not registered (the agent then registers again). */
  heartbeat(options: { id: string; load: BackendLoad; now: number }): Promise<BackendRecord | undefined>
  /** Undefined when the backend is not registered or removed. */
  setState(options: { id: string; state: BackendState }): Promise<BackendRecord | undefined>
  /**
   * Takes the backend out of rotation for good. Deleted at once when nothing holds a
   * lease on it, else kept as a `removed` tombstone until its leases end. False when unknown.
   */
  deregister(id: string): Promise<boolean>
  get(id: string): Promise<BackendRecord | undefined>
  list(): Promise<BackendRecord[]>
}
