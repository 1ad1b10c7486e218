import type { DynamoCostOptions } from './dynamo-cost.ts'
import type { GatewayCpuOptions } from './gateway-cpu.ts'
import type { LambdaShapeOptions } from './lambda-shape.ts'
import type { BenchMode } from './lib/result.ts'
import type { OverflowBenchOptions } from './overflow.ts'
import type { OverheadOptions } from './overhead.ts'
import type { ProfileOptions } from './profile.ts'
import type { RouterOptions } from './router-decision.ts'
import type { SnapshotReadsOptions } from './snapshot-reads.ts'
import type { ThroughputOptions } from './throughput.ts'
import type { UpstreamClientOptions } from './upstream-client.ts'
import type { WarmLeasesOptions } from './warm-leases.ts'

/** A benchmark's own options, less what the runner supplies: the progress line and `Supplied`. */
type Tunables<Options, Supplied extends keyof Options> = Omit<Options, Supplied | 'progress'>

/** How long and how often each benchmark runs, per mode. `quick` is ~1 minute, `full` under ~10. */
export interface BenchSettings {
  readonly overhead: Tunables<OverheadOptions, 'rig'>
  readonly cpu: Tunables<GatewayCpuOptions, 'rig'>
  /** The SLO is the runner's: it searches at 10 ms and again at 50 ms. */
  readonly throughput: Tunables<ThroughputOptions, 'rig' | 'sloP99Ms'>
  readonly dynamo: Tunables<DynamoCostOptions, 'aws'>
  readonly snapshotReads: Tunables<SnapshotReadsOptions, 'aws'>
  readonly router: Tunables<RouterOptions, never>
  readonly lambda: Tunables<LambdaShapeOptions, 'root' | 'env'>
  readonly profile: Tunables<ProfileOptions, 'rig' | 'root'>
  readonly overflow: Tunables<OverflowBenchOptions, 'aws'>
  readonly upstream: Tunables<UpstreamClientOptions, 'rig'>
  readonly warmLeases: Tunables<WarmLeasesOptions, 'rig'>
}

const SIZES = [10, 100, 1_000, 10_000]

export const SETTINGS: Readonly<Record<BenchMode, BenchSettings>> = {
  full: {
    overhead: { rounds: 5, concurrencies: [1, 16, 64], cellMs: 1_000, minRequests: 100, warmupRequests: 300 },
    cpu: { rounds: 3, requests: 3_000, concurrency: 8, warmupRequests: 500 },
    throughput: {
      rounds: 3,
      stepMs: 1_000,
      startRate: 200,
      growth: 1.6,
      bisections: 4,
      maxSteps: 30,
      warmupRequests: 500,
    },
    dynamo: { durationMs: 3_000 },
    snapshotReads: { sizes: [10, 1_000, 10_000] },
    router: { sizes: SIZES, rounds: 5, iterations: 4_000 },
    lambda: { rounds: 5 },
    profile: { durationMs: 5_000, concurrency: 16 },
    overflow: { slots: 4, burstFactor: 10, speed: 1 },
    upstream: { rounds: 5, cellMs: 1_000, minRequests: 100, rate: 300, warmupRequests: 2_000 },
    warmLeases: { rounds: 3, requests: 3_000, concurrency: 8, latencyRequests: 400, warmupRequests: 2_000 },
  },
  quick: {
    overhead: { rounds: 2, concurrencies: [1, 16, 64], cellMs: 300, minRequests: 30, warmupRequests: 100 },
    cpu: { rounds: 1, requests: 3_000, concurrency: 8, warmupRequests: 300 },
    throughput: {
      rounds: 1,
      stepMs: 500,
      startRate: 200,
      growth: 1.8,
      bisections: 2,
      maxSteps: 12,
      warmupRequests: 200,
    },
    dynamo: { durationMs: 1_000 },
    snapshotReads: { sizes: [10, 1_000, 10_000] },
    router: { sizes: SIZES, rounds: 3, iterations: 1_000 },
    lambda: { rounds: 2 },
    profile: { durationMs: 1_500, concurrency: 16 },
    overflow: { slots: 4, burstFactor: 10, speed: 0.5 },
    upstream: { rounds: 2, cellMs: 400, minRequests: 30, rate: 300, warmupRequests: 600 },
    warmLeases: { rounds: 1, requests: 2_000, concurrency: 8, latencyRequests: 200, warmupRequests: 300 },
  },
  smoke: {
    overhead: {
      rounds: 1,
      concurrencies: [1, 4],
      cellMs: 0,
      minRequests: 3,
      maxRequests: 6,
      warmupRequests: 4,
    },
    cpu: { rounds: 1, requests: 20, concurrency: 4, warmupRequests: 4 },
    throughput: {
      rounds: 1,
      stepMs: 100,
      startRate: 40,
      growth: 2,
      bisections: 0,
      maxSteps: 2,
      warmupRequests: 4,
    },
    dynamo: { durationMs: 150 },
    snapshotReads: { sizes: [10] },
    router: { sizes: [10, 100], rounds: 1, iterations: 20 },
    lambda: { rounds: 1 },
    profile: { durationMs: 200, concurrency: 2 },
    overflow: { slots: 2, burstFactor: 2, speed: 0.05 },
    upstream: { rounds: 1, cellMs: 0, minRequests: 3, maxRequests: 6, rate: 40, warmupRequests: 4 },
    warmLeases: { rounds: 1, requests: 6, concurrency: 2, latencyRequests: 4, warmupRequests: 4 },
  },
}
