import { createHash } from 'node:crypto'
import { BadRequestError, UnprocessableError } from '../errors.ts'
import type { JobServedBy } from '../jobs/job-record.ts'
import type { JobStore } from '../jobs/job-store.ts'

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/

/** Where a request with an `Idempotency-Key` stands once the key is reserved or found. */
export type KeyState =
  /** First use: run the request; its queued job (if any) gets `jobId`. */
  | { readonly kind: 'fresh'; readonly jobId: string }
  /** Served directly before: replay the stored completion. */
  | { readonly kind: 'stored'; readonly result: Record<string, unknown>; readonly servedBy?: JobServedBy }
  /** Queued before: join that job. */
  | { readonly kind: 'job'; readonly jobId: string }
  /** The first request is still being served directly (no job, no stored answer yet). */
  | { readonly kind: 'in-flight'; readonly jobId: string }

export interface IdempotentRequest {
  readonly jobs: JobStore
  readonly tenantId: string
  readonly key: string
  readonly jobId: string
  /** What makes two requests "the same": model, body, webhook. */
  readonly request: unknown
  readonly now: number
  readonly ttlSeconds: number
}

export function checkIdempotencyKey(key: string): string {
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new BadRequestError('Idempotency-Key must be 1 to 255 printable ASCII characters.', {
      param: 'Idempotency-Key',
    })
  }
  return key
}

/**
 * Reserves the key before routing (one conditional put, only for requests that
 * carry the header), or reads what it is bound to. A key reused with another
 * request is refused with 422.
 */
export async function reserveKey(o: IdempotentRequest): Promise<KeyState> {
  const fingerprint = createHash('sha256').update(JSON.stringify(o.request)).digest('hex')
  const reserved = await o.jobs.reserveIdempotencyKey({
    tenantId: o.tenantId,
    key: o.key,
    jobId: o.jobId,
    fingerprint,
    now: o.now,
    ttlSeconds: o.ttlSeconds,
  })
  if (reserved.ok) return { kind: 'fresh', jobId: o.jobId }
  if (reserved.fingerprint !== fingerprint) {
    throw new UnprocessableError('This Idempotency-Key was used with a different request.', {
      code: 'idempotency_key_reused',
      param: 'Idempotency-Key',
    })
  }
  return stateOf(o.jobs, reserved)
}

async function stateOf(
  jobs: JobStore,
  record: { jobId: string; result?: Readonly<Record<string, unknown>>; servedBy?: JobServedBy },
): Promise<KeyState> {
  if (record.result) {
    return {
      kind: 'stored',
      result: { ...record.result },
      ...(record.servedBy ? { servedBy: record.servedBy } : {}),
    }
  }
  if (await jobs.get(record.jobId)) return { kind: 'job', jobId: record.jobId }
  return { kind: 'in-flight', jobId: record.jobId }
}

/**
 * Waits (bounded) while the first request with this key is served directly:
 * its stored answer, its job if it queued, or a fresh reservation if it failed
 * and freed the key. Still in flight at `until`: undefined.
 */
export async function awaitKey(
  o: IdempotentRequest & { until: number; clock: () => number; signal: AbortSignal },
): Promise<KeyState | undefined> {
  let interval = 100
  while (o.clock() < o.until && !o.signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(1, o.until - o.clock()))))
    interval = Math.min(1000, Math.ceil(interval * 1.5))
    const record = await o.jobs.readIdempotencyKey({ tenantId: o.tenantId, key: o.key })
    if (!record) return await reserveKey({ ...o, now: o.clock() })
    const state = await stateOf(o.jobs, record)
    if (state.kind !== 'in-flight') return state
  }
  return undefined
}
