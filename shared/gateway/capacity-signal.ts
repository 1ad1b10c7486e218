import type { AppLogger } from '../logging.ts'

/**
 * "Capacity wanted": requests wait on a model that has no healthy backend at
 * all (every one draining, stale, circuit-open, or none registered yet). An
 * autoscaler that scales a model server from zero acts on `wanted`; `satisfied`
 * says nobody waits on the model any more (a backend came up, or they gave up).
 */
export interface CapacitySignal {
  wanted(model: string, waiting: number): void
  satisfied(model: string): void
}

/**
 * The default signal: one structured log line per model when it starts wanting
 * capacity, repeated every `repeatMs` while it still does, and one when it is
 * satisfied (log-based metric filters and alarms read these).
 */
export function loggedCapacitySignal(
  log: AppLogger,
  repeatMs = 10_000,
  clock: () => number = Date.now,
): CapacitySignal {
  const loggedAt = new Map<string, number>()
  return {
    wanted(model, waiting) {
      const now = clock()
      const last = loggedAt.get(model)
      if (last !== undefined && now - last < repeatMs) return
      loggedAt.set(model, now)
      log.warn('capacity wanted', { model, waiting })
    },
    satisfied(model) {
      if (!loggedAt.delete(model)) return
      log.info('capacity satisfied', { model })
    },
  }
}

/** Both signals get every call (the log line and, say, a metric). */
export function bothSignals(a: CapacitySignal, b: CapacitySignal): CapacitySignal {
  return {
    wanted: (model, waiting) => {
      a.wanted(model, waiting)
      b.wanted(model, waiting)
    },
    satisfied: (model) => {
      a.satisfied(model)
      b.satisfied(model)
    },
  }
}

/**
 * Counts, per model, the held requests that wait with no healthy backend, and
 * turns the counts into `wanted` / `satisfied` calls.
 */
export class CapacityWants {
  readonly #signal: CapacitySignal
  readonly #waiting = new Map<string, number>()

  constructor(signal: CapacitySignal) {
    this.#signal = signal
  }

  /** One more waiter on `model`; call the returned function (idempotent) when it stops waiting. */
  enter(model: string): () => void {
    const count = (this.#waiting.get(model) ?? 0) + 1
    this.#waiting.set(model, count)
    this.#signal.wanted(model, count)
    let left = false
    return () => {
      if (left) return
      left = true
      const rest = (this.#waiting.get(model) ?? 1) - 1
      if (rest > 0) this.#waiting.set(model, rest)
      else {
        this.#waiting.delete(model)
        this.#signal.satisfied(model)
      }
    }
  }

  /** Re-announces a model that is still wanted (a long wait keeps the signal alive). */
  remind(model: string): void {
    const count = this.#waiting.get(model)
    if (count) this.#signal.wanted(model, count)
  }
}
