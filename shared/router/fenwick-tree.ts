/**
 * Integer weights at positions 0..n-1 with O(log n) point updates, prefix sums
 * and "which position holds the k-th unit of weight": what a weighted random
 * draw over thousands of backends needs without a linear scan. Node i (1-based)
 * holds the sum of the `i & -i` weights ending at position i-1.
 */
export class FenwickTree {
  readonly #tree: Float64Array
  /** The highest power of two ≤ n: where the descent in `find` starts. */
  readonly #topBit: number
  #total = 0

  constructor(weights: readonly number[]) {
    const n = weights.length
    this.#tree = new Float64Array(n + 1)
    for (let i = 1; i <= n; i++) {
      this.#tree[i] = (this.#tree[i] ?? 0) + (weights[i - 1] ?? 0)
      const parent = i + (i & -i)
      if (parent <= n) this.#tree[parent] = (this.#tree[parent] ?? 0) + (this.#tree[i] ?? 0)
      this.#total += weights[i - 1] ?? 0
    }
    this.#topBit = n === 0 ? 0 : 2 ** Math.floor(Math.log2(n))
  }

  get total(): number {
    return this.#total
  }

  add(position: number, delta: number): void {
    if (delta === 0) return
    this.#total += delta
    for (let i = position + 1; i < this.#tree.length; i += i & -i)
      this.#tree[i] = (this.#tree[i] ?? 0) + delta
  }

  /** Sum of the weights at positions before `position`. */
  prefix(position: number): number {
    let sum = 0
    for (let i = position; i > 0; i -= i & -i) sum += this.#tree[i] ?? 0
    return sum
  }

  /**
   * The first position whose running sum exceeds `target` (0 ≤ target < total):
   * the same position a linear scan subtracting each weight from `target` stops at.
   */
  find(target: number): number {
    let position = 0
    let rest = target
    for (let bit = this.#topBit; bit > 0; bit >>= 1) {
      const next = position + bit
      const sum = this.#tree[next]
      if (sum !== undefined && sum <= rest) {
        position = next
        rest -= sum
      }
    }
    return position
  }
}
