/**
 * Two facts behind the DynamoDB figures: what one lease write costs as the
 * backend's item fills with leases (DynamoDB bills a write by the whole item,
 * per KB), and what one round trip to the embedded emulator takes.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { createAwsClients, destroyAwsClients } from '../shared/aws/clients.ts'
import { newLeaseId } from '../shared/router/router.ts'
import { createAwsAdapters } from '../shared/runtime/aws-adapters.ts'
import type { AwsCallCounter } from './lib/aws-calls.ts'
import { INSTANT_CLASS, INSTANT_MODEL } from './lib/bench-setup.ts'
import { type Percentiles, percentiles, roundPercentiles } from './lib/stats.ts'
import { freshRuntimeEnv } from './support/bench-tables.ts'
import type { LocalAwsInfo } from './support/rig.ts'

export interface ItemSizeCost {
  /** Leases already on the backend item when one more is acquired. */
  readonly leasesHeld: number
  /** Write units of that acquire and of its release (the larger of the item before and after, per KB). */
  readonly acquireWriteUnits: number
  readonly releaseWriteUnits: number
}

/** vLLM's default `max-num-seqs`. */
export const ITEM_SWEEP_SLOTS = 256
const HELD = [0, 8, 32, 64, 128, 255]

export async function writeUnitsBySlotsHeld(
  aws: LocalAwsInfo,
  counter: AwsCallCounter,
): Promise<ItemSizeCost[]> {
  const adapters = createAwsAdapters(await freshRuntimeEnv({ aws, prefix: 'bench-cost-items' }))
  const backendId = 'vllm-256'
  const lease = (leaseId: string, now: number) => ({
    backendId,
    leaseId,
    now,
    expiresAt: now + 3_600_000,
    staleBefore: 0,
    reclaim: [],
  })
  try {
    await adapters.registry.register({
      registration: {
        id: backendId,
        url: 'http://127.0.0.1:9',
        hardware: INSTANT_CLASS,
        models: [INSTANT_MODEL],
        maxConcurrency: ITEM_SWEEP_SLOTS,
      },
      now: Date.now(),
    })
    const costs: ItemSizeCost[] = []
    let held = 0
    for (const target of HELD) {
      // Lease ids as the router makes them (UUIDs), so the item grows as it does in service.
      for (; held < target; held++) await adapters.capacity.acquire(lease(newLeaseId(), Date.now()))
      counter.reset()
      const probe = newLeaseId()
      const probed = await adapters.capacity.acquire(lease(probe, Date.now()))
      const acquireWriteUnits = counter.snapshot().dynamo.writeUnits
      if (probed.ok) await adapters.capacity.release({ backendId, leaseId: probed.leaseId })
      costs.push({
        leasesHeld: target,
        acquireWriteUnits,
        releaseWriteUnits: counter.snapshot().dynamo.writeUnits - acquireWriteUnits,
      })
    }
    return costs
  } finally {
    destroyAwsClients(adapters.clients)
  }
}

/** One small UpdateItem at a time against the emulator: the floor of every store figure here. */
export async function emulatorUpdateItemLatency(aws: LocalAwsInfo): Promise<Percentiles> {
  const clients = createAwsClients({ region: aws.env.AWS_REGION ?? 'us-east-1', endpoints: aws.endpoints })
  const table = aws.env.SPILLWAY_TABLE_BACKENDS ?? ''
  const samples: number[] = []
  try {
    for (let i = 0; i < 220; i++) {
      const started = performance.now()
      await clients.doc.send(
        new UpdateCommand({
          TableName: table,
          Key: { id: 'bench-latency-probe' },
          UpdateExpression: 'SET #n = :n',
          ExpressionAttributeNames: { '#n': 'n' },
          ExpressionAttributeValues: { ':n': i },
        }),
      )
      // The first calls open the connection and warm the JIT.
      if (i >= 20) samples.push(performance.now() - started)
    }
  } finally {
    destroyAwsClients(clients)
  }
  return roundPercentiles(percentiles(samples))
}
