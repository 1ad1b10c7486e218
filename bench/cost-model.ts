/**
 * 7. Cost model: USD per million requests on AWS from the counts measured in
 * this run (DynamoDB units per routed request, gateway time and CPU per
 * request, SQS calls per queued job) and the list prices in `prices.ts`.
 *
 * Lambda bills wall time, including time spent waiting on the backend: for a
 * streamed completion the generation itself is most of the bill. Two durations
 * are given: as measured on this machine, and with the measured CPU time
 * stretched to the gateway's memory size (Lambda gives 1,769 MB one vCPU and a
 * proportional share below, so 256 MB runs CPU-bound code about 6.9x slower).
 *
 * A non-streaming answer reaches the bench's Node client at its last byte, before the
 * release write ends; a Lambda invocation lasts until the release is done (it finishes
 * before the response stream closes), so those rows add one release round trip.
 */
import type { DynamoCostResult } from './dynamo-cost.ts'
import { round } from './lib/stats.ts'
import type { OverflowResult } from './overflow.ts'
import type { OverheadResult } from './overhead.ts'
import { FULL_VCPU_MEMORY_MB, GATEWAY_MEMORY_MB, PRICES } from './prices.ts'

export interface CostLine {
  readonly lambdaRequests: number
  readonly lambdaDuration: number
  readonly dynamodb: number
  readonly sqs: number
  readonly total: number
}

export interface CostScenario {
  readonly name: string
  readonly description: string
  /** Billed duration per request, ms: measured here / CPU share scaled to the memory size. */
  readonly durationMs: { readonly measured: number; readonly cpuScaled: number }
  readonly dynamoUnits: { readonly write: number; readonly read: number }
  readonly sqsRequests: number
  readonly invocations: number
  /** USD per million requests. */
  readonly perMillion: { readonly measured: CostLine; readonly cpuScaled: CostLine }
}

export interface CostResult {
  readonly prices: typeof PRICES
  readonly memoryMb: number
  readonly cpuScale: number
  readonly scenarios: readonly CostScenario[]
  readonly notes: readonly string[]
}

