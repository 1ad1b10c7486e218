import { HttpBackendClient } from '../../shared/backends/backend-client.ts'
import { DEFAULT_WEBHOOK_SETTINGS } from '../../shared/jobs/notify-webhook.ts'
import type { AppLogger } from '../../shared/logging.ts'
import { type AwsAdapters, createAwsAdapters } from '../../shared/runtime/aws-adapters.ts'
import type { RuntimeEnv } from '../../shared/runtime/runtime-env.ts'
import { backendApiKeyFrom, webhookSecretFrom } from '../../shared/runtime/secrets.ts'
import { createWorker, type Worker } from './worker.ts'
import type { WorkerOptions } from './worker-options.ts'

/**
 * A worker on the AWS adapters of this environment (Lambda, or the local poller,
 * which passes the adapters its reaper and DLQ handler share).
 */
export async function workerFromEnv(options: {
  env: RuntimeEnv
  log: AppLogger
  options?: Partial<WorkerOptions>
  adapters?: AwsAdapters
}): Promise<Worker & { close(): void }> {
  const adapters = options.adapters ?? createAwsAdapters(options.env)
  const webhookSecret = await webhookSecretFrom(options.env)
  const worker = createWorker({
    config: options.env.config,
    jobs: adapters.jobs,
    queue: adapters.queue,
    capacity: adapters.capacity,
    backendClient: new HttpBackendClient({ apiKey: await backendApiKeyFrom(options.env) }),
    log: options.log,
    ...(webhookSecret ? { webhookSecret } : {}),
    options: {
      ...options.options,
      webhook: {
        ...(options.options?.webhook ?? DEFAULT_WEBHOOK_SETTINGS),
        allowPrivateNetworks:
          options.options?.webhook?.allowPrivateNetworks ?? options.env.webhookAllowPrivateNetworks,
      },
    },
  })
  return {
    ...worker,
    close: () => {
      adapters.clients.dynamo.destroy()
      adapters.clients.sqs.destroy()
    },
  }
}
