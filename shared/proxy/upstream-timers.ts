/**
 * The three clocks of one backend call, kept apart because they mean different
 * things (defect: one first-byte timer left armed while a non-streaming body was
 * read made 60 s the total limit, and benched healthy backends for long answers):
 * - `first-byte`: the backend must start answering (headers and a first chunk);
 * - `idle`: while it answers, it must keep sending (liveness, between chunks);
 * - `total`: the longest any answer may take. Hitting it is about the length of
 *   the answer the client asked for, not a backend fault: it never counts against
 *   the backend's circuit, and another backend would take as long.
 * Every timer aborts `signal`; `fired` says which one did.
 */
export type UpstreamTimeout = 'first-byte' | 'idle' | 'total'

export class UpstreamTimers {
  readonly #controller = new AbortController()
  readonly #idleMs: number
  #firstByte: NodeJS.Timeout | undefined
  #idle: NodeJS.Timeout | undefined
  #total: NodeJS.Timeout | undefined
  #fired: UpstreamTimeout | undefined
  #detachClient: () => void = () => {}

  constructor(options: { firstByteMs: number; idleMs: number; totalMs: number; clientSignal?: AbortSignal }) {
    this.#idleMs = options.idleMs
    this.#firstByte = setTimeout(() => this.#fire('first-byte'), options.firstByteMs)
    this.#total = setTimeout(() => this.#fire('total'), Math.max(1, options.totalMs))
    const client = options.clientSignal
    if (client) {
      const onAbort = () => this.abort(new Error('client closed'))
      client.addEventListener('abort', onAbort, { once: true })
      this.#detachClient = () => client.removeEventListener('abort', onAbort)
      if (client.aborted) onAbort()
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal
  }

  get fired(): UpstreamTimeout | undefined {
    return this.#fired
  }

  /** The backend sent something: it is alive, so the first-byte timer is done and the idle one restarts. */
  progress(): void {
    clearTimeout(this.#firstByte)
    this.#firstByte = undefined
    clearTimeout(this.#idle)
    if (!this.#controller.signal.aborted) this.#idle = setTimeout(() => this.#fire('idle'), this.#idleMs)
  }

  abort(reason?: unknown): void {
    this.stop()
    this.#controller.abort(reason)
  }

  /** The call is over: no timer fires and the client's signal is let go. */
  stop(): void {
    this.#detachClient()
    clearTimeout(this.#firstByte)
    clearTimeout(this.#idle)
    clearTimeout(this.#total)
  }

  #fire(kind: UpstreamTimeout): void {
    if (this.#controller.signal.aborted) return
    this.#fired = kind
    this.abort(new Error(`${kind} timeout`))
  }
}
