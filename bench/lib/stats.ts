/**
 * The few statistics the benchmarks report. Percentiles use the nearest-rank
 * method on sorted samples, so a p99 of 50 samples is honestly "the largest".
 */

export interface Percentiles {
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly n: number
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN
}

export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    n: sorted.length,
  }
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  )
}

/**
 * Median of per-round figures: each round's percentile, then the median across
 * rounds, so one noisy round (a neighbour's test run, a GC storm) cannot move it.
 */
export function medianOfRounds(rounds: readonly Percentiles[]): Percentiles {
  return {
    p50: median(rounds.map((r) => r.p50)),
    p95: median(rounds.map((r) => r.p95)),
    p99: median(rounds.map((r) => r.p99)),
    n: rounds.reduce((sum, r) => sum + r.n, 0),
  }
}

/** Rounds to `digits` decimals for the JSON (sub-microsecond noise is not information). */
export function round(value: number, digits = 3): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

export function roundPercentiles(p: Percentiles, digits = 3): Percentiles {
  return { p50: round(p.p50, digits), p95: round(p.p95, digits), p99: round(p.p99, digits), n: p.n }
}

export function ratio(numerator: number, denominator: number): number {
  return denominator > 0 ? round(numerator / denominator, 3) : Number.NaN
}
