import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { GetItemCommand } from '@aws-sdk/client-dynamodb'
import { afterEach, describe, expect, it } from 'vitest'
import { createAwsClients, destroyAwsClients } from '../../../shared/aws/clients.ts'

/** A DynamoDB endpoint that answers each call with the next scripted reply, recording what it was sent. */
async function scriptedDynamo(replies: { status: number; body: unknown }[]) {
  const seen: IncomingMessage['headers'][] = []
  const server: Server = createServer((req, res) => {
    seen.push(req.headers)
    req.resume()
    req.on('end', () => {
      const reply = replies.shift() ?? { status: 200, body: {} }
      res.writeHead(reply.status, { 'content-type': 'application/x-amz-json-1.0' })
      res.end(JSON.stringify(reply.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

describe('createAwsClients', () => {
  let stop: (() => void) | undefined
  afterEach(() => stop?.())

  it('still retries a throttled call (the transient-error semantics the stores rely on) with the trimmed stack', async () => {
    // Prepare
    const endpoint = await scriptedDynamo([
      {
        status: 400,
        body: { __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'slow down' },
      },
      { status: 200, body: { Item: { id: { S: 'a' } } } },
    ])
    const clients = createAwsClients({ region: 'us-east-1', endpoints: { dynamodb: endpoint.url } })
    stop = () => {
      destroyAwsClients(clients)
      endpoint.server.close()
    }

    // Act
    const out = await clients.dynamo.send(new GetItemCommand({ TableName: 't', Key: { id: { S: 'a' } } }))

    // Assess
    expect(out.Item?.id?.S).toBe('a')
    expect(out.$metadata.attempts).toBe(2)
    // Signed as on AWS; no per-call user-agent rebuilt from feature flags.
    expect(endpoint.seen[0]?.authorization).toMatch(/^AWS4-HMAC-SHA256 /)
    expect(endpoint.seen[0]?.['x-amz-user-agent']).toBeUndefined()
  })

  it('leaves out the logger and user-agent steps on every client, and keeps retry and signing', () => {
    const clients = createAwsClients({
      region: 'us-east-1',
      endpoints: { dynamodb: 'http://127.0.0.1:9', sqs: 'http://127.0.0.1:9' },
    })
    stop = () => destroyAwsClients(clients)
    for (const client of [clients.dynamo, clients.doc, clients.sqs]) {
      const steps = client.middlewareStack.identify().join('\n')
      expect(steps).not.toMatch(/loggerMiddleware|getUserAgentMiddleware/)
      expect(steps).toMatch(/retryMiddleware/)
      expect(steps).toMatch(/httpSigningMiddleware/)
    }
  })
})
