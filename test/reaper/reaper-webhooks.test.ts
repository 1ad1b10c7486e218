import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAws, startLocalAws } from '../../local/emulators.ts'
import { destroyAwsClients } from '../../shared/aws/clients.ts'
import { DynamoJobStore } from '../../shared/jobs/dynamo-job-store.ts'
import type { JobRecord, OpenStatus } from '../../shared/jobs/job-record.ts'
import { WEBHOOK_HANDOVER_MS } from '../../shared/jobs/job-store.ts'
import { WEBHOOK_RETRY_DELAYS_MS } from '../../shared/jobs/notify-webhook.ts'
import { type ReaperOptions, reap } from '../../shared/reaper/reaper.ts'
import { type AwsAdapters, createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { queuedJobRecord } from '../jobs/support/job-fixture.ts'
import { isSignedWith, startWebhookReceiver, testWebhookSecret } from '../jobs/support/webhook-receiver.ts'
import { clientsFor } from '../support/aws.ts'

let aws: LocalAws
let adapters: AwsAdapters
const SECRET = testWebhookSecret('reaper')
// The receivers listen on 127.0.0.1.
const SETTINGS = { maxAttempts: 2, baseDelayMs: 20, timeoutMs: 2_000, allowPrivateNetworks: true }
/** Each test sweeps at its own time, after every job of the tests before it has ended. */
let T = 1_800_000_000_000

beforeAll(async () => {
  aws = await startLocalAws({ prefix: `reaper-hooks-${Math.random().toString(36).slice(2, 8)}` })
  adapters = createAwsAdapters(readRuntimeEnv(aws.env))
})
afterAll(async () => {
  destroyAwsClients(adapters.clients)
  await aws.stop()
})
// Each test starts with an empty webhook outbox: what one test leaves owed (a lost race,
// a retry scheduled hours ahead) must not be delivered in the next one's sweep.
afterEach(async () => {
  for (const job of await adapters.jobs.listWebhooksDue({ now: Number.MAX_SAFE_INTEGER, limit: 100 }))
    await adapters.jobs.setWebhookStatus({ id: job.id, status: 'skipped', attempts: 0, now: T })
})

/** A queued job, its message sent, with a webhook and a deadline 1 s after `T`. */
async function dueJob(webhookUrl: string, overrides: Partial<JobRecord> = {}): Promise<JobRecord> {
  T += 60_000
  const job = queuedJobRecord({ at: T, deadlineAt: T + 1_000, webhookUrl, ...overrides })
  await adapters.jobs.create({ job, sendBy: T })
  await adapters.jobs.markEnqueued({ id: job.id, now: T })
  return job
}

const sweepAt = (now: number, overrides: Partial<ReaperOptions> = {}) =>
  reap({
    capacity: adapters.capacity,
    jobs: adapters.jobs,
    queue: adapters.queue,
    clock: () => now,
    webhooks: { secret: SECRET, settings: SETTINGS },
    ...overrides,
  })

describe('Function: reap (webhooks)', () => {
  it('sends one signed webhook saying "expired" for a job it expires, and records it delivered', async () => {
    const receiver = await startWebhookReceiver([204])
    try {
      const job = await dueJob(receiver.url)
      const now = job.deadlineAt + 5_000
      const result = await sweepAt(now)
      expect(result).toMatchObject({ expired: 1, webhooksDelivered: 1, webhooksUndelivered: 0 })
      expect(receiver.received).toHaveLength(1)
      const [hit] = receiver.received
      expect(isSignedWith(hit, SECRET, now)).toBe(true)
      expect(hit?.headers['webhook-id']).toBe(job.id)
      expect(JSON.parse(hit?.body ?? '{}')).toMatchObject({
        type: 'job.expired',
        data: { id: job.id, status: 'expired', error: { code: 'job_expired' } },
      })
      expect(await adapters.jobs.get(job.id)).toMatchObject({
        status: 'expired',
        webhookStatus: 'delivered',
        webhookAttempts: 1,
      })
      // The next sweep finds nothing open and sends nothing more.
      await sweepAt(now + 60_000)
      expect(receiver.received).toHaveLength(1)
    } finally {
      await receiver.stop()
    }
  })

  it('sends nothing when a worker finished the job between the listing and the expiry', async () => {
    const receiver = await startWebhookReceiver([204])
    const clients = clientsFor(aws)
    try {
      const job = await dueJob(receiver.url)
      await adapters.jobs.claim({ id: job.id, claimId: 'slow', now: T, claimExpiresAt: T + 500 })
      // The slow worker's claim lapsed and its deadline passed, but it completes right after the
      // reaper lists the job: the reaper's conditional expiry must lose, and stay silent.
      const store = new (class WorkerFinishesFirst extends DynamoJobStore {
        override async listDue(options: { status: OpenStatus; now: number; limit: number }) {
          const due = await super.listDue(options)
          if (due.some((d) => d.id === job.id)) {
            await adapters.jobs.complete({
              id: job.id,
              claimId: 'slow',
              now: options.now,
              result: { id: 'chatcmpl-late' },
              servedBy: { hardware: 'h20', backendId: 'gpu-1', route: 'primary' },
            })
          }
          return due
        }
      })({ doc: clients.doc, tableName: aws.names.tables.jobs })
      const result = await sweepAt(job.deadlineAt + 1_000, { jobs: store })
      expect(result).toMatchObject({ expired: 0, webhooksDelivered: 0, webhooksUndelivered: 0 })
      expect(receiver.received).toEqual([])
      expect(await adapters.jobs.get(job.id)).toMatchObject({ status: 'succeeded', webhookStatus: 'pending' })
    } finally {
      destroyAwsClients(clients)
      await receiver.stop()
    }
  })

  it('delivers a sweep of webhooks a few at a time, never more than its bound', async () => {
    const receiver = await startWebhookReceiver([200], { holdMs: 30 })
    try {
      const jobs: JobRecord[] = []
      for (let i = 0; i < 6; i++) jobs.push(await dueJob(receiver.url))
      const now = T + 10_000
      const result = await sweepAt(now, { webhooks: { secret: SECRET, settings: SETTINGS, concurrency: 2 } })
      expect(result).toMatchObject({ expired: 6, webhooksDelivered: 6 })
      expect(receiver.received).toHaveLength(6)
      expect(receiver.peakInFlight()).toBeLessThanOrEqual(2)
      for (const job of jobs)
        expect(await adapters.jobs.get(job.id)).toMatchObject({ webhookStatus: 'delivered' })
    } finally {
      await receiver.stop()
    }
  })

  it('starts no delivery the invocation might not finish; a later sweep sends it from the outbox', async () => {
    const receiver = await startWebhookReceiver([204])
    try {
      const job = await dueJob(receiver.url)
      // These settings need up to 4 s (two 2 s attempts and a backoff) plus a reserve.
      const expiredAt = job.deadlineAt + 1_000
      const result = await sweepAt(expiredAt, { remainingMs: () => 3_000 })
      expect(result).toMatchObject({ expired: 1, webhooksDelivered: 0, webhooksUndelivered: 1 })
      expect(receiver.received).toEqual([])
      expect(await adapters.jobs.get(job.id)).toMatchObject({ status: 'expired', webhookStatus: 'pending' })

      // Before the hand-over time nobody else sends it; after it, the next sweep does, once.
      expect(await sweepAt(expiredAt + WEBHOOK_HANDOVER_MS - 1)).toMatchObject({ webhooksOwed: 0 })
      const later = await sweepAt(expiredAt + WEBHOOK_HANDOVER_MS)
      expect(later).toMatchObject({ webhooksOwed: 1, webhooksDelivered: 1 })
      expect(receiver.received).toHaveLength(1)
      expect(await adapters.jobs.get(job.id)).toMatchObject({
        webhookStatus: 'delivered',
        webhookAttempts: 1,
      })
      expect(await sweepAt(expiredAt + 2 * WEBHOOK_HANDOVER_MS)).toMatchObject({ webhooksOwed: 0 })
      T += 3 * WEBHOOK_HANDOVER_MS
    } finally {
      await receiver.stop()
    }
  })

  it('delivers the webhook of a job whose sender died after ending it, and of a cancelled job', async () => {
    const receiver = await startWebhookReceiver([204])
    try {
      // A worker completed this job, then died before its webhook went out.
      const done = await dueJob(receiver.url, { deadlineAt: T + 3_600_000 })
      const claimed = await adapters.jobs.claim({
        id: done.id,
        claimId: 'c1',
        now: T,
        claimExpiresAt: T + 60_000,
      })
      expect(claimed).toBeDefined()
      const servedBy = { hardware: 'h20', backendId: 'h20-1', route: 'primary' as const }
      await adapters.jobs.complete({ id: done.id, claimId: 'c1', now: T, result: { ok: 1 }, servedBy })
      // A client cancelled this one; its HTTP answer did not wait for the webhook.
      const cancelled = await dueJob(receiver.url, { deadlineAt: T + 3_600_000 })
      await adapters.jobs.cancel({ id: cancelled.id, tenantId: 'acme', now: T })

      const result = await sweepAt(T + WEBHOOK_HANDOVER_MS)
      expect(result).toMatchObject({ webhooksOwed: 2, webhooksDelivered: 2 })
      const events = receiver.received.map((r) => (JSON.parse(r.body) as { type: string }).type).sort()
      expect(events).toEqual(['job.cancelled', 'job.succeeded'])
      for (const job of [done, cancelled])
        expect(await adapters.jobs.get(job.id)).toMatchObject({ webhookStatus: 'delivered' })
      T += 3 * WEBHOOK_HANDOVER_MS
    } finally {
      await receiver.stop()
    }
  })

  it('records the webhook skipped, and sends nothing, when no secret is configured', async () => {
    const receiver = await startWebhookReceiver([204])
    try {
      const job = await dueJob(receiver.url)
      const result = await sweepAt(job.deadlineAt + 1_000, { webhooks: { secret: undefined } })
      expect(result).toMatchObject({ expired: 1, webhooksUndelivered: 1 })
      expect(receiver.received).toEqual([])
      expect(await adapters.jobs.get(job.id)).toMatchObject({ webhookStatus: 'skipped' })
    } finally {
      await receiver.stop()
    }
  })

  it('retries a receiver that keeps failing on the schedule, from later sweeps, then records it failed', async () => {
    const receiver = await startWebhookReceiver([500])
    try {
      const job = await dueJob(receiver.url)
      let now = job.deadlineAt + 1_000
      expect(await sweepAt(now)).toMatchObject({ expired: 1, webhooksUndelivered: 1 })
      for (const delay of WEBHOOK_RETRY_DELAYS_MS) {
        expect(await adapters.jobs.get(job.id)).toMatchObject({ webhookStatus: 'pending' })
        // Not before its time; then exactly once.
        expect(await sweepAt(now + delay - 1)).toMatchObject({ webhooksOwed: 0 })
        now += delay
        expect(await sweepAt(now)).toMatchObject({ webhooksOwed: 1, webhooksUndelivered: 1 })
      }
      const rounds = WEBHOOK_RETRY_DELAYS_MS.length + 1
      expect(receiver.received).toHaveLength(rounds * SETTINGS.maxAttempts)
      expect(await adapters.jobs.get(job.id)).toMatchObject({
        webhookStatus: 'failed',
        webhookAttempts: rounds * SETTINGS.maxAttempts,
      })
      expect(await sweepAt(now + 7 * 86_400_000)).toMatchObject({ webhooksOwed: 0 })
      T = now + 7 * 86_400_000
    } finally {
      await receiver.stop()
    }
  })

  it('delivers on a later round once the receiver is back', async () => {
    const receiver = await startWebhookReceiver([500, 500, 204])
    try {
      const job = await dueJob(receiver.url)
      const expiredAt = job.deadlineAt + 1_000
      await sweepAt(expiredAt)
      const [firstRetry = 0] = WEBHOOK_RETRY_DELAYS_MS
      expect(await sweepAt(expiredAt + firstRetry)).toMatchObject({ webhooksOwed: 1, webhooksDelivered: 1 })
      expect(await adapters.jobs.get(job.id)).toMatchObject({
        webhookStatus: 'delivered',
        webhookAttempts: 3,
      })
      T = expiredAt + 7 * 86_400_000
    } finally {
      await receiver.stop()
    }
  })

  it('records a webhook the receiver refuses with a 4xx failed at once, with no later round', async () => {
    const receiver = await startWebhookReceiver([410])
    try {
      const job = await dueJob(receiver.url)
      const expiredAt = job.deadlineAt + 1_000
      expect(await sweepAt(expiredAt)).toMatchObject({ expired: 1, webhooksUndelivered: 1 })
      expect(await adapters.jobs.get(job.id)).toMatchObject({ webhookStatus: 'failed', webhookAttempts: 1 })
      expect(await sweepAt(expiredAt + 7 * 86_400_000)).toMatchObject({ webhooksOwed: 0 })
      expect(receiver.received).toHaveLength(1)
      T = expiredAt + 7 * 86_400_000
    } finally {
      await receiver.stop()
    }
  })
})
