import { javaAvailable } from '../../local/dynamodb-local.ts'
import type { DynamoEngine } from '../../local/emulators.ts'
import { mulberry32 } from '../../local/fleet/prng.ts'
import { injectFaults } from '../chaos/chaos-faults.ts'
import { type ClientOutcome, runLoad } from '../chaos/chaos-load.ts'
import { startSpillwayProcess } from '../chaos/child-processes.ts'
import { ADMIN_KEY, chaosWorkerEnv, KEYS, startChaosStack } from '../chaos/run-chaos.ts'
import { percentile, sampleProcess } from './process-sample.ts'

export interface SoakOptions {
  readonly seconds: number
  /** After the load stops: how long the processes are watched for growth. */
  readonly coolDownSeconds?: number
  readonly sampleEverySeconds?: number
  readonly seed: number
  readonly dynamodb?: DynamoEngine
  readonly log?: (line: string) => void
}

export interface SoakSample {
  readonly atSeconds: number
  readonly phase: 'load' | 'cool-down'
  readonly gateway: { rssMb: number; openFds: number }
  readonly worker: { rssMb: number; openFds: number }
  readonly requests: number
  readonly p50Ms: number
  readonly p99Ms: number
}

export interface SoakResult {
  readonly requests: number
  readonly faults: number
  readonly samples: readonly SoakSample[]
  /** Growth that stayed once the load stopped; empty when memory and handles came back. */
  readonly growth: readonly string[]
}

/**
 * Steady load with backend faults (no process is killed: the same gateway and worker
 * are measured throughout) on one gateway process and one worker process; RSS, open
 * file descriptors and latency every `sampleEverySeconds`, then a cool-down without load.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => {})
  const random = mulberry32(options.seed)
  const dynamodb = options.dynamodb ?? (javaAvailable() ? 'local' : 'dynalite')
  const stack = await startChaosStack(dynamodb)
  const gateway = await startSpillwayProcess({ kind: 'gateway', env: stack.env })
  const worker = await startSpillwayProcess({ kind: 'worker', env: chaosWorkerEnv(stack) })
  const samples: SoakSample[] = []
  let faults = 0
  let total = 0
  let window: ClientOutcome[] = []
  const startedAt = Date.now()
  try {
    await stack.ready()
    const until = startedAt + options.seconds * 1000
    const every = (options.sampleEverySeconds ?? 10) * 1000
    const sample = async (phase: SoakSample['phase']) => {
      const served = window.filter((o) => o.status === 200 && o.kind !== 'async').map((o) => o.ms)
      const [g, w] = await Promise.all([sampleProcess(gateway.pid), sampleProcess(worker.pid)])
      const entry: SoakSample = {
        atSeconds: Math.round((Date.now() - startedAt) / 1000),
        phase,
        gateway: g ?? { rssMb: 0, openFds: 0 },
        worker: w ?? { rssMb: 0, openFds: 0 },
        requests: window.length,
        p50Ms: percentile(served, 50),
        p99Ms: percentile(served, 99),
      }
      window = []
      samples.push(entry)
      log(
        `t=${entry.atSeconds}s ${phase} gateway ${entry.gateway.rssMb} MB ${entry.gateway.openFds} fds, ` +
          `worker ${entry.worker.rssMb} MB ${entry.worker.openFds} fds, ${entry.requests} req, ` +
          `p50 ${entry.p50Ms} ms p99 ${entry.p99Ms} ms`,
      )
    }
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        await new Promise((resolve) => setTimeout(resolve, every))
        if (sampling) await sample('load')
      }
    })()
    await Promise.all([
      runLoad({
        target: { pickGateway: () => ({ url: gateway.url, pid: gateway.pid }), killedSince: () => false },
        keys: KEYS,
        clients: 6,
        until,
        random,
        record: (outcome) => {
          total++
          window.push(outcome)
        },
      }),
      injectFaults({
        targets: {
          backends: stack.fleet.backends,
          killAndRestart: async () => {},
          pauseAgent: async () => {},
          admin: (path, init = {}) =>
            fetch(`${stack.gatewayUrl}${path}`, {
              ...init,
              headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
            }),
        },
        random,
        until,
        everyMs: 5_000,
        only: ['backend-5xx', 'backend-429', 'backend-stall', 'backend-cut', 'backend-crash'],
        onFault: () => faults++,
      }),
    ])
    sampling = false
    await sampler
    await sample('load')
    for (let t = 0; t < (options.coolDownSeconds ?? 30); t += every / 1000) {
      await new Promise((resolve) => setTimeout(resolve, every))
      await sample('cool-down')
    }
  } finally {
    await Promise.all([gateway.kill('SIGKILL'), worker.kill('SIGKILL')])
    await stack.stop()
  }
  return { requests: total, faults, samples, growth: growthAfterLoad(samples) }
}

/**
 * Memory and handles that the load raised must not keep rising once it stops: the last
 * cool-down sample may not exceed the end of the load by more than 10% RSS or 5 fds.
 */
function growthAfterLoad(samples: readonly SoakSample[]): string[] {
  const endOfLoad = samples.filter((s) => s.phase === 'load').at(-1)
  const last = samples.at(-1)
  if (!endOfLoad || !last || last === endOfLoad) return []
  const growth: string[] = []
  for (const name of ['gateway', 'worker'] as const) {
    if (last[name].rssMb > endOfLoad[name].rssMb * 1.1)
      growth.push(`${name} RSS ${endOfLoad[name].rssMb} → ${last[name].rssMb} MB after the load stopped`)
    if (last[name].openFds > endOfLoad[name].openFds + 5)
      growth.push(`${name} fds ${endOfLoad[name].openFds} → ${last[name].openFds} after the load stopped`)
  }
  return growth
}
