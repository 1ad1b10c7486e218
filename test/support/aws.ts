import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { LocalAws } from '../../local/emulators.ts'
import { type AwsClients, createAwsClients } from '../../shared/aws/clients.ts'

/** SDK clients pointed at a running local stack; destroy them with `destroyAwsClients`. */
export function clientsFor(aws: Pick<LocalAws, 'region' | 'endpoints'>): AwsClients {
  return createAwsClients({ region: aws.region, endpoints: aws.endpoints })
}

/** A fresh directory under the OS temp dir and a function that removes it. */
export async function tempDir(name: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `spillway-${name}-`))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

/**
 * One message or none. The queues long-poll 20 s by default, so the wait is always explicit.
 * `visibilityTimeout: 0` hands the message straight back, as a consumer that crashed would.
 */
export async function receiveOne(
  sqs: SQSClient,
  options: { queueUrl: string; waitSeconds: number; visibilityTimeout?: number },
): Promise<Message | undefined> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: options.queueUrl,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: options.waitSeconds,
      ...(options.visibilityTimeout === undefined ? {} : { VisibilityTimeout: options.visibilityTimeout }),
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }),
  )
  return Messages?.[0]
}

/**
 * One endpoint in front of dynalite and fauxqs, routed by the JSON protocol's
 * `X-Amz-Target`, so the external-endpoint (LocalStack) path runs without LocalStack.
 */
export async function startSingleEndpoint(
  endpoints: LocalAws['endpoints'],
): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '')
    const upstream = target.startsWith('DynamoDB') ? endpoints.dynamodb : endpoints.sqs
    const forward = request(
      new URL(req.url ?? '/', upstream),
      { method: req.method, headers: req.headers },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers)
        reply.pipe(res)
      },
    )
    forward.on('error', () => res.destroy())
    req.pipe(forward)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
