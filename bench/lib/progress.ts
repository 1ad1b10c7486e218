/**
 * One line per benchmark step on stderr, with the time since the run began, so a
 * long run shows where it is and a slow step is visible in the log.
 */
export interface Progress {
  step(message: string): void
  /** A sub-step (a round, a cell): indented under the last step. */
  detail(message: string): void
}

export function createProgress(options: { quiet?: boolean } = {}): Progress {
  const started = performance.now()
  const stamp = () => `[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s]`
  const write = (line: string) => {
    if (!options.quiet) process.stderr.write(`${line}\n`)
  }
  return {
    step: (message) => write(`${stamp()} ${message}`),
    detail: (message) => write(`${stamp()}   ${message}`),
  }
}
