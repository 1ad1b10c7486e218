/**
 * A bounded map that forgets the least recently used entry first, with a
 * per-entry expiry. A Map keeps insertion order, so re-inserting on every hit
 * keeps the oldest-used entry first, and evicting it is O(1).
 */
export class LruCache<K, V> {
  readonly #max: number
  readonly #entries = new Map<K, { value: V; until: number }>()

  constructor(options: { maxEntries: number }) {
    if (!(options.maxEntries >= 1)) throw new Error('maxEntries must be ≥ 1')
    this.#max = options.maxEntries
  }

  get size(): number {
    return this.#entries.size
  }

  /** The live value, marked as just used; an expired entry is dropped. */
  get(key: K, now: number): V | undefined {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    this.#entries.delete(key)
    if (entry.until <= now) return undefined
    this.#entries.set(key, entry)
    return entry.value
  }

  set(key: K, value: V, until: number): void {
    this.#entries.delete(key)
    this.#entries.set(key, { value, until })
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
  }

  delete(key: K): void {
    this.#entries.delete(key)
  }
}
