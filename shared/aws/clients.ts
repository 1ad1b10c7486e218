import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { SQSClient } from '@aws-sdk/client-sqs'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'

export interface AwsClientsOptions {
  /** Omit to let the SDK resolve it (AWS_REGION, profile, Lambda environment). */
  region?: string
  /** Local emulator or LocalStack endpoints; omit for real AWS or `AWS_ENDPOINT_URL`. */
  endpoints?: { dynamodb?: string; sqs?: string }
}

export interface AwsClients {
  dynamo: DynamoDBClient
  doc: DynamoDBDocumentClient
  /**
   * A second low-level DynamoDB client for the lease writes of the hot path, with the SDK's
   * handler cache on (`cacheMiddleware`): the middleware chain is resolved once per command
   * class instead of on every call. The document client refuses that option on the client it
   * wraps, hence a client of its own (and sockets of its own).
   */
  lean: DynamoDBClient
  sqs: SQSClient
}

/**
 * The gateway issues many concurrent conditional writes (one per lease acquire and
 * release); the SDK's default pool of 50 sockets would queue them behind each other.
 */
const MAX_SOCKETS = 256

/**
 * Per-call steps the hot path pays for and nothing reads: the logger step runs
 * the SDK's sensitive-field filters over every input and output even with no
 * logger configured, and the user-agent step rebuilds the `user-agent` header
 * from feature flags on every call. Retry (the transient-error semantics the
 * stores rely on), signing, recursion detection (the Lambda trace id) and the
 * serializers stay.
 */
const UNNEEDED_STEPS = ['loggerMiddleware', 'getUserAgentMiddleware'] as const

function dropUnneededSteps(client: { middlewareStack: { remove(name: string): boolean } }): void {
  for (const name of UNNEEDED_STEPS) client.middlewareStack.remove(name)
}

/** Emulators accept any credentials; static ones skip the credential chain (and its IMDS probe). */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' }

function clientConfig(options: { region: string | undefined; endpoint: string | undefined }) {
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: LOCAL_CREDENTIALS } : {}),
    // Agent options rather than an Agent instance: each client owns its agent, so
    // destroying one client never closes the other's sockets.
    // Both agents: the emulators speak http, DynamoDB and SQS on AWS https.
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
      httpsAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
    },
  }
}

/**
 * The DynamoDB and SQS clients every Spillway process uses.
 *
 * @example
 * const { doc, sqs } = createAwsClients({ region: 'us-east-1', endpoints: local.endpoints })
 * // … when done (tests, local stack):
 * destroyAwsClients(clients)
 */
export function createAwsClients(options: AwsClientsOptions = {}): AwsClients {
  const dynamo = new DynamoDBClient(
    clientConfig({ region: options.region, endpoint: options.endpoints?.dynamodb }),
  )
  dropUnneededSteps(dynamo)
  // The document client shares the low-level client's stack, so it is trimmed too.
  const doc = DynamoDBDocumentClient.from(dynamo, {
    // Optional fields of domain records are `undefined`, which DynamoDB cannot store.
    marshallOptions: { removeUndefinedValues: true },
  })
  const lean = new DynamoDBClient({
    ...clientConfig({ region: options.region, endpoint: options.endpoints?.dynamodb }),
    cacheMiddleware: true,
  })
  dropUnneededSteps(lean)
  const sqs = new SQSClient(clientConfig({ region: options.region, endpoint: options.endpoints?.sqs }))
  dropUnneededSteps(sqs)
  return { dynamo, doc, lean, sqs }
}

/** Closes the clients' keep-alive sockets so the process (or a test worker) can exit. */
export function destroyAwsClients(clients: AwsClients): void {
  // The document client's destroy() is a no-op: the sockets belong to the wrapped client.
  clients.dynamo.destroy()
  clients.lean.destroy()
  clients.sqs.destroy()
}
