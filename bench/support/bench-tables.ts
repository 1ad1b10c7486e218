import { bootstrapResources } from '../../local/bootstrap.ts'
import { createAwsClients, destroyAwsClients } from '../../shared/aws/clients.ts'
import type { GatewayConfigInput } from '../../shared/config/gateway-config.ts'
import { type RuntimeEnv, readRuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { ADMIN_KEY, benchConfig } from '../lib/bench-setup.ts'
import type { LocalAwsInfo } from './rig.ts'

/**
 * A runtime env on tables and queues of its own (`{prefix}-…`), created on the
 * rig's emulators: each benchmark that counts operations starts from empty
 * tables, so a Scan reads only its own backends.
 */
export async function freshRuntimeEnv(options: {
  aws: LocalAwsInfo
  prefix: string
  config?: GatewayConfigInput
}): Promise<RuntimeEnv> {
  const { aws } = options
  const clients = createAwsClients({ region: aws.env.AWS_REGION ?? 'us-east-1', endpoints: aws.endpoints })
  try {
    const { names, queueUrls } = await bootstrapResources({ clients, prefix: options.prefix })
    // fauxqs names queues after a `*.localhost` host; it finds them by path on its real endpoint.
    const at = (url: string) => new URL(new URL(url).pathname, aws.endpoints.sqs).href
    return readRuntimeEnv({
      ...aws.env,
      SPILLWAY_TABLE_BACKENDS: names.tables.backends,
      SPILLWAY_TABLE_JOBS: names.tables.jobs,
      SPILLWAY_TABLE_TENANTS: names.tables.tenants,
      SPILLWAY_QUEUE_INTERACTIVE_URL: at(queueUrls.interactive),
      SPILLWAY_QUEUE_BATCH_URL: at(queueUrls.batch),
      SPILLWAY_DLQ_INTERACTIVE_URL: at(queueUrls.interactiveDlq),
      SPILLWAY_DLQ_BATCH_URL: at(queueUrls.batchDlq),
      SPILLWAY_CONFIG: JSON.stringify(options.config ?? benchConfig()),
      SPILLWAY_ADMIN_KEY: ADMIN_KEY,
    })
  } finally {
    destroyAwsClients(clients)
  }
}
