import { setTimeout as delay } from 'node:timers/promises'

/**
 * Sleeps along a schedule rather than gap by gap: each wait adds to a due time
 * and only sleeps once the due time is a millisecond or more ahead. Sub-ms token
 * gaps (small `speed` factors) then add up correctly instead of each costing a
 * whole timer tick, and a speed of 0 never touches a timer.
 */
export class Pacer {
  #due = performance.now()

  /** Resolves true after `ms` more of schedule, false as soon as `signal` aborts. */
  async wait(ms: number, signal: AbortSignal): Promise<boolean> {
    this.#due += ms
    const ahead = this.#due - performance.now()
    if (ahead >= 1) {
      try {
        await delay(ahead, undefined, { signal })
      } catch {
        return false
      }
    }
    return !signal.aborted
  }
}

/** Resolves when the signal aborts (at once if it already has). */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}
