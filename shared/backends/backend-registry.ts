import type { BackendLoad, BackendRecord, BackendRegistration, BackendState } from './backend-record.ts'

/** Where backends register, heartbeat and drain. Registration keeps existing leases. */
export interface BackendRegistry {
  register(registration: BackendRegistration, now: number): Promise<BackendRecord>
  /** Undefined when the backend is not registered (the agent then registers again). */
  heartbeat(id: string, load: BackendLoad, now: number): Promise<BackendRecord | undefined>
  setState(id: string, state: BackendState): Promise<BackendRecord | undefined>
  deregister(id: string): Promise<boolean>
  get(id: string): Promise<BackendRecord | undefined>
  list(): Promise<BackendRecord[]>
}
