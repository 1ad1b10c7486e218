import { placeholdersFor } from '../aws/dynamo-toolkit.ts'
import { isApiKind } from '../backends/backend-apis.ts'
import type { JobError, JobRecord, JobServedBy, JobStatus, WebhookStatus } from './job-record.ts'

/**
 * DynamoDB item of a job in the jobs table (key `id`). The request and the
 * result are stored as JSON strings: DynamoDB's map type would reject some
 * valid JSON (numbers past 38 digits) and costs more to marshal; the job is
 * read whole anyway. `openStatus` + `checkAt` feed the sparse GSI
 * `by-open-status` and are removed once the job is terminal.
 */
export const JOB_ATTR = {
  id: 'id',
  kind: 'kind',
  tenantId: 'tenantId',
  model: 'model',
  api: 'api',
  request: 'requestJson',
  stream: 'stream',
  lane: 'lane',
  mayDegrade: 'mayDegrade',
  status: 'status',
  openStatus: 'openStatus',
  checkAt: 'checkAt',
  requestId: 'requestId',
  createdAt: 'createdAt',
  updatedAt: 'updatedAt',
  deadlineAt: 'deadlineAt',
  attempts: 'attempts',
  enqueuedAt: 'enqueuedAt',
  claimId: 'claimId',
  claimExpiresAt: 'claimExpiresAt',
  startedAt: 'startedAt',
  finishedAt: 'finishedAt',
  result: 'resultJson',
  error: 'error',
  servedBy: 'servedBy',
  webhookUrl: 'webhookUrl',
  heldUntil: 'heldUntil',
  webhookStatus: 'webhookStatus',
  webhookAttempts: 'webhookAttempts',
  webhookOutbox: 'webhookOutbox',
  webhookDueAt: 'webhookDueAt',
  expiresAt: 'expiresAt',
} as const

/** `#status` → `status`, …: every attribute as an expression placeholder. */
export const JOB_NAMES = placeholdersFor(JOB_ATTR)

export const JOB_KIND = 'job'

/** Records stay readable this long after they finish (TTL garbage collection, days late at worst). */
export const RETENTION_SECONDS = 7 * 24 * 3600

const STATUSES: ReadonlySet<string> = new Set([
  'queued',
  'running',
  'succeeded',
  'failed',
  'expired',
  'cancelled',
])

/**
 * An item that does not parse is not skipped: the worker throws, the message is
 * retried and, if it never parses, lands in the DLQ, whose handler fails the job.
 */
export class CorruptJobError extends Error {
  override name = 'CorruptJobError'
}

export function ttlSeconds(epochMs: number): number {
  return Math.ceil(epochMs / 1000) + RETENTION_SECONDS
}

export function jobToItem(job: JobRecord, checkAt: number): Record<string, unknown> {
  return {
    [JOB_ATTR.id]: job.id,
    [JOB_ATTR.kind]: JOB_KIND,
    [JOB_ATTR.tenantId]: job.tenantId,
    [JOB_ATTR.model]: job.model,
    [JOB_ATTR.api]: job.api,
    [JOB_ATTR.request]: JSON.stringify(job.request),
    [JOB_ATTR.stream]: job.stream,
    [JOB_ATTR.lane]: job.lane,
    [JOB_ATTR.mayDegrade]: job.mayDegrade,
    [JOB_ATTR.status]: job.status,
    [JOB_ATTR.openStatus]: job.status,
    [JOB_ATTR.checkAt]: checkAt,
    [JOB_ATTR.requestId]: job.requestId,
    [JOB_ATTR.createdAt]: job.createdAt,
    [JOB_ATTR.updatedAt]: job.updatedAt,
    [JOB_ATTR.deadlineAt]: job.deadlineAt,
    [JOB_ATTR.attempts]: job.attempts,
    [JOB_ATTR.webhookUrl]: job.webhookUrl,
    [JOB_ATTR.heldUntil]: job.heldUntil,
    [JOB_ATTR.webhookStatus]: job.webhookUrl ? 'pending' : undefined,
    // The webhook outbox's partition key; `webhookDueAt`, its sort key, comes when the job ends.
    [JOB_ATTR.webhookOutbox]: job.webhookUrl ? 'pending' : undefined,
    [JOB_ATTR.expiresAt]: ttlSeconds(job.deadlineAt),
  }
}

