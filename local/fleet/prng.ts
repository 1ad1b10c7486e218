/**
 * Seeded randomness for the simulator. Every "random" choice (words, jitter,
 * injected faults) comes from here, so a run is reproducible from its seeds.
 */

/** A PRNG: each call returns the next float in [0, 1). */
export type Random = () => number

/** mulberry32: tiny, fast and good enough for simulation (not for secrets). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0
  return function next() {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** FNV-1a over the UTF-16 code units of the parts, joined by a separator no part can forge. */
export function hashParts(...parts: readonly (string | number)[]): number {
  let hash = 0x811c9dc5
  for (const part of parts) {
    const text = `${String(part)}\u0000`
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i)
      hash = Math.imul(hash, 0x01000193)
    }
  }
  return hash >>> 0
}

/** One uniform draw in [0, 1) for a keyed event, independent of call order. */
export function uniformFor(...parts: readonly (string | number)[]): number {
  return mulberry32(hashParts(...parts))()
}
