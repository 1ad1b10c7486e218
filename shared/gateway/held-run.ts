import type { ApiKind } from '../backends/backend-apis.ts'
import type { ModelTier } from '../config/gateway-config.ts'
import { keepClaim } from '../jobs/claim-keeper.ts'
import { enqueueJob } from '../jobs/enqueue-job.ts'
import { type JobError, type JobRecord, jobApi } from '../jobs/job-record.ts'
import { jsonBytes, resultFits } from '../jobs/job-size.ts'
import { backendBody } from '../proxy/api-answers.ts'
import { askBackend } from '../proxy/ask-backend.ts'
import { readCompletion } from '../proxy/read-completion.ts'
import { UpstreamTimers } from '../proxy/upstream-timers.ts'
import type { HeldLease } from '../router/held-lease.ts'
import type { Route } from '../router/router.ts'
import type { HoldContext } from './hold-settings.ts'

/** How a held job run by its own gateway ended. */
export type HeldRunOutcome =
  /** The job ended (our run or, after a lost write, someone else's): answer from the record. */
  | { readonly kind: 'ended'; readonly job: JobRecord }
  /** A held stream's events went to the client live, the last one included; the job is stored. */
  | { readonly kind: 'streamed' }
  /** Failed before the client saw a byte; the job is queued again (a retry may take it). */
  | { readonly kind: 'retry' }
  /** The stream broke after the client had events: end it with an SSE error event. */
  | { readonly kind: 'broken'; readonly message: string }
  | { readonly kind: 'client-gone' }

export interface HeldRunOptions {
  readonly job: JobRecord
  readonly claimId: string
  readonly lease: HeldLease
  readonly tier: ModelTier
  readonly route: Route
  /** The held client went away. */
  readonly signal: AbortSignal
  /** Where a held stream's events go as the backend produces them. */
  readonly write?: (chunk: Uint8Array) => void
}

const encoder = new TextEncoder()

/**
 * Runs a job this gateway claimed, on the slot it holds, with the worker's
 * state machine (claim renewed, `complete` / `fail` / `requeue` under the claim)
 * so that a held request is still one job executed at most once. The backend
 * call uses the proxy's own pieces: `UpstreamTimers` (first byte, idle, total:
 * a long answer is limited by the total time only) and `readCompletion`, which
 * folds the answer the job stores and, for a held stream, hands each whole event
 * to the client as it comes.
 */
