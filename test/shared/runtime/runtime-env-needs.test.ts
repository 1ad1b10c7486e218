import { describe, expect, it } from 'vitest'
import { destroyAwsClients } from '../../../shared/aws/clients.ts'
import { createAwsAdapters } from '../../../shared/runtime/aws-adapters.ts'
import { FUNCTION_NEEDS } from '../../../shared/runtime/env-names.ts'
import { readRuntimeEnv, tableName } from '../../../shared/runtime/runtime-env.ts'

const WORKER_ENV = {
  SPILLWAY_TABLE_BACKENDS: 'backends',
  SPILLWAY_TABLE_JOBS: 'jobs',
  SPILLWAY_QUEUE_INTERACTIVE_URL: 'http://127.0.0.1:1/interactive',
  SPILLWAY_QUEUE_BATCH_URL: 'http://127.0.0.1:1/batch',
}

describe("Function: readRuntimeEnv with a function's needs", () => {
  it('starts a worker without the tenants table, and refuses to hand it one', () => {
    // Act
    const env = readRuntimeEnv(WORKER_ENV, FUNCTION_NEEDS.worker)
    // Assess
    expect(env.tables).toEqual({ backends: 'backends', jobs: 'jobs' })
    expect(() => tableName(env, 'tenants')).toThrow(/SPILLWAY_TABLE_TENANTS is not set/)
    const adapters = createAwsAdapters(env)
    try {
      expect(adapters.jobs).toBeDefined()
      expect(() => adapters.tenants).toThrow(/tenants table/)
    } finally {
      destroyAwsClients(adapters.clients)
    }
  })

  it('starts the DLQ handler on the jobs table alone', () => {
    const env = readRuntimeEnv({ SPILLWAY_TABLE_JOBS: 'jobs' }, FUNCTION_NEEDS.dlq)
    expect(env.tables).toEqual({ jobs: 'jobs' })
    expect(env.queues).toBeUndefined()
  })

  it('names every variable a function needs and lacks, in one error', () => {
    expect(() => readRuntimeEnv({ SPILLWAY_TABLE_JOBS: 'jobs' }, FUNCTION_NEEDS.reaper)).toThrow(
      'Missing environment variables: SPILLWAY_TABLE_BACKENDS, SPILLWAY_QUEUE_INTERACTIVE_URL, SPILLWAY_QUEUE_BATCH_URL',
    )
    // Without needs: everything, as the local stack and the Node gateway run it.
    expect(() => readRuntimeEnv(WORKER_ENV)).toThrow('Missing environment variables: SPILLWAY_TABLE_TENANTS')
  })
})
