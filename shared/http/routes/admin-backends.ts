import { Hono } from 'hono'
import { API_KINDS } from '../../backends/backend-apis.ts'
import type { BackendClient } from '../../backends/backend-client.ts'
import { refusedResolvedHost } from '../../backends/backend-host-check.ts'
import { probeBackendModels } from '../../backends/backend-models-probe.ts'
import { describeBackend, liveLeaseCount } from '../../backends/backend-record.ts'
import type { BackendRegistry } from '../../backends/backend-registry.ts'
import { checkBackendUrl } from '../../backends/backend-url.ts'
import type { GatewayConfig } from '../../config/gateway-config.ts'
import { tierModelIds } from '../../config/tier-models.ts'
import { BadRequestError, NotFoundError } from '../../errors.ts'
import { type ResolveHost, systemResolveHost } from '../../net/resolve-host.ts'
import { bearerToken, hashApiKey } from '../../tenants/api-keys.ts'
import * as z from '../../validation/zod-mini.ts'
import type { AppEnv } from '../app-deps.ts'
import { keyAuth } from '../middleware/tenant-auth.ts'
import { parseJsonBody } from '../parse-json-body.ts'

const BACKEND_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export const Registration = z.object({
  id: z.string().check(z.regex(BACKEND_ID, 'letters, digits, . _ - (max 128)')),
  url: z.string().check(z.minLength(1), z.maxLength(2048)),
  hardware: z.string().check(z.minLength(1)),
  models: z.array(z.string().check(z.minLength(1), z.maxLength(256))).check(z.minLength(1), z.maxLength(64)),
  maxConcurrency: z.int().check(z.gte(1), z.lte(1024)),
  /** The OpenAI APIs it serves; an agent that does not say serves chat and completions. */
  apis: z.optional(z.array(z.enum(API_KINDS)).check(z.minLength(1), z.maxLength(API_KINDS.length))),
})

/** Bounded and rounded: DynamoDB refuses numbers past 2^53 (SDK) or under 1e-130 (underflow) with a 5xx. */
const gauge = (max: number) =>
  z.pipe(
    z.number().check(z.gte(0), z.lte(max)),
    z.transform((v: number) => Math.round(v * 1e6) / 1e6),
  )

export const Heartbeat = z.object({
  running: gauge(1_000_000),
  waiting: gauge(1_000_000),
  kvCacheUsage: z._default(gauge(1), 0),
})

/** An id no backend can have is not found here, before DynamoDB refuses an oversized key with a 5xx. */
function backendIdParam(id: string): string {
  if (!BACKEND_ID.test(id)) throw new NotFoundError('No such backend.', { code: 'backend_not_found' })
  return id
}

/**
 * A backend serving a model no tier names would register and then never be routed
 * to (every request for that model is a 404), so it is refused at registration,
 * with the ids it could register instead.
 */
function unknownModelCheck(config: GatewayConfig): (models: readonly string[]) => void {
  const known = tierModelIds(config)
  const knownSet = new Set(known)
  return function refuseUnknownModels(models) {
    const unknown = models.filter((model) => !knownSet.has(model))
    if (unknown.length === 0) return
    throw new BadRequestError(
      `Unknown model${unknown.length > 1 ? 's' : ''} ${unknown.map((m) => JSON.stringify(m)).join(', ')}: ` +
        `no configured tier sends it to a backend. Known models: ${known.join(', ')}.`,
      { param: 'models', code: 'unknown_model' },
    )
  }
}

/**
 * Backend registry routes. Register and heartbeat accept the agent key or the
 * admin key; everything else needs the admin key. All agents share one key, so an
 * agent's registration creates a backend but cannot change one that exists (its URL,
 * size, models, drain state or open circuit): only the admin key can.
 */
