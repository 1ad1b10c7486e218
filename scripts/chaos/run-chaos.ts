import { javaAvailable } from '../../local/dynamodb-local.ts'
import type { DynamoEngine } from '../../local/emulators.ts'
import { startHeartbeatAgent } from '../../local/fleet/heartbeat-agent.ts'
import { mulberry32 } from '../../local/fleet/prng.ts'
import { type LocalStack, startLocalStack } from '../../local/local-stack.ts'
import { DEFAULT_CONFIG, type GatewayConfigInput } from '../../shared/config/gateway-config.ts'
import { type ChaosTargets, type FaultKind, injectFaults } from './chaos-faults.ts'
import { type ChaosKeys, type ClientOutcome, runLoad } from './chaos-load.ts'
import { type SpillwayProcess, startSpillwayProcess } from './child-processes.ts'
import { ExecutionWatch } from './execution-watch.ts'
import { HoldWatch } from './hold-watch.ts'

export interface ChaosOptions {
  /** How long load and faults run; the drain and the checks come after. */
  readonly seconds: number
  readonly seed: number
  /** DynamoDB Local when Java is there (it can be paused), else dynalite. */
  readonly dynamodb?: DynamoEngine
  readonly clients?: number
  readonly log?: (line: string) => void
}

export interface ChaosResult {
  readonly seed: number
  readonly requests: number
  readonly faults: number
  readonly faultsByKind: Readonly<Record<string, number>>
  readonly outcomes: Readonly<Record<string, number>>
  readonly violations: readonly string[]
}

export const LEASE_TTL_SECONDS = 6
export const ADMIN_KEY = 'sk-chaos-admin'
const AGENT_KEY = 'sk-chaos-agent'
const HEARTBEAT_INTERVAL_MS = 500
/** Low enough that the held load reaches it: some held requests get 429 too_many_holds. */
const QUEUER_MAX_HOLDS = 1
export const KEYS: ChaosKeys = {
  strict: 'sk-chaos-strict',
  degrade: 'sk-chaos-degrade',
  queue: 'sk-chaos-queue',
  batch: 'sk-chaos-batch',
}

/** Short TTLs and timeouts, so that every fault heals within the run. */
function chaosConfig(): GatewayConfigInput {
  return {
    ...DEFAULT_CONFIG,
    leaseTtlSeconds: LEASE_TTL_SECONDS,
    heartbeatStaleSeconds: 3,
    snapshotMaxAgeMs: 200,
    upstream: { firstByteTimeoutMs: 3_000, idleTimeoutMs: 2_000, maxAttempts: 3 },
    circuit: { failureThreshold: 3, coolDownSeconds: 2 },
  }
}

/** The local stack of the chaos and soak runs: a small fleet, four tenants, short TTLs. */
export function startChaosStack(dynamodb: DynamoEngine): Promise<LocalStack> {
  return startLocalStack({
    fleet: 'h20=2x3,cpu=1x2',
    speed: 0.3,
    config: chaosConfig(),
    dynamodb,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    adminKey: ADMIN_KEY,
    agentKey: AGENT_KEY,
    backendApiKey: 'sk-chaos-backend',
    tenants: [
      { key: KEYS.strict, policy: { id: 'strict', mayDegrade: false } },
      { key: KEYS.degrade, policy: { id: 'degrade', mayDegrade: true } },
      {
        key: KEYS.queue,
        policy: { id: 'queuer', mayQueue: true, defaultWaitSeconds: 5, maxConcurrentHolds: QUEUER_MAX_HOLDS },
      },
      { key: KEYS.batch, policy: { id: 'batcher', mayQueue: true, priority: 'batch' } },
    ],
  })
}

/** Workers with short claims, a frequent reaper and a visibility timeout shorter than some jobs. */
export function chaosWorkerEnv(stack: LocalStack): Record<string, string> {
  return {
    ...stack.env,
    // A message comes back mid-job (a duplicate delivery), and a killed worker's message
    // comes back within the run.
    SPILLWAY_LOCAL_WORKERS: JSON.stringify({
      worker: { claimTtlMs: 3_000 },
      reaperIntervalMs: 2_000,
      visibilityTimeoutSeconds: 4,
    }),
  }
}

