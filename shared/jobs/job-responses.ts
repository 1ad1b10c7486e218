import { type ErrorType, SpillwayError } from '../errors.ts'
import { answerAsSse, wantsUsage } from '../proxy/answer-as-sse.ts'
import { type JobRecord, jobApi } from './job-record.ts'

/**
 * The answers a held or joined request gets once its job is known: the result
 * inline (JSON or SSE, so an unchanged OpenAI client reads it), the job's
 * failure as an OpenAI error, or 202 pointing at the job.
 */

export function acceptedResponse(job: JobRecord, retryAfterSeconds: number): Response {
  return Response.json(
    { id: job.id, object: 'inference.job', status: job.status },
    {
      status: 202,
      headers: {
        location: `/v1/jobs/${job.id}`,
        'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
        'x-spillway-route': 'queued',
        'x-spillway-job-id': job.id,
      },
    },
  )
}

function servedHeaders(job: JobRecord): Record<string, string> {
  return {
    'x-spillway-route': 'queued',
    'x-spillway-hardware': job.servedBy?.hardware ?? 'unknown',
    'x-spillway-backend': job.servedBy?.backendId ?? 'unknown',
    'x-spillway-job-id': job.id,
  }
}

/** A succeeded job as the response the client would have had without queueing. */
export function resultResponse(job: JobRecord): Response {
  const result = job.result ?? {}
  if (!job.stream) return Response.json(result, { headers: servedHeaders(job) })
  return new Response(answerAsSse({ api: jobApi(job), result, includeUsage: wantsUsage(job.request) }), {
    headers: {
      ...servedHeaders(job),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    },
  })
}

/** The failure a synchronous caller sees for a job that ended without a result. */
export function jobErrorResponse(job: JobRecord): Response {
  const status = job.error?.status ?? defaultStatus(job)
  const type: ErrorType =
    status === 503 ? 'service_unavailable_error' : status >= 500 ? 'server_error' : 'invalid_request_error'
  const error = new SpillwayError(status, type, job.error?.message ?? `The job ended ${job.status}.`, {
    code: job.error?.code ?? `job_${job.status}`,
    // The OpenAI SDK retries 409 and 5xx by itself; repeating a finished job cannot help.
    headers: { 'x-should-retry': 'false', 'x-spillway-route': 'queued', 'x-spillway-job-id': job.id },
  })
  return error.toResponse()
}

function defaultStatus(job: JobRecord): number {
  if (job.status === 'expired') return 503
  if (job.status === 'cancelled') return 409
  return 502
}
