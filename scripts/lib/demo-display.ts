import type { DashboardData } from '../../shared/observability/dashboard-data.ts'

/**
 * The demo's live terminal view: a few lines redrawn in place with ANSI escapes
 * on a terminal, or one plain line per tick when the output is a pipe or a file.
 */
export class DemoDisplay {
  readonly #tty: boolean
  readonly #out: NodeJS.WriteStream
  #drawn = 0
  #lastPlain = 0

  constructor(out: NodeJS.WriteStream = process.stdout) {
    this.#out = out
    this.#tty = Boolean(out.isTTY) && process.env.TERM !== 'dumb'
  }

  /** Prints a line above the live area (it scrolls up and stays). */
  note(line: string): void {
    this.#clear()
    this.#out.write(`${line}\n`)
  }

  draw(lines: readonly string[], plainEveryMs = 2000): void {
    if (!this.#tty) {
      const now = Date.now()
      if (now - this.#lastPlain < plainEveryMs) return
      this.#lastPlain = now
      this.#out.write(`  ${lines.join(' | ')}\n`)
      return
    }
    this.#clear()
    this.#out.write(`${lines.join('\n')}\n`)
    this.#drawn = lines.length
  }

  #clear(): void {
    if (!this.#tty || this.#drawn === 0) return
    this.#out.write(`\x1b[${this.#drawn}A\x1b[0J`)
    this.#drawn = 0
  }
}

/** The live lines: slots per backend as a bar, queue depth, answers so far by route and hardware. */
export function liveLines(options: {
  phase: string
  elapsedMs: number
  data: DashboardData | undefined
  answers: ReadonlyMap<string, number>
  inFlight: number
}): string[] {
  const { data } = options
  const backends = (data?.pools ?? []).flatMap((pool) => pool.backends)
  const bar = (leased: number, max: number) => `${'█'.repeat(leased)}${'·'.repeat(Math.max(0, max - leased))}`
  const depth = (data?.queues ?? []).reduce((n, l) => n + l.waiting + l.delayed + l.inFlight, 0)
  const routes = [...options.answers].map(([key, n]) => `${key} ${n}`).join(', ') || 'none yet'
  return [
    `[${(options.elapsedMs / 1000).toFixed(1).padStart(5)} s] ${options.phase}`,
    `  slots   ${backends.map((b) => `${b.id} ${bar(b.leased, b.maxConcurrency)}${b.health === 'healthy' ? '' : ` (${b.health})`}`).join('  ') || '…'}`,
    `  queue   ${depth} messages, ${data?.jobs.queued ?? 0} jobs queued, ${options.inFlight} requests in flight`,
    `  answers ${routes}`,
  ]
}
