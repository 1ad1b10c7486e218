/**
 * 1. Overhead: latency through the gateway versus calling the same simulated
 * backend directly, closed loop at each concurrency, baseline and gateways
 * interleaved round by round; figures are medians of round percentiles.
 */
import { PAYLOADS, type Payload } from './lib/bench-setup.ts'
import type { CallResult } from './lib/http-call.ts'
import { runClosedLoop } from './lib/load.ts'
import type { Progress } from './lib/progress.ts'
import { medianOfRounds, type Percentiles, percentiles, ratio, round, roundPercentiles } from './lib/stats.ts'
import { caller } from './lib/targets.ts'
import { GATEWAYS, type Gateway, type Rig, type Store, TARGETS, type Target } from './support/rig.ts'

export interface OverheadOptions {
  readonly rig: Rig
  readonly rounds: number
  readonly concurrencies: readonly number[]
  readonly cellMs: number
  readonly minRequests: number
  readonly maxRequests?: number
  readonly warmupRequests: number
  readonly progress: Progress
}

export interface TargetFigures {
  readonly latency: Percentiles
  readonly ttft?: Percentiles
  readonly maxGap?: Percentiles
  readonly failures: number
}

export interface AddedFigures {
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly ratioP50: number
  readonly ratioP99: number
  readonly ttftP50?: number
  readonly ttftP99?: number
  readonly maxGapP50?: number
  readonly maxGapP99?: number
}

export interface OverheadCell {
  readonly payload: Payload['name']
  readonly concurrency: number
  readonly baseline: TargetFigures
  readonly memory: TargetFigures
  readonly dynamo: TargetFigures
  /** Zero-latency cells only: Portkey 1.15.2 on Node 24 answers every stream with a 500 (see `PEER_PAYLOADS`). */
  readonly portkey?: TargetFigures
  /** Gateway minus baseline, ms; ratios gateway / baseline. */
  readonly added: Readonly<Record<Store, AddedFigures>> & { readonly portkey?: AddedFigures }
  /** Spillway's added p50 over Portkey's added p50, in the same cell (≤ 1: no dearer than the stateless peer). */
  readonly addedP50VsPortkey?: Readonly<Record<Store, number>>
}

/**
 * Portkey 1.15.2 fails every streamed answer on Node 24 ("TypeError: immutable"
 * appending a header to the fetched upstream Response, then a 500), so the
 * peer is compared on the non-streaming payload only.
 */
const PEER_PAYLOADS: ReadonlySet<Payload['name']> = new Set(['instant'])

export interface OverheadResult {
  readonly cells: readonly OverheadCell[]
  /** CPU time of the gateway process per request, ms (user + system), over every measured cell. */
  readonly gatewayCpuMsPerRequest: Readonly<Record<Store, Readonly<Record<Payload['name'], number>>>> & {
    readonly portkey: { readonly instant: number }
  }
  /** Garbage collection in the gateway process over every measured cell: pauses stop the event loop. */
  readonly gatewayGc: Readonly<Record<Gateway, GcFigures>>
}

export interface GcFigures {
  readonly pauses: number
  readonly totalMs: number
  readonly longestPauseMs: number
  /** GC time as a share of the gateway's CPU time. */
  readonly shareOfCpu: number
}

interface Samples {
  latency: Percentiles[]
  ttft: Percentiles[]
  maxGap: Percentiles[]
  failures: number
}

