import { randomUUID } from 'node:crypto'
import type { ModelConfig } from '../config/gateway-config.ts'
import { isTerminal, type JobRecord, jobApi } from '../jobs/job-record.ts'
import { waitForJob } from '../jobs/wait-for-job.ts'
import { runHeldJob } from './held-run.ts'
import type { HoldContext } from './hold-settings.ts'

export interface HoldOptions {
  readonly job: JobRecord
  readonly model: ModelConfig
  /** Epoch ms: the hold ends here (the tenant's hold limit, the runtime's, the job's deadline). */
  readonly until: number
  /** The held client went away. */
  readonly signal: AbortSignal
  /** A held stream's live chunks. */
  readonly write?: (chunk: Uint8Array) => void
}

export type HoldOutcome =
  | { readonly kind: 'ended'; readonly job: JobRecord }
  | { readonly kind: 'streamed' }
  | { readonly kind: 'broken'; readonly message: string }
  | { readonly kind: 'client-gone' }
  /** The hold ran out with the job still open. */
  | { readonly kind: 'timeout'; readonly job: JobRecord }

/**
 * Holds a queued request's client and competes for its job: wait in this
 * process's slot line (woken by capacity changes), then, in the worker's order,
 * slot first, then the job's conditional claim (a lost claim gives the slot
 * back), so a held job still runs at most once. While waiting, the job's
 * `heldUntil` marker tells workers to leave it to us; if this process dies the
 * marker lapses and the worker runs it (durable fallback). A job that a worker
 * or a `DELETE` took meanwhile is waited for and answered from its record.
 * A client that leaves before the job started cancels it: the backend never
 * sees an abandoned request.
 */
export async function holdJob(ctx: HoldContext, o: HoldOptions): Promise<HoldOutcome> {
  const { jobs } = ctx.overflow
  const { clock, settings } = ctx
  let waiting: AbortController = new AbortController()
  let notQueued = false
  let running = false
  const renew = async () => {
    if (running || notQueued) return
    try {
      const now = clock()
      if (!(await jobs.holdFor({ id: o.job.id, heldUntil: now + settings.markerTtlMs, now }))) {
        notQueued = true
        waiting.abort()
      }
    } catch (error) {
      ctx.log.warn('hold marker not renewed', { jobId: o.job.id, error: String(error) })
    }
  }
  const marker = setInterval(() => void renew(), Math.max(100, Math.floor(settings.markerTtlMs / 3)))
  marker.unref()
  let leaveWanted: (() => void) | undefined
  const cancel = async (): Promise<HoldOutcome> => {
    await jobs.cancel({ id: o.job.id, tenantId: o.job.tenantId, now: clock() })
    return { kind: 'client-gone' }
  }

  try {
    if (!o.job.heldUntil) await renew()
    while (!notQueued) {
      if (o.signal.aborted) return await cancel()
      const now = clock()
      if (now >= o.until) break
      waiting = new AbortController()
      const routed = await ctx.slots.acquire({
        model: o.model,
        mayDegrade: o.job.mayDegrade,
        api: jobApi(o.job),
        lane: o.job.lane,
        patienceMs: o.until - now,
        until: o.until,
        signal: AbortSignal.any([o.signal, waiting.signal]),
      })
      if (!routed.ok) {
        if (routed.reason === 'no-backend') {
          // Waiting for capacity, not refused: scale-from-zero autoscalers act on this.
          leaveWanted ??= ctx.wants.enter(o.model.id)
          ctx.wants.remind(o.model.id)
          await sleep(
            Math.min(settings.noBackendPollMs, o.until - clock()),
            AbortSignal.any([o.signal, waiting.signal]),
          )
        }
        continue
      }
      leaveWanted?.()
      leaveWanted = undefined
      if (o.signal.aborted) {
        await routed.lease.release()
        return await cancel()
      }
      const claimId = randomUUID()
      const claimedAt = clock()
      running = true
      const claimed = await jobs.claim({
        id: o.job.id,
        claimId,
        now: claimedAt,
        claimExpiresAt: claimedAt + settings.claimTtlMs,
      })
      if (!claimed) {
        await routed.lease.release()
        notQueued = true
        break
      }
      const run = await runHeldJob(ctx, {
        job: claimed,
        claimId,
        lease: routed.lease,
        tier: routed.tier,
        route: routed.route,
        signal: o.signal,
        ...(o.write ? { write: o.write } : {}),
      })
      running = false
      if (run.kind !== 'retry') return run
    }
    // Someone else has the job (a worker after our marker lapsed, a DELETE), or time is up.
    const latest = (await jobs.get(o.job.id)) ?? o.job
    const settled = isTerminal(latest.status)
      ? latest
      : await waitForJob({ jobs, job: latest, until: o.until, clock, signal: o.signal })
    if (isTerminal(settled.status)) return { kind: 'ended', job: settled }
    if (o.signal.aborted) return await cancel()
    return { kind: 'timeout', job: settled }
  } finally {
    clearInterval(marker)
    leaveWanted?.()
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
