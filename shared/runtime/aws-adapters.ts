import { type AwsClients, createAwsClients } from '../aws/clients.ts'
import { translateDependencyErrors } from '../aws/translate-errors.ts'
import { DynamoBackendRegistry } from '../backends/dynamo-backend-registry.ts'
import { DynamoCapacityStore } from '../capacity/dynamo-capacity-store.ts'
import { DynamoTenantHoldStore } from '../holds/dynamo-tenant-hold-store.ts'
import { DynamoJobStore } from '../jobs/dynamo-job-store.ts'
import { SqsJobQueue } from '../queue/sqs-job-queue.ts'
import { SqsQueueDepth } from '../queue/sqs-queue-depth.ts'
import type { TableKey } from '../tables.ts'
import { DynamoTenantStore } from '../tenants/dynamo-tenant-store.ts'
import { queueUrls, type RuntimeEnv, tableName } from './runtime-env.ts'

/**
 * The DynamoDB- and SQS-backed adapters of every port, for one process. Each is
 * built on first use, so a process asks only for the tables and queues it was
 * given (`FUNCTION_NEEDS`): the DLQ handler never touches the backends table.
 * Every adapter throws `DependencyUnavailableError` when its service is down.
 */
export function createAwsAdapters(env: RuntimeEnv) {
  const clients: AwsClients = createAwsClients({
    ...(env.region ? { region: env.region } : {}),
    endpoints: env.endpoints,
  })
  translateDependencyErrors(clients)
  const table = (key: TableKey) => ({ doc: clients.doc, tableName: tableName(env, key) })
  const once = <T>(make: () => T) => {
    let made: T | undefined
    return () => {
      made ??= make()
      return made
    }
  }
  const capacity = once(() => new DynamoCapacityStore({ ...table('backends'), lean: clients.lean }))
  const registry = once(() => new DynamoBackendRegistry(table('backends')))
  const tenants = once(() => new DynamoTenantStore(table('tenants')))
  const holds = once(() => new DynamoTenantHoldStore(table('tenants')))
  const jobs = once(() => new DynamoJobStore(table('jobs')))
  const queue = once(() => new SqsJobQueue({ sqs: clients.sqs, queueUrls: queueUrls(env) }))
  const queueDepth = once(
    () =>
      new SqsQueueDepth({
        sqs: clients.sqs,
        queueUrls: queueUrls(env),
        deadLetterUrls: env.deadLetterQueues,
      }),
  )
  return {
    clients,
    get capacity() {
      return capacity()
    },
    get registry() {
      return registry()
    },
    get tenants() {
      return tenants()
    },
    get holds() {
      return holds()
    },
    get jobs() {
      return jobs()
    },
    get queue() {
      return queue()
    },
    get queueDepth() {
      return queueDepth()
    },
  }
}

export type AwsAdapters = ReturnType<typeof createAwsAdapters>
