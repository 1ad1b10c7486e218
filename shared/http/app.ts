import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { HTTPException } from 'hono/http-exception'
import { isTransientAwsError } from '../aws/transient-error.ts'
import {
  internalError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  SpillwayError,
} from '../errors.ts'
import { errorFields, silentLogger } from '../logging.ts'
import { createRouting, type Routing } from '../router/routing.ts'
import type { AppDeps, AppEnv } from './app-deps.ts'
import { requestIdHeader } from './middleware/request-id.ts'
import { tenantAuth } from './middleware/tenant-auth.ts'
import { adminBackendRoutes } from './routes/admin-backends.ts'
import { adminKeyRoutes } from './routes/admin-keys.ts'
import { adminQueueRoutes } from './routes/admin-queues.ts'
import { apiDocRoutes } from './routes/api-docs.ts'
import { chatCompletionRoutes } from './routes/chat-completions.ts'
import { healthRoutes } from './routes/health.ts'
import { jobRoutes } from './routes/jobs.ts'
import { modelRoutes } from './routes/models.ts'

export const VERSION = '0.1.0'

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
  const routes =
    routing ?? createRouting({ config: deps.config, capacity: deps.capacity, clock, random: deps.random })
  const app = new Hono<AppEnv>()

  app.use(requestIdHeader())
  app.use(
    bodyLimit({
      maxSize: deps.config.maxBodyBytes,
      onError: () => {
        throw new PayloadTooLargeError(deps.config.maxBodyBytes)
      },
    }),
  )
  const keyCacheMs = deps.keyCacheMs ?? 30_000
  app.use('/v1/*', tenantAuth({ tenants: deps.tenants, clock, cacheMs: keyCacheMs }))

  app.route('/', healthRoutes({ version: VERSION, clock }))
  app.route('/', apiDocRoutes({ version: VERSION }))
  app.route('/', modelRoutes(deps.config, routes, clock))
  app.route('/', chatCompletionRoutes(deps, routes, log, clock))
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
    if (isTransientAwsError(error)) {
      log.warn('dependency unavailable', {
        requestId: c.get('requestId'),
        path: c.req.path,
        ...errorFields(error),
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
