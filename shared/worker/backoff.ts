/**
 * Seconds before a job's next try: `base × 2^attempt`, capped, with "equal
 * jitter" (half fixed, half random) so jobs that failed together do not come
 * back together. Whole seconds, at least one: SQS `DelaySeconds` is an integer.
 */
export interface BackoffOptions {
  readonly attempt: number
  readonly baseSeconds: number
  readonly maxSeconds: number
  readonly random?: () => number
}

export function backoffSeconds(options: BackoffOptions): number {
  const random = options.random ?? Math.random
  const ceiling = Math.min(options.maxSeconds, options.baseSeconds * 2 ** Math.max(0, options.attempt))
  return Math.max(1, Math.round(ceiling / 2 + random() * (ceiling / 2)))
}
