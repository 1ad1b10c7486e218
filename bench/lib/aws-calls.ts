import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { SQSClient } from '@aws-sdk/client-sqs'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'

/** What the clients of this process asked of DynamoDB while counting. */
export interface DynamoOps {
  readonly calls: Readonly<Record<string, number>>
  readonly reads: number
  readonly writes: number
  /** Read and write capacity units as DynamoDB (here: the emulator) reported them. */
  readonly readUnits: number
  readonly writeUnits: number
  /** Conditional writes that failed (lost races, full backends): billed, but not reported. */
  readonly conditionalFailures: number
  readonly otherErrors: number
}

export interface AwsCalls {
  readonly dynamo: DynamoOps
  /** SQS API calls by operation; each is one billed request (a batch of up to 10 included). */
  readonly sqs: Readonly<Record<string, number>>
  readonly sqsRequests: number
  /** ReceiveMessage calls that returned at least one message (one worker invocation each on Lambda). */
  readonly sqsNonEmptyReceives: number
}

export interface AwsCallCounter {
  snapshot(): AwsCalls
  reset(): void
  /** Puts the SDK back as it was. */
  restore(): void
}

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems'])
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'])
/** The document client's command names, as the API operations they are. */
const DOCUMENT_NAMES: Readonly<Record<string, string>> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
}

type Send = (
  this: unknown,
  command: { input: Record<string, unknown> },
  ...rest: unknown[]
) => Promise<unknown>
interface Sender {
  send: Send
}

/**
 * Counts every DynamoDB and SQS call any client in this process makes, by
 * wrapping the clients' `send` (including clients built inside code the bench
 * cannot reach, such as the local worker poller's), and asks each DynamoDB call
 * for `ReturnConsumedCapacity: TOTAL` so its capacity comes back with it.
 * Clients in `ignore` (the bench's own bookkeeping) are not counted.
 * One counter at a time; `restore()` when done.
 */
export function countAwsCalls(options: { ignore?: readonly object[] } = {}): AwsCallCounter {
  const ignored = new WeakSet(options.ignore ?? [])
  let dynamoCalls: Record<string, number> = {}
  let sqsCalls: Record<string, number> = {}
  let readUnits = 0
  let writeUnits = 0
  let conditionalFailures = 0
  let otherErrors = 0
  let nonEmptyReceives = 0

  const restores: (() => void)[] = []
  const wrap = (prototype: Sender, service: 'dynamodb' | 'sqs') => {
    const own = Object.hasOwn(prototype, 'send')
    const original = prototype.send
    prototype.send = function countedSend(command, ...rest) {
      if (ignored.has(this as object)) return original.call(this, command, ...rest)
      const name = command.constructor.name.replace(/Command$/, '')
      if (service === 'sqs') {
        sqsCalls[name] = (sqsCalls[name] ?? 0) + 1
        return original.call(this, command, ...rest).then((out) => {
          if (name === 'ReceiveMessage' && ((out as { Messages?: unknown[] }).Messages?.length ?? 0) > 0) {
            nonEmptyReceives++
          }
          return out
        })
      }
      const operation = DOCUMENT_NAMES[name] ?? name
      dynamoCalls[operation] = (dynamoCalls[operation] ?? 0) + 1
      command.input.ReturnConsumedCapacity ??= 'TOTAL'
      return original.call(this, command, ...rest).then(
        (out) => {
          const consumed = (out as { ConsumedCapacity?: unknown }).ConsumedCapacity
          const units = [consumed]
            .flat()
            .reduce<number>(
              (sum, c) => sum + ((c as { CapacityUnits?: number } | undefined)?.CapacityUnits ?? 0),
              0,
            )
          if (READS.has(operation)) readUnits += units
          else writeUnits += units
          return out
        },
        (error: unknown) => {
          if ((error as Error).name === 'ConditionalCheckFailedException') conditionalFailures++
          else otherErrors++
          throw error
        },
      )
    }
    restores.push(() => {
      if (own) prototype.send = original
      else delete (prototype as Partial<Sender>).send
    })
  }
  // The document client does not go through DynamoDBClient.send: both are wrapped, each call counts once.
  wrap(DynamoDBClient.prototype as unknown as Sender, 'dynamodb')
  wrap(DynamoDBDocumentClient.prototype as unknown as Sender, 'dynamodb')
  wrap(SQSClient.prototype as unknown as Sender, 'sqs')

  return {
    snapshot() {
      const sum = (calls: Record<string, number>, kinds?: Set<string>) =>
        Object.entries(calls).reduce((n, [op, count]) => n + (!kinds || kinds.has(op) ? count : 0), 0)
      return {
        dynamo: {
          calls: { ...dynamoCalls },
          reads: sum(dynamoCalls, READS),
          writes: sum(dynamoCalls, WRITES),
          readUnits,
          writeUnits,
          conditionalFailures,
          otherErrors,
        },
        sqs: { ...sqsCalls },
        sqsRequests: sum(sqsCalls),
        sqsNonEmptyReceives: nonEmptyReceives,
      }
    },
    reset() {
      dynamoCalls = {}
      sqsCalls = {}
      readUnits = 0
      writeUnits = 0
      conditionalFailures = 0
      otherErrors = 0
      nonEmptyReceives = 0
    },
    restore() {
      for (const restore of restores.splice(0)) restore()
    },
  }
}
