import { randomUUID } from 'node:crypto'
import type { ModelTier } from '../config/gateway-config.ts'
import { keepClaim } from '../jobs/claim-keeper.ts'
import { enqueueJob } from '../jobs/enqueue-job.ts'
import { claimExpired, isTerminal, type JobError, type JobRecord, jobApi } from '../jobs/job-record.ts'
import { resultFits } from '../jobs/job-size.ts'
import { notifyWebhook } from '../jobs/notify-webhook.ts'
import type { JobMessage } from '../queue/job-queue.ts'
import type { HeldLease } from '../router/held-lease.ts'
import type { Route } from '../router/router.ts'
import { backoffSeconds } from './backoff.ts'
import { backendBody, callBackend } from './call-backend.ts'
import type { Worker } from './worker.ts'

/** What became of one delivery; every outcome acknowledges the message. */
export type JobRunOutcome =
  | 'missing'
  | 'duplicate'
  | 'expired'
  | 'no-slot'
  | 'held'
  | 'succeeded'
  | 'failed'
  | 'retrying'
  | 'lost-claim'

/**
 * One delivery of a job message. Order matters for invariant 4 (at most one
 * effective execution): read the job and skip it if it is done or held by a
 * live claim; get a slot; then claim it conditionally (losing the race
 * releases the slot); then call the backend while renewing the claim.
 * Exceptions (store or queue unreachable, a corrupt record) fail the message so
 * SQS redelivers it and, if it never succeeds, parks it in the DLQ.
 */
export async function runJobMessage(
  worker: Worker,
  message: JobMessage,
  remainingMs?: () => number,
): Promise<JobRunOutcome> {
  const { jobs, clock, options } = worker
  const job = await jobs.get(message.jobId)
  if (!job) return 'missing'
  const now = clock()
  if (isTerminal(job.status)) return 'duplicate'
  if (job.status === 'running' && !claimExpired(job, now)) return 'duplicate'
  if (job.deadlineAt <= now) {
    const expired = await jobs.expire({ id: job.id, now })
    if (expired) await notify(worker, expired)
    return expired ? 'expired' : 'duplicate'
  }
  if (job.status === 'queued' && (job.heldUntil ?? 0) > now) {
    // A live gateway holds this job's client and runs it itself, streaming live; look again
    // just after its marker would lapse, which it only does when that gateway died or gave up.
    await worker.queue.send({
      lane: job.lane,
      message: { jobId: job.id, attempt: message.attempt },
      delaySeconds: Math.min(900, Math.ceil(((job.heldUntil ?? now) - now) / 1000) + 1),
    })
    return 'held'
  }
  const model = worker.config.models.find((m) => m.id === job.model)
  if (!model || job.attempts >= options.maxAttempts) {
    const error: JobError = model
      ? {
          code: 'too_many_attempts',
          message: `The job was started ${job.attempts} times without finishing.`,
          status: 502,
        }
      : { code: 'model_not_found', message: `The model "${job.model}" is no longer configured.`, status: 404 }
    // A running job here has a lapsed claim: fail it only under that same claim.
    const failed = await jobs.fail({
      id: job.id,
      now,
      error,
      ...(job.claimId ? { claimId: job.claimId } : {}),
    })
    if (failed) await notify(worker, failed)
    return failed ? 'failed' : 'duplicate'
  }

  // Hold no longer than leaves the backend call its full time inside the Lambda's.
  const holdMs = Math.min(
    options.slotHoldMaxMs,
    (remainingMs?.() ?? Number.POSITIVE_INFINITY) - options.callTimeoutMs - 5_000,
  )
  const routed = await worker.slots.acquire({
    model,
    mayDegrade: job.mayDegrade,
    api: jobApi(job),
    lane: job.lane,
    patienceMs: options.slotWaitMs,
    until: now + Math.max(0, holdMs),
  })
  if (!routed.ok) {
    // A fresh message, not a failed delivery: waiting for capacity must never count
    // toward the DLQ's maxReceiveCount. The old message is acknowledged by returning.
    const delaySeconds = backoffSeconds({
      attempt: message.attempt,
      ...options.noSlotDelay,
      random: worker.random,
    })
    await worker.queue.send({
      lane: job.lane,
      message: { jobId: job.id, attempt: message.attempt + 1 },
      delaySeconds,
    })
    return 'no-slot'
  }
  try {
    const claimId = randomUUID()
    const claimedAt = clock()
    const claimed = await jobs.claim({
      id: job.id,
      claimId,
      now: claimedAt,
      claimExpiresAt: claimedAt + options.claimTtlMs,
    })
    if (!claimed) return 'duplicate'
    return await execute(worker, {
      job: claimed,
      claimId,
      lease: routed.lease,
      tier: routed.tier,
      route: routed.route,
      remainingMs,
    })
  } finally {
    await routed.lease.release()
  }
}

