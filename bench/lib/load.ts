import type { CallResult } from './http-call.ts'

export interface ClosedLoopOptions {
  readonly concurrency: number
  /** Keep issuing until this much time has passed… */
  readonly durationMs: number
  /** …and at least this many requests were sent (enough samples for a p99). */
  readonly minRequests: number
  /** Never more than this many (smoke runs). */
  readonly maxRequests?: number
  readonly call: () => Promise<CallResult>
}

export interface LoadRun {
  readonly results: readonly CallResult[]
  readonly elapsedMs: number
}

/** `concurrency` clients, each sending its next request as soon as the last one ends. */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<LoadRun> {
  const results: CallResult[] = []
  const started = performance.now()
  let issued = 0
  const more = () =>
    issued < (options.maxRequests ?? Number.POSITIVE_INFINITY) &&
    (performance.now() - started < options.durationMs || issued < options.minRequests)
  const client = async () => {
    while (more()) {
      issued++
      results.push(await options.call())
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, client))
  return { results, elapsedMs: performance.now() - started }
}

export interface OpenLoopOptions {
  /** Requests per second, sent on schedule whether or not earlier ones have answered. */
  readonly rate: number
  readonly durationMs: number
  /** Past this many in flight the target is drowning: further sends count as failures. */
  readonly maxInFlight: number
  /** Latency counts from `scheduledAt`, so a stalled client cannot hide queueing (coordinated omission). */
  readonly call: (scheduledAt: number) => Promise<CallResult>
}

/** A fixed arrival rate, as real traffic is: the way to find the rate a target sustains. */
export async function runOpenLoop(options: OpenLoopOptions): Promise<LoadRun> {
  const results: CallResult[] = []
  const pending = new Set<Promise<void>>()
  const started = performance.now()
  const total = Math.max(1, Math.round((options.rate * options.durationMs) / 1000))
  const interval = 1000 / options.rate
  let issued = 0
  while (issued < total) {
    const due = Math.min(total, Math.floor((performance.now() - started) / interval) + 1)
    for (; issued < due; issued++) {
      const scheduledAt = started + issued * interval
      if (pending.size >= options.maxInFlight) {
        results.push({ ok: false, status: 0, latencyMs: Number.NaN, error: 'too many in flight' })
        continue
      }
      const sent: Promise<void> = options.call(scheduledAt).then((result) => {
        results.push(result)
        pending.delete(sent)
      })
      pending.add(sent)
    }
    // A 1 ms timer rather than a busy loop: the generator shares its core with the backend.
    if (issued < total) await new Promise((resolve) => setTimeout(resolve, 1))
  }
  await Promise.all(pending)
  return { results, elapsedMs: performance.now() - started }
}