export function costModel(input: {
  overhead: OverheadResult
  dynamo: DynamoCostResult
  overflow?: OverflowResult
  /** One UpdateItem round trip, p50: the release write a Lambda invocation waits for after the last byte. */
  releaseMs: number
}): CostResult {
  const cpuScale = FULL_VCPU_MEMORY_MB / GATEWAY_MEMORY_MB
  const cell = (payload: 'instant' | 'paced') =>
    input.overhead.cells.find((c) => c.payload === payload && c.concurrency === 1)
  const steady = input.dynamo.steady.perRoutedRequest
  const contended = input.dynamo.contention.perRoutedRequest
  const readsPerScan =
    input.dynamo.steady.ops.readUnits / Math.max(1, input.dynamo.steady.ops.calls.Scan ?? 0)
  const scenarios: CostScenario[] = []

  const routed = (o: {
    name: string
    description: string
    payload: 'instant' | 'paced'
    write: number
    read: number
  }) => {
    // A stream's client waits for its end, which comes after the release already.
    const release = o.payload === 'instant' ? input.releaseMs : 0
    const measured = (cell(o.payload)?.dynamo.latency.p50 ?? Number.NaN) + release
    const cpu = input.overhead.gatewayCpuMsPerRequest.dynamo[o.payload]
    scenarios.push(
      scenario({
        name: o.name,
        description: o.description,
        measuredMs: measured,
        cpuScaledMs: measured + cpu * (cpuScale - 1),
        write: o.write,
        read: o.read,
        sqs: 0,
      }),
    )
  }
  routed({
    name: 'routed, instant backend',
    description:
      'A non-streaming request to a backend that answers at once: the floor, the gateway alone (c=1 p50, DynamoDB store), ' +
      'plus the release write the invocation waits for after the last byte.',
    payload: 'instant',
    write: steady.writeUnits,
    read: steady.readUnits,
  })
  routed({
    name: 'routed, paced SSE stream',
    description: 'The paced SSE stream of the overhead run (24 tokens): Lambda bills the whole stream.',
    payload: 'paced',
    write: steady.writeUnits,
    read: steady.readUnits,
  })
  const halfway = Math.floor(input.dynamo.itemSweepSlots / 2)
  const half = input.dynamo.writeUnitsBySlotsHeld.find((c) => c.leasesHeld === halfway)
  if (half) {
    routed({
      name: `routed, ${input.dynamo.itemSweepSlots}-slot backend half leased`,
      description: `As the first, on a vLLM backend with ${input.dynamo.itemSweepSlots} slots and ${halfway} leases held: each write is billed by the whole item, lease map included.`,
      payload: 'instant',
      write: half.acquireWriteUnits + half.releaseWriteUnits,
      read: steady.readUnits,
    })
  }
  routed({
    name: 'routed, contention, quiet instances',
    description:
      'Lost races billed (failed conditional writes count as writes) and one snapshot Scan per request, as on an instance that sees under one request a second.',
    payload: 'instant',
    write: contended.writeUnitsWithFailedChecks,
    read: readsPerScan,
  })
  if (input.overflow && 'perJob' in input.overflow) {
    const job = input.overflow.perJob
    scenarios.push(
      scenario({
        name: 'queued (overflow)',
        description:
          'A request that found no slot: the gateway writes the job and sends it to SQS (its time: the first row’s c=1 p50, no release), ' +
          'the worker claims it and holds a slot for the measured service time of the burst (~16 tokens); ' +
          'worker invocations as measured (one per non-empty receive). Time a delivery waits in the slot gate is not billed here.',
        measuredMs: (cell('instant')?.dynamo.latency.p50 ?? Number.NaN) + input.overflow.serviceMs,
        cpuScaledMs:
          (cell('instant')?.dynamo.latency.p50 ?? Number.NaN) +
          input.overflow.serviceMs +
          input.overhead.gatewayCpuMsPerRequest.dynamo.instant * (cpuScale - 1),
        invocations: 1 + job.workerInvocations,
        write: job.dynamoWriteUnits,
        read: job.dynamoReadUnits,
        sqs: job.sqsRequests,
      }),
    )
  }
  return {
    prices: PRICES,
    memoryMb: GATEWAY_MEMORY_MB,
    cpuScale: round(cpuScale, 2),
    scenarios,
    notes: [
      'DynamoDB units are those the emulator reported (it computes them as DynamoDB does, from item sizes); failed conditional writes are billed but not reported, so they are estimated at the mean write cost.',
      'Durations come from this machine and the embedded emulator; real DynamoDB round trips (single-digit ms) replace the emulator ones on AWS.',
      `The routed non-streaming rows add one UpdateItem round trip (p50 ${round(input.releaseMs, 2)} ms) to the client's latency: on Node the release runs after the last byte, on Lambda it finishes before the response stream closes and is billed.`,
      'A streamed completion costs Lambda time for as long as the model generates: a 2 s generation at 256 MB is 0.5 GB-s, about $6.67 per million requests on its own.',
    ],
  }
}

function scenario(o: {
  name: string
  description: string
  measuredMs: number
  cpuScaledMs: number
  /** Lambda invocations billed per request (1 unless a worker runs it too). */
  invocations?: number
  write: number
  read: number
  sqs: number
}): CostScenario {
  const line = (ms: number): CostLine => {
    const million = 1e6
    const gbSeconds = (GATEWAY_MEMORY_MB / 1024) * (Math.ceil(ms) / 1000)
    const lambdaRequests = PRICES.lambda.perRequest * (o.invocations ?? 1) * million
    const lambdaDuration = gbSeconds * PRICES.lambda.perGbSecondArm * million
    const dynamodb =
      (o.write * PRICES.dynamodb.perWriteRequestUnit + o.read * PRICES.dynamodb.perReadRequestUnit) * million
    const sqs = o.sqs * PRICES.sqs.perRequest * million
    return {
      lambdaRequests: round(lambdaRequests, 4),
      lambdaDuration: round(lambdaDuration, 4),
      dynamodb: round(dynamodb, 4),
      sqs: round(sqs, 4),
      total: round(lambdaRequests + lambdaDuration + dynamodb + sqs, 4),
    }
  }
  return {
    name: o.name,
    description: o.description,
    durationMs: { measured: round(o.measuredMs, 2), cpuScaled: round(o.cpuScaledMs, 2) },
    dynamoUnits: { write: round(o.write, 3), read: round(o.read, 3) },
    sqsRequests: o.sqs,
    invocations: round(o.invocations ?? 1, 3),
    perMillion: { measured: line(o.measuredMs), cpuScaled: line(o.cpuScaledMs) },
  }
}
