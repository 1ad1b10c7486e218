import { createApp } from '../../shared/http/app.ts'
import { Observability } from '../../shared/observability/observability.ts'
import { createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import { gatewayDeps } from '../../shared/runtime/gateway-deps.ts'
import { readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { resolveSecrets } from '../../shared/runtime/secrets.ts'
import { EmfRequestSink } from '../emf-metrics.ts'
import { lambdaLogger } from '../lambda-logger.ts'
import { secretsManager } from '../secrets-manager.ts'
import { functionUrlStreamHandler } from './function-url-stream.ts'

// Function URL with RESPONSE_STREAM: streamed, not buffered (Hono's `handle` would buffer SSE).
const env = readRuntimeEnv(process.env)
const log = lambdaLogger({ serviceName: 'spillway-gateway', env })
const adapters = createAwsAdapters(env)
const secrets = await resolveSecrets(env, secretsManager)
// Each request's EMF line is written before its response stream closes (observeRequests).
const observability = new Observability({
  log,
  sinks: [new EmfRequestSink({ serviceName: 'spillway-gateway' })],
})
export const handler = functionUrlStreamHandler(
  createApp({ ...gatewayDeps({ env, adapters, secrets, log }), observability }),
)