export function jobFromItem(item: Record<string, unknown>): JobRecord {
  const text = (name: string): string => {
    const value = item[name]
    if (typeof value !== 'string')
      throw new CorruptJobError(`job ${String(item.id)}: ${name} is not a string`)
    return value
  }
  const num = (name: string): number => {
    const value = item[name]
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new CorruptJobError(`job ${String(item.id)}: ${name} is not a number`)
    }
    return value
  }
  const optionalNum = (name: string) => (item[name] === undefined ? undefined : num(name))
  const status = text(JOB_ATTR.status)
  if (!STATUSES.has(status)) throw new CorruptJobError(`job ${String(item.id)}: unknown status ${status}`)
  const lane = item[JOB_ATTR.lane] === 'batch' ? 'batch' : 'interactive'
  const api = item[JOB_ATTR.api]
  const request = parseObject(text(JOB_ATTR.request), `job ${String(item.id)}: request`)
  const result =
    item[JOB_ATTR.result] === undefined ? undefined : parseObject(text(JOB_ATTR.result), 'result')
  const job: JobRecord = {
    id: text(JOB_ATTR.id),
    tenantId: text(JOB_ATTR.tenantId),
    model: text(JOB_ATTR.model),
    api: isApiKind(api) ? api : undefined,
    request,
    stream: item[JOB_ATTR.stream] === true,
    lane,
    mayDegrade: item[JOB_ATTR.mayDegrade] === true,
    status: status as JobStatus,
    requestId: typeof item[JOB_ATTR.requestId] === 'string' ? (item[JOB_ATTR.requestId] as string) : '',
    createdAt: num(JOB_ATTR.createdAt),
    updatedAt: num(JOB_ATTR.updatedAt),
    deadlineAt: num(JOB_ATTR.deadlineAt),
    attempts: num(JOB_ATTR.attempts),
    enqueuedAt: optionalNum(JOB_ATTR.enqueuedAt),
    claimId: typeof item[JOB_ATTR.claimId] === 'string' ? (item[JOB_ATTR.claimId] as string) : undefined,
    claimExpiresAt: optionalNum(JOB_ATTR.claimExpiresAt),
    startedAt: optionalNum(JOB_ATTR.startedAt),
    finishedAt: optionalNum(JOB_ATTR.finishedAt),
    result,
    error: errorFrom(item[JOB_ATTR.error]),
    servedBy: servedByFrom(item[JOB_ATTR.servedBy]),
    webhookUrl:
      typeof item[JOB_ATTR.webhookUrl] === 'string' ? (item[JOB_ATTR.webhookUrl] as string) : undefined,
    heldUntil: optionalNum(JOB_ATTR.heldUntil),
    webhookStatus: item[JOB_ATTR.webhookStatus] as WebhookStatus | undefined,
    webhookAttempts: optionalNum(JOB_ATTR.webhookAttempts),
  }
  // Optional fields stay absent rather than present-and-undefined, so records compare cleanly.
  return Object.fromEntries(Object.entries(job).filter(([, v]) => v !== undefined)) as unknown as JobRecord
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new CorruptJobError(`${what} is not JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CorruptJobError(`${what} is not an object`)
  }
  return value as Record<string, unknown>
}

function errorFrom(value: unknown): JobError | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { code, message, status } = value as Record<string, unknown>
  return {
    code: String(code ?? 'unknown'),
    message: String(message ?? ''),
    ...(typeof status === 'number' ? { status } : {}),
  }
}

function servedByFrom(value: unknown): JobServedBy | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { hardware, backendId, route } = value as Record<string, unknown>
  return {
    hardware: String(hardware),
    backendId: String(backendId),
    route: route === 'fallback' ? 'fallback' : 'primary',
  }
}
