/**
 * A gateway process for the benchmarks: the same `createApp` as
 * `functions/gateway/node.ts`, with either the DynamoDB adapters (as deployed)
 * or the in-memory store, so the store's cost can be told apart from the
 * gateway's own. Talks to its parent over IPC only, so nothing is added to
 * the request path it measures.
 *
 *   parent → { type: 'stats' } | { type: 'stop' } | { type: 'profile-start' } | { type: 'profile-stop', path }
 *            | { type: 'round-trip', samples }  (bare GetItem / UpdateItem on this process's DynamoDB client)
 *   child  → { type: 'ready', url } | { type: 'stats', ... } (process-stats.ts) | { type: 'round-trip', ... } | { type: 'profile-started' | 'profile-written' }
 *
 * The profiler is started and stopped on request (V8's inspector, in process), so
 * a profile covers the warm hot path only, not module loading or the warm-up.
 */
import { writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { Session } from 'node:inspector/promises'
import type { AddressInfo } from 'node:net'
import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb'
import { createAdaptorServer } from '@hono/node-server'
import { seedTenantKey } from '../../local/tenants.ts'
import { HttpBackendClient } from '../../shared/backends/backend-client.ts'
import type { BackendRegistration } from '../../shared/backends/backend-record.ts'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import { type GatewayConfigInput, parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { createApp, gatewayRouting } from '../../shared/http/app.ts'
import type { AppDeps } from '../../shared/http/app-deps.ts'
import { silentLogger } from '../../shared/logging.ts'
import { Observability } from '../../shared/observability/observability.ts'
import { createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import { gatewayDeps } from '../../shared/runtime/gateway-deps.ts'
import { readRuntimeEnv, tableName } from '../../shared/runtime/runtime-env.ts'
import { resolveSecrets } from '../../shared/runtime/secrets.ts'
import { hashApiKey } from '../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../shared/tenants/memory-tenant-store.ts'
import type { TenantPolicyInput } from '../../shared/tenants/tenant-policy.ts'
import { NodeHttpBackendClient } from './node-http-backend-client.ts'
import { answerStatsOverIpc } from './process-stats.ts'

export interface GatewayChildSpec {
  readonly store: 'memory' | 'dynamo'
  readonly config: GatewayConfigInput
  readonly backends: readonly BackendRegistration[]
  readonly tenant: { readonly key: string; readonly policy: TenantPolicyInput }
  readonly adminKey: string
  /** `node-http`: the experiment that swaps the global fetch out of the upstream call. */
  readonly backendClient?: 'fetch' | 'node-http'
}

const spec = JSON.parse(process.env.SPILLWAY_BENCH_GATEWAY ?? '{}') as GatewayChildSpec

/** The DynamoDB gateway's own client and backends table, for the bare round-trip probe. */
let probe: { dynamo: DynamoDBClient; table: string } | undefined

async function buildDeps(): Promise<AppDeps> {
  if (spec.store === 'memory') {
    const store = new MemoryBackendStore()
    return {
      config: parseGatewayConfig(spec.config),
      capacity: store,
      registry: store,
      tenants: new MemoryTenantStore(),
      backendClient: new HttpBackendClient(),
      adminKeyHash: hashApiKey(spec.adminKey),
      log: silentLogger,
      leaseLingerMs: parseGatewayConfig(spec.config).leaseLingerMs,
    }
  }
  const env = readRuntimeEnv({
    ...process.env,
    SPILLWAY_CONFIG: JSON.stringify(spec.config),
    SPILLWAY_ADMIN_KEY: spec.adminKey,
  })
  const adapters = createAwsAdapters(env)
  probe = { dynamo: adapters.clients.dynamo, table: tableName(env, 'backends') }
  return gatewayDeps({
    env,
    adapters,
    secrets: await resolveSecrets(env),
    log: silentLogger,
    longLived: true,
  })
}

const built = await buildDeps()
const deps: AppDeps =
  spec.backendClient === 'node-http' ? { ...built, backendClient: new NodeHttpBackendClient() } : built
const now = Date.now()
for (const backend of spec.backends) await deps.registry.register({ registration: backend, now })
await seedTenantKey({ tenants: deps.tenants, policy: spec.tenant.policy, key: spec.tenant.key, now })

const observability = new Observability({ log: silentLogger })
const routing = gatewayRouting(deps, observability)
const app = createApp({ ...deps, observability }, routing)
const server = createAdaptorServer({ fetch: app.fetch }) as Server
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))

const stop = () => {
  server.closeAllConnections()
  server.close(() => void routing.router.freeWarmLeases().finally(() => process.exit(0)))
}
process.on('SIGTERM', stop)
// The parent died without stopping us (killed, or its output pipe closed): do not linger.
process.on('disconnect', () => process.exit(0))
answerStatsOverIpc()

let profiler: Session | undefined
const startProfile = async () => {
  profiler = new Session()
  profiler.connect()
  await profiler.post('Profiler.enable')
  await profiler.post('Profiler.setSamplingInterval', { interval: 250 })
  await profiler.post('Profiler.start')
  process.send?.({ type: 'profile-started' })
}
const stopProfile = async (path: string) => {
  const result = await profiler?.post('Profiler.stop')
  profiler?.disconnect()
  await writeFile(path, JSON.stringify(result?.profile ?? {}))
  process.send?.({ type: 'profile-written' })
}

/** One call at a time on an item nobody else touches: what one store round trip costs from here. */
const roundTrip = async (samples: number) => {
  const key = { id: { S: 'bench-round-trip-probe' } }
  const timed = async (send: () => Promise<unknown>) => {
    const times: number[] = []
    // The first calls open the connection and warm the JIT.
    for (let i = 0; i < samples + 20; i++) {
      const started = performance.now()
      await send()
      if (i >= 20) times.push(performance.now() - started)
    }
    return times
  }
  if (!probe) return process.send?.({ type: 'round-trip', getItemMs: [], updateItemMs: [] })
  const { dynamo, table } = probe
  const updateItemMs = await timed(() =>
    dynamo.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: 'ADD #n :one',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    ),
  )
  const getItemMs = await timed(() => dynamo.send(new GetItemCommand({ TableName: table, Key: key })))
  process.send?.({ type: 'round-trip', getItemMs, updateItemMs })
}

process.on('message', (message: { type?: string; path?: string; samples?: number }) => {
  if (message.type === 'stop') stop()
  if (message.type === 'round-trip') void roundTrip(message.samples ?? 200)
  if (message.type === 'profile-start') void startProfile()
  if (message.type === 'profile-stop' && message.path) void stopProfile(message.path)
})
process.send?.({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