/**
 * The chaos run: the local stack (emulators, a simulated fleet with heartbeat agents),
 * 3 gateway processes and 2 worker processes, mixed load from several tenants, and a
 * controller injecting faults from the seed. Then the checker, from the records:
 * no backend above its slots, no slot leaked past the lease TTL, one terminal outcome
 * per accepted request, no job executed twice at once, every error OpenAI-shaped.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {})
  const random = mulberry32(options.seed)
  const dynamodb = options.dynamodb ?? (javaAvailable() ? 'local' : 'dynalite')
  const stack = await startChaosStack(dynamodb)
  const violations: string[] = []
  const outcomes: ClientOutcome[] = []
  const faultsByKind: Record<string, number> = {}
  const killedAt = new Map<number, number>()
  const processes = { gateway: [] as SpillwayProcess[], worker: [] as SpillwayProcess[] }
  const workerEnv = chaosWorkerEnv(stack)
  const start = (kind: 'gateway' | 'worker', clockSkewMs = 0) =>
    startSpillwayProcess({ kind, env: kind === 'gateway' ? stack.env : workerEnv, clockSkewMs })
  // Agents restarted after a heartbeat-stop fault; the stack stops only its own.
  const agents = new Map(stack.fleet.backends.map((backend, i) => [backend.id, stack.agents[i]!]))
  const watch = new ExecutionWatch(stack.fleet.backends)
  const holdWatch = new HoldWatch({
    region: stack.aws.region,
    endpoints: stack.aws.endpoints,
    tableName: stack.aws.names.tables.tenants,
    tenantId: 'queuer',
    limit: QUEUER_MAX_HOLDS,
  })
  try {
    await stack.ready()
    processes.gateway = await Promise.all([start('gateway'), start('gateway'), start('gateway')])
    processes.worker = await Promise.all([start('worker'), start('worker')])
    for (const backend of stack.fleet.backends) backend.reset()
    log(
      `chaos: ${dynamodb === 'local' ? 'DynamoDB Local' : 'dynalite'}, 3 gateways, 2 workers, seed ${options.seed}`,
    )

    const live = () => processes.gateway.filter((p) => !killedAt.has(p.pid))
    const targets: ChaosTargets = {
      backends: stack.fleet.backends,
      ...(stack.aws.dynamodb.pid ? { dynamodbPid: stack.aws.dynamodb.pid } : {}),
      async killAndRestart(kind, index, restart = {}) {
        const victim = processes[kind][index]
        if (!victim || killedAt.has(victim.pid)) return
        // Recorded before the signal, so a client whose connection breaks knows why.
        killedAt.set(victim.pid, Date.now())
        await victim.kill('SIGKILL')
        processes[kind][index] = await start(kind, restart.clockSkewMs)
      },
      async pauseAgent(backendId, ms) {
        const backend = stack.fleet.backends.find((b) => b.id === backendId)
        const agent = agents.get(backendId)
        if (!backend || !agent) return
        agents.delete(backendId)
        await agent.stop()
        await new Promise((resolve) => setTimeout(resolve, ms))
        agents.set(
          backendId,
          startHeartbeatAgent({
            backend,
            gatewayUrl: stack.gatewayUrl,
            agentKey: AGENT_KEY,
            intervalMs: HEARTBEAT_INTERVAL_MS,
            logger: { info() {}, warn() {} },
          }),
        )
      },
      admin: (path, init = {}) =>
        fetch(`${stack.gatewayUrl}${path}`, {
          ...init,
          headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        }),
    }

    const until = Date.now() + options.seconds * 1000
    const watching = watch.run(() => Date.now() < until + 30_000)
    const watchingHolds = holdWatch.run(() => Date.now() < until + 30_000)
    await Promise.all([
      runLoad({
        target: {
          pickGateway: () => {
            const gateways = live()
            const g = gateways[Math.floor(random() * gateways.length)]
            return g ? { url: g.url, pid: g.pid } : undefined
          },
          killedSince: (pid, since) => (killedAt.get(pid) ?? 0) >= since,
        },
        keys: KEYS,
        clients: options.clients ?? 10,
        until,
        random,
        record: (outcome) => {
          outcomes.push(outcome)
          if (outcome.problem) violations.push(`${outcome.kind} ${outcome.marker}: ${outcome.problem}`)
          if (outcome.job && !outcome.job.status)
            violations.push(`job ${outcome.job.id} (${outcome.marker}) never reached a terminal status`)
        },
      }),
      injectFaults({
        targets,
        random,
        until,
        everyMs: 1_500,
        onFault: (kind: FaultKind, detail) => {
          faultsByKind[kind] = (faultsByKind[kind] ?? 0) + 1
          log(`fault ${kind} ${detail}`)
        },
      }),
    ])
    watch.stop()
    holdWatch.stop()
    await Promise.all([watching, watchingHolds])
    violations.push(...watch.violations, ...holdWatch.violations)
    log(`chaos: tenant queuer held at most ${holdWatch.peak} at once (limit ${QUEUER_MAX_HOLDS})`)

    // No slot leaked: once the load has stopped, every lease ends within the TTL.
    await new Promise((resolve) => setTimeout(resolve, (LEASE_TTL_SECONDS + 1) * 1000))
    const res = await targets.admin('/admin/backends')
    const { data } = (await res.json()) as { data: { id: string; leases: number }[] }
    for (const backend of data)
      if (backend.leases > 0)
        violations.push(`${backend.id}: ${backend.leases} leases live past the TTL after the load`)
    for (const backend of stack.fleet.backends) {
      const state = backend.state()
      if (state.peak > backend.maxConcurrency)
        violations.push(`${backend.id}: peak ${state.peak} above its ${backend.maxConcurrency} slots`)
    }
  } finally {
    watch.stop()
    holdWatch.stop()
    await Promise.all([...processes.gateway, ...processes.worker].map((p) => p.kill('SIGKILL')))
    await Promise.all([...agents.values()].map((agent) => agent.stop()))
    await stack.stop()
  }
  const byOutcome: Record<string, number> = {}
  for (const o of outcomes) {
    const key = o.job ? `${o.kind} 202→${o.job.status ?? 'open'}` : `${o.kind} ${o.status}`
    byOutcome[key] = (byOutcome[key] ?? 0) + 1
  }
  return {
    seed: options.seed,
    requests: outcomes.length,
    faults: Object.values(faultsByKind).reduce((a, b) => a + b, 0),
    faultsByKind,
    outcomes: byOutcome,
    violations,
  }
}

/** The one line a run ends with. */
export function chaosSummary(result: ChaosResult): string {
  return `chaos: ${result.requests} requests, ${result.faults} faults, ${result.violations.length} violations (seed ${result.seed})`
}
