import type { AwsClients } from './clients.ts'
import { isTransientAwsError } from './transient-error.ts'

/**
 * Thrown by every DynamoDB and SQS adapter when the service is overloaded or
 * unreachable once the SDK's own retries are spent: the domain's name for it,
 * so no caller (the HTTP layer least of all) has to know an SDK error's shape.
 * The SDK error rides along as `cause`, for the logs.
 */
export class DependencyUnavailableError extends Error {
  override name = 'DependencyUnavailableError'
}

/**
 * Installs the translation on the clients every adapter of a process shares. It sits
 * in the `initialize` step, outside the SDK's retry middleware, so only the error
 * that survives all retries is translated; every other error (a failed condition,
 * a validation error) passes through unchanged for the adapter to judge.
 * The document client sends through its wrapped client's stack, so the DynamoDB
 * client carries it for both.
 */
export function translateDependencyErrors(clients: Pick<AwsClients, 'dynamo' | 'lean' | 'sqs'>): void {
  const options = { step: 'initialize', name: 'spillwayDependencyErrors', priority: 'high' } as const
  clients.dynamo.middlewareStack.add(dependencyErrors('DynamoDB'), options)
  clients.lean.middlewareStack.add(dependencyErrors('DynamoDB'), options)
  clients.sqs.middlewareStack.add(dependencyErrors('SQS'), options)
}

function dependencyErrors(service: string) {
  return <A, R>(next: (args: A) => Promise<R>) =>
    async function translateDependencyError(args: A): Promise<R> {
      try {
        return await next(args)
      } catch (error) {
        if (!isTransientAwsError(error)) throw error
        throw new DependencyUnavailableError(`${service} is unavailable right now`, { cause: error })
      }
    }
}
