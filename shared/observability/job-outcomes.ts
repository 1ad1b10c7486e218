/** The delivery outcomes that end a job: what `spillway_jobs_total{status}` and `JobOutcomes` count. */
export const JOB_OUTCOMES = ['succeeded', 'failed', 'expired'] as const

export type JobOutcome = (typeof JOB_OUTCOMES)[number]

/** A worker delivery's outcome is a job outcome only when its write ended the job (not a duplicate, not a retry). */
export function isJobOutcome(outcome: string): outcome is JobOutcome {
  return (JOB_OUTCOMES as readonly string[]).includes(outcome)
}
