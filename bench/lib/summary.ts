/**
 * Markdown tables of a run, from `latest.json` alone: printed at the end of a
 * run and by `bench/readme-table.ts` for the README, so the README cannot
 * drift from the measured figures.
 */

import type { ThroughputResult, ThroughputTarget } from '../throughput.ts'
import type { BenchResult } from './result.ts'

const ms = (v: number | undefined, digits = 2) =>
  v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits)
const usd = (v: number) => `$${v < 1 ? v.toFixed(3) : v.toFixed(2)}`
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`

export function summaryTables(r: BenchResult): string {
  const out: string[] = []
  const m = r.machine
  out.push(
    `Run: \`${r.mode}\`, ${r.startedAt.slice(0, 10)}, commit \`${m.commit.slice(0, 8)}\`${m.dirty ? ' (dirty)' : ''}, ` +
      `${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node}, ${r.durationSeconds.toFixed(0)} s` +
      `${r.cpus.pinned ? `, gateway pinned to CPU ${r.cpus.gatewayCore}` : ''}.`,
    '',
  )
  if (r.gatewayCpu) {
    const g = r.gatewayCpu
    const cpu = g.cpuMsPerRequest
    out.push(
      `**Gateway CPU per routed request** (each gateway in its own process, same zero-latency backends, ${g.requests} requests at concurrency ${g.concurrency}, median of ${cpu.portkey.rounds.length} interleaved rounds; ms):`,
      '',
      '| gateway | CPU per request | ratio to Portkey |',
      '| --- | ---: | ---: |',
      `| Spillway, DynamoDB emulator | ${ms(cpu.dynamo.median, 3)} | ×${g.ratioToPortkey.dynamo} |`,
      `| Spillway, memory store | ${ms(cpu.memory.median, 3)} | ×${g.ratioToPortkey.memory} |`,
      `| Portkey ${g.portkeyVersion} | ${ms(cpu.portkey.median, 3)} | ×1 |`,
      '',
    )
  }
  if (r.warmLeases) {
    const w = r.warmLeases
    out.push(
      `**Warm leases** (the DynamoDB gateway keeping a finished request's lease ${w.lingerMs} ms for the next one, as the Node server does, against the same gateway releasing at once, as on Lambda; interleaved rounds, median):`,
      '',
      `| Spillway, DynamoDB emulator | CPU per request at concurrency ${w.concurrency} (ms) | ratio to Portkey | added p50 at concurrency 1 (ms) |`,
      '| --- | ---: | ---: | ---: |',
      `| leases kept warm (Node) | ${ms(w.cpuMsPerRequest.warm, 3)} | ×${w.cpuRatioToPortkey.warm} | ${ms(w.addedP50Ms.warm)} |`,
      `| released at once (Lambda) | ${ms(w.cpuMsPerRequest.cold, 3)} | ×${w.cpuRatioToPortkey.cold} | ${ms(w.addedP50Ms.cold)} |`,
      `| Portkey | ${ms(w.cpuMsPerRequest.portkey, 3)} | ×1 | ${ms(w.addedP50Ms.portkey)} |`,
      '',
    )
  }
  if (r.overhead) {
    const peer = r.overhead.cells.filter((c) => c.added.portkey)
    if (peer.length > 0) {
      out.push(
        '**Added latency next to Portkey** (zero-latency backend; added p50 in ms, and as a ratio to Portkey’s added p50):',
        '',
        '| concurrency | Spillway, DynamoDB | Spillway, memory | Portkey | backend alone p50 |',
        '| ---: | ---: | ---: | ---: | ---: |',
        ...peer.map(
          (c) =>
            `| ${c.concurrency} | ${ms(c.added.dynamo.p50)} (×${c.addedP50VsPortkey?.dynamo ?? 'n/a'}) | ` +
            `${ms(c.added.memory.p50)} (×${c.addedP50VsPortkey?.memory ?? 'n/a'}) | ${ms(c.added.portkey?.p50)} | ${ms(c.baseline.latency.p50)} |`,
        ),
        '',
      )
      const floor = r.latencyFloor
      const rt = r.emulatorRoundTrip
      const c1 = peer.find((c) => c.concurrency === 1)
      if (floor?.releasedAtOnceAddedP50Ms !== undefined)
        out.push(
          `**Latency floor**: one bare emulator round trip from the DynamoDB gateway's own client, p50 GetItem ${ms(floor.getItemP50Ms)} ms, ` +
            `UpdateItem ${ms(floor.updateItemP50Ms)} ms. With leases kept warm (the Node server) Spillway's added p50 at concurrency 1 is ${ms(floor.addedP50Ms)} ms, ` +
            'most requests writing nothing; with every lease released at once (as on Lambda) it is ' +
            `${ms(floor.releasedAtOnceAddedP50Ms)} ms, and that less one UpdateItem round trip is ${ms(floor.overOneWriteMs)} ms ` +
            `(goal: ≤ ${ms(floor.goalMs, 1)} ms, ${floor.met ? 'met' : 'not met'}). Released at once, the acquire is the one write on the client’s path: ` +
            'the release runs after the last byte on Node, and before the response stream closes on Lambda, so the invocation, and its bill, still include it.',
          '',
        )
      else if (floor)
        out.push(
          `**Latency floor**: one bare emulator round trip from the DynamoDB gateway's own client, p50 GetItem ${ms(floor.getItemP50Ms)} ms, ` +
            `UpdateItem ${ms(floor.updateItemP50Ms)} ms. Spillway's added p50 at concurrency 1 is ${ms(floor.addedP50Ms)} ms: ` +
            `added p50 − one UpdateItem round trip = ${ms(floor.overOneWriteMs)} ms (goal: ≤ ${ms(floor.goalMs, 1)} ms, ${floor.met ? 'met' : 'not met'}). ` +
            'The acquire is the one write on the client’s path: on Node a non-streaming answer’s release runs after its last byte ' +
            '(content-length set, the body ends once the release is done: shared/proxy/answer-then-release.ts); on Lambda the release ' +
            'finishes before the response stream closes, so the invocation, and its bill, still include it.',
          '',
        )
      else if (rt && c1)
        // A run from before the release left the client's path: its two writes are in the figure.
        out.push(
          `**Latency floor**: one bare emulator round trip from the DynamoDB gateway's own client, p50 GetItem ${ms(rt.getItemMs.p50)} ms, ` +
            `UpdateItem ${ms(rt.updateItemMs.p50)} ms; Spillway's added p50 at concurrency 1 is ${ms(c1.added.dynamo.p50)} ms, ` +
            'measured when the Node gateway still awaited the release write before a non-streaming answer (two writes on the client’s path).',
          '',
        )
    }
    out.push(
      '**Added latency** (gateway minus the same backend called directly; ms, median of round percentiles):',
      '',
      '| backend | concurrency | memory store p50 / p99 | DynamoDB emulator p50 / p99 | backend alone p50 |',
      '| --- | ---: | ---: | ---: | ---: |',
    )
    for (const c of r.overhead.cells) {
      out.push(
        `| ${c.payload === 'instant' ? 'zero latency' : 'paced SSE'} | ${c.concurrency} | ` +
          `${ms(c.added.memory.p50)} / ${ms(c.added.memory.p99)} | ${ms(c.added.dynamo.p50)} / ${ms(c.added.dynamo.p99)} | ` +
          `${ms(c.baseline.latency.p50)} |`,
      )
    }
    const streams = r.overhead.cells.filter((c) => c.payload === 'paced')
    if (streams.length > 0) {
      out.push(
        '',
        '**Streams** (paced SSE): added time to first token and added largest gap between chunks, p50 (ms):',
        '',
        '| concurrency | TTFT, memory | TTFT, DynamoDB | largest gap, memory | largest gap, DynamoDB |',
        '| ---: | ---: | ---: | ---: | ---: |',
        ...streams.map(
          (c) =>
            `| ${c.concurrency} | ${ms(c.added.memory.ttftP50)} | ${ms(c.added.dynamo.ttftP50)} | ` +
            `${ms(c.added.memory.maxGapP50)} | ${ms(c.added.dynamo.maxGapP50)} |`,
        ),
      )
    }
    const cpu = r.overhead.gatewayCpuMsPerRequest
    out.push(
      '',
      `**Gateway CPU per request**: ${ms(cpu.memory.instant, 3)} ms (memory store), ` +
        `${ms(cpu.dynamo.instant, 3)} ms (DynamoDB store, AWS SDK included); streams: ` +
        `${ms(cpu.memory.paced, 3)} / ${ms(cpu.dynamo.paced, 3)} ms. ` +
        `Garbage collection: ${(r.overhead.gatewayGc.memory.shareOfCpu * 100).toFixed(1)}% / ` +
        `${(r.overhead.gatewayGc.dynamo.shareOfCpu * 100).toFixed(1)}% of that CPU, longest pause ` +
        `${ms(r.overhead.gatewayGc.memory.longestPauseMs, 1)} / ${ms(r.overhead.gatewayGc.dynamo.longestPauseMs, 1)} ms.`,
    )
  }
  if (r.profile) {
    const share = (list: readonly { category: string; share: number }[], name: string) =>
      `${((list.find((c) => c.category === name)?.share ?? 0) * 100).toFixed(1)}%`
    const dynamo = r.profile.runs.find((run) => run.store === 'dynamo')
    const memory = r.profile.runs.find((run) => run.store === 'memory')
    if (dynamo && memory) {
      out.push(
        '',
        `**Where the gateway's CPU goes** ([profile](bench/results/${r.profile.file})): with the DynamoDB ` +
          `store, ${share(dynamo.byOwnerInclusive, 'AWS SDK (@aws-sdk, @smithy)')} of busy time has the AWS SDK on the stack; ` +
          `with the memory store, the upstream fetch (undici) is ${share(memory.byOwner, 'node: undici (fetch)')} of self time, ` +
          `web streams ${share(memory.byOwner, 'node: web streams')}, the garbage collector ${share(memory.byOwner, '(garbage collector)')}.`,
      )
    }
  }
  const rpsAt = (t: ThroughputResult) => (target: ThroughputTarget) => {
    const low = t.lowestRateTried[target]
    return t.rps[target].median > 0 || !low
      ? `${t.rps[target].median}`
      : `none (p99 ${ms(low.p99Ms, 1)} ms already at ${low.rate}/s)`
  }
  if (r.throughput) {
    const t = r.throughput
    const rps = rpsAt(t)
    out.push(
      '',
      `**Throughput** at p99 < ${t.sloP99Ms} ms with no failed request (requests/s): backend alone ${rps('baseline')}, ` +
        `gateway with memory store ${rps('memory')} (×${t.ratio.memory}), with DynamoDB emulator ${rps('dynamo')}. ` +
        `CPU-bound ceiling of one core (1000 / CPU ms per request): ${t.cpuBoundRpsPerCore.memory} / ${t.cpuBoundRpsPerCore.dynamo} requests/s.`,
    )
  }
  if (r.throughputAtLooserSlo) {
    const t = r.throughputAtLooserSlo
    const rps = rpsAt(t)
    out.push(
      '',
      `At p99 < ${t.sloP99Ms} ms: backend alone ${rps('baseline')}, gateway with memory store ${rps('memory')} ` +
        `(×${t.ratio.memory}), with DynamoDB emulator ${rps('dynamo')} (×${t.ratio.dynamo}) requests/s. ` +
        `GC pauses in the gateway over the search: p99 ${ms(t.gcPauseMs.memory.p99, 1)} ms (memory store), ` +
        `${ms(t.gcPauseMs.dynamo.p99, 1)} ms (DynamoDB); longest ${ms(t.gcPauseMs.memory.max, 1)} / ${ms(t.gcPauseMs.dynamo.max, 1)} ms.`,
    )
  }
  if (r.upstreamClient) {
    const u = r.upstreamClient
    out.push(
      '',
      `**Experiment, upstream call**: gateway CPU per request ${ms(u.fetch.cpuMsPerRequest, 3)} ms with fetch, ` +
        `${ms(u.nodeHttp.cpuMsPerRequest, 3)} ms with node:http; p99 at ${u.rate} requests/s ` +
        `${ms(u.fetch.latencyAtRate.p99)} vs ${ms(u.nodeHttp.latencyAtRate.p99)} ms (memory store).`,
    )
  }
  if (r.dynamo) {
    const s = r.dynamo.steady
    const c = r.dynamo.contention
    out.push(
      '',
      '**DynamoDB per routed request**:',
      '',
      '| scenario | writes | failed checks | reads | WCU | RCU | rejected (429) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| steady, ${s.gateways} gateway, ${s.slots} slots, ${s.concurrency} concurrent | ${s.perRoutedRequest.writes} | ${s.perRoutedRequest.conditionalFailures} | ${s.perRoutedRequest.reads} | ${s.perRoutedRequest.writeUnits} | ${s.perRoutedRequest.readUnits} | ${s.rejected} of ${s.requests} |`,
      ...(r.dynamo.steadyWarm
        ? [
            (({ perRoutedRequest: w, rejected, requests }) =>
              `| steady, leases kept warm (Node server) | ${w.writes} | ${w.conditionalFailures} | ${w.reads} | ${w.writeUnits} | ${w.readUnits} | ${rejected} of ${requests} |`)(
              r.dynamo.steadyWarm,
            ),
          ]
        : []),
      `| contention, ${c.gateways} gateways, ${c.slots} slots, ${c.concurrency} concurrent | ${c.perRoutedRequest.writes} | ${c.perRoutedRequest.conditionalFailures} | ${c.perRoutedRequest.reads} | ${c.perRoutedRequest.writeUnits} | ${c.perRoutedRequest.readUnits} | ${c.rejected} of ${c.requests} |`,
      '',
      `Write units per routed request (acquire + release) on one ${r.dynamo.itemSweepSlots}-slot backend as its leases fill (slot shards of at most 16 leases): ${r.dynamo.writeUnitsBySlotsHeld
        .map((c) => `${c.leasesHeld} held → ${c.acquireWriteUnits + c.releaseWriteUnits}`)
        .join(', ')}.`,
      '',
      `Emulator UpdateItem round trip: p50 ${ms(r.dynamo.emulatorUpdateItemMs.p50)} ms, p99 ${ms(r.dynamo.emulatorUpdateItemMs.p99)} ms.`,
    )
  }
  if (r.snapshotReads) {
    const sizes = r.snapshotReads.sizes
    out.push(
      '',
      `**Capacity snapshot** read units per second per gateway instance (${r.snapshotReads.slotsPerBackend}-slot backends half leased, one refresh per ${r.snapshotReads.snapshotMaxAgeMs} ms): ${sizes
        .map((s) =>
          s.segments !== undefined && s.segments > 1
            ? `${s.backends.toLocaleString('en-US')} backends ${s.readUnitsPerSecondPerInstance} (${s.segments} scan segments, the whole view every ${s.wholeViewEverySeconds} s; whole reads would cost ${s.readUnitsPerSecondWhole})`
            : `${s.backends.toLocaleString('en-US')} backends ${s.readUnitsPerSecondPerInstance} (whole reads)`,
        )
        .join(', ')}.`,
    )
  }
  if (r.router) {
    out.push(
      '',
      '**Router decision** (pure, µs): ',
      '',
      '| backends | Router.acquire p50 / p99 | saturated p50 | pickBackend p50 | index build per read (ms) |',
      '| ---: | ---: | ---: | ---: | ---: |',
      ...r.router.sizes.map(
        (s) =>
          `| ${s.backends.toLocaleString('en-US')} | ${ms(s.acquireMicros.p50, 1)} / ${ms(s.acquireMicros.p99, 1)} | ${s.saturatedMicros ? ms(s.saturatedMicros.p50, 1) : '–'} | ${ms(s.pickMicros.p50, 2)} | ${s.indexBuildMillis ? ms(s.indexBuildMillis.p50, 2) : '–'} |`,
      ),
    )
  }
  if (r.overflow) {
    const o = r.overflow
    out.push(
      '',
      'skipped' in o
        ? `**Overflow**: not measured (${o.skipped}).`
        : `**Overflow**: burst of ${o.jobs} jobs on ${o.slots} slots: ${o.succeeded} succeeded, ${o.lost} lost; ` +
            `slot freed → queued job started p50 ${ms(o.slotFreeToStartMs.p50, 0)} ms, p99 ${ms(o.slotFreeToStartMs.p99, 0)} ms; ` +
            `drained in ${ms(o.drainMs, 0)} ms vs ideal ${ms(o.idealDrainMs, 0)} ms (×${o.drainRatio}); ` +
            `slots idle ${(o.idleShareWhileBacklog * 100).toFixed(1)}% of the time a backlog existed. ` +
            `Held streams (no \`Prefer\`, ${o.heldStreams.completed}/${o.heldStreams.requests} complete): slot freed → first chunk ` +
            `p50 ${ms(o.heldStreams.slotFreedToFirstChunkMs.p50, 0)} ms, p99 ${ms(o.heldStreams.slotFreedToFirstChunkMs.p99, 0)} ms ` +
            `(the holder's lease → first chunk, claim write plus backend TTFT: p50 ${ms(o.heldStreams.leaseToFirstChunkMs.p50, 0)} ms).`,
    )
  }
  if (r.lambda) {
    out.push(
      '',
      `**Lambda bundles** (esbuild as the stack builds them; load = fresh Node process importing the bundle, minus a bare Node start of ${ms(r.lambda.nodeStartMs, 0)} ms):`,
      '',
      '| function | bundle | gzip | module load | largest input |',
      '| --- | ---: | ---: | ---: | --- |',
      ...r.lambda.functions.map(
        (f) =>
          `| ${f.name} | ${kb(f.bundleBytes)} | ${kb(f.gzipBytes)} | ${f.error ? 'failed' : `${ms(f.addedLoadMs, 0)} ms`} | ` +
          `${f.largestInputs[0] ? `${f.largestInputs[0].input} (${kb(f.largestInputs[0].bytes)})` : ''} |`,
      ),
    )
  }
  if (r.cost) {
    out.push(
      '',
      `**Cost per million requests** (${r.cost.prices.region} list prices, ${r.cost.memoryMb} MB Arm Lambda; measured duration / CPU scaled to ${r.cost.memoryMb} MB):`,
      '',
      '| scenario | Lambda | DynamoDB | SQS | total |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...r.cost.scenarios.map((s) => {
        const a = s.perMillion.measured
        const b = s.perMillion.cpuScaled
        return (
          `| ${s.name} | ${usd(a.lambdaRequests + a.lambdaDuration)} / ${usd(b.lambdaRequests + b.lambdaDuration)} | ` +
          `${usd(a.dynamodb)} | ${usd(a.sqs)} | ${usd(a.total)} / ${usd(b.total)} |`
        )
      }),
    )
  }
  return `${out.join('\n')}\n`
}
