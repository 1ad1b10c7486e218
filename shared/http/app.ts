import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { DependencyUnavailableError } from '../aws/translate-errors.ts'
import { internalError, NotFoundError, ServiceUnavailableError, SpillwayError } from '../errors.ts'
import { bothSignals, loggedCapacitySignal } from '../gateway/capacity-signal.ts'
import { errorFields, silentLogger } from '../logging.ts'
import { Observability } from '../observability/observability.ts'
import { observeRequests } from '../observability/observe-requests.ts'
import { createRouting, type Routing } from '../router/routing.ts'
import type { AppDeps, AppEnv } from './app-deps.ts'
import { corsPolicy } from './middleware/cors.ts'
import { readBody } from './middleware/read-body.ts'
import { requestIdHeader } from './middleware/request-id.ts'
import { DEFAULT_KEY_CACHE_MS, tenantAuth } from './middleware/tenant-auth.ts'
import { adminBackendRoutes } from './routes/admin-backends.ts'
import { adminKeyRoutes } from './routes/admin-keys.ts'
import { adminQueueRoutes } from './routes/admin-queues.ts'
import { apiDocRoutes } from './routes/api-docs.ts'
import { dashboardRoutes } from './routes/dashboard.ts'
import { healthRoutes } from './routes/health.ts'
import { inferenceRoutes } from './routes/inference-routes.ts'
import { jobRoutes } from './routes/jobs.ts'
import { metricsRoutes } from './routes/metrics.ts'
import { modelRoutes } from './routes/models.ts'

export const VERSION = '0.1.0'

/**
 * The routing state a gateway's app uses, for an entry point that must reach it (a Node
 * server frees its warm leases as it stops): decisions go to `observability`.
 */
export function gatewayRouting(deps: AppDeps, observability: Observability): Routing {
  return createRouting({
    config: deps.config,
    capacity: deps.capacity,
    clock: deps.clock ?? Date.now,
    random: deps.random,
    onDecision: (decision) => observability.onDecision(decision),
    lingerMs: deps.leaseLingerMs ?? 0,
  })
}

/**
 * The whole HTTP surface of the gateway, built from injected ports: no
 * environment, no AWS SDK. The Lambda and Node entry points wrap this.
 *
 * @example
 * const app = createApp({ config, capacity, registry, tenants, backendClient, adminKeyHash })
 * const res = await app.request('http://localhost/health')
 */
export function createApp(deps: AppDeps, routing?: Routing): Hono<AppEnv> {
  const clock = deps.clock ?? Date.now
  const log = deps.log ?? silentLogger
  const observability = deps.observability ?? new Observability({ clock, log })
  const routes = routing ?? gatewayRouting(deps, observability)
  observability.attach({
    fleet: {
      backends: (now) => routes.view.backends(now),
      circuit: (id, now) => routes.circuits.state(id, now),
      heartbeatStaleMs: deps.config.heartbeatStaleSeconds * 1000,
    },
    ...(deps.queueDepth ? { queueDepth: deps.queueDepth } : {}),
    ...(deps.jobs ? { jobs: deps.jobs } : {}),
  })
  const app = new Hono<AppEnv>()

  app.use(requestIdHeader())
  // Before auth: a preflight never carries the key.
  if (deps.corsOrigins?.length) app.use(corsPolicy({ origins: deps.corsOrigins }))
  app.use(readBody({ maxBytes: deps.config.maxBodyBytes }))
  app.use('/v1/*', observeRequests({ observability, models: deps.config.models.map((m) => m.id) }))
  const keyCacheMs = deps.keyCacheMs ?? DEFAULT_KEY_CACHE_MS
  app.use('/v1/*', tenantAuth({ tenants: deps.tenants, clock, cacheMs: keyCacheMs }))

  app.route('/', healthRoutes({ version: VERSION, clock }))
  app.route('/', apiDocRoutes({ version: VERSION }))
  app.route('/', modelRoutes(deps.config, routes, clock))
  // The capacity-wanted signal goes to the log line and to the metric.
  const capacitySignal = bothSignals(deps.capacitySignal ?? loggedCapacitySignal(log), {
    wanted: (model, waiting) => void observability.capacityWanted(model, waiting),
    satisfied: (model) => void observability.capacityWanted(model, 0),
  })
  app.route('/', inferenceRoutes({ ...deps, capacitySignal, observability }, routes, log, clock))
  if (deps.jobs) app.route('/', jobRoutes({ jobs: deps.jobs, clock }))
  app.route(
    '/',
    adminBackendRoutes({
      config: deps.config,
      registry: deps.registry,
      clock,
      adminKeyHash: deps.adminKeyHash,
      ...(deps.agentKeyHash ? { agentKeyHash: deps.agentKeyHash } : {}),
      resolveHost: deps.resolveHost,
      backendClient: deps.backendClient,
    }),
  )

  app.route(
    '/',
    adminQueueRoutes({
      clock,
      adminKeyHash: deps.adminKeyHash,
      queueDepth: deps.queueDepth,
      jobs: deps.jobs,
    }),
  )

  app.route('/', metricsRoutes({ observability, adminKeyHash: deps.adminKeyHash }))
  app.route(
    '/',
    dashboardRoutes({
      observability,
      adminKeyHash: deps.adminKeyHash,
      ...(deps.jobs ? { jobs: deps.jobs } : {}),
    }),
  )
  app.route(
    '/',
    adminKeyRoutes({ tenants: deps.tenants, clock, adminKeyHash: deps.adminKeyHash, keyCacheMs }),
  )

  app.notFound((c) =>
    new NotFoundError(`No route for ${c.req.method} ${c.req.path}.`, { code: 'unknown_url' }).toResponse(),
  )
  app.onError((error, c) => {
    if (error instanceof SpillwayError) return error.toResponse()
    if (error instanceof HTTPException && error.status < 500) {
      return new SpillwayError(
        error.status,
        'invalid_request_error',
        error.message || 'Bad request.',
      ).toResponse()
    }
    if (error instanceof DependencyUnavailableError) {
      log.warn('dependency unavailable', {
        requestId: c.get('requestId'),
        path: c.req.path,
        ...errorFields(error.cause ?? error),
      })
      return new ServiceUnavailableError('A Spillway dependency is unavailable right now; retry shortly.', {
        code: 'dependency_unavailable',
        headers: { 'retry-after': '1' },
      }).toResponse()
    }
    log.error('unhandled error', { requestId: c.get('requestId'), path: c.req.path, ...errorFields(error) })
    return internalError().toResponse()
  })
  return app
}
