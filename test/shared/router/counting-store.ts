import type {
  AcquireOptions,
  AcquireResult,
  LeaseRef,
  TransferOptions,
} from '../../../shared/capacity/capacity-store.ts'
import { MemoryBackendStore } from '../../../shared/capacity/memory-backend-store.ts'

/** The memory store, counting the slot writes of every process that shares it. */
export class CountingStore extends MemoryBackendStore {
  readonly writes = { acquire: 0, release: 0, transfer: 0, read: 0 }
  override acquire(options: AcquireOptions): Promise<AcquireResult> {
    this.writes.acquire++
    return super.acquire(options)
  }
  override release(lease: LeaseRef) {
    this.writes.release++
    return super.release(lease)
  }
  override transfer(options: TransferOptions) {
    this.writes.transfer++
    return super.transfer(options)
  }
  override read(ids: readonly string[]) {
    this.writes.read++
    return super.read(ids)
  }
}
