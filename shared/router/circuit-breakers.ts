/**
 * Per-backend circuit breakers of one process: a backend that fails
 * `failureThreshold` times in a row gets no work for `coolDownMs`; then one
 * request probes it (half-open) and its outcome closes or re-opens the circuit.
 * Each opening is reported through `onOpen`, which the routing layer writes to
 * the backend's item so that every other process skips the backend too.
 */
interface Circuit {
  failures: number
  openUntil: number
  probing: boolean
}

export class CircuitBreakers {
  readonly #failureThreshold: number
  readonly #coolDownMs: number
  readonly #circuits = new Map<string, Circuit>()
  readonly #onOpen: ((backendId: string, until: number) => void) | undefined

  constructor(options: {
    failureThreshold: number
    coolDownMs: number
    onOpen?: (backendId: string, until: number) => void
  }) {
    this.#failureThreshold = options.failureThreshold
    this.#coolDownMs = options.coolDownMs
    this.#onOpen = options.onOpen
  }

  /** Whether a request may go to this backend now; in half-open state only one may. */
  allows(backendId: string, now: number): boolean {
    const circuit = this.#circuits.get(backendId)
    if (!circuit || circuit.failures < this.#failureThreshold) return true
    if (now < circuit.openUntil) return false
    return !circuit.probing
  }

  /** Called when a request is actually sent to the backend (claims the half-open probe). */
  onAttempt(backendId: string, now: number): void {
    const circuit = this.#circuits.get(backendId)
    if (circuit && circuit.failures >= this.#failureThreshold && now >= circuit.openUntil)
      circuit.probing = true
  }

  onSuccess(backendId: string): void {
    this.#circuits.delete(backendId)
  }

  onFailure(backendId: string, now: number): void {
    const circuit = this.#circuits.get(backendId) ?? { failures: 0, openUntil: 0, probing: false }
    circuit.failures++
    circuit.probing = false
    this.#circuits.set(backendId, circuit)
    if (circuit.failures >= this.#failureThreshold) {
      circuit.openUntil = now + this.#coolDownMs
      this.#onOpen?.(backendId, circuit.openUntil)
    }
  }

  isOpen(backendId: string, now: number): boolean {
    return !this.allows(backendId, now)
  }
}
