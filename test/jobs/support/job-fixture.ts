import { type JobRecord, newJobId } from '../../../shared/jobs/job-record.ts'

/**
 * A queued job record as the tests write it straight to the table: created at `at`
 * (default now) with a 10-minute deadline, unless the overrides say otherwise.
 */
export function queuedJobRecord(overrides: Partial<JobRecord> & { at?: number } = {}): JobRecord {
  const { at = Date.now(), ...rest } = overrides
  return {
    id: newJobId(),
    tenantId: 'acme',
    model: 'm',
    request: { messages: [] },
    stream: false,
    lane: 'interactive',
    mayDegrade: false,
    status: 'queued',
    requestId: 'r',
    createdAt: at,
    updatedAt: at,
    deadlineAt: at + 600_000,
    attempts: 0,
    ...rest,
  }
}
