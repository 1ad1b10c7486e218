import { destroyAwsClients } from '../aws/clients.ts'
import { HttpBackendClient } from '../backends/backend-client.ts'
import { DEFAULT_WEBHOOK_SETTINGS } from '../jobs/notify-webhook.ts'
import type { AppLogger } from '../logging.ts'
import { createWorker, type Worker } from '../worker/worker.ts'
import type { WorkerOptions } from '../worker/worker-options.ts'
import { type AwsAdapters, createAwsAdapters } from './aws-adapters.ts'
import type { RuntimeEnv } from './runtime-env.ts'
import { backendApiKeyFrom, type SecretStore, webhookSecretFrom } from './secrets.ts'

/**
 * A worker on the AWS adapters of this environment (Lambda, or the local poller,
 * which passes the adapters its reaper and DLQ handler share).
 */
export async function workerFromEnv(options: {
  env: RuntimeEnv
  log: AppLogger
  options?: Partial<WorkerOptions>
  adapters?: AwsAdapters
  /** Where ARN-named secrets are read (Secrets Manager on Lambda); local processes have plain values. */
  secretStore?: SecretStore
}): Promise<Worker & { close(): void }> {
  const adapters = options.adapters ?? createAwsAdapters(options.env)
  const webhookSecret = await webhookSecretFrom(options.env, options.secretStore)
  const worker = createWorker({
    config: options.env.config,
    jobs: adapters.jobs,
    queue: adapters.queue,
    capacity: adapters.capacity,
    backendClient: new HttpBackendClient({
      apiKey: await backendApiKeyFrom(options.env, options.secretStore),
    }),
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
    close: () => destroyAwsClients(adapters.clients),
  }
}
