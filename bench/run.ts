/**
 * `npm run bench [-- --quick] [-- --only overhead,router] [-- --pin] [-- --out dir]`
 *
 * Starts what it needs (emulators, simulated fleets, gateway processes), runs
 * every benchmark, prints a table and writes `bench/results/latest.json`, the
 * SVG charts and `profile.md`. Figures that depend on machine speed come with a
 * baseline measured in the same run, interleaved round by round.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { drainChart, latencyChart } from './charts.ts'
import { costModel } from './cost-model.ts'
import { runDynamoCost } from './dynamo-cost.ts'
import { runGatewayCpu } from './gateway-cpu.ts'
import { runLambdaShape } from './lambda-shape.ts'
import { ADMIN_KEY, AGENT_KEY } from './lib/bench-setup.ts'
import { isLibraryOrOwnCode } from './lib/cpu-profile.ts'
import { latencyFloor } from './lib/latency-floor.ts'
import { machineInfo } from './lib/machine.ts'
import { pinSelf, planCpus } from './lib/pinning.ts'
import { createProgress } from './lib/progress.ts'
import type { BenchMode, BenchResult } from './lib/result.ts'
import { round } from './lib/stats.ts'
import { summaryTables } from './lib/summary.ts'
import { type OverflowResult, runOverflow } from './overflow.ts'
import { type OverheadResult, runOverhead } from './overhead.ts'
import { profileMarkdown, runProfiles } from './profile.ts'
import { runRouterDecision } from './router-decision.ts'
import { SETTINGS } from './settings.ts'
import { runSnapshotReads } from './snapshot-reads.ts'
import { startRig } from './support/rig.ts'
import { runThroughput } from './throughput.ts'
import { runUpstreamClient } from './upstream-client.ts'
import { runWarmLeases } from './warm-leases.ts'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const BENCHMARKS = [
  'router',
  'cpu',
  'overhead',
  'throughput',
  'profile',
  'upstream',
  'warm',
  'dynamo',
  'overflow',
  'lambda',
] as const
export type BenchmarkName = (typeof BENCHMARKS)[number]

export interface RunBenchOptions {
  readonly mode: BenchMode
  readonly outDir: string
  readonly only?: ReadonlySet<BenchmarkName>
  /** Pin the gateway to its own core with taskset (off by default: see README). */
  readonly pin?: boolean
  readonly quiet?: boolean
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

