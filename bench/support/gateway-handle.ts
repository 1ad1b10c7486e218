import { fileURLToPath } from 'node:url'
import type { GatewayChildSpec, GatewayChildStats } from './gateway-child.ts'
import { type IpcChild, spawnIpcChild } from './ipc-child.ts'

const SCRIPT = fileURLToPath(new URL('./gateway-child.ts', import.meta.url))

export interface BenchGateway {
  readonly store: GatewayChildSpec['store']
  readonly url: string
  /** CPU time the gateway process has used so far, in ms (user + system). */
  cpuMs(): Promise<number>
  /** CPU time and GC pauses so far (the longest pause since the previous call). */
  stats(): Promise<{ cpuMs: number; gcCount: number; gcTotalMs: number; gcMaxMsSinceLast: number }>
  /** Starts V8's sampling profiler inside the gateway process. */
  startProfile(): Promise<void>
  /** Stops it and writes the `.cpuprofile` JSON to `path`. */
  stopProfile(path: string): Promise<void>
  stop(): Promise<void>
}

export interface StartBenchGatewayOptions {
  readonly spec: GatewayChildSpec
  /** The local AWS env (tables, endpoints); unused by the memory store. */
  readonly awsEnv: Readonly<Record<string, string>>
  readonly core?: number
}

export async function startBenchGateway(options: StartBenchGatewayOptions): Promise<BenchGateway> {
  const child: IpcChild = spawnIpcChild({
    script: SCRIPT,
    env: { ...options.awsEnv, SPILLWAY_BENCH_GATEWAY: JSON.stringify(options.spec), LOG_LEVEL: 'error' },
    ...(options.core === undefined ? {} : { core: options.core }),
  })
  const ready = await child.next<{ type: 'ready'; url: string }>('ready')
  const stats = async () => {
    const reply = child.next<GatewayChildStats>('stats')
    child.send({ type: 'stats' })
    const s = await reply
    return {
      cpuMs: (s.cpuUserMicros + s.cpuSystemMicros) / 1000,
      gcCount: s.gcCount,
      gcTotalMs: s.gcTotalMs,
      gcMaxMsSinceLast: s.gcMaxMsSinceLast,
    }
  }
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
    stop: () => child.stop(),
  }
}