export async function runOverhead(o: OverheadOptions): Promise<OverheadResult> {
  const payloads = [PAYLOADS.instant, PAYLOADS.paced]
  const callers = (payload: Payload): Record<Target, () => Promise<CallResult>> => ({
    baseline: caller({ agent: o.rig.agent, targets: o.rig.baselineTargets(payload), payload }),
    memory: caller({ agent: o.rig.agent, targets: o.rig.targetsOf('memory', payload), payload }),
    dynamo: caller({ agent: o.rig.agent, targets: o.rig.targetsOf('dynamo', payload), payload }),
    portkey: caller({ agent: o.rig.agent, targets: o.rig.targetsOf('portkey', payload), payload }),
  })
  const samples = new Map<string, Samples>()
  const cpu = perGatewayOf(() => ({ instant: [0, 0], paced: [0, 0] }))
  const gc = perGatewayOf(() => ({ pauses: 0, totalMs: 0, longestPauseMs: 0, cpuMs: 0 }))

  const targetsFor = (payload: Payload) =>
    PEER_PAYLOADS.has(payload.name) ? TARGETS : TARGETS.filter((t) => t !== 'portkey')

  o.progress.step('overhead: warm-up')
  for (const payload of payloads) {
    const call = callers(payload)
    for (const target of targetsFor(payload)) {
      await runClosedLoop({
        concurrency: 8,
        durationMs: 0,
        minRequests: o.warmupRequests,
        ...limit(o),
        call: () => call[target](),
      })
    }
  }

  for (let r = 0; r < o.rounds; r++) {
    for (const payload of payloads) {
      const call = callers(payload)
      const line: string[] = []
      for (const concurrency of o.concurrencies) {
        // Rotate who goes first each round so no side always runs on a warmer or cooler machine.
        const targets = targetsFor(payload)
        const order = targets.map((_, i) => targets[(i + r) % targets.length]!)
        for (const target of order) {
          const before = target === 'baseline' ? undefined : await o.rig.measured(target).stats()
          const run = await runClosedLoop({
            concurrency,
            durationMs: o.cellMs,
            minRequests: o.minRequests,
            ...limit(o),
            call: () => call[target](),
          })
          if (target !== 'baseline' && before) {
            const after = await o.rig.measured(target).stats()
            const used = after.cpuMs - before.cpuMs
            const acc = cpu[target][payload.name]
            acc[0] = (acc[0] ?? 0) + used
            acc[1] = (acc[1] ?? 0) + run.results.length
            const g = gc[target]
            g.pauses += after.gcCount - before.gcCount
            g.totalMs += after.gcTotalMs - before.gcTotalMs
            g.longestPauseMs = Math.max(g.longestPauseMs, after.gcMaxMsSinceLast)
            g.cpuMs += used
          }
          record(samples, `${payload.name}/${concurrency}/${target}`, run.results)
        }
        const p50 = (t: Target) =>
          samples.get(`${payload.name}/${concurrency}/${t}`)?.latency.at(-1)?.p50 ?? 0
        line.push(`c=${concurrency} ${targets.map((t) => `${t} ${p50(t).toFixed(2)}`).join(' / ')} ms`)
      }
      o.progress.detail(`round ${r + 1}/${o.rounds} ${payload.name}: p50 ${line.join('; ')}`)
    }
  }

  const cells: OverheadCell[] = []
  for (const payload of payloads) {
    for (const concurrency of o.concurrencies) {
      const figures = (t: Target) => summarize(samples.get(`${payload.name}/${concurrency}/${t}`)!)
      const baseline = figures('baseline')
      const memory = figures('memory')
      const dynamo = figures('dynamo')
      const portkey = PEER_PAYLOADS.has(payload.name) ? figures('portkey') : undefined
      const addedBy = { memory: added(memory, baseline), dynamo: added(dynamo, baseline) }
      const peer = portkey ? added(portkey, baseline) : undefined
      cells.push({
        payload: payload.name,
        concurrency,
        baseline,
        memory,
        dynamo,
        added: { ...addedBy, ...(peer ? { portkey: peer } : {}) },
        ...(portkey && peer
          ? {
              portkey,
              addedP50VsPortkey: {
                memory: ratio(addedBy.memory.p50, peer.p50),
                dynamo: ratio(addedBy.dynamo.p50, peer.p50),
              },
            }
          : {}),
      })
    }
  }
  const perRequest = ([ms, n]: number[]) => round((ms ?? 0) / Math.max(1, n ?? 0), 4)
  return {
    cells,
    gatewayCpuMsPerRequest: {
      memory: { instant: perRequest(cpu.memory.instant), paced: perRequest(cpu.memory.paced) },
      dynamo: { instant: perRequest(cpu.dynamo.instant), paced: perRequest(cpu.dynamo.paced) },
      portkey: { instant: perRequest(cpu.portkey.instant) },
    },
    gatewayGc: perGatewayOf((g) => gcFigures(gc[g])),
  }
}

function perGatewayOf<T>(make: (gateway: Gateway) => T): Record<Gateway, T> {
  return Object.fromEntries(GATEWAYS.map((g) => [g, make(g)])) as Record<Gateway, T>
}

function gcFigures(g: { pauses: number; totalMs: number; longestPauseMs: number; cpuMs: number }): GcFigures {
  return {
    pauses: g.pauses,
    totalMs: round(g.totalMs, 1),
    longestPauseMs: round(g.longestPauseMs, 2),
    shareOfCpu: round(g.totalMs / Math.max(1e-9, g.cpuMs), 4),
  }
}

function limit(o: OverheadOptions) {
  return o.maxRequests === undefined ? {} : { maxRequests: o.maxRequests }
}

function record(samples: Map<string, Samples>, key: string, results: readonly CallResult[]): void {
  const entry = samples.get(key) ?? { latency: [], ttft: [], maxGap: [], failures: 0 }
  const ok = results.filter((r) => r.ok)
  entry.failures += results.length - ok.length
  entry.latency.push(percentiles(ok.map((r) => r.latencyMs)))
  const streamed = ok.filter((r) => r.ttftMs !== undefined)
  if (streamed.length > 0) {
    entry.ttft.push(percentiles(streamed.map((r) => r.ttftMs ?? 0)))
    entry.maxGap.push(percentiles(streamed.map((r) => r.maxGapMs ?? 0)))
  }
  samples.set(key, entry)
}

function summarize(s: Samples): TargetFigures {
  return {
    latency: roundPercentiles(medianOfRounds(s.latency)),
    ...(s.ttft.length > 0 ? { ttft: roundPercentiles(medianOfRounds(s.ttft)) } : {}),
    ...(s.maxGap.length > 0 ? { maxGap: roundPercentiles(medianOfRounds(s.maxGap)) } : {}),
    failures: s.failures,
  }
}

function added(gateway: TargetFigures, baseline: TargetFigures): AddedFigures {
  const d = (a: number | undefined, b: number | undefined) => round((a ?? Number.NaN) - (b ?? Number.NaN))
  return {
    p50: d(gateway.latency.p50, baseline.latency.p50),
    p95: d(gateway.latency.p95, baseline.latency.p95),
    p99: d(gateway.latency.p99, baseline.latency.p99),
    ratioP50: ratio(gateway.latency.p50, baseline.latency.p50),
    ratioP99: ratio(gateway.latency.p99, baseline.latency.p99),
    ...(gateway.ttft && baseline.ttft
      ? {
          ttftP50: d(gateway.ttft.p50, baseline.ttft.p50),
          ttftP99: d(gateway.ttft.p99, baseline.ttft.p99),
          maxGapP50: d(gateway.maxGap?.p50, baseline.maxGap?.p50),
          maxGapP99: d(gateway.maxGap?.p99, baseline.maxGap?.p99),
        }
      : {}),
  }
}
