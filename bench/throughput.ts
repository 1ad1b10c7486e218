/**
 * 2. Throughput: the highest arrival rate each target sustains with p99 under
 * the SLO and no failed request, found by growing the rate until a step fails
 * and then bisecting. The gateway runs pinned to one core; the baseline is the
 * simulated backend alone. The three searches advance in lockstep (A B C A B C).
 */
import { PAYLOADS } from './lib/bench-setup.ts'
import { runClosedLoop, runOpenLoop } from './lib/load.ts'
import type { Progress } from './lib/progress.ts'
import { median, percentiles, ratio, round } from './lib/stats.ts'
import { caller } from './lib/targets.ts'
import type { Rig, Store } from './support/rig.ts'

/** Spillway on each store against the backend alone (the peer's CPU and latency are compared in overhead). */
export type ThroughputTarget = 'baseline' | Store
type Target = ThroughputTarget
const TARGETS: readonly Target[] = ['baseline', 'memory', 'dynamo']

export interface ThroughputOptions {
  readonly rig: Rig
  readonly rounds: number
  readonly stepMs: number
  readonly startRate: number
  readonly growth: number
  readonly bisections: number
  /** A search that has not settled after this many steps keeps its best passing rate. */
  readonly maxSteps: number
  readonly sloP99Ms: number
  readonly warmupRequests: number
  readonly progress: Progress
}

export interface ThroughputResult {
  readonly sloP99Ms: number
  readonly stepMs: number
  /** Requests per second sustained: median over rounds, and each round's figure. */
  readonly rps: Readonly<Record<Target, { readonly median: number; readonly rounds: readonly number[] }>>
  /** Gateway rps / backend-alone rps. */
  readonly ratio: Readonly<Record<Store, number>>
  /** The lowest rate each search tried (last round), with its p99: why a target that met nothing did not. */
  readonly lowestRateTried: Readonly<
    Record<Target, { readonly rate: number; readonly p99Ms: number; readonly failed: number }>
  >
  /** GC pauses in each gateway process over the whole search (every step, every round), ms. */
  readonly gcPauseMs: Readonly<
    Record<Store, { readonly pauses: number; readonly p99: number; readonly max: number }>
  >
}

interface Search {
  rate: number
  pass: number
  fail: number | undefined
  bisectionsLeft: number
}

export async function runThroughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const payload = PAYLOADS.instant
  const calls = {
    baseline: caller({ agent: o.rig.agent, targets: o.rig.baselineTargets(payload), payload }),
    memory: caller({ agent: o.rig.agent, targets: [o.rig.gatewayTarget('memory')], payload }),
    dynamo: caller({ agent: o.rig.agent, targets: [o.rig.gatewayTarget('dynamo')], payload }),
  }
  const found: Record<Target, number[]> = { baseline: [], memory: [], dynamo: [] }
  const lowest = {} as Record<Target, { rate: number; p99Ms: number; failed: number }>
  // JIT, connection pools and the gateway's snapshot warm first: a cold first step would fail on that alone.
  for (const target of TARGETS) {
    await runClosedLoop({
      concurrency: 16,
      durationMs: 0,
      minRequests: o.warmupRequests,
      call: () => calls[target](),
    })
  }

  // Reset the pause lists the warm-up filled: only the search's own pauses count.
  for (const store of STORES) await o.rig.gateways[store].stats()
  const pauses: Record<Store, number[]> = { memory: [], dynamo: [] }

  for (let r = 0; r < o.rounds; r++) {
    for (const target of TARGETS) delete lowest[target]
    const searches = new Map<Target, Search>(
      TARGETS.map((t) => [t, { rate: o.startRate, pass: 0, fail: undefined, bisectionsLeft: o.bisections }]),
    )
    for (let step = 1; searches.size > 0; step++) {
      const line: string[] = []
      for (const target of TARGETS) {
        const search = searches.get(target)
        if (!search) continue
        const rate = Math.round(search.rate)
        const run = await runOpenLoop({
          rate,
          durationMs: o.stepMs,
          maxInFlight: 512,
          call: (scheduledAt) => calls[target](scheduledAt),
        })
        if (target !== 'baseline')
          pauses[target].push(...(await o.rig.gateways[target].stats()).gcPausesMsSinceLast)
        const failed = run.results.filter((res) => !res.ok).length
        const p99 = percentiles(run.results.filter((res) => res.ok).map((res) => res.latencyMs)).p99
        const ok = failed === 0 && p99 < o.sloP99Ms
        if (step === 1 || rate < (lowest[target]?.rate ?? Number.POSITIVE_INFINITY)) {
          lowest[target] = { rate, p99Ms: round(p99, 2), failed }
        }
        line.push(
          `${target} ${rate}/s ${ok ? 'ok' : 'over'} (p99 ${p99.toFixed(1)} ms${failed ? `, ${failed} failed` : ''})`,
        )
        if (ok) search.pass = rate
        else search.fail = rate
        if (step >= o.maxSteps) {
          found[target].push(search.pass)
          searches.delete(target)
        } else if (search.fail === undefined) search.rate = rate * o.growth
        else if (search.bisectionsLeft-- > 0 && search.fail - search.pass > 1) {
          search.rate = (search.pass + search.fail) / 2
        } else {
          found[target].push(search.pass)
          searches.delete(target)
        }
      }
      o.progress.detail(`round ${r + 1}/${o.rounds} step ${step}: ${line.join('; ')}`)
    }
  }
  const rps = (t: Target) => ({ median: round(median(found[t]), 0), rounds: found[t] })
  const result = { baseline: rps('baseline'), memory: rps('memory'), dynamo: rps('dynamo') }
  return {
    sloP99Ms: o.sloP99Ms,
    stepMs: o.stepMs,
    rps: result,
    ratio: {
      memory: ratio(result.memory.median, result.baseline.median),
      dynamo: ratio(result.dynamo.median, result.baseline.median),
    },
    lowestRateTried: lowest,
    gcPauseMs: { memory: pauseFigures(pauses.memory), dynamo: pauseFigures(pauses.dynamo) },
  }
}

const STORES: readonly Store[] = ['memory', 'dynamo']

function pauseFigures(samples: readonly number[]) {
  const max = samples.reduce((a, b) => Math.max(a, b), 0)
  // No pause at all is a p99 of 0, not an unknown.
  const p99 = samples.length === 0 ? 0 : percentiles(samples).p99
  return { pauses: samples.length, p99: round(p99, 2), max: round(max, 2) }
}
