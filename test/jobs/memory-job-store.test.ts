import { describe } from 'vitest'
import { MemoryJobStore } from '../../shared/jobs/memory-job-store.ts'
import { jobStoreContract } from './job-store-contract.ts'

describe('Class: MemoryJobStore', () => {
  jobStoreContract(() => new MemoryJobStore())
})
