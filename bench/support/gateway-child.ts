/**
 * A gateway process for the benchmarks: the same `createApp` as
 * `functions/gateway/node.ts`, with either the DynamoDB adapters (as deployed)
 * or the in-memory store, so the store's cost can be told apart from the
 * gateway's own. Talks to its parent over IPC only, so nothing is added to
 * the request path it measures.
 *
 *   parent → { type: 'stats' } | { type: 'stop' } | { type: 'profile-start' } | { type: 'profile-stop', path }
 *   child  → { type: 'ready', url } | { type: 'stats', ... } | { type: 'profile-started' | 'profile-written' }
 *
 * The profiler is started and stopped on request (V8's inspector, in process), so
 * a profile covers the warm hot path only, not module loading or the warm-up.
 */
import { writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { Session } from 'node:inspector/promises'
import type { AddressInfo } from 'node:net'
import { PerformanceObserver } from 'node:perf_hooks'
import { createAdaptorServer } from '@hono/node-server'
import { seedTenantKey } from '../../local/tenants.ts'
import { HttpBackendClient } from '../../shared/backends/backend-client.ts'
import type { BackendRegistration } from '../../shared/backends/backend-record.ts'
import { MemoryBackendStore } from '../../shared/capacity/memory-backend-store.ts'
import { type GatewayConfigInput, parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { createApp } from '../../shared/http/app.ts'
import type { AppDeps } from '../../shared/http/app-deps.ts'
import { silentLogger } from '../../shared/logging.ts'
import { createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import { gatewayDeps } from '../../shared/runtime/gateway-deps.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { resolveSecrets } from '../../shared/runtime/secrets.ts'
import { hashApiKey } from '../../shared/tenants/api-keys.ts'
import { MemoryTenantStore } from '../../shared/tenants/memory-tenant-store.ts'
import type { TenantPolicyInput } from '../../shared/tenants/tenant-policy.ts'
import { NodeHttpBackendClient } from './node-http-backend-client.ts'

export interface GatewayChildSpec {
  readonly store: 'memory' | 'dynamo'
  readonly config: GatewayConfigInput
  readonly backends: readonly BackendRegistration[]
  readonly tenant: { readonly key: string; readonly policy: TenantPolicyInput }
  readonly adminKey: string
  /** `node-http`: the experiment that swaps the global fetch out of the upstream call. */
  readonly backendClient?: 'fetch' | 'node-http'
}

export interface GatewayChildStats {
  readonly type: 'stats'
  /** process.cpuUsage(), µs. */
  readonly cpuUserMicros: number
  readonly cpuSystemMicros: number
  readonly rssBytes: number
  /** Garbage collections so far: how many, their total pause, and the longest since the last stats call. */
  readonly gcCount: number
  readonly gcTotalMs: number
  readonly gcMaxMsSinceLast: number
}

const spec = JSON.parse(process.env.SPILLWAY_BENCH_GATEWAY ?? '{}') as GatewayChildSpec

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
    }
  }
  const env = readRuntimeEnv({
    ...process.env,
    SPILLWAY_CONFIG: JSON.stringify(spec.config),
    SPILLWAY_ADMIN_KEY: spec.adminKey,
  })
  const adapters = createAwsAdapters(env)
  return gatewayDeps({ env, adapters, secrets: await resolveSecrets(env), log: silentLogger })
}

const built = await buildDeps()
const deps: AppDeps =
  spec.backendClient === 'node-http' ? { ...built, backendClient: new NodeHttpBackendClient() } : built
const now = Date.now()
for (const backend of spec.backends) await deps.registry.register(backend, now)
await seedTenantKey({ tenants: deps.tenants, policy: spec.tenant.policy, key: spec.tenant.key, now })

const app = createApp(deps)
const server = createAdaptorServer({ fetch: app.fetch }) as Server
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))

const stop = () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
}
process.on('SIGTERM', stop)
// The parent died without stopping us (killed, or its output pipe closed): do not linger.
process.on('disconnect', () => process.exit(0))
// GC pauses stop the event loop: they are what a p99 at a modest rate is made of.
const gc = { count: 0, totalMs: 0, maxMs: 0 }
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count++
    gc.totalMs += entry.duration
    gc.maxMs = Math.max(gc.maxMs, entry.duration)
  }
}).observe({ entryTypes: ['gc'] })

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

process.on('message', (message: { type?: string; path?: string }) => {
  if (message.type === 'stop') stop()
  if (message.type === 'profile-start') void startProfile()
  if (message.type === 'profile-stop' && message.path) void stopProfile(message.path)
  if (message.type === 'stats') {
    const cpu = process.cpuUsage()
    const stats: GatewayChildStats = {
      type: 'stats',
      cpuUserMicros: cpu.user,
      cpuSystemMicros: cpu.system,
      rssBytes: process.memoryUsage.rss(),
      gcCount: gc.count,
      gcTotalMs: gc.totalMs,
      gcMaxMsSinceLast: gc.maxMs,
    }
    gc.maxMs = 0
    process.send?.(stats)
  }
})
process.send?.({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
