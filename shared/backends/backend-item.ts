import { mergedLeases, type SlotShard } from '../capacity/slot-shards.ts'
import { isApiKind } from './backend-apis.ts'
import type { BackendRecord } from './backend-record.ts'

/**
 * DynamoDB item of the backends table (key `id`): a backend's registration, its
 * last heartbeat and how many slot shard items it has. Its leases are in those
 * shard items (`shared/capacity/shard-item.ts`), in the same table, so a snapshot
 * is still one Scan while acquiring or releasing a slot writes one small item.
 */
export const BACKEND_ATTR = {
  id: 'id',
  url: 'url',
  hardware: 'hardware',
  models: 'models',
  apis: 'apis',
  maxConcurrency: 'maxConcurrency',
  state: 'state',
  registeredAt: 'registeredAt',
  heartbeatAt: 'heartbeatAt',
  load: 'load',
  shards: 'shards',
  circuitOpenUntil: 'circuitOpenUntil',
} as const

/** The record of a backend item, with the leases of its shards (none given: no leases). */
export function backendFromItem(
  item: Record<string, unknown>,
  shards: readonly SlotShard[] = [],
): BackendRecord {
  const load = (item.load ?? {}) as Record<string, unknown>
  return {
    id: String(item.id),
    url: String(item.url ?? ''),
    hardware: String(item.hardware ?? ''),
    models: Array.isArray(item.models) ? item.models.map(String) : [],
    maxConcurrency: Number(item.maxConcurrency ?? 0),
    // Items written before backends listed their APIs have none: the default applies then.
    ...(Array.isArray(item.apis) ? { apis: item.apis.filter(isApiKind) } : {}),
    state: item.state === 'draining' || item.state === 'removed' ? item.state : 'active',
    registeredAt: Number(item.registeredAt ?? 0),
    heartbeatAt: Number(item.heartbeatAt ?? 0),
    load: {
      running: Number(load.running ?? 0),
      waiting: Number(load.waiting ?? 0),
      kvCacheUsage: Number(load.kvCacheUsage ?? 0),
    },
    leases: mergedLeases(shards),
    ...(typeof item.circuitOpenUntil === 'number' ? { circuitOpenUntil: item.circuitOpenUntil } : {}),
  }
}
