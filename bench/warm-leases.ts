/**
 * Warm leases on and off, side by side: the DynamoDB gateway as a Node server runs it
 * (a finished request's lease kept warm for `leaseLingerMs`, taken over by the next
 * request without a write) against the same gateway releasing every lease at once,
 * as on Lambda, and against Portkey, all over the same zero-latency backends.
 * Interleaved rounds, the order rotating: CPU per request at concurrency 8 (as the
 * CPU benchmark), and added p50 at concurrency 1 over the backend called directly.
 * The cold gateway's added p50 less one UpdateItem round trip is the latency floor
 * where every request pays its acquire write.
 */
import { PAYLOADS } from './lib/bench-setup.ts'
import { runClosedLoop } from './lib/load.ts'
import type { Progress } from './lib/progress.ts'
import { median, percentiles, ratio, round } from './lib/stats.ts'
import { caller } from './lib/targets.ts'
import type { BenchGateway } from './support/gateway-handle.ts'
import type { Rig } from './support/rig.ts'

export interface WarmLeasesOptions {
  readonly rig: Rig
  readonly rounds: number
  /** Requests per CPU cell, at `concurrency`. */
  readonly requests: number
  readonly concurrency: number
  /** Requests per latency cell, one at a time. */
  readonly latencyRequests: number
  readonly warmupRequests: number
  readonly progress: Progress
}

const SIDES = ['warm', 'cold', 'portkey'] as const
type Side = (typeof SIDES)[number]

export interface WarmLeasesResult {
  readonly lingerMs: number
  readonly concurrency: number
  /** CPU ms of the gateway process per request, median over rounds. */
  readonly cpuMsPerRequest: Readonly<Record<Side, number>>
  /** Over Portkey's, in the same rounds. */
  readonly cpuRatioToPortkey: Readonly<Record<'warm' | 'cold', number>>
  /** Added p50 at concurrency 1 (gateway p50 − backend-alone p50 of the same round), median over rounds. */
  readonly addedP50Ms: Readonly<Record<Side, number>>
  readonly failures: Readonly<Record<Side, number>>
}

export async function runWarmLeases(o: WarmLeasesOptions): Promise<WarmLeasesResult> {
  const cold = await o.rig.startGateway({ store: 'dynamo', leaseLingerMs: 0 })
  try {
    const payload = PAYLOADS.instant
    const gateways: Record<Exclude<Side, 'portkey'>, BenchGateway> = { warm: o.rig.gateways.dynamo, cold }
    const call = {
      warm: caller({ agent: o.rig.agent, targets: [o.rig.targetOf(gateways.warm)], payload }),
      cold: caller({ agent: o.rig.agent, targets: [o.rig.targetOf(cold)], payload }),
      portkey: caller({ agent: o.rig.agent, targets: o.rig.targetsOf('portkey', payload), payload }),
      baseline: caller({ agent: o.rig.agent, targets: o.rig.baselineTargets(payload), payload }),
    }
    const measured = (side: Side) => (side === 'portkey' ? o.rig.measured('portkey') : gateways[side])
    const load = (target: Side | 'baseline', concurrency: number, requests: number) =>
      runClosedLoop({
        concurrency,
        durationMs: 0,
        minRequests: requests,
        maxRequests: requests,
        call: () => call[target](),
      })
    const cpu = Object.fromEntries(SIDES.map((s) => [s, [] as number[]])) as Record<Side, number[]>
    const added = Object.fromEntries(SIDES.map((s) => [s, [] as number[]])) as Record<Side, number[]>
    const failures = Object.fromEntries(SIDES.map((s) => [s, 0])) as Record<Side, number>

    for (const side of SIDES) await load(side, o.concurrency, o.warmupRequests)
    for (let r = 0; r < o.rounds; r++) {
      const order = SIDES.map((_, i) => SIDES[(i + r) % SIDES.length]!)
      const baseline = await load('baseline', 1, o.latencyRequests)
      const baselineP50 = percentiles(baseline.results.filter((x) => x.ok).map((x) => x.latencyMs)).p50
      for (const side of order) {
        const before = (await measured(side).stats()).cpuMs
        const run = await load(side, o.concurrency, o.requests)
        cpu[side].push(((await measured(side).stats()).cpuMs - before) / run.results.length)
        const one = await load(side, 1, o.latencyRequests)
        for (const x of [...run.results, ...one.results]) if (!x.ok) failures[side]++
        added[side].push(
          percentiles(one.results.filter((x) => x.ok).map((x) => x.latencyMs)).p50 - baselineP50,
        )
      }
      o.progress.detail(
        `round ${r + 1}/${o.rounds}: CPU per request ${SIDES.map((s) => `${s} ${cpu[s].at(-1)?.toFixed(3)}`).join(', ')} ms; ` +
          `added p50 at c=1 ${SIDES.map((s) => `${s} ${added[s].at(-1)?.toFixed(2)}`).join(', ')} ms`,
      )
    }
    const med = (values: readonly number[]) => round(median(values), 4)
    const cpuMs = { warm: med(cpu.warm), cold: med(cpu.cold), portkey: med(cpu.portkey) }
    return {
      lingerMs: o.rig.leaseLingerMs,
      concurrency: o.concurrency,
      cpuMsPerRequest: cpuMs,
      cpuRatioToPortkey: { warm: ratio(cpuMs.warm, cpuMs.portkey), cold: ratio(cpuMs.cold, cpuMs.portkey) },
      addedP50Ms: { warm: med(added.warm), cold: med(added.cold), portkey: med(added.portkey) },
      failures,
    }
  } finally {
    await cold.stop()
  }
}
