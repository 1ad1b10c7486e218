import { ServiceUnavailableError } from '../errors.ts'
import { isTerminal, type JobRecord, jobApi } from '../jobs/job-record.ts'
import { jobErrorResponse, resultResponse } from '../jobs/job-responses.ts'
import { answerAsSse, wantsUsage } from '../proxy/answer-as-sse.ts'
import { sseErrorEvent } from '../proxy/sse-relay.ts'
import { type HoldOptions, type HoldOutcome, holdJob } from './hold-job.ts'
import type { HoldContext } from './hold-settings.ts'

export interface HeldResponseOptions extends Omit<HoldOptions, 'write'> {
  /** With an `Idempotency-Key` the job outlives a hold that runs out: a retry joins it. */
  readonly keepJobOnTimeout: boolean
  /** The drain-rate estimate for `Retry-After` when the hold runs out. */
  readonly retryAfterSeconds: number
}

const encoder = new TextEncoder()

/** A held non-streaming request: `200` with the completion, the job's own error, or `503` when time is up. */
export async function heldJsonResponse(ctx: HoldContext, o: HeldResponseOptions): Promise<Response> {
  const started = ctx.clock()
  const outcome = await holdJob(ctx, o)
  const ended = outcome.kind === 'timeout' ? await endHold(ctx, o, outcome.job) : outcome
  if (ended.kind === 'ended') return withQueueTime(answerFromJob(ended.job), ended.job, started)
  if (ended.kind === 'timeout') return holdTimeout(o, ended.job).toResponse()
  // Nobody reads this: the client left (a stream kind cannot come from a non-streaming job).
  return new Response(null, { status: 499 })
}

/**
 * A held stream: `200 text/event-stream` at once, `: queued` comments while it
 * waits, then the chunks as the backend produces them, then `[DONE]`; any other
 * ending is an SSE error event, never an empty stream. Everything is written
 * before the stream closes (on Lambda nothing runs afterwards).
 */
export function heldStreamResponse(ctx: HoldContext, o: HeldResponseOptions): Response {
  const clientGone = new AbortController()
  const signal = AbortSignal.any([o.signal, clientGone.signal])
  const started = ctx.clock()
  let chunks = false
  let closed = false
  let keepAlive: NodeJS.Timeout | undefined
  let holding: Promise<void> | undefined
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (bytes: Uint8Array) => {
        if (!closed) controller.enqueue(bytes)
      }
      send(encoder.encode(': queued\n\n'))
      keepAlive = setInterval(() => {
        if (!chunks) send(encoder.encode(`: queued ${Math.round((ctx.clock() - started) / 1000)}s\n\n`))
      }, ctx.settings.keepAliveMs)
      const write = (chunk: Uint8Array) => {
        chunks = true
        send(chunk)
      }
      holding = (async () => {
        let outcome: HoldOutcome
        try {
          outcome = await holdJob(ctx, { ...o, signal, write })
          if (outcome.kind === 'timeout') outcome = await endHold(ctx, o, outcome.job)
        } catch (error) {
          ctx.log.error('held stream failed', { jobId: o.job.id, error: String(error) })
          outcome = { kind: 'broken', message: 'The queued request failed inside Spillway.' }
        }
        clearInterval(keepAlive)
        if (outcome.kind === 'ended' && outcome.job.status === 'succeeded') {
          const { job } = outcome
          const replay = await new Response(
            answerAsSse({
              api: jobApi(job),
              result: job.result ?? {},
              includeUsage: wantsUsage(job.request),
            }),
          ).arrayBuffer()
          send(new Uint8Array(replay))
        } else if (outcome.kind === 'ended') {
          const error = outcome.job.error
          send(
            sseErrorEvent(
              error?.message ?? `The job ended ${outcome.job.status}.`,
              error?.code ?? `job_${outcome.job.status}`,
            ),
          )
        } else if (outcome.kind === 'timeout') {
          const error = holdTimeout(o, outcome.job)
          send(sseErrorEvent(error.message, error.code))
        } else if (outcome.kind === 'broken') {
          send(sseErrorEvent(outcome.message, 'upstream_stream_error'))
        }
        if (!closed) {
          closed = true
          controller.close()
        }
      })()
    },
    cancel() {
      closed = true
      clearInterval(keepAlive)
      clientGone.abort()
      // Awaited by whoever cancels (the Lambda handler): the job's cancel and the lease release land first.
      return holding
    },
  })
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-spillway-route': 'queued',
      'x-spillway-job-id': o.job.id,
    },
  })
}

/** A hold that ran out: the job is cancelled, or with an `Idempotency-Key` left queued for the retry. */
async function endHold(ctx: HoldContext, o: HeldResponseOptions, job: JobRecord): Promise<HoldOutcome> {
  const { jobs } = ctx.overflow
  const now = ctx.clock()
  if (o.keepJobOnTimeout) {
    // Hand it to the workers now rather than when the marker would lapse; it keeps its place.
    await jobs.holdFor({ id: job.id, heldUntil: now, now })
    return { kind: 'timeout', job }
  }
  const cancelled = await jobs.cancel({ id: job.id, tenantId: job.tenantId, now })
  if (cancelled) return { kind: 'timeout', job: cancelled }
  // It ended in the meantime: that outcome is the answer.
  const latest = (await jobs.get(job.id)) ?? job
  return isTerminal(latest.status) ? { kind: 'ended', job: latest } : { kind: 'timeout', job: latest }
}

function holdTimeout(o: HeldResponseOptions, job: JobRecord): ServiceUnavailableError {
  const kept = o.keepJobOnTimeout
    ? ' The job stays queued: a retry with the same Idempotency-Key joins it.'
    : ' The job was cancelled.'
  return new ServiceUnavailableError(`No slot freed for this request within its hold limit.${kept}`, {
    code: 'hold_timeout',
    headers: {
      'retry-after': String(Math.max(1, Math.ceil(o.retryAfterSeconds))),
      // Unlike a job's own failure, a retry may well find a slot.
      'x-should-retry': 'true',
      'x-spillway-route': 'queued',
      'x-spillway-job-id': job.id,
    },
  })
}

export function answerFromJob(job: JobRecord): Response {
  return job.status === 'succeeded' ? resultResponse(job) : jobErrorResponse(job)
}

/** `x-spillway-queue-ms`: how long the request waited for its slot (for the request log). */
function withQueueTime(res: Response, job: JobRecord, since: number): Response {
  const waited = job.startedAt !== undefined ? Math.max(0, job.startedAt - since) : undefined
  if (waited !== undefined) res.headers.set('x-spillway-queue-ms', String(waited))
  return res
}
