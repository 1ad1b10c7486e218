import { beforeAll, describe, expect, it } from 'vitest'
import type { JobRecord } from '../../shared/jobs/job-record.ts'
import type { JobStore } from '../../shared/jobs/job-store.ts'
import { WEBHOOK_HANDOVER_MS } from '../../shared/jobs/job-store.ts'
import { queuedJobRecord } from './support/job-fixture.ts'

/**
 * The JobStore contract, written once: `DynamoJobStore` (on dynalite and DynamoDB
 * Local) and `MemoryJobStore` each run it, so the memory adapter the HTTP tests
 * use keeps the state machine the deployed one has.
 */
export const T0 = 1_800_000_000_000

export function queuedJob(overrides: Partial<JobRecord> = {}): JobRecord {
  return queuedJobRecord({
    at: T0,
    deadlineAt: T0 + 60_000,
    request: { model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 0.7 },
    requestId: 'req-1',
    ...overrides,
  })
}

/** Registers the contract's tests; `open` gives the store under test (called once, in beforeAll). */
export function jobStoreContract(open: () => JobStore | Promise<JobStore>): void {
  let store: JobStore
  beforeAll(async () => {
    store = await open()
  })

  describe('Method: create', () => {
    it('writes a queued job once and reads it back as written', async () => {
      // Prepare
      const job = queuedJob()
      // Act
      const first = await store.create({ job, sendBy: T0 + 1000 })
      const second = await store.create({ job, sendBy: T0 + 1000 })
      // Assess
      expect(first).toEqual({ ok: true })
      expect(second).toEqual({ ok: false, reason: 'exists' })
      expect(await store.get(job.id)).toEqual(job)
    })
  })

  describe('Method: claim', () => {
    it('lets exactly one of many concurrent claimers win', async () => {
      const job = queuedJob()
      await store.create({ job, sendBy: T0 })
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.claim({ id: job.id, claimId: `c${i}`, now: T0, claimExpiresAt: T0 + 5000 }),
        ),
      )
      const winners = results.filter((r) => r !== undefined)
      expect(winners).toHaveLength(1)
      expect(winners[0]).toMatchObject({ status: 'running', attempts: 1, startedAt: T0 })
    })

    it('refuses a live claim and takes over a lapsed one', async () => {
      const job = queuedJob()
      await store.create({ job, sendBy: T0 })
      await store.claim({ id: job.id, claimId: 'first', now: T0, claimExpiresAt: T0 + 5000 })
      expect(
        await store.claim({ id: job.id, claimId: 'second', now: T0 + 4000, claimExpiresAt: T0 + 9000 }),
      ).toBeUndefined()
      const taken = await store.claim({
        id: job.id,
        claimId: 'second',
        now: T0 + 6000,
        claimExpiresAt: T0 + 11_000,
      })
      expect(taken).toMatchObject({ claimId: 'second', attempts: 2 })
      // The first holder's writes no longer land.
      expect(
        await store.renewClaim({ id: job.id, claimId: 'first', claimExpiresAt: T0 + 20_000, now: T0 + 6000 }),
      ).toBe(false)
      expect(
        await store.complete({
          id: job.id,
          claimId: 'first',
          now: T0 + 7000,
          result: {},
          servedBy: { hardware: 'h20', backendId: 'b', route: 'primary' },
        }),
      ).toBeUndefined()
    })

    it('never claims a job past its deadline', async () => {
      const job = queuedJob({ deadlineAt: T0 + 10 })
      await store.create({ job, sendBy: T0 })
      expect(
        await store.claim({ id: job.id, claimId: 'c', now: T0 + 10, claimExpiresAt: T0 + 5000 }),
      ).toBeUndefined()
      expect(await store.expire({ id: job.id, now: T0 + 10 })).toMatchObject({
        status: 'expired',
        error: { code: 'job_expired' },
      })
    })
  })

  describe('Method: complete', () => {
    it('stores the result and leaves the open-status index', async () => {
      const job = queuedJob()
      await store.create({ job, sendBy: T0 })
      await store.claim({ id: job.id, claimId: 'c', now: T0, claimExpiresAt: T0 + 5000 })
      const done = await store.complete({
        id: job.id,
        claimId: 'c',
        now: T0 + 100,
        result: { id: 'chatcmpl-1', choices: [] },
        servedBy: { hardware: 'h20', backendId: 'h20-1', route: 'primary' },
      })
      expect(done).toMatchObject({ status: 'succeeded', result: { id: 'chatcmpl-1' }, finishedAt: T0 + 100 })
      expect(done?.claimId).toBeUndefined()
      const due = await store.listDue({ status: 'running', now: T0 + 10 ** 9, limit: 1000 })
      expect(due.map((j) => j.id)).not.toContain(job.id)
    })
  })

  describe('Method: listDue', () => {
    it('finds jobs whose message is owed, then not once it is recorded as sent', async () => {
      const job = queuedJob({ tenantId: 'outbox' })
      await store.create({ job, sendBy: T0 + 500 })
      const owed = await store.listDue({ status: 'queued', now: T0 + 1000, limit: 1000 })
      expect(owed.map((j) => j.id)).toContain(job.id)
      expect(await store.markEnqueued({ id: job.id, now: T0 + 1000 })).toBe(true)
      const after = await store.listDue({ status: 'queued', now: T0 + 1000, limit: 1000 })
      expect(after.map((j) => j.id)).not.toContain(job.id)
      // The deadline brings it back for the expiry sweep.
      const atDeadline = await store.listDue({ status: 'queued', now: job.deadlineAt, limit: 1000 })
      expect(atDeadline.map((j) => j.id)).toContain(job.id)
    })

    it('requeues a lapsed claim only while it is still lapsed and the same', async () => {
      const job = queuedJob()
      await store.create({ job, sendBy: T0 })
      await store.claim({ id: job.id, claimId: 'dead', now: T0, claimExpiresAt: T0 + 1000 })
      const base = { id: job.id, claimId: 'dead', sendBy: T0 + 5000, onlyIfClaimExpired: true }
      expect(await store.requeue({ ...base, now: T0 + 500 })).toBe(false)
      expect(await store.requeue({ ...base, now: T0 + 1500 })).toBe(true)
      expect(await store.get(job.id)).toMatchObject({ status: 'queued', attempts: 1 })
      expect((await store.get(job.id))?.enqueuedAt).toBeUndefined()
    })
  })

  describe('Method: cancel', () => {
    it("cancels only the owner's open job", async () => {
      const job = queuedJob()
      await store.create({ job, sendBy: T0 })
      expect(await store.cancel({ id: job.id, tenantId: 'someone-else', now: T0 })).toBeUndefined()
      expect(await store.cancel({ id: job.id, tenantId: 'acme', now: T0 })).toMatchObject({
        status: 'cancelled',
      })
      expect(await store.cancel({ id: job.id, tenantId: 'acme', now: T0 })).toBeUndefined()
      expect(
        await store.claim({ id: job.id, claimId: 'late', now: T0, claimExpiresAt: T0 + 1000 }),
      ).toBeUndefined()
    })
  })

  describe('Method: abandon', () => {
    const error = { code: 'worker_crashed', message: 'set aside', status: 502 }

    it('fails an open job and returns the failed record, once', async () => {
      const job = queuedJob()
      await store.create({ job, sendBy: T0 })
      const first = await store.abandon({ id: job.id, now: T0 + 1_000, error })
      expect(first).toEqual({
        ended: true,
        job: expect.objectContaining({ id: job.id, status: 'failed', error, finishedAt: T0 + 1_000 }),
      })
      expect(await store.abandon({ id: job.id, now: T0 + 2_000, error })).toEqual({ ended: false })
    })
  })

  describe('Method: listWebhooksDue', () => {
    it('lists an ended job with a pending webhook once its hand-over time passes, until a final status', async () => {
      // Far past every other test's jobs: theirs may be listed too, so only these ids are checked.
      const at = T0 + 10 * 86_400_000
      const withHook = queuedJob({ webhookUrl: 'https://hooks.example.test/a', createdAt: at, updatedAt: at })
      const withoutHook = queuedJob({ createdAt: at, updatedAt: at })
      const due = async (now: number) => (await store.listWebhooksDue({ now, limit: 100 })).map((j) => j.id)
      for (const job of [withHook, withoutHook]) {
        await store.create({ job, sendBy: at })
        await store.fail({ id: job.id, now: at, error: { code: 'x', message: 'x' } })
      }
      // Open or just ended: not owed yet. A job without a webhook never is.
      expect(await due(at + WEBHOOK_HANDOVER_MS - 1)).not.toContain(withHook.id)
      const owed = await due(at + WEBHOOK_HANDOVER_MS)
      expect(owed).toContain(withHook.id)
      expect(owed).not.toContain(withoutHook.id)
      // `pending` keeps it owed; delivered (or failed, skipped) takes it out for good.
      await store.setWebhookStatus({ id: withHook.id, status: 'pending', attempts: 1, now: at })
      expect(await due(at + WEBHOOK_HANDOVER_MS)).toContain(withHook.id)
      await store.setWebhookStatus({ id: withHook.id, status: 'delivered', attempts: 2, now: at })
      expect(await due(at + 100 * WEBHOOK_HANDOVER_MS)).not.toContain(withHook.id)
    })
  })

  describe('Method: reserveIdempotencyKey', () => {
    it('binds a key to the first job and hands later callers that job', async () => {
      const base = { tenantId: 'acme', key: 'key-1', fingerprint: 'f1', now: T0, ttlSeconds: 60 }
      expect(await store.reserveIdempotencyKey({ ...base, jobId: 'job_first0000' })).toEqual({ ok: true })
      expect(await store.reserveIdempotencyKey({ ...base, jobId: 'job_second000' })).toEqual({
        ok: false,
        jobId: 'job_first0000',
        fingerprint: 'f1',
      })
      // Another tenant's identical key is another key; an expired binding is free again.
      expect(
        await store.reserveIdempotencyKey({ ...base, tenantId: 'other', jobId: 'job_third0000' }),
      ).toEqual({ ok: true })
      expect(
        await store.reserveIdempotencyKey({ ...base, now: T0 + 120_000, jobId: 'job_fourth000' }),
      ).toEqual({ ok: true })
    })

    it('is not readable as a job', async () => {
      expect(await store.get('idem#acme#key-1')).toBeUndefined()
    })
  })
}
