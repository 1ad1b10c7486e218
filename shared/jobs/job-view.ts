import { isTerminal, type JobRecord } from './job-record.ts'

const seconds = (ms: number | undefined) => (ms === undefined ? null : Math.floor(ms / 1000))

/**
 * A job as clients see it (`GET /v1/jobs/{id}`, webhooks): OpenAI-style names
 * and epoch seconds; no request body, no claim, no backend URL.
 */
export function jobView(job: JobRecord) {
  return {
    id: job.id,
    object: 'inference.job' as const,
    status: job.status,
    model: job.model,
    priority: job.lane,
    created_at: seconds(job.createdAt),
    started_at: seconds(job.startedAt),
    finished_at: seconds(job.finishedAt),
    deadline_at: seconds(job.deadlineAt),
    attempts: job.attempts,
    route: job.servedBy ? 'queued' : null,
    hardware: job.servedBy?.hardware ?? null,
    backend: job.servedBy?.backendId ?? null,
    result: job.status === 'succeeded' ? (job.result ?? null) : null,
    // A retried attempt's error stays internal: only an unsuccessful end is the job's error.
    error:
      job.error && isTerminal(job.status) && job.status !== 'succeeded'
        ? { code: job.error.code, message: job.error.message }
        : null,
    ...(job.webhookUrl
      ? { webhook: { status: job.webhookStatus ?? 'pending', attempts: job.webhookAttempts ?? 0 } }
      : {}),
  }
}

export type JobView = ReturnType<typeof jobView>
