/**
 * An experiment on the hot path the profile points at: the gateway's upstream
 * call through the global fetch (undici, WHATWG streams) against the same call
 * over `node:http` (bench/support/node-http-backend-client.ts), both with the
 * memory store so nothing else differs. Interleaved rounds; CPU per request,
 * closed-loop latency, and the tail at a fixed arrival rate.
 */
import { PAYLOADS } from './lib/bench-setup.ts'
import { runClosedLoop, runOpenLoop } from './lib/load.ts'
import type { Progress } from './lib/progress.ts'
import { medianOfRounds, type Percentiles, percentiles, round, roundPercentiles } from './lib/stats.ts'
import { caller } from './lib/targets.ts'
import type { BenchGateway } from './support/gateway-handle.ts'
import type { Rig } from './support/rig.ts'

export interface UpstreamClientOptions {
  readonly rig: Rig
  readonly rounds: number
  readonly cellMs: number
  readonly minRequests: number
  readonly maxRequests?: number
  /** Arrival rate of the open-loop cell, requests/s. */
  readonly rate: number
  /** Both gateways warm this much first (the variant starts cold; the other has served every run before). */
  readonly warmupRequests: number
  readonly progress: Progress
}

export interface ClientFigures {
  readonly cpuMsPerRequest: number
  /** Closed loop, 16 concurrent. */
  readonly latencyC16: Percentiles
  /** Open loop at `rate`. */
  readonly latencyAtRate: Percentiles
  readonly failures: number
}

export interface UpstreamClientResult {
  readonly rate: number
  readonly fetch: ClientFigures
  readonly nodeHttp: ClientFigures
}

export async function runUpstreamClient(o: UpstreamClientOptions): Promise<UpstreamClientResult> {
  const variant = await o.rig.startGateway({ store: 'memory', backendClient: 'node-http' })
  try {
    const gateways: Record<'fetch' | 'nodeHttp', BenchGateway> = {
      fetch: o.rig.gateways.memory,
      nodeHttp: variant,
    }
    const names = ['fetch', 'nodeHttp'] as const
    const payload = PAYLOADS.instant
    const call = (name: (typeof names)[number]) =>
      caller({ agent: o.rig.agent, targets: [o.rig.targetOf(gateways[name])], payload })
    const acc = Object.fromEntries(
      names.map((n) => [
        n,
        { cpu: 0, requests: 0, c16: [] as Percentiles[], rate: [] as Percentiles[], failures: 0 },
      ]),
    ) as Record<
      (typeof names)[number],
      { cpu: number; requests: number; c16: Percentiles[]; rate: Percentiles[]; failures: number }
    >
    for (const name of names) {
      const send = call(name)
      await runClosedLoop({
        concurrency: 8,
        durationMs: 0,
        minRequests: o.warmupRequests,
        call: () => send(),
      })
    }
    for (let r = 0; r < o.rounds; r++) {
      for (const name of r % 2 === 0 ? names : [...names].reverse()) {
        const send = call(name)
        const entry = acc[name]
        const before = await gateways[name].cpuMs()
        const closed = await runClosedLoop({
          concurrency: 16,
          durationMs: o.cellMs,
          minRequests: o.minRequests,
          ...(o.maxRequests === undefined ? {} : { maxRequests: o.maxRequests }),
          call: () => send(),
        })
        entry.cpu += (await gateways[name].cpuMs()) - before
        entry.requests += closed.results.length
        const open = await runOpenLoop({
          rate: o.rate,
          durationMs: o.cellMs,
          maxInFlight: 512,
          call: (at) => send(at),
        })
        for (const run of [closed, open]) entry.failures += run.results.filter((x) => !x.ok).length
        entry.c16.push(percentiles(closed.results.filter((x) => x.ok).map((x) => x.latencyMs)))
        entry.rate.push(percentiles(open.results.filter((x) => x.ok).map((x) => x.latencyMs)))
      }
      o.progress.detail(
        `round ${r + 1}/${o.rounds}: ${names
          .map((n) => `${n} p99 at ${o.rate}/s ${acc[n].rate.at(-1)?.p99.toFixed(1)} ms`)
          .join(', ')}`,
      )
    }
    const figures = (name: (typeof names)[number]): ClientFigures => ({
      cpuMsPerRequest: round(acc[name].cpu / Math.max(1, acc[name].requests), 4),
      latencyC16: roundPercentiles(medianOfRounds(acc[name].c16)),
      latencyAtRate: roundPercentiles(medianOfRounds(acc[name].rate)),
      failures: acc[name].failures,
    })
    return { rate: o.rate, fetch: figures('fetch'), nodeHttp: figures('nodeHttp') }
  } finally {
    await variant.stop()
  }
}