export function adminBackendRoutes(options: {
  config: GatewayConfig
  registry: BackendRegistry
  clock: () => number
  adminKeyHash: string
  agentKeyHash?: string
  /** DNS, injected so tests can point a name anywhere; the system resolver by default. */
  resolveHost?: ResolveHost
  /** Asks a registering backend which models it serves (`GET /v1/models`). */
  backendClient?: BackendClient
}) {
  const { registry, clock } = options
  const resolve = options.resolveHost ?? systemResolveHost
  const hardwareClasses = new Set(options.config.hardwareClasses.map((h) => h.id))
  const refuseUnknownModels = unknownModelCheck(options.config)
  const agentOrAdmin = keyAuth({ acceptedHashes: [options.adminKeyHash, options.agentKeyHash] })
  const adminOnly = keyAuth({ acceptedHashes: [options.adminKeyHash] })

  return new Hono<AppEnv>()
    .post('/admin/backends', agentOrAdmin, async (c) => {
      const input = parseJsonBody(Registration, await c.req.text())
      if (!hardwareClasses.has(input.hardware)) {
        throw new BadRequestError(`Unknown hardware class "${input.hardware}".`, { param: 'hardware' })
      }
      refuseUnknownModels(input.models)
      const url = checkBackendUrl(input.url)
      if (!url.ok) throw new BadRequestError(`Backend URL refused: ${url.reason}.`, { param: 'url' })
      const resolved = await refusedResolvedHost({ url: url.url, resolve })
      if (resolved) throw new BadRequestError(`Backend URL refused: ${resolved}.`, { param: 'url' })
      const probe = options.backendClient
        ? await probeBackendModels({ client: options.backendClient, url: url.url, models: input.models })
        : undefined
      if (probe?.kind === 'missing') {
        throw new BadRequestError(
          `The backend does not serve ${probe.missing.map((m) => `"${m}"`).join(', ')}; ` +
            `its /v1/models lists: ${probe.served.map((m) => `"${m}"`).join(', ') || 'nothing'}.`,
          { param: 'models', code: 'model_not_served' },
        )
      }
      const byAdmin = hashApiKey(bearerToken(c.req.header('authorization')) ?? '') === options.adminKeyHash
      const { apis, ...rest } = input
      const backend = await registry.register({
        registration: { ...rest, url: url.url, ...(apis ? { apis: [...new Set(apis)] } : {}) },
        now: clock(),
        by: byAdmin ? 'admin' : 'agent',
      })
      const warnings = probe?.kind === 'unverified' ? [`models not verified: ${probe.reason}`] : undefined
      return c.json({ ...describeBackend(backend, clock()), ...(warnings ? { warnings } : {}) }, 201)
    })
    .post('/admin/backends/:id/heartbeat', agentOrAdmin, async (c) => {
      const load = parseJsonBody(Heartbeat, await c.req.text())
      const backend = await registry.heartbeat({ id: backendIdParam(c.req.param('id')), load, now: clock() })
      if (!backend)
        throw new NotFoundError('No such backend; register it first.', { code: 'backend_not_found' })
      return c.json(describeBackend(backend, clock()))
    })
    .get('/admin/backends', adminOnly, async (c) => {
      const now = clock()
      return c.json({ data: (await registry.list()).map((b) => describeBackend(b, now)) })
    })
    .post('/admin/backends/:id/drain', adminOnly, async (c) => {
      const backend = await registry.setState({ id: backendIdParam(c.req.param('id')), state: 'draining' })
      if (!backend) throw new NotFoundError('No such backend.', { code: 'backend_not_found' })
      return c.json(describeBackend(backend, clock()))
    })
    .post('/admin/backends/:id/undrain', adminOnly, async (c) => {
      const backend = await registry.setState({ id: backendIdParam(c.req.param('id')), state: 'active' })
      if (!backend) throw new NotFoundError('No such backend.', { code: 'backend_not_found' })
      return c.json(describeBackend(backend, clock()))
    })
    .delete('/admin/backends/:id', adminOnly, async (c) => {
      if (!(await registry.deregister(backendIdParam(c.req.param('id'))))) {
        throw new NotFoundError('No such backend.', { code: 'backend_not_found' })
      }
      return c.body(null, 204)
    })
    .get('/admin/capacity', adminOnly, async (c) => {
      const now = clock()
      const byClass = new Map<string, { backends: number; slots: number; leases: number }>()
      for (const b of await registry.list()) {
        const entry = byClass.get(b.hardware) ?? { backends: 0, slots: 0, leases: 0 }
        entry.backends++
        entry.slots += b.maxConcurrency
        entry.leases += liveLeaseCount(b, now)
        byClass.set(b.hardware, entry)
      }
      return c.json({ at: new Date(now).toISOString(), hardware: Object.fromEntries(byClass) })
    })
}