export async function runBench(options: RunBenchOptions): Promise<BenchResult> {
  const settings = SETTINGS[options.mode]
  const wanted = (name: BenchmarkName) => !options.only || options.only.has(name)
  const progress = createProgress({ quiet: options.quiet ?? false })
  const started = performance.now()
  const machine = machineInfo(ROOT)
  const cpus = planCpus({ pin: options.pin ?? false })
  pinSelf(cpus)
  progress.step(
    `spillway bench (${options.mode}): ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, ` +
      `load ${machine.loadAverageAtStart}${cpus.pinned ? `, gateway on CPU ${cpus.gatewayCore}` : ''}`,
  )
  await mkdir(options.outDir, { recursive: true })
  const result: Mutable<BenchResult> = {
    schema: 1,
    mode: options.mode,
    startedAt: new Date().toISOString(),
    durationSeconds: 0,
    machine,
    cpus,
    method: {
      aggregation:
        'median over rounds of each round’s percentile; baseline and gateways interleaved each round',
      settings,
      topology:
        'load generator and simulated backends in one process, emulators (dynalite, fauxqs) in a second, ' +
        'each gateway (Spillway memory store, Spillway DynamoDB store, Portkey) in its own process; loopback HTTP with keep-alive',
      pinning: cpus.pinned
        ? 'the gateway processes run pinned to their own core (taskset)'
        : 'not pinned (default): on small VMs cross-core wake-ups add milliseconds at low load; --pin pins the gateway',
    },
    charts: [],
  }

  if (wanted('router')) {
    progress.step('router decision time vs fleet size')
    result.router = await runRouterDecision({ ...settings.router, progress })
  }

  progress.step('starting emulators, simulated fleets and gateway processes')
  const rig = await startRig({ cpus })
  let overhead: OverheadResult | undefined
  try {
    if (wanted('cpu')) {
      progress.step(
        `gateway CPU per request: ${settings.cpu.requests} requests at concurrency ${settings.cpu.concurrency}, Spillway vs Portkey ${rig.portkey.version}`,
      )
      result.gatewayCpu = await runGatewayCpu({ rig, ...settings.cpu, progress })
      result.emulatorRoundTrip = await rig.gateways.dynamo.emulatorRoundTrip()
    }
    if (wanted('warm')) {
      progress.step(
        `warm leases: the DynamoDB gateway keeping finished leases ${rig.leaseLingerMs} ms vs releasing at once (as on Lambda), and Portkey`,
      )
      result.warmLeases = await runWarmLeases({ rig, ...settings.warmLeases, progress })
      result.emulatorRoundTrip ??= await rig.gateways.dynamo.emulatorRoundTrip()
    }
    if (wanted('overhead')) {
      progress.step(
        'overhead: baseline vs gateways (Spillway on memory store and DynamoDB emulator, Portkey)',
      )
      overhead = await runOverhead({ rig, ...settings.overhead, progress })
      result.overhead = overhead
    }
    if (wanted('throughput')) {
      progress.step('throughput: highest rate at p99 < 10 ms with no failure')
      const throughput = await runThroughput({ rig, ...settings.throughput, sloP99Ms: 10, progress })
      const cpu = overhead?.gatewayCpuMsPerRequest
      result.throughput = {
        ...throughput,
        cpuBoundRpsPerCore: {
          memory: cpu ? round(1000 / cpu.memory.instant, 0) : Number.NaN,
          dynamo: cpu ? round(1000 / cpu.dynamo.instant, 0) : Number.NaN,
        },
      }
    }
    if (wanted('throughput')) {
      progress.step('throughput: highest rate at p99 < 50 ms with no failure')
      result.throughputAtLooserSlo = await runThroughput({
        rig,
        ...settings.throughput,
        sloP99Ms: 50,
        progress,
      })
    }
    if (wanted('profile')) {
      const runs = await runProfiles({ rig, root: ROOT, ...settings.profile, progress })
      const header = `Mode \`${options.mode}\`, commit \`${machine.commit.slice(0, 8)}\`, ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}.`
      await writeFile(join(options.outDir, 'profile.md'), profileMarkdown(runs, header))
      result.profile = {
        file: 'profile.md',
        runs: runs.map((run) => ({
          store: run.store,
          requests: run.requests,
          cpuMsPerRequest: round(run.summary.busyMs / Math.max(1, run.requests), 3),
          byOwner: run.summary.byCategory.slice(0, 8).map((c) => ({ category: c.category, share: c.share })),
          byOwnerInclusive: run.summary.byCategoryInclusive
            .filter((c) => isLibraryOrOwnCode(c.category))
            .slice(0, 8)
            .map((c) => ({ category: c.category, share: c.share })),
        })),
      }
    }
    if (wanted('upstream')) {
      progress.step('experiment: upstream call over fetch vs node:http (memory store)')
      result.upstreamClient = await runUpstreamClient({ rig, ...settings.upstream, progress })
    }
    if (wanted('dynamo')) {
      result.dynamo = await runDynamoCost({ aws: rig.aws, ...settings.dynamo, progress })
      result.snapshotReads = await runSnapshotReads({ aws: rig.aws, ...settings.snapshotReads, progress })
    }
    if (wanted('overflow')) {
      progress.step('overflow: burst of 10x capacity, drained by the worker')
      result.overflow = await runOverflow({ aws: rig.aws, ...settings.overflow, progress })
    }
    if (wanted('lambda')) {
      progress.step('lambda shape: bundle size and module-load time')
      result.lambda = await runLambdaShape({
        root: ROOT,
        env: {
          ...rig.aws.env,
          SPILLWAY_ADMIN_KEY: ADMIN_KEY,
          SPILLWAY_AGENT_KEY: AGENT_KEY,
          LOG_LEVEL: 'ERROR',
        },
        ...settings.lambda,
        progress,
      })
    }
  } finally {
    await rig.stop()
  }

  if (result.overhead && result.emulatorRoundTrip) {
    const floor = latencyFloor({
      overhead: result.overhead,
      roundTrip: result.emulatorRoundTrip,
      ...(result.warmLeases ? { warmLeases: result.warmLeases } : {}),
    })
    if (floor) result.latencyFloor = floor
  }
  if (result.overhead && result.dynamo) {
    result.cost = costModel({
      overhead: result.overhead,
      dynamo: result.dynamo,
      // The gateway's own client when measured, else the bench's: what a release write takes.
      releaseMs: result.emulatorRoundTrip?.updateItemMs.p50 ?? result.dynamo.emulatorUpdateItemMs.p50,
      ...(result.overflow ? { overflow: result.overflow as OverflowResult } : {}),
    })
  }
  const charts: [string, string][] = []
  if (result.overhead) {
    charts.push(['latency-instant.svg', latencyChart(result.overhead, 'instant')])
    charts.push(['latency-paced.svg', latencyChart(result.overhead, 'paced')])
  }
  if (result.overflow && !('skipped' in result.overflow))
    charts.push(['drain.svg', drainChart(result.overflow)])
  for (const [name, svg] of charts) await writeFile(join(options.outDir, name), svg)
  result.charts = charts.map(([name]) => name)
  result.durationSeconds = round((performance.now() - started) / 1000, 1)
  await writeFile(join(options.outDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`)
  progress.step(`done in ${result.durationSeconds} s: ${join(options.outDir, 'latest.json')}`)
  return result
}

function parseArgs(argv: readonly string[]): RunBenchOptions {
  const value = (flag: string) => {
    const i = argv.indexOf(flag)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const mode: BenchMode = argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full'
  const only = value('--only')
  const names = only?.split(',').map((s) => s.trim())
  const unknown = names?.filter((n) => !(BENCHMARKS as readonly string[]).includes(n)) ?? []
  if (unknown.length > 0)
    throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.join(', ')}`)
  return {
    mode,
    outDir: value('--out') ?? join(ROOT, 'bench', 'results'),
    ...(names ? { only: new Set(names as BenchmarkName[]) } : {}),
    pin: argv.includes('--pin'),
  }
}

if (import.meta.main) {
  const result = await runBench(parseArgs(process.argv.slice(2)))
  process.stdout.write(`\n${summaryTables(result)}`)
  // Keep-alive sockets and the SDK's agents would otherwise hold the process for a while.
  process.exit(0)
}