async function execute(
  worker: Worker,
  run: {
    job: JobRecord
    claimId: string
    lease: HeldLease
    tier: ModelTier
    route: Route
    remainingMs?: () => number
  },
): Promise<JobRunOutcome> {
  const { jobs, clock, options } = worker
  const { job, claimId, lease } = run
  const upstream = new AbortController()
  const keeper = keepClaim({
    jobs,
    id: job.id,
    claimId,
    ttlMs: options.claimTtlMs,
    clock,
    log: worker.log,
    onLost: () => upstream.abort(new Error('claim lost')),
  })
  // A lost slot lease stops the call too: the slot may already be another request's.
  lease.lost.addEventListener('abort', () => upstream.abort(lease.lost.reason), { once: true })
  // Leave the Lambda time to store the outcome before it is frozen.
  const timeoutMs = Math.min(options.callTimeoutMs, (run.remainingMs?.() ?? Number.POSITIVE_INFINITY) - 5_000)
  let outcome: Awaited<ReturnType<typeof callBackend>>
  try {
    outcome = await callBackend({
      client: worker.backendClient,
      backend: lease.backend,
      api: jobApi(job),
      body: backendBody(job.request, run.tier.model),
      timeoutMs,
      firstByteTimeoutMs: worker.config.upstream.firstByteTimeoutMs,
      idleTimeoutMs: worker.config.upstream.idleTimeoutMs,
      maxResponseBytes: worker.config.upstream.maxResponseBytes,
      signal: upstream.signal,
    })
  } finally {
    keeper.stop()
  }
  // The slot is freed before the outcome is written: a queued job may start meanwhile.
  await lease.release()
  const backendId = lease.backend.id
  const now = clock()

  if (outcome.kind === 'aborted') {
    worker.circuits.onNeutral(backendId)
    return 'lost-claim'
  }
  if (outcome.kind === 'ok' && !resultFits({ request: job.request, resultBytes: outcome.bytes })) {
    // DynamoDB would refuse the write, again on every redelivery: end the job with the reason instead.
    worker.circuits.onSuccess(backendId)
    const error = {
      code: 'result_too_large',
      message:
        `The answer (${Math.ceil(outcome.bytes / 1024)} KB) is larger than a queued job can hold; ` +
        'ask for fewer tokens (max_tokens) or send the request when a slot is free.',
      status: 502,
    }
    const failed = await jobs.fail({ id: job.id, claimId, now, error })
    if (failed) await notify(worker, failed)
    return failed ? 'failed' : 'lost-claim'
  }
  if (outcome.kind === 'ok') {
    worker.circuits.onSuccess(backendId)
    const servedBy = { hardware: lease.backend.hardware, backendId, route: run.route }
    const done = await jobs.complete({ id: job.id, claimId, now, result: outcome.result, servedBy })
    if (done) await notify(worker, done)
    return done ? 'succeeded' : 'lost-claim'
  }
  if (outcome.kind === 'too-long') {
    // The same request would outgrow the same limit on any backend: fail it now, not after maxAttempts.
    worker.circuits.onSuccess(backendId)
    const error = {
      code: outcome.code,
      message: outcome.message,
      status: outcome.code === 'upstream_timeout' ? 504 : 502,
    }
    const failed = await jobs.fail({ id: job.id, claimId, now, error })
    if (failed) await notify(worker, failed)
    return failed ? 'failed' : 'lost-claim'
  }
  if (outcome.kind === 'rejected') {
    const error = { code: 'backend_rejected', message: outcome.message, status: outcome.status }
    const failed = await jobs.fail({ id: job.id, claimId, now, error })
    if (failed) await notify(worker, failed)
    return failed ? 'failed' : 'lost-claim'
  }
  if (outcome.countsAgainstBackend) worker.circuits.onFailure(backendId, now)
  else worker.circuits.onNeutral(backendId)
  worker.log.warn('job attempt failed', {
    jobId: job.id,
    backend: backendId,
    attempt: job.attempts,
    reason: outcome.reason,
  })
  if (job.attempts >= options.maxAttempts) {
    const error = {
      code: 'upstream_error',
      message: `The model backend failed ${job.attempts} times (last: ${outcome.reason}).`,
      status: 502,
    }
    const failed = await jobs.fail({ id: job.id, claimId, now, error })
    if (failed) await notify(worker, failed)
    return failed ? 'failed' : 'lost-claim'
  }
  const error = { code: 'upstream_error', message: outcome.reason }
  const requeued = await jobs.requeue({
    id: job.id,
    claimId,
    now,
    sendBy: now + options.outboxGraceMs,
    error,
  })
  if (!requeued) return 'lost-claim'
  const delaySeconds = backoffSeconds({
    attempt: job.attempts - 1,
    ...options.retryDelay,
    random: worker.random,
  })
  await enqueueJob({ jobs, queue: worker.queue, job, now: clock, log: worker.log, delaySeconds })
  return 'retrying'
}

async function notify(worker: Worker, job: JobRecord): Promise<void> {
  await notifyWebhook({
    jobs: worker.jobs,
    job,
    secret: worker.webhookSecret,
    clock: worker.clock,
    log: worker.log,
    settings: worker.options.webhook,
  })
}
