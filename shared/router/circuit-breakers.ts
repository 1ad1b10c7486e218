/**
 * Per-backend circuit breakers of one process: a backend that fails
 * `failureThreshold` times in a row gets no work for `coolDownMs`; then one
 * request probes it (half-open) and its outcome closes or re-opens the circuit.
 * A probe whose outcome says nothing about the backend (a 429, the client going
 * away, a lost claim or lease) hands the probe back (`onNeutral`), and a probe
 * that reports nothing at all expires after `probeTimeoutMs`: a circuit can never
 * stay half-open with no probe allowed.
 * Each opening is reported through `onOpen`, which the routing layer writes to
 * the backend's item so that every other process skips the backend too.
 */
export type CircuitState = 'closed' | 'open' | 'half-open'

interface Circuit {
  failures: number
  openUntil: number
  /** Epoch ms the running probe started; undefined when none runs. */
  probeStartedAt: number | undefined
}

export class CircuitBreakers {
  readonly #failureThreshold: number
  readonly #coolDownMs: number
  readonly #probeTimeoutMs: number
  readonly #circuits = new Map<string, Circuit>()
  readonly #onOpen: ((backendId: string, until: number) => void) | undefined

  constructor(options: {
    failureThreshold: number
    coolDownMs: number
    /** A probe that reported no outcome in this long no longer blocks the next one; the cool-down by default. */
    probeTimeoutMs?: number
    onOpen?: (backendId: string, until: number) => void
  }) {
    this.#failureThreshold = options.failureThreshold
    this.#coolDownMs = options.coolDownMs
    this.#probeTimeoutMs = options.probeTimeoutMs ?? options.coolDownMs
    this.#onOpen = options.onOpen
  }

  /** Whether a request may go to this backend now; in half-open state only one may. */
  allows(backendId: string, now: number): boolean {
    const circuit = this.#circuits.get(backendId)
    if (!circuit || circuit.failures < this.#failureThreshold) return true
    if (now < circuit.openUntil) return false
    return circuit.probeStartedAt === undefined || now - circuit.probeStartedAt >= this.#probeTimeoutMs
  }

  /** Called when a request is actually sent to the backend (claims the half-open probe). */
  onAttempt(backendId: string, now: number): void {
    const circuit = this.#circuits.get(backendId)
    if (circuit && circuit.failures >= this.#failureThreshold && now >= circuit.openUntil)
      circuit.probeStartedAt = now
  }

  /** The attempt ended in a way that is not the backend's doing: a half-open circuit may probe again. */
  onNeutral(backendId: string): void {
    const circuit = this.#circuits.get(backendId)
    if (circuit) circuit.probeStartedAt = undefined
  }

  onSuccess(backendId: string): void {
    this.#circuits.delete(backendId)
  }

  onFailure(backendId: string, now: number): void {
    const circuit = this.#circuits.get(backendId) ?? { failures: 0, openUntil: 0, probeStartedAt: undefined }
    circuit.failures++
    circuit.probeStartedAt = undefined
    this.#circuits.set(backendId, circuit)
    if (circuit.failures >= this.#failureThreshold) {
      circuit.openUntil = now + this.#coolDownMs
      this.#onOpen?.(backendId, circuit.openUntil)
    }
  }

  isOpen(backendId: string, now: number): boolean {
    return !this.allows(backendId, now)
  }

  /**
   * As operators read it: `half-open` from the end of the cool-down until a probe
   * settles it, whether or not the probe is out (the backend is being tried, not healthy).
   */
  state(backendId: string, now: number): CircuitState {
    const circuit = this.#circuits.get(backendId)
    if (!circuit || circuit.failures < this.#failureThreshold) return 'closed'
    return now < circuit.openUntil ? 'open' : 'half-open'
  }
}
