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
import { type Rig, type Store, TARGETS, type Target } from './support/rig.ts'

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
  /** Gateway minus baseline, ms; ratios gateway / baseline. */
  readonly added: Readonly<Record<Store, AddedFigures>>
}

export interface OverheadResult {
  readonly cells: readonly OverheadCell[]
  /** CPU time of the gateway process per request, ms (user + system), over every measured cell. */
  readonly gatewayCpuMsPerRequest: Readonly<Record<Store, Readonly<Record<Payload['name'], number>>>>
  /** Garbage collection in the gateway process over every measured cell: pauses stop the event loop. */
  readonly gatewayGc: Readonly<Record<Store, GcFigures>>
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
  const callers = (payload: Payload) => ({
    baseline: caller({ agent: o.rig.agent, targets: o.rig.baselineTargets(payload), payload }),
    memory: caller({ agent: o.rig.agent, targets: [o.rig.gatewayTarget('memory')], payload }),
    dynamo: caller({ agent: o.rig.agent, targets: [o.rig.gatewayTarget('dynamo')], payload }),
  })
  const samples = new Map<string, Samples>()
  const cpu = { memory: { instant: [0, 0], paced: [0, 0] }, dynamo: { instant: [0, 0], paced: [0, 0] } }
  const gc = {
    memory: { pauses: 0, totalMs: 0, longestPauseMs: 0, cpuMs: 0 },
    dynamo: { pauses: 0, totalMs: 0, longestPauseMs: 0, cpuMs: 0 },
  }

  o.progress.step('overhead: warm-up')
  for (const payload of payloads) {
    const call = callers(payload)
    for (const target of TARGETS) {
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
        const order = TARGETS.map((_, i) => TARGETS[(i + r) % TARGETS.length]!)
        for (const target of order) {
          const before = target === 'baseline' ? undefined : await o.rig.gateways[target].stats()
          const run = await runClosedLoop({
            concurrency,
            durationMs: o.cellMs,
            minRequests: o.minRequests,
            ...limit(o),
            call: () => call[target](),
          })
          if (target !== 'baseline' && before) {
            const after = await o.rig.gateways[target].stats()
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
        line.push(`c=${concurrency} ${TARGETS.map((t) => `${t} ${p50(t).toFixed(2)}`).join(' / ')} ms`)
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
      cells.push({
        payload: payload.name,
        concurrency,
        baseline,
        memory,
        dynamo,
        added: { memory: added(memory, baseline), dynamo: added(dynamo, baseline) },
      })
    }
  }
  const perRequest = ([ms, n]: number[]) => round((ms ?? 0) / Math.max(1, n ?? 0), 4)
  return {
    cells,
    gatewayCpuMsPerRequest: {
      memory: { instant: perRequest(cpu.memory.instant), paced: perRequest(cpu.memory.paced) },
      dynamo: { instant: perRequest(cpu.dynamo.instant), paced: perRequest(cpu.dynamo.paced) },
    },
    gatewayGc: { memory: gcFigures(gc.memory), dynamo: gcFigures(gc.dynamo) },
  }
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
