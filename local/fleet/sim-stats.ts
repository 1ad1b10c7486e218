/**
 * What a simulated backend counts: totals since the last reset, KV cache
 * tokens held by running sequences, and a short history of recent requests
 * (for tests that check order or routing).
 */

export type RejectReason =
  | 'slow-start'
  | 'invalid'
  | 'unknown-model'
  | 'error'
  | 'rate-limit'
  | 'redirect'
  | 'overload'
export type RequestOutcome = 'waiting' | 'running' | 'completed' | 'aborted' | 'failed'

export interface RequestRecord {
  readonly requestId: string
  readonly model: string
  readonly firstMessage: string
  readonly stream: boolean
  /** 1-based arrival number among completion requests since the last reset. */
  readonly arrival: number
  /** 1-based order in which the request got a running sequence, once it did. */
  start?: number
  outcome: RequestOutcome
  completionTokens: number
}

export interface SimTotals {
  requests: number
  completed: number
  aborted: number
  failed: number
  rejected: Record<RejectReason, number>
  finished: { stop: number; length: number }
}

const RECENT_LIMIT = 200

function zeroTotals(): SimTotals {
  return {
    requests: 0,
    completed: 0,
    aborted: 0,
    failed: 0,
    rejected: {
      'slow-start': 0,
      invalid: 0,
      'unknown-model': 0,
      error: 0,
      'rate-limit': 0,
      redirect: 0,
      overload: 0,
    },
    finished: { stop: 0, length: 0 },
  }
}

export class SimStats {
  totals: SimTotals = zeroTotals()
  /** Prompt plus generated tokens of the running sequences. */
  kvTokens = 0
  readonly recent: RequestRecord[] = []
  #starts = 0

  reset(): void {
    this.totals = zeroTotals()
    this.recent.length = 0
    this.#starts = 0
  }

  /** Counts an arriving completion request and returns its arrival number. */
  arrive(): number {
    return ++this.totals.requests
  }

  reject(reason: RejectReason): void {
    this.totals.rejected[reason]++
  }

  track(record: Omit<RequestRecord, 'outcome' | 'completionTokens'>): RequestRecord {
    const tracked: RequestRecord = { ...record, outcome: 'waiting', completionTokens: 0 }
    this.recent.push(tracked)
    if (this.recent.length > RECENT_LIMIT) this.recent.shift()
    return tracked
  }

  started(record: RequestRecord): void {
    record.start = ++this.#starts
    record.outcome = 'running'
  }

  finish(
    record: RequestRecord,
    outcome: 'completed' | 'aborted' | 'failed',
    finishReason?: 'stop' | 'length',
  ): void {
    record.outcome = outcome
    this.totals[outcome]++
    if (outcome === 'completed' && finishReason) this.totals.finished[finishReason]++
  }
}
