import { PutCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createWorkerHandler } from '../../../functions/worker/handler.ts'
import { HttpBackendClient } from '../../../shared/backends/backend-client.ts'
import { enqueueJob } from '../../../shared/jobs/enqueue-job.ts'
import { type JobRecord, newJobId } from '../../../shared/jobs/job-record.ts'
import { silentLogger } from '../../../shared/logging.ts'
import { parseJobMessage } from '../../../shared/queue/job-queue.ts'
import { createWorker } from '../../../shared/worker/worker.ts'
import type { WorkerOptions } from '../../../shared/worker/worker-options.ts'
import {
  eventually,
  type JobStack,
  MODEL,
  startJobStack,
  WEBHOOK_SECRET,
} from '../../jobs/support/job-stack.ts'
import { isSignedWith, startWebhookReceiver } from '../../jobs/support/webhook-receiver.ts'
import { BACKEND_KEY } from '../../support/gateway-stack.ts'
import { eventFor } from '../support/sqs-events.ts'

let stack: JobStack

beforeAll(async () => {
  stack = await startJobStack({ fleet: 'h20=1x2', speed: 1 })
})
afterAll(async () => {
  await stack?.stop()
})
beforeEach(() => {
  stack.fleet.backends[0]?.reset()
})

const backend = () => {
  const b = stack.fleet.backends[0]
  if (!b) throw new Error('no backend')
  return b
}

function handlerWith(options: Partial<WorkerOptions> = {}) {
  const worker = createWorker({
    config: stack.env.config,
    jobs: stack.adapters.jobs,
    queue: stack.adapters.queue,
    capacity: stack.adapters.capacity,
    backendClient: new HttpBackendClient({ apiKey: BACKEND_KEY }),
    log: silentLogger,
    webhookSecret: WEBHOOK_SECRET,
    options: {
      claimTtlMs: 3_000,
      slotWaitMs: 500,
      webhook: { maxAttempts: 3, baseDelayMs: 20, timeoutMs: 2_000, allowPrivateNetworks: true },
      ...options,
    },
  })
  return createWorkerHandler(worker)
}

async function submit(overrides: Partial<JobRecord> = {}, maxTokens = 8): Promise<JobRecord> {
  const now = Date.now()
  const job: JobRecord = {
    id: newJobId(),
    tenantId: 'queuer',
    model: MODEL,
    request: { model: MODEL, messages: [{ role: 'user', content: 'work' }], max_tokens: maxTokens },
    stream: false,
    lane: 'interactive',
    mayDegrade: false,
    status: 'queued',
    requestId: 'req',
    createdAt: now,
    updatedAt: now,
    deadlineAt: now + 60_000,
    attempts: 0,
    ...overrides,
  }
  await stack.adapters.jobs.create({ job, sendBy: now + 60_000 })
  await enqueueJob({
    jobs: stack.adapters.jobs,
    queue: stack.adapters.queue,
    job,
    now: Date.now,
    log: silentLogger,
  })
  return job
}

async function deliveryOf(...jobs: JobRecord[]) {
  const event = await eventFor(stack.adapters.clients.sqs, {
    queueUrl: stack.aws.queueUrls.interactive,
    jobIds: jobs.map((j) => j.id),
    waitSeconds: 5,
  })
  if (!event) throw new Error('message not received')
  return event
}

const requests = () => backend().state().totals.requests

describe('worker handler: at most one effective execution per job', () => {
  it('calls the backend once when the same message is delivered twice at once', async () => {
    const handler = handlerWith()
    const job = await submit()
    const event = await deliveryOf(job)
    const [first, second] = await Promise.all([handler(event), handler(event)])
    expect(first.batchItemFailures).toEqual([])
    expect(second.batchItemFailures).toEqual([])
    expect(await stack.adapters.jobs.get(job.id)).toMatchObject({ status: 'succeeded', attempts: 1 })
    expect(requests()).toBe(1)
  })

  it('acknowledges a redelivery that arrives after the claim TTL while the first worker still runs, without a second call', async () => {
    // The claim lives 600 ms and the call ~1.5 s: only renewals keep it.
    const handler = handlerWith({ claimTtlMs: 600 })
    const job = await submit({}, 250)
    const event = await deliveryOf(job)
    const first = handler(event)
    expect(await eventually(async () => (await stack.adapters.jobs.get(job.id))?.status === 'running')).toBe(
      true,
    )
    await new Promise((resolve) => setTimeout(resolve, 900))
    const redelivered = await handler(event)
    expect(redelivered.batchItemFailures).toEqual([])
    expect((await first).batchItemFailures).toEqual([])
    expect(await stack.adapters.jobs.get(job.id)).toMatchObject({ status: 'succeeded', attempts: 1 })
    expect(requests()).toBe(1)
  })
})

