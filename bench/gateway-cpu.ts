/**
 * Gateway CPU per routed request, side by side: each gateway in its own process
 * (Spillway on the memory store, Spillway on the DynamoDB emulator, Portkey),
 * the same zero-latency backends behind all three, a fixed count of requests
 * at a fixed concurrency, interleaved round by round (the order rotates);
 * `process.cpuUsage()` of the gateway child before and after. Figures are
 * medians over rounds, with Spillway's as a ratio to Portkey's.
 */
import { PAYLOADS } from './lib/bench-setup.ts'
import { runClosedLoop } from './lib/load.ts'
import type { Progress } from './lib/progress.ts'
import { median, ratio, round } from './lib/stats.ts'
import { caller } from './lib/targets.ts'
import { GATEWAYS, type Gateway, type Rig } from './support/rig.ts'

export interface GatewayCpuOptions {
  readonly rig: Rig
  readonly rounds: number
  readonly requests: number
  readonly concurrency: number
  readonly warmupRequests: number
  readonly progress: Progress
}

export interface GatewayCpuResult {
  readonly requests: number
  readonly concurrency: number
  readonly portkeyVersion: string
  /** CPU ms (user + system) of the gateway process per request: median over rounds, and each round. */
  readonly cpuMsPerRequest: Readonly<
    Record<Gateway, { readonly median: number; readonly rounds: readonly number[] }>
  >
  /** Spillway's median over Portkey's (the goal: ≤ 1.0 with DynamoDB, ≤ 0.3 with the memory store). */
  readonly ratioToPortkey: Readonly<Record<'memory' | 'dynamo', number>>
  readonly failures: Readonly<Record<Gateway, number>>
}

export async function runGatewayCpu(o: GatewayCpuOptions): Promise<GatewayCpuResult> {
  const payload = PAYLOADS.instant
  const calls = Object.fromEntries(
    GATEWAYS.map((g) => [g, caller({ agent: o.rig.agent, targets: o.rig.targetsOf(g, payload), payload })]),
  ) as Record<Gateway, ReturnType<typeof caller>>
  const perRound = Object.fromEntries(GATEWAYS.map((g) => [g, [] as number[]])) as Record<Gateway, number[]>
  const failures = Object.fromEntries(GATEWAYS.map((g) => [g, 0])) as Record<Gateway, number>
  const load = (gateway: Gateway, requests: number) =>
    runClosedLoop({
      concurrency: o.concurrency,
      durationMs: 0,
      minRequests: requests,
      maxRequests: requests,
      call: () => calls[gateway](),
    })

  for (const gateway of GATEWAYS) await load(gateway, o.warmupRequests)
  for (let r = 0; r < o.rounds; r++) {
    const order = GATEWAYS.map((_, i) => GATEWAYS[(i + r) % GATEWAYS.length]!)
    const line: string[] = []
    for (const gateway of order) {
      const process = o.rig.measured(gateway)
      const before = await process.stats()
      const run = await load(gateway, o.requests)
      const after = await process.stats()
      failures[gateway] += run.results.filter((res) => !res.ok).length
      const perRequest = (after.cpuMs - before.cpuMs) / run.results.length
      perRound[gateway].push(round(perRequest, 4))
      line.push(`${gateway} ${perRequest.toFixed(3)} ms`)
    }
    o.progress.detail(`round ${r + 1}/${o.rounds}: CPU per request ${line.join(', ')}`)
  }
  const figures = (g: Gateway) => ({ median: round(median(perRound[g]), 4), rounds: perRound[g] })
  const cpu = { memory: figures('memory'), dynamo: figures('dynamo'), portkey: figures('portkey') }
  return {
    requests: o.requests,
    concurrency: o.concurrency,
    portkeyVersion: o.rig.portkey.version,
    cpuMsPerRequest: cpu,
    ratioToPortkey: {
      memory: ratio(cpu.memory.median, cpu.portkey.median),
      dynamo: ratio(cpu.dynamo.median, cpu.portkey.median),
    },
    failures,
  }
}