export async function runHeldJob(ctx: HoldContext, o: HeldRunOptions): Promise<HeldRunOutcome> {
  const { overflow, clock } = ctx
  const { jobs } = overflow
  const { job, claimId, lease } = o
  const api: ApiKind = jobApi(job)
  const timers = new UpstreamTimers({
    firstByteMs: ctx.firstByteTimeoutMs,
    idleMs: ctx.idleTimeoutMs,
    totalMs: ctx.totalTimeoutMs,
    clientSignal: o.signal,
  })
  // A holder whose lease is gone must stop: its slot may already be another request's.
  lease.lost.addEventListener('abort', () => timers.abort(lease.lost.reason), { once: true })
  const keeper = keepClaim({
    jobs,
    id: job.id,
    claimId,
    ttlMs: ctx.settings.claimTtlMs,
    clock,
    log: ctx.log,
    // Cancelled (DELETE) or taken over after a lapse: stop generating for nobody.
    onLost: () => timers.abort(new Error('claim lost')),
  })
  const servedBy = { hardware: lease.backend.hardware, backendId: lease.backend.id, route: o.route }

  const end = async (error: JobError): Promise<HeldRunOutcome> => {
    await lease.release()
    const failed = await jobs.fail({ id: job.id, claimId, now: clock(), error })
    if (failed) ctx.onJobEnded?.(failed.status)
    return { kind: 'ended', job: failed ?? (await jobs.get(job.id)) ?? job }
  }
  const clientGone = async (): Promise<HeldRunOutcome> => {
    await lease.release()
    await jobs.cancel({ id: job.id, tenantId: job.tenantId, now: clock() })
    return { kind: 'client-gone' }
  }
  /** Stopped by us, not the backend: the client left, or the claim or the lease was lost. */
  const stopped = async (): Promise<HeldRunOutcome> => {
    if (o.signal.aborted) return await clientGone()
    await lease.release()
    ctx.circuits.onNeutral(lease.backend.id)
    return { kind: 'ended', job: (await jobs.get(job.id)) ?? job }
  }
  const failed = async (reason: string, countsAgainstBackend = true): Promise<HeldRunOutcome> => {
    timers.abort()
    if (o.signal.aborted || lease.lost.aborted) return await stopped()
    await lease.release()
    if (countsAgainstBackend) ctx.circuits.onFailure(lease.backend.id, clock())
    else ctx.circuits.onNeutral(lease.backend.id)
    ctx.log.warn('held job attempt failed', { jobId: job.id, backend: lease.backend.id, reason })
    if (job.attempts >= ctx.settings.maxAttempts) {
      return await end({
        code: 'upstream_error',
        message: `The model backend failed ${job.attempts} times (last: ${reason}).`,
        status: 502,
      })
    }
    const now = clock()
    const requeued = await jobs.requeue({
      id: job.id,
      claimId,
      now,
      sendBy: now + overflow.outboxGraceMs,
      error: { code: 'upstream_error', message: reason },
    })
    if (!requeued) return { kind: 'ended', job: (await jobs.get(job.id)) ?? job }
    await enqueueJob({ jobs, queue: overflow.queue, job, now: clock, log: ctx.log })
    return { kind: 'retry' }
  }
  const store = async (result: Record<string, unknown>): Promise<JobRecord | undefined> => {
    await lease.release()
    ctx.circuits.onSuccess(lease.backend.id)
    // Sized as stored (compact JSON): a streamed body is far larger than its folded result.
    if (!resultFits({ request: job.request, resultBytes: jsonBytes(result) })) {
      const error = {
        code: 'result_too_large',
        message: 'The answer is larger than a queued job can hold; ask for fewer tokens (max_tokens).',
        status: 502,
      }
      const failed = await jobs.fail({ id: job.id, claimId, now: clock(), error })
      if (failed) ctx.onJobEnded?.(failed.status)
      return failed
    }
    const completed = await jobs.complete({ id: job.id, claimId, now: clock(), result, servedBy })
    if (completed) ctx.onJobEnded?.(completed.status)
    return completed
  }

  try {
    const stream = job.stream && o.write !== undefined
    const reply = await askBackend(ctx.backendClient, {
      api,
      backend: lease.backend,
      body: backendBody({ api, request: job.request, tierModel: o.tier.model, stream }),
      timers,
    })
    if (reply.kind === 'unreachable') {
      if (timers.fired === 'total') return await end(tooLong(ctx))
      return await failed(reply.reason)
    }
    if (reply.kind === 'retry') return await failed(reply.reason, reply.countsAgainstBackend)
    if (reply.kind === 'rejected') {
      return await end({ code: 'backend_rejected', message: reply.message, status: reply.status })
    }
    const res = reply.response
    let relayed = false
    const read = await readCompletion(res, {
      timers,
      maxBytes: ctx.maxResponseBytes,
      api,
      ...(stream
        ? {
            onEvent: (event: string) => {
              relayed = true
              o.write?.(encoder.encode(event))
            },
          }
        : {}),
    })
    if (read.ok) {
      const done = await store(read.completion)
      if (stream) return { kind: 'streamed' }
      return { kind: 'ended', job: done ?? (await jobs.get(job.id)) ?? job }
    }
    if (read.failure === 'aborted') return await stopped()
    if (read.failure === 'timeout') return await ended(end, tooLong(ctx), relayed)
    if (read.failure === 'too-large') {
      const error = {
        code: 'result_too_large',
        message: `The answer is larger than ${ctx.maxResponseBytes} bytes; ask for fewer tokens (max_tokens).`,
        status: 502,
      }
      return await ended(end, error, relayed)
    }
    if (!relayed) return await failed(read.reason)
    // The client has events already: no failover now; the job ends failed, the stream with an error.
    ctx.circuits.onFailure(lease.backend.id, clock())
    return await ended(
      end,
      { code: 'upstream_stream_error', message: 'The model backend stopped mid-stream.', status: 502 },
      true,
    )
  } finally {
    // Aborted, not only stopped: whatever ended the run, the backend call is over before the slot is given back.
    timers.abort()
    keeper.stop()
    await lease.release()
  }
}

/** The job ends with `error`; a stream the client already had events of ends with it as an SSE error. */
async function ended(
  end: (error: JobError) => Promise<HeldRunOutcome>,
  error: JobError,
  relayed: boolean,
): Promise<HeldRunOutcome> {
  const outcome = await end(error)
  return relayed ? { kind: 'broken', message: error.message } : outcome
}

/** The total time ran out while the backend was still answering: no backend's fault, no retry. */
function tooLong(ctx: HoldContext): JobError {
  const seconds = Math.round(ctx.totalTimeoutMs / 1000)
  return {
    code: 'upstream_timeout',
    message: `The answer took longer than ${seconds} s, the most the gateway waits; ask for fewer tokens (max_tokens).`,
    status: 504,
  }
}
