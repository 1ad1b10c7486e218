/**
 * vLLM's admission in miniature: at most `maxNumSeqs` sequences run at once;
 * the rest wait in one FIFO queue of at most `maxWaiting` entries and start in
 * arrival order as sequences finish. A waiter whose client goes away leaves the
 * queue at once; a running sequence whose client goes away frees its slot at once.
 */

export interface SchedulerOptions {
  readonly maxNumSeqs: number
  readonly maxWaiting: number
}

/** A running sequence; `release()` is idempotent. */
export interface Sequence {
  readonly release: () => void
}

export type AdmitResult =
  | { readonly ok: true; readonly started: Promise<StartResult> }
  | { readonly ok: false; readonly reason: 'queue-full' }

export type StartResult =
  | { readonly ok: true; readonly sequence: Sequence }
  | { readonly ok: false; readonly reason: 'aborted' }

interface Waiter {
  readonly resolve: (result: StartResult) => void
  readonly signal: AbortSignal
  readonly onAbort: () => void
}

export class Scheduler {
  readonly maxNumSeqs: number
  readonly maxWaiting: number
  #running = 0
  #peakRunning = 0
  #peak = 0
  readonly #queue: Waiter[] = []

  constructor(options: SchedulerOptions) {
    this.maxNumSeqs = options.maxNumSeqs
    this.maxWaiting = options.maxWaiting
  }

  get running(): number {
    return this.#running
  }

  get waiting(): number {
    return this.#queue.length
  }

  /** The most sequences running at once since the last reset. */
  get peakRunning(): number {
    return this.#peakRunning
  }

  /** The most requests held at once (running plus waiting) since the last reset. */
  get peak(): number {
    return this.#peak
  }

  resetPeaks(): void {
    this.#peakRunning = this.#running
    this.#peak = this.#running + this.#queue.length
  }

  /** Takes a request in: runs it now, queues it, or refuses it when the queue is full. */
  admit(signal: AbortSignal): AdmitResult {
    if (signal.aborted) return { ok: true, started: Promise.resolve({ ok: false, reason: 'aborted' }) }
    if (this.#running < this.maxNumSeqs && this.#queue.length === 0) {
      return { ok: true, started: Promise.resolve({ ok: true, sequence: this.#start() }) }
    }
    if (this.#queue.length >= this.maxWaiting) return { ok: false, reason: 'queue-full' }
    const started = new Promise<StartResult>((resolve) => {
      const waiter: Waiter = {
        resolve,
        signal,
        onAbort: () => {
          const index = this.#queue.indexOf(waiter)
          if (index >= 0) this.#queue.splice(index, 1)
          resolve({ ok: false, reason: 'aborted' })
        },
      }
      signal.addEventListener('abort', waiter.onAbort, { once: true })
      this.#queue.push(waiter)
    })
    this.#notePeaks()
    return { ok: true, started }
  }

  #start(): Sequence {
    this.#running++
    this.#notePeaks()
    let released = false
    return {
      release: () => {
        if (released) return
        released = true
        this.#running--
        this.#startNext()
      },
    }
  }

  #startNext(): void {
    while (this.#running < this.maxNumSeqs) {
      const next = this.#queue.shift()
      if (!next) return
      next.signal.removeEventListener('abort', next.onAbort)
      next.resolve({ ok: true, sequence: this.#start() })
    }
  }

  #notePeaks(): void {
    this.#peakRunning = Math.max(this.#peakRunning, this.#running)
    this.#peak = Math.max(this.#peak, this.#running + this.#queue.length)
  }
}
