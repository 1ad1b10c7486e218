import { judgeBackendStatus, rejectionMessage } from '../backends/backend-status.ts'
import type { ModelTier } from '../config/gateway-config.ts'
import { keepClaim } from '../jobs/claim-keeper.ts'
import { enqueueJob } from '../jobs/enqueue-job.ts'
import type { JobError, JobRecord } from '../jobs/job-record.ts'
import { jsonBytes, resultFits } from '../jobs/job-size.ts'
import type { HeldLease } from '../router/held-lease.ts'
import type { Route } from '../router/router.ts'
import { CompletionFromChunks } from './completion-from-chunks.ts'
import type { HoldContext } from './hold-settings.ts'

/** How a held job run by its own gateway ended. */
export type HeldRunOutcome =
  /** The job ended (our run or, after a lost write, someone else's): answer from the record. */
  | { readonly kind: 'ended'; readonly job: JobRecord }
  /** A held stream's chunks went to the client live, `[DONE]` included; the job is stored. */
  | { readonly kind: 'streamed' }
  /** Failed before the client saw a byte; the job is queued again (a retry may take it). */
  | { readonly kind: 'retry' }
  /** The stream broke after the client had chunks: end it with an SSE error event. */
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
  /** Where a held stream's chunks go as the backend produces them. */
  readonly write?: (chunk: Uint8Array) => void
}

/**
 * Runs a job this gateway claimed, on the slot it holds, with the worker's
 * state machine (claim renewed, `complete` / `fail` / `requeue` under the claim)
 * so that a held request is still one job executed at most once. Unlike the
 * worker, a held stream is streamed: chunks reach the client as they come and
 * are folded into the completion the job stores.
 */
export async function runHeldJob(ctx: HoldContext, o: HeldRunOptions): Promise<HeldRunOutcome> {
  const { overflow, clock } = ctx
  const { jobs } = overflow
  const { job, claimId, lease } = o
  const upstream = new AbortController()
  const onClientAbort = () => upstream.abort(new Error('client closed'))
  o.signal.addEventListener('abort', onClientAbort, { once: true })
  const keeper = keepClaim({
    jobs,
    id: job.id,
    claimId,
    ttlMs: ctx.settings.claimTtlMs,
    clock,
    log: ctx.log,
    // Cancelled (DELETE) or taken over after a lapse: stop generating for nobody.
    onLost: () => upstream.abort(new Error('claim lost')),
  })
  const firstByte = setTimeout(() => upstream.abort(new Error('first byte timeout')), ctx.firstByteTimeoutMs)
  const servedBy = { hardware: lease.backend.hardware, backendId: lease.backend.id, route: o.route }

  const end = async (error: JobError): Promise<HeldRunOutcome> => {
    await lease.release()
    const failed = await jobs.fail({ id: job.id, claimId, now: clock(), error })
    return { kind: 'ended', job: failed ?? (await jobs.get(job.id)) ?? job }
  }
  const clientGone = async (): Promise<HeldRunOutcome> => {
    await lease.release()
    await jobs.cancel({ id: job.id, tenantId: job.tenantId, now: clock() })
    return { kind: 'client-gone' }
  }
  const failed = async (reason: string, countsAgainstBackend = true): Promise<HeldRunOutcome> => {
    upstream.abort()
    if (o.signal.aborted) return await clientGone()
    await lease.release()
    if (countsAgainstBackend) ctx.circuits.onFailure(lease.backend.id, clock())
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
  const store = async (result: Record<string, unknown>, bytes: number): Promise<JobRecord | undefined> => {
    await lease.release()
    ctx.circuits.onSuccess(lease.backend.id)
    // Sized as stored (compact JSON): a streamed body is far larger than its folded result.
    if (!resultFits({ request: job.request, resultBytes: Math.min(bytes, jsonBytes(result)) })) {
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
    const { stream: _stream, stream_options: streamOptions, ...rest } = job.request
    const body = {
      ...rest,
      model: o.tier.model,
      stream: job.stream,
      ...(job.stream && streamOptions ? { stream_options: streamOptions } : {}),
    }
    let res: Response
    try {
      res = await ctx.backendClient.chatCompletions({ backend: lease.backend, body, signal: upstream.signal })
    } catch (error) {
      return await failed(error instanceof Error ? error.message : 'connection failed')
    }
    const verdict = judgeBackendStatus(res.status)
    if (verdict.kind === 'retry') {
      await res.body?.cancel().catch(() => undefined)
      return await failed(verdict.reason, verdict.countsAgainstBackend)
    }
    if (verdict.kind === 'rejected') {
      const message = rejectionMessage(await res.text().catch(() => ''))
      return await end({ code: 'backend_rejected', message, status: res.status })
    }
    if (!job.stream) {
      let text: string
      let result: Record<string, unknown>
      try {
        text = await res.text()
        result = JSON.parse(text) as Record<string, unknown>
        if (!Array.isArray(result.choices)) return await failed('malformed completion body')
      } catch {
        return await failed('body interrupted')
      }
      const done = await store(result, Buffer.byteLength(text))
      return { kind: 'ended', job: done ?? (await jobs.get(job.id)) ?? job }
    }
    return await relay(ctx, o, res, upstream, { failed, clientGone, store })
  } finally {
    clearTimeout(firstByte)
    keeper.stop()
    o.signal.removeEventListener('abort', onClientAbort)
    await lease.release()
  }
}

async function relay(
  ctx: HoldContext,
  o: HeldRunOptions,
  res: Response,
  upstream: AbortController,
  on: {
    failed: (reason: string) => Promise<HeldRunOutcome>
    clientGone: () => Promise<HeldRunOutcome>
    store: (result: Record<string, unknown>, bytes: number) => Promise<JobRecord | undefined>
  },
): Promise<HeldRunOutcome> {
  const reader = res.body?.getReader()
  const first = reader ? await reader.read().catch(() => undefined) : undefined
  if (!reader || !first || first.done) return await on.failed('stream ended before the first chunk')
  const folded = new CompletionFromChunks()
  let bytes = 0
  const pass = (chunk: Uint8Array) => {
    bytes += chunk.byteLength
    folded.push(chunk)
    o.write?.(chunk)
  }
  pass(first.value)
  for (;;) {
    const idle = setTimeout(() => upstream.abort(new Error('idle timeout')), ctx.idleTimeoutMs)
    let next: ReadableStreamReadResult<Uint8Array>
    try {
      next = await reader.read()
    } catch {
      if (o.signal.aborted) return await on.clientGone()
      break
    } finally {
      clearTimeout(idle)
    }
    if (next.done) break
    pass(next.value)
  }
  if (!folded.complete) {
    // The client has chunks already: no failover now; the job ends failed, the stream with an error.
    const message = 'The model backend stopped mid-stream.'
    const { jobs } = ctx.overflow
    await o.lease.release()
    await jobs.fail({
      id: o.job.id,
      claimId: o.claimId,
      now: ctx.clock(),
      error: { code: 'upstream_stream_error', message, status: 502 },
    })
    return { kind: 'broken', message }
  }
  await on.store(folded.result(), bytes)
  return { kind: 'streamed' }
}
