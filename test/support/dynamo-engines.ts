import { javaAvailable } from '../../local/dynamodb-local.ts'
import type { DynamoEngine } from '../../local/emulators.ts'

/**
 * The DynamoDB emulators every adapter test runs against: dynalite (the local
 * default) and AWS's DynamoDB Local, which enforces the real service's limits
 * (4 KB expressions, 400 KB items) that dynalite lets through. DynamoDB Local
 * needs Java 17: in CI (`CI=true`) it is always included, so a missing Java fails
 * the run loudly; elsewhere it is left out with a note.
 *
 * @example
 * describe.each(DYNAMO_ENGINES)('Class: DynamoCapacityStore on %s', (engine) => { … })
 */
export const DYNAMO_ENGINES: readonly DynamoEngine[] = engines()

function engines(): DynamoEngine[] {
  if (process.env.CI || javaAvailable()) return ['dynalite', 'local']
  console.warn(
    'DynamoDB Local left out of the adapter tests: no `java` on PATH (CI=true makes this an error)',
  )
  return ['dynalite']
}
