import type { CostResult } from '../cost-model.ts'
import type { DynamoCostResult } from '../dynamo-cost.ts'
import type { GatewayCpuResult } from '../gateway-cpu.ts'
import type { LambdaShapeResult } from '../lambda-shape.ts'
import type { OverflowResult } from '../overflow.ts'
import type { OverheadResult } from '../overhead.ts'
import type { RouterResult } from '../router-decision.ts'
import type { SnapshotReadsResult } from '../snapshot-reads.ts'
import type { EmulatorRoundTrip } from '../support/gateway-handle.ts'
import type { ThroughputResult } from '../throughput.ts'
import type { UpstreamClientResult } from '../upstream-client.ts'
import type { WarmLeasesResult } from '../warm-leases.ts'
import type { LatencyFloor } from './latency-floor.ts'
import type { MachineInfo } from './machine.ts'
import type { CpuPlan } from './pinning.ts'

export type BenchMode = 'full' | 'quick' | 'smoke'

export interface ProfileDigest {
  readonly store: 'memory' | 'dynamo'
  readonly requests: number
  readonly cpuMsPerRequest: number
  readonly byOwner: readonly { readonly category: string; readonly share: number }[]
  readonly byOwnerInclusive: readonly { readonly category: string; readonly share: number }[]
}

/** The shape of `bench/results/latest.json`. */
export interface BenchResult {
  readonly schema: 1
  readonly mode: BenchMode
  readonly startedAt: string
  readonly durationSeconds: number
  readonly machine: MachineInfo
  readonly cpus: CpuPlan
  readonly method: Readonly<Record<string, unknown>>
  readonly overhead?: OverheadResult
  /** CPU per routed request of each gateway process, side by side with Portkey. */
  readonly gatewayCpu?: GatewayCpuResult
  /** Bare GetItem / UpdateItem from the DynamoDB gateway's own process and client: the latency floor of the store. */
  readonly emulatorRoundTrip?: EmulatorRoundTrip
  /** The added p50 at concurrency 1 minus one UpdateItem round trip (absent from runs before the release left the client's path). */
  readonly latencyFloor?: LatencyFloor
  readonly throughput?: ThroughputResult & {
    /** 1000 / gateway CPU ms per request: what one core could serve if CPU were all that mattered. */
    readonly cpuBoundRpsPerCore: Readonly<Record<'memory' | 'dynamo', number>>
  }
  /**
   * The same search at p99 < 50 ms: the unloaded p99 with the DynamoDB emulator (two
   * writes per request) sits near 10 ms on a small VM, so the strict SLO alone says little.
   */
  readonly throughputAtLooserSlo?: ThroughputResult
  readonly dynamo?: DynamoCostResult
  /** Read units of the capacity snapshot per gateway instance per second, by fleet size. */
  readonly snapshotReads?: SnapshotReadsResult
  readonly router?: RouterResult
  readonly overflow?: OverflowResult
  readonly lambda?: LambdaShapeResult
  /** Experiment: the gateway's upstream call over fetch versus node:http. */
  readonly upstreamClient?: UpstreamClientResult
  readonly warmLeases?: WarmLeasesResult
  readonly cost?: CostResult
  readonly profile?: { readonly file: string; readonly runs: readonly ProfileDigest[] }
  readonly charts: readonly string[]
}
