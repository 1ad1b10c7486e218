import type { BackendRecord } from '../../../shared/backends/backend-record.ts'
import type { GatewayConfigInput } from '../../../shared/config/gateway-config.ts'

/** A small seeded PRNG (mulberry32), so distribution checks are the same on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** Replays the given numbers in a loop: fast-check decides every random draw. */
export function replay(values: readonly number[]): () => number {
  let i = 0
  return () => values[i++ % values.length] ?? 0
}

/** An active h20 backend serving `m`, heartbeat at `now`, with `free` of its slots unleased. */
export function backendWithFree(
  id: string,
  free: number,
  options: { now: number; maxConcurrency?: number },
): BackendRecord {
  const maxConcurrency = options.maxConcurrency ?? 8
  const leases: Record<string, number> = {}
  for (let i = 0; i < maxConcurrency - free; i++) leases[`${id}-lease-${i}`] = options.now + 60_000
  return {
    id,
    url: `http://127.0.0.1:9/${id}`,
    hardware: 'h20',
    models: ['m'],
    maxConcurrency,
    state: 'active',
    registeredAt: options.now,
    heartbeatAt: options.now,
    load: { running: 0, waiting: 0, kvCacheUsage: 0 },
    leases,
  }
}

/** Two GPU classes and a CPU one: the classes the router tests' fleets are made of. */
export const THREE_CLASSES = [
  { id: 'h20', kind: 'gpu' },
  { id: 'h100', kind: 'gpu' },
  { id: 'cpu', kind: 'cpu' },
] as const satisfies GatewayConfigInput['hardwareClasses']

/** A model with a tier per GPU class and a degraded CPU variant, in that order. */
export const MODEL_M = {
  id: 'm',
  tiers: [
    { hardware: ['h20'], model: 'm' },
    { hardware: ['h100'], model: 'm' },
    { hardware: ['cpu'], model: 'm-q4', degraded: true },
  ],
} as const satisfies GatewayConfigInput['models'][number]
