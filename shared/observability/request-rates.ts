/**
 * Requests per second by route and hardware over the last minute, in one-second
 * buckets: what the dashboard graphs. Bounded: buckets older than the window are
 * dropped as new ones arrive.
 */
export interface RateSeries {
  readonly route: string
  readonly hardware: string
  /** Requests per second, oldest first, one entry per second of the window. */
  readonly perSecond: readonly number[]
  readonly total: number
}

export class RequestRates {
  readonly #windowSeconds: number
  /** second (epoch) → series key → count */
  readonly #buckets = new Map<number, Map<string, number>>()

  constructor(windowSeconds = 60) {
    this.#windowSeconds = windowSeconds
  }

  record(route: string, hardware: string, at: number): void {
    const second = Math.floor(at / 1000)
    let bucket = this.#buckets.get(second)
    if (!bucket) {
      bucket = new Map()
      this.#buckets.set(second, bucket)
      for (const old of this.#buckets.keys())
        if (old <= second - this.#windowSeconds) this.#buckets.delete(old)
    }
    const key = `${route}\u0000${hardware}`
    bucket.set(key, (bucket.get(key) ?? 0) + 1)
  }

  series(now: number): RateSeries[] {
    const last = Math.floor(now / 1000)
    const first = last - this.#windowSeconds + 1
    const byKey = new Map<string, number[]>()
    for (const [second, bucket] of this.#buckets) {
      if (second < first || second > last) continue
      for (const [key, count] of bucket) {
        let points = byKey.get(key)
        if (!points) {
          points = new Array<number>(this.#windowSeconds).fill(0)
          byKey.set(key, points)
        }
        points[second - first] = count
      }
    }
    return [...byKey]
      .map(([key, perSecond]) => {
        const [route = '', hardware = ''] = key.split('\u0000')
        return { route, hardware, perSecond, total: perSecond.reduce((a, b) => a + b, 0) }
      })
      .sort((a, b) => a.route.localeCompare(b.route) || a.hardware.localeCompare(b.hardware))
  }
}
