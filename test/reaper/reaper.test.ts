import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAws, startLocalAws } from '../../local/emulators.ts'
import type { JobRecord } from '../../shared/jobs/job-record.ts'
import { parseJobMessage } from '../../shared/queue/job-queue.ts'
import { reap } from '../../shared/reaper/reaper.ts'
import { type AwsAdapters, createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { queuedJobRecord } from '../jobs/support/job-fixture.ts'
import { receiveOne } from '../support/aws.ts'

let aws: LocalAws
let adapters: AwsAdapters
const T0 = 1_800_000_000_000

beforeAll(async () => {
  aws = await startLocalAws()
  adapters = createAwsAdapters(readRuntimeEnv(aws.env))
})
afterAll(async () => {
  adapters.clients.dynamo.destroy()
  adapters.clients.sqs.destroy()
  await aws.stop()
})

function job(overrides: Partial<JobRecord> = {}): JobRecord {
  return queuedJobRecord({ at: T0, ...overrides })
}

const sweepAt = (now: number) =>
  reap({
    capacity: adapters.capacity,
    jobs: adapters.jobs,
    queue: adapters.queue,
    clock: () => now,
    outboxGraceMs: 1_000,
  })

async function messagesOn(queueUrl: string): Promise<string[]> {
  const ids: string[] = []
  for (;;) {
    const message = await receiveOne(adapters.clients.sqs, {
      queueUrl,
      waitSeconds: 0,
      visibilityTimeout: 60,
    })
    if (!message) return ids
    ids.push(parseJobMessage(message.Body ?? '')?.jobId ?? '?')
  }
}

describe('Function: reap', () => {
  it('reclaims the expired leases of a holder that died and keeps live ones', async () => {
    await adapters.registry.register({
      registration: {
        id: 'gpu-1',
        url: 'http://127.0.0.1:1',
        hardware: 'h20',
        models: ['m'],
        maxConcurrency: 2,
      },
      now: T0,
    })
    const lease = (leaseId: string, expiresAt: number) =>
      adapters.capacity.acquire({
        backendId: 'gpu-1',
        leaseId,
        now: T0,
        expiresAt,
        staleBefore: 0,
        reclaim: [],
      })
    await lease('dead', T0 + 1_000)
    const alive = await lease('alive', T0 + 60_000)
    const result = await sweepAt(T0 + 5_000)
    expect(result.leasesReclaimed).toBe(1)
    expect(Object.keys((await adapters.registry.get('gpu-1'))?.leases ?? {})).toEqual([
      alive.ok && alive.leaseId,
    ])
  })

  it('sends the owed message of a queued job once its send-by time passes, and only then', async () => {
    const owed = job({ createdAt: T0 + 10_000 })
    await adapters.jobs.create({ job: owed, sendBy: T0 + 20_000 })
    await sweepAt(T0 + 15_000)
    expect(await messagesOn(aws.queueUrls.interactive)).not.toContain(owed.id)
    await sweepAt(T0 + 20_000)
    expect(await messagesOn(aws.queueUrls.interactive)).toContain(owed.id)
    expect(await adapters.jobs.get(owed.id)).toMatchObject({
      status: 'queued',
      enqueuedAt: expect.any(Number),
    })
    // Recorded as sent: the next sweep leaves it alone.
    await sweepAt(T0 + 30_000)
    expect(await messagesOn(aws.queueUrls.interactive)).not.toContain(owed.id)
  })

  it('requeues a running job whose claim lapsed, in its own lane, and leaves a live claim alone', async () => {
    const abandoned = job({ lane: 'batch' })
    const alive = job()
    for (const j of [abandoned, alive]) {
      await adapters.jobs.create({ job: j, sendBy: T0 })
      await adapters.jobs.markEnqueued({ id: j.id, now: T0 })
    }
    await adapters.jobs.claim({ id: abandoned.id, claimId: 'crashed', now: T0, claimExpiresAt: T0 + 40_000 })
    await adapters.jobs.claim({ id: alive.id, claimId: 'busy', now: T0, claimExpiresAt: T0 + 40_000 })
    await adapters.jobs.renewClaim({
      id: alive.id,
      claimId: 'busy',
      claimExpiresAt: T0 + 90_000,
      now: T0 + 30_000,
    })

    const result = await sweepAt(T0 + 50_000)
    expect(result.claimsRequeued).toBeGreaterThanOrEqual(1)
    expect(await adapters.jobs.get(abandoned.id)).toMatchObject({
      status: 'queued',
      attempts: 1,
      enqueuedAt: T0 + 50_000,
    })
    expect(await adapters.jobs.get(alive.id)).toMatchObject({ status: 'running', claimId: 'busy' })
    expect(await messagesOn(aws.queueUrls.batch)).toEqual([abandoned.id])
  })

  it('expires open jobs past their deadline: queued ones, and running ones whose claim lapsed', async () => {
    const queued = job({ deadlineAt: T0 + 100_000 })
    const running = job({ deadlineAt: T0 + 100_000 })
    for (const j of [queued, running]) {
      await adapters.jobs.create({ job: j, sendBy: T0 })
      await adapters.jobs.markEnqueued({ id: j.id, now: T0 })
    }
    await adapters.jobs.claim({ id: running.id, claimId: 'gone', now: T0, claimExpiresAt: T0 + 1_000 })
    await sweepAt(T0 + 100_000)
    expect(await adapters.jobs.get(queued.id)).toMatchObject({
      status: 'expired',
      error: { code: 'job_expired' },
    })
    expect(await adapters.jobs.get(running.id)).toMatchObject({ status: 'expired' })
  })
})
