/**
 * What the capacity snapshot costs a gateway instance as the fleet grows, at
 * 10 / 1,000 / 10,000 backends: the read units of one whole read (a Scan of the
 * backends table, what every refresh cost before the rolling snapshot), and what
 * the view actually spends per second at its refresh rate (once per
 * `snapshotMaxAgeMs`, 1 s) once it reads a table larger than its budget
 * (`snapshotReadUnitsPerSecond`) one scan segment per refresh. Units are the
 * emulator's ConsumedCapacity, i.e. DynamoDB's rule: a Scan is billed by the bytes
 * it reads, 0.5 unit per 4 KB (eventually consistent).
 */
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb'
import { destroyAwsClients } from '../shared/aws/clients.ts'
import { BACKEND_ATTR as A } from '../shared/backends/backend-item.ts'
import { SHARD_ATTR as S } from '../shared/capacity/shard-item.ts'
import { shardItemId, shardLeaseId } from '../shared/capacity/slot-shards.ts'
import { newLeaseId } from '../shared/router/router.ts'
import { createRouting } from '../shared/router/routing.ts'
import { createAwsAdapters } from '../shared/runtime/aws-adapters.ts'
import { tableName } from '../shared/runtime/runtime-env.ts'
import { countAwsCalls } from './lib/aws-calls.ts'
import { INSTANT_CLASS, INSTANT_MODEL } from './lib/bench-setup.ts'
import type { Progress } from './lib/progress.ts'
import { round } from './lib/stats.ts'
import { freshRuntimeEnv } from './support/bench-tables.ts'
import type { LocalAwsInfo } from './support/rig.ts'

export interface SnapshotReadsOptions {
  readonly aws: LocalAwsInfo
  readonly sizes: readonly number[]
  readonly progress: Progress
}

export interface SnapshotReadsAtSize {
  readonly backends: number
  /** Scan pages (DynamoDB returns at most 1 MB per page). */
  readonly scanCalls: number
  readonly readUnitsPerSnapshot: number
  /** A whole read per `snapshotMaxAgeMs`, as every busy instance refreshed before. */
  readonly readUnitsPerSecondWhole: number
  /** Scan segments the view reads the table in (1: whole every refresh). */
  readonly segments: number
  /** What the view spends at one refresh per `snapshotMaxAgeMs`: a cycle's units over its refreshes. */
  readonly readUnitsPerSecondPerInstance: number
  /** How often every item has been read once: a cycle's length. */
  readonly wholeViewEverySeconds: number
  readonly snapshotMs: number
}

export interface SnapshotReadsResult {
  readonly snapshotMaxAgeMs: number
  /** Slots per backend and leases held in the items read (half full, 12-character lease ids). */
  readonly slotsPerBackend: number
  readonly sizes: readonly SnapshotReadsAtSize[]
}

const SLOTS = 8
/** BatchWriteItem takes at most 25 items. */
const BATCH = 25

export async function runSnapshotReads(o: SnapshotReadsOptions): Promise<SnapshotReadsResult> {
  let maxAgeMs = 1_000
  const sizes: SnapshotReadsAtSize[] = []
  for (const size of o.sizes) {
    o.progress.detail(`snapshot reads: writing ${size} backends`)
    const env = await freshRuntimeEnv({ aws: o.aws, prefix: `bench-snapshot-${size}` })
    maxAgeMs = env.config.snapshotMaxAgeMs
    const adapters = createAwsAdapters(env)
    try {
      await putBackends(adapters.clients.doc, tableName(env, 'backends'), size)
      const counter = countAwsCalls()
      try {
        const started = performance.now()
        const backends = await adapters.capacity.snapshot()
        const snapshotMs = performance.now() - started
        if (backends.length !== size) throw new Error(`snapshot read ${backends.length} of ${size} backends`)
        const whole = counter.snapshot().dynamo
        // The gateway's own view, as routing builds it: one whole read, then one refresh per
        // snapshot age through a whole cycle of its parts.
        const view = createRouting({ config: env.config, capacity: adapters.capacity, clock: Date.now }).view
        let at = Date.now()
        await view.refresh(at)
        const { segments } = view.readPlan
        counter.reset()
        for (let part = 0; part < segments; part++) {
          at += maxAgeMs
          await view.refresh(at)
        }
        const cycle = counter.snapshot().dynamo
        if ((await view.backends(at)).length !== size) throw new Error('the rolling view lost backends')
        sizes.push({
          backends: size,
          scanCalls: whole.calls.Scan ?? 0,
          readUnitsPerSnapshot: round(whole.readUnits, 1),
          readUnitsPerSecondWhole: round((whole.readUnits * 1000) / Math.max(1, maxAgeMs), 1),
          segments,
          readUnitsPerSecondPerInstance: round(
            (cycle.readUnits * 1000) / (segments * Math.max(1, maxAgeMs)),
            1,
          ),
          wholeViewEverySeconds: round((segments * maxAgeMs) / 1000, 1),
          snapshotMs: round(snapshotMs, 1),
        })
      } finally {
        counter.restore()
      }
    } finally {
      destroyAwsClients(adapters.clients)
    }
  }
  o.progress.detail(
    `snapshot reads per instance per second: ${sizes
      .map(
        (s) =>
          `${s.backends} backends ${s.readUnitsPerSecondPerInstance} RCU/s (whole reads: ${s.readUnitsPerSecondWhole}; ${s.segments} segment(s))`,
      )
      .join(', ')}`,
  )
  return { snapshotMaxAgeMs: maxAgeMs, slotsPerBackend: SLOTS, sizes }
}

/** Backend items as registration and service leave them: half their slots leased. */
async function putBackends(
  doc: ReturnType<typeof createAwsAdapters>['clients']['doc'],
  table: string,
  count: number,
): Promise<void> {
  const now = Date.now()
  const item = (i: number) => ({
    [A.id]: `backend-${String(i).padStart(5, '0')}`,
    [A.url]: `http://10.0.${Math.floor(i / 250)}.${i % 250}:8000`,
    [A.hardware]: INSTANT_CLASS,
    [A.models]: [INSTANT_MODEL],
    [A.maxConcurrency]: SLOTS,
    [A.state]: 'active',
    [A.registeredAt]: now,
    [A.heartbeatAt]: now,
    [A.load]: { running: SLOTS / 2, waiting: 0, kvCacheUsage: 0.4 },
    [A.shards]: 1,
  })
  // Its one slot shard (SLOTS ≤ 16), half leased, next to it in the table as the registry writes it.
  const shard = (i: number) => ({
    [S.id]: shardItemId(`backend-${String(i).padStart(5, '0')}`, 0),
    [S.shardOf]: `backend-${String(i).padStart(5, '0')}`,
    [S.index]: 0,
    [S.cap]: SLOTS,
    [S.state]: 'active',
    [S.leases]: Object.fromEntries(
      Array.from({ length: SLOTS / 2 }, () => [shardLeaseId(0, newLeaseId()), now + 60_000]),
    ),
  })
  const items = Array.from({ length: count }, (_, i) => [item(i), shard(i)]).flat()
  for (let start = 0; start < items.length; start += BATCH) {
    let requests: { PutRequest: { Item: Record<string, unknown> } }[] | undefined = items
      .slice(start, start + BATCH)
      .map((Item) => ({ PutRequest: { Item } }))
    while (requests && requests.length > 0) {
      const out = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }))
      requests = out.UnprocessedItems?.[table] as typeof requests
    }
  }
}
