import type { SimBackend } from '../../local/fleet/sim-backend.ts'

/**
 * Watches the simulators' request records while the chaos runs: a prompt marker (one
 * client request, so one job) that two backend runs hold at the same time is a double
 * execution. A run that only starts after an earlier one ended is a re-run of a job
 * whose worker died mid-call, which at-most-once-effective allows.
 */
export class ExecutionWatch {
  readonly violations: string[] = []
  readonly #backends: readonly SimBackend[]
  readonly #reported = new Set<string>()
  #stopped = false

  constructor(backends: readonly SimBackend[]) {
    this.#backends = backends
  }

  async run(keepGoing: () => boolean): Promise<void> {
    while (!this.#stopped && keepGoing()) {
      this.check()
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  stop(): void {
    this.#stopped = true
  }

  check(): void {
    const active = new Map<string, string[]>()
    for (const backend of this.#backends) {
      for (const record of backend.state().recent) {
        if (record.outcome !== 'waiting' && record.outcome !== 'running') continue
        const where = active.get(record.firstMessage) ?? []
        where.push(`${backend.id}#${record.arrival}`)
        active.set(record.firstMessage, where)
      }
    }
    for (const [marker, where] of active) {
      if (where.length > 1 && !this.#reported.has(marker)) {
        this.#reported.add(marker)
        this.violations.push(`${marker} executing ${where.length} times at once (${where.join(', ')})`)
      }
    }
  }
}
