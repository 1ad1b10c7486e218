import { serve } from '@hono/node-server'
import { createApp } from '../../shared/http/app.ts'
import { consoleLogger } from '../../shared/logging.ts'
import { createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import { gatewayDeps } from '../../shared/runtime/gateway-deps.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { resolveSecrets } from '../../shared/runtime/secrets.ts'
import { secretsManager } from '../secrets-manager.ts'

// The gateway as a plain Node server: one of several stateless instances in
// tests, or the standalone process `PORT=8787 node functions/gateway/node.ts`.
const env = readRuntimeEnv(process.env)
const log = consoleLogger({ level: env.logLevel, service: 'gateway' })
const app = createApp(
  gatewayDeps({
    env,
    adapters: createAwsAdapters(env),
    secrets: await resolveSecrets(env, secretsManager),
    log,
  }),
)
const server = serve(
  { fetch: app.fetch, port: Number(process.env.PORT ?? 8787), hostname: '127.0.0.1' },
  (info) => {
    // One line on stdout that parents (tests, the local stack) wait for.
    process.stdout.write(`${JSON.stringify({ listening: `http://127.0.0.1:${info.port}` })}\n`)
  },
)
const stop = () => server.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