describe('worker handler: outcomes that acknowledge the delivery', () => {
  it('puts a fresh, delayed message back when no slot frees, without failing the delivery', async () => {
    const handler = handlerWith({ slotWaitMs: 200 })
    const unblock = await stack.blockSlots(backend().id, 2)
    const job = await submit()
    const result = await handler(await deliveryOf(job))
    expect(result.batchItemFailures).toEqual([])
    expect(await stack.adapters.jobs.get(job.id)).toMatchObject({ status: 'queued', attempts: 0 })
    await unblock()
    const again = await deliveryOf(job)
    // A new message: its receive count starts over, so waiting never nears the DLQ.
    expect(again.Records[0]?.attributes.ApproximateReceiveCount).toBe('1')
    expect(parseJobMessage(again.Records[0]?.body ?? '')).toEqual({ jobId: job.id, attempt: 1 })
    await handler(again)
    expect(await stack.adapters.jobs.get(job.id)).toMatchObject({ status: 'succeeded' })
    expect(requests()).toBe(1)
  })

  it('expires a job past its deadline without reaching a backend', async () => {
    const job = await submit({ deadlineAt: Date.now() + 30 })
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect((await handlerWith()(await deliveryOf(job))).batchItemFailures).toEqual([])
    expect(await stack.adapters.jobs.get(job.id)).toMatchObject({ status: 'expired' })
    expect(requests()).toBe(0)
  })

  it('skips a cancelled job without reaching a backend', async () => {
    const job = await submit()
    await stack.adapters.jobs.cancel({ id: job.id, tenantId: 'queuer', now: Date.now() })
    expect((await handlerWith()(await deliveryOf(job))).batchItemFailures).toEqual([])
    expect(await stack.adapters.jobs.get(job.id)).toMatchObject({ status: 'cancelled' })
    expect(requests()).toBe(0)
  })

  it('aborts the backend call of a running job its client cancels', async () => {
    const handler = handlerWith({ claimTtlMs: 600 })
    const job = await submit({}, 400)
    const run = handler(await deliveryOf(job))
    expect(await eventually(async () => backend().state().running === 1)).toBe(true)
    await stack.adapters.jobs.cancel({ id: job.id, tenantId: 'queuer', now: Date.now() })
    expect((await run).batchItemFailures).toEqual([])
    expect(await stack.adapters.jobs.get(job.id)).toMatchObject({ status: 'cancelled' })
    expect(await eventually(() => backend().state().totals.aborted === 1, 3_000)).toBe(true)
  })

  it('retries a failing backend with backoff, then fails the job with the reason', async () => {
    const handler = handlerWith({ maxAttempts: 2, retryDelay: { baseSeconds: 1, maxSeconds: 1 } })
    backend().setFaults({ errorRate: 1 })
    try {
      const job = await submit()
      await handler(await deliveryOf(job))
      expect(await stack.adapters.jobs.get(job.id)).toMatchObject({ status: 'queued', attempts: 1 })
      await handler(await deliveryOf(job))
      const failed = await stack.adapters.jobs.get(job.id)
      expect(failed).toMatchObject({
        status: 'failed',
        attempts: 2,
        error: { code: 'upstream_error', status: 502 },
      })
      expect(failed?.error?.message).toContain('status 500')
      expect(requests()).toBe(2)
    } finally {
      backend().setFaults({ errorRate: 0 })
    }
  })

  it("fails a job at once with the backend's message when the backend refuses the request", async () => {
    const job = await submit({ request: { model: MODEL, messages: 'not a list' } })
    await handlerWith()(await deliveryOf(job))
    const failed = await stack.adapters.jobs.get(job.id)
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'backend_rejected', status: 400 },
    })
  })
})

describe('worker handler: webhooks', () => {
  it('posts the finished job to its webhook, signed, retrying a receiver that fails once', async () => {
    const receiver = await startWebhookReceiver([502, 200])
    try {
      const job = await submit({ webhookUrl: receiver.url })
      await handlerWith()(await deliveryOf(job))
      expect(await stack.adapters.jobs.get(job.id)).toMatchObject({
        status: 'succeeded',
        webhookStatus: 'delivered',
        webhookAttempts: 2,
      })
      const last = receiver.received.at(-1)
      expect(isSignedWith(last, WEBHOOK_SECRET)).toBe(true)
      expect(JSON.parse(last?.body ?? '{}')).toMatchObject({
        type: 'job.succeeded',
        data: { id: job.id, status: 'succeeded' },
      })
    } finally {
      await receiver.stop()
    }
  })
})

describe('worker handler: partial batch failures', () => {
  it('reports only the record whose job cannot be read; the rest of the batch runs', async () => {
    const good = await submit()
    const corrupt = await submit()
    await stack.adapters.clients.doc.send(
      new PutCommand({
        TableName: stack.aws.names.tables.jobs,
        Item: { id: corrupt.id, kind: 'job', status: 'queued', requestJson: '{not json' },
      }),
    )
    const event = await deliveryOf(good, corrupt)
    const unreadable = { ...event.Records[0]!, messageId: 'garbage', body: 'not a job message' }
    const result = await handlerWith()({ Records: [...event.Records, unreadable] })
    const corruptMessageId = event.Records.find(
      (r) => parseJobMessage(r.body)?.jobId === corrupt.id,
    )?.messageId
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      [corruptMessageId, 'garbage'].sort(),
    )
    expect(await stack.adapters.jobs.get(good.id)).toMatchObject({ status: 'succeeded' })
  })
})
