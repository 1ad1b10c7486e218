import { serve } from '@hono/node-server'
import { createApp, gatewayRouting } from '../../shared/http/app.ts'
import { consoleLogger } from '../../shared/logging.ts'
import { Observability } from '../../shared/observability/observability.ts'
import { createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import { gatewayDeps } from '../../shared/runtime/gateway-deps.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { resolveSecrets } from '../../shared/runtime/secrets.ts'
import { secretsManager } from '../secrets-manager.ts'

// The gateway as a plain Node server: one of several stateless instances in
// tests, or the standalone process `PORT=8787 node functions/gateway/node.ts`.
const env = readRuntimeEnv(process.env)
const log = consoleLogger({ level: env.logLevel, service: 'gateway' })
const deps = {
  ...gatewayDeps({
    env,
    adapters: createAwsAdapters(env),
    secrets: await resolveSecrets(env, secretsManager),
    log,
    longLived: true,
  }),
  observability: new Observability({ log }),
}
const routing = gatewayRouting(deps, deps.observability)
const app = createApp(deps, routing)
const server = serve(
  { fetch: app.fetch, port: Number(process.env.PORT ?? 8787), hostname: '127.0.0.1' },
  (info) => {
    // One line on stdout that parents (tests, the local stack) wait for.
    process.stdout.write(`${JSON.stringify({ listening: `http://127.0.0.1:${info.port}` })}\n`)
  },
)
// Warm leases go back before the exit, so their slots are free at once rather than at their TTL.
const stop = () => server.close(() => void routing.router.freeWarmLeases().finally(() => process.exit(0)))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
