import { fileURLToPath } from 'node:url'
import { type IpcChild, spawnIpcChild } from '../../local/processes/ipc-child.ts'
import { type Percentiles, percentiles, roundPercentiles } from '../lib/stats.ts'
import type { GatewayChildSpec } from './gateway-child.ts'
import type { ProcessStats } from './process-stats.ts'

const SCRIPT = fileURLToPath(new URL('./gateway-child.ts', import.meta.url))

export interface GatewayStats {
  readonly cpuMs: number
  readonly gcCount: number
  readonly gcTotalMs: number
  readonly gcMaxMsSinceLast: number
  /** Each GC pause since the previous call, ms. */
  readonly gcPausesMsSinceLast: readonly number[]
}

/** Any gateway process the bench measures: Spillway's, or the Portkey peer. */
export interface MeasuredGateway {
  readonly url: string
  /** CPU time (user + system, ms) and GC pauses so far (the longest and each pause since the previous call). */
  stats(): Promise<GatewayStats>
  stop(): Promise<void>
}

export interface BenchGateway extends MeasuredGateway {
  readonly store: GatewayChildSpec['store']
  /** CPU time the gateway process has used so far, in ms (user + system). */
  cpuMs(): Promise<number>
  /** Starts V8's sampling profiler inside the gateway process. */
  startProfile(): Promise<void>
  /** Stops it and writes the `.cpuprofile` JSON to `path`. */
  stopProfile(path: string): Promise<void>
  /** Bare GetItem and UpdateItem round trips on the gateway's own DynamoDB client, one at a time (dynamo store only). */
  emulatorRoundTrip(samples?: number): Promise<EmulatorRoundTrip>
}

export interface EmulatorRoundTrip {
  readonly getItemMs: Percentiles
  readonly updateItemMs: Percentiles
}

export interface StartBenchGatewayOptions {
  readonly spec: GatewayChildSpec
  /** The local AWS env (tables, endpoints); unused by the memory store. */
  readonly awsEnv: Readonly<Record<string, string>>
  readonly core?: number
}

/** The stats a child answers over IPC (bench/support/process-stats.ts). */
export function statsOf(child: IpcChild): () => Promise<GatewayStats> {
  return async () => {
    const reply = child.next<ProcessStats>('stats')
    child.send({ type: 'stats' })
    const s = await reply
    return {
      cpuMs: (s.cpuUserMicros + s.cpuSystemMicros) / 1000,
      gcCount: s.gcCount,
      gcTotalMs: s.gcTotalMs,
      gcMaxMsSinceLast: s.gcMaxMsSinceLast,
      gcPausesMsSinceLast: s.gcPausesMsSinceLast,
    }
  }
}

export async function startBenchGateway(options: StartBenchGatewayOptions): Promise<BenchGateway> {
  const child: IpcChild = spawnIpcChild({
    script: SCRIPT,
    env: { ...options.awsEnv, SPILLWAY_BENCH_GATEWAY: JSON.stringify(options.spec), LOG_LEVEL: 'error' },
    ...(options.core === undefined ? {} : { core: options.core }),
  })
  const ready = await child.next<{ type: 'ready'; url: string }>('ready')
  const stats = statsOf(child)
  return {
    store: options.spec.store,
    url: ready.url,
    cpuMs: async () => (await stats()).cpuMs,
    stats,
    async startProfile() {
      const started = child.next('profile-started')
      child.send({ type: 'profile-start' })
      await started
    },
    async stopProfile(path) {
      const written = child.next('profile-written')
      child.send({ type: 'profile-stop', path })
      await written
    },
    async emulatorRoundTrip(samples = 200) {
      const reply = child.next<{ type: 'round-trip'; getItemMs: number[]; updateItemMs: number[] }>(
        'round-trip',
      )
      child.send({ type: 'round-trip', samples })
      const r = await reply
      return {
        getItemMs: roundPercentiles(percentiles(r.getItemMs)),
        updateItemMs: roundPercentiles(percentiles(r.updateItemMs)),
      }
    },
    stop: () => child.stop(),
  }
}
