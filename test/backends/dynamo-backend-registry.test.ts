import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAws, startLocalAws } from '../../local/emulators.ts'
import { destroyAwsClients } from '../../shared/aws/clients.ts'
import type { BackendRegistration } from '../../shared/backends/backend-record.ts'
import { DynamoBackendRegistry } from '../../shared/backends/dynamo-backend-registry.ts'
import { DynamoCapacityStore } from '../../shared/capacity/dynamo-capacity-store.ts'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import type { JobStore } from '../../shared/jobs/job-store.ts'
import { reap } from '../../shared/reaper/reaper.ts'
import { clientsFor } from '../support/aws.ts'
import { DYNAMO_ENGINES } from '../support/dynamo-engines.ts'

const T0 = 1_800_000_000_000
const TTL = 60_000

type Stores = {
  registry: DynamoBackendRegistry | MemoryBackendStore
  capacity: DynamoCapacityStore | MemoryBackendStore
}

const engines = [...DYNAMO_ENGINES, 'memory'] as const

describe.each(engines)('Class: BackendRegistry on %s', (engine) => {
  let aws: LocalAws | undefined
  let clients: ReturnType<typeof clientsFor> | undefined
  let stores: Stores

  beforeAll(async () => {
    if (engine === 'memory') {
      const memory = new MemoryBackendStore()
      stores = { registry: memory, capacity: memory }
      return
    }
    aws = await startLocalAws({ dynamodb: engine, prefix: `reg-${engine}` })
    clients = clientsFor(aws)
    const table = { doc: clients.doc, tableName: aws.names.tables.backends }
    stores = { registry: new DynamoBackendRegistry(table), capacity: new DynamoCapacityStore(table) }
  })
  afterAll(async () => {
    if (clients) destroyAwsClients(clients)
    await aws?.stop()
  })

  const registration = (id: string, overrides: Partial<BackendRegistration> = {}): BackendRegistration => ({
    id,
    url: 'http://127.0.0.1:9001',
    hardware: 'h20',
    models: ['m'],
    maxConcurrency: 2,
    ...overrides,
  })
  const acquire = (backendId: string, leaseId: string, now = T0) =>
    stores.capacity.acquire({ backendId, leaseId, now, expiresAt: now + TTL, staleBefore: 0, reclaim: [] })
  /** The lease as the store keeps it (a store may prefix the caller's id with where it wrote it). */
  const hold = async (backendId: string, leaseId: string) => {
    const acquired = await acquire(backendId, leaseId)
    if (!acquired.ok) throw new Error(`no slot on ${backendId}`)
    return acquired.leaseId
  }

  describe('Method: heartbeat', () => {
    it('records the load and answers with the leases the backend holds', async () => {
      await stores.registry.register({
        registration: registration('beating', { maxConcurrency: 3 }),
        now: T0,
      })
      const held = await hold('beating', 'running')

      const answer = await stores.registry.heartbeat({
        id: 'beating',
        load: { running: 1, waiting: 0, kvCacheUsage: 0.25 },
        now: T0 + 1_000,
      })

      expect(answer).toMatchObject({ heartbeatAt: T0 + 1_000, load: { running: 1, kvCacheUsage: 0.25 } })
      expect(Object.keys(answer?.leases ?? {})).toEqual([held])
      expect(
        await stores.registry.heartbeat({
          id: 'never-registered',
          load: { running: 0, waiting: 0, kvCacheUsage: 0 },
          now: T0,
        }),
      ).toBeUndefined()
    })
  })

  describe('Method: register', () => {
    it('creates a backend for an agent, active and with no leases', async () => {
      const backend = await stores.registry.register({
        registration: registration('new'),
        now: T0,
        by: 'agent',
      })

      expect(backend).toMatchObject({ id: 'new', state: 'active', maxConcurrency: 2, leases: {} })
    })

    // Defect 7: one shared agent key could re-point and resize any backend, undo a drain
    // and close an open circuit by re-registering it.
    it("lets an agent's re-registration change nothing but the heartbeat", async () => {
      await stores.registry.register({ registration: registration('owned'), now: T0, by: 'admin' })
      await stores.registry.setState({ id: 'owned', state: 'draining' })
      await stores.capacity.openCircuit({ backendId: 'owned', until: T0 + 600_000 })

      const after = await stores.registry.register({
        registration: registration('owned', {
          url: 'http://10.0.0.66:80',
          maxConcurrency: 64,
          models: ['other'],
        }),
        now: T0 + 5_000,
        by: 'agent',
      })

      expect(after).toMatchObject({
        url: 'http://127.0.0.1:9001',
        maxConcurrency: 2,
        models: ['m'],
        state: 'draining',
        circuitOpenUntil: T0 + 600_000,
        heartbeatAt: T0 + 5_000,
      })
    })

    it("keeps the admin's drain on the admin's own re-registration, and applies its new settings", async () => {
      await stores.registry.register({ registration: registration('drained'), now: T0, by: 'admin' })
      await stores.registry.setState({ id: 'drained', state: 'draining' })
      await stores.capacity.openCircuit({ backendId: 'drained', until: T0 + 600_000 })

      const after = await stores.registry.register({
        registration: registration('drained', { maxConcurrency: 8 }),
        now: T0,
        by: 'admin',
      })

      expect(after).toMatchObject({ state: 'draining', maxConcurrency: 8 })
      expect(after.circuitOpenUntil).toBeUndefined()
    })
  })

  describe('Method: deregister', () => {
    it('deletes a backend nothing holds a lease on', async () => {
      await stores.registry.register({ registration: registration('idle'), now: T0 })

      expect(await stores.registry.deregister('idle')).toBe(true)
      expect(await stores.registry.get('idle')).toBeUndefined()
      expect(await stores.registry.deregister('idle')).toBe(false)
    })

    // Defect 3: deregistering deleted the item with its leases; the agent's next heartbeat
    // re-registered it empty while the old requests still ran (peak 4 on a 2-slot backend).
    it('keeps a leased backend as a tombstone whose slots a re-registration does not hand out again', async () => {
      await stores.registry.register({ registration: registration('busy'), now: T0 })
      const running = [await hold('busy', 'running-1'), await hold('busy', 'running-2')].sort()

      await stores.registry.deregister('busy')
      const tombstone = await stores.registry.get('busy')
      const refusedWhileRemoved = await acquire('busy', 'new-1')
      await stores.registry.register({ registration: registration('busy'), now: T0 + 1_000, by: 'agent' })
      const stillRemoved = await stores.registry.get('busy')
      const readded = await stores.registry.register({
        registration: registration('busy'),
        now: T0 + 2_000,
        by: 'admin',
      })
      const refusedWhileFull = await acquire('busy', 'new-2', T0 + 2_000)

      expect(tombstone).toMatchObject({ state: 'removed' })
      expect(Object.keys(tombstone?.leases ?? {}).sort()).toEqual(running)
      expect(refusedWhileRemoved.ok).toBe(false)
      expect(stillRemoved?.state).toBe('removed')
      expect(readded.state).toBe('active')
      expect(Object.keys(readded.leases).sort()).toEqual(running)
      expect(refusedWhileFull.ok).toBe(false)
    })

    it('deletes the tombstone when its last lease is released', async () => {
      await stores.registry.register({ registration: registration('draining-out'), now: T0 })
      const a = await hold('draining-out', 'a')
      const b = await hold('draining-out', 'b')
      await stores.registry.deregister('draining-out')

      await stores.capacity.release({ backendId: 'draining-out', leaseId: a })
      const oneLeft = await stores.registry.get('draining-out')
      await stores.capacity.release({ backendId: 'draining-out', leaseId: b })

      expect(oneLeft?.state).toBe('removed')
      expect(await stores.registry.get('draining-out')).toBeUndefined()
    })

    it('is purged by the reaper once the leases of its dead holders expired', async () => {
      await stores.registry.register({ registration: registration('crashed-holders'), now: T0 })
      await acquire('crashed-holders', 'dead')
      await stores.registry.deregister('crashed-holders')

      await reap({
        capacity: stores.capacity,
        jobs: emptyJobs,
        queue: { send: async () => undefined } as never,
        clock: () => T0 + TTL + 1,
      })

      expect(await stores.registry.get('crashed-holders')).toBeUndefined()
    })

    it('cannot be undone by undrain', async () => {
      await stores.registry.register({ registration: registration('no-undrain'), now: T0 })
      await acquire('no-undrain', 'held')
      await stores.registry.deregister('no-undrain')

      expect(await stores.registry.setState({ id: 'no-undrain', state: 'active' })).toBeUndefined()
      expect((await stores.registry.get('no-undrain'))?.state).toBe('removed')
    })
  })
})

/** The reaper's job sweeps find nothing: only its lease sweep is under test here. */
const emptyJobs = {
  listDue: async () => [],
  listWebhooksDue: async () => [],
} as unknown as JobStore
