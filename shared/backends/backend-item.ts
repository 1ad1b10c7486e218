import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb'
import { isApiKind } from './backend-apis.ts'
import type { BackendRecord } from './backend-record.ts'

/**
 * DynamoDB item of the backends table (key `id`). One item per backend holds its
 * registration, its last heartbeat and its `leases` map, so a snapshot is one
 * Scan and acquiring or releasing a slot is one UpdateItem on one item.
 * A backend with 32 slots all leased stays under 1 KB (each lease ~21 bytes).
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
  leases: 'leases',
  circuitOpenUntil: 'circuitOpenUntil',
} as const

export function backendFromItem(item: Record<string, unknown>): BackendRecord {
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
    leases: Object.fromEntries(
      Object.entries((item.leases ?? {}) as Record<string, unknown>).map(([k, v]) => [k, Number(v)]),
    ),
    ...(typeof item.circuitOpenUntil === 'number' ? { circuitOpenUntil: item.circuitOpenUntil } : {}),
  }
}

/** Every backend item, following pagination (the snapshot and the admin listing share it). */
export async function scanBackends(doc: DynamoDBDocumentClient, tableName: string): Promise<BackendRecord[]> {
  const backends: BackendRecord[] = []
  let ExclusiveStartKey: Record<string, unknown> | undefined
  do {
    const page = await doc.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey }))
    for (const item of page.Items ?? []) backends.push(backendFromItem(item))
    ExclusiveStartKey = page.LastEvaluatedKey
  } while (ExclusiveStartKey)
  return backends
}
