import { type AwsClients, createAwsClients } from '../aws/clients.ts'
import { DynamoBackendRegistry } from '../backends/dynamo-backend-registry.ts'
import { DynamoCapacityStore } from '../capacity/dynamo-capacity-store.ts'
import { DynamoTenantHoldStore } from '../holds/dynamo-tenant-hold-store.ts'
import { DynamoJobStore } from '../jobs/dynamo-job-store.ts'
import { SqsJobQueue } from '../queue/sqs-job-queue.ts'
import { SqsQueueDepth } from '../queue/sqs-queue-depth.ts'
import { DynamoTenantStore } from '../tenants/dynamo-tenant-store.ts'
import type { RuntimeEnv } from './runtime-env.ts'

/** The DynamoDB-backed adapters of every port, for one process. */
export function createAwsAdapters(env: RuntimeEnv) {
  const clients: AwsClients = createAwsClients({
    ...(env.region ? { region: env.region } : {}),
    endpoints: env.endpoints,
  })
  const table = (tableName: string) => ({ doc: clients.doc, tableName })
  return {
    clients,
    capacity: new DynamoCapacityStore(table(env.tables.backends)),
    registry: new DynamoBackendRegistry(table(env.tables.backends)),
    tenants: new DynamoTenantStore(table(env.tables.tenants)),
    holds: new DynamoTenantHoldStore(table(env.tables.tenants)),
    jobs: new DynamoJobStore(table(env.tables.jobs)),
    queue: new SqsJobQueue({ sqs: clients.sqs, queueUrls: env.queues }),
    queueDepth: new SqsQueueDepth({
      sqs: clients.sqs,
      queueUrls: env.queues,
      deadLetterUrls: {
        ...(env.deadLetterQueues.interactive ? { interactive: env.deadLetterQueues.interactive } : {}),
        ...(env.deadLetterQueues.batch ? { batch: env.deadLetterQueues.batch } : {}),
      },
    }),
  }
}

export type AwsAdapters = ReturnType<typeof createAwsAdapters>
