import { ConditionalCheckFailedException, DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs'
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAws, startLocalAws } from '../../local/emulators.ts'
import { type AwsClients, destroyAwsClients } from '../../shared/aws/clients.ts'
import { QUEUES, TABLES } from '../../shared/tables.ts'
import { clientsFor, receiveOne, startSingleEndpoint } from '../support/aws.ts'
import { DYNAMO_ENGINES } from '../support/dynamo-engines.ts'

describe('Function: startLocalAws', () => {
  let aws: LocalAws
  let clients: AwsClients

  beforeAll(async () => {
    aws = await startLocalAws({ prefix: 'emu' })
    clients = clientsFor(aws)
  })

  afterAll(async () => {
    destroyAwsClients(clients)
    await aws?.stop()
  })

  it('embeds both emulators on loopback', () => {
    expect(aws.embedded).toBe(true)
    expect(aws.endpoints.dynamodb).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(aws.endpoints.sqs).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it.each(Object.values(TABLES))(
    'creates the $key table with the keys and indexes of its definition',
    async (def) => {
      const { Table } = await clients.dynamo.send(
        new DescribeTableCommand({ TableName: aws.names.tables[def.key] }),
      )

      expect(Table?.TableStatus).toBe('ACTIVE')
      expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST')
      expect(Table?.KeySchema).toEqual([{ AttributeName: def.partitionKey.name, KeyType: 'HASH' }])
      const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((index) => ({
        name: index.IndexName,
        keys: index.KeySchema,
        projection: index.Projection?.ProjectionType,
        status: index.IndexStatus,
      }))
      expect(indexes).toEqual(
        def.globalIndexes.map((index) => ({
          name: index.indexName,
          keys: [
            { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
            ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' }] : []),
          ],
          projection: 'ALL',
          status: 'ACTIVE',
        })),
      )
    },
  )

  it.each(Object.values(QUEUES))(
    'creates the $key queue with its timeouts and a redrive policy to its DLQ',
    async (def) => {
      const dlqUrl = def.key === 'interactive' ? aws.queueUrls.interactiveDlq : aws.queueUrls.batchDlq
      const { Attributes: dlq } = await clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['All'] }),
      )
      const { Attributes: queue } = await clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: aws.queueUrls[def.key], AttributeNames: ['All'] }),
      )

      expect(queue?.VisibilityTimeout).toBe(String(def.visibilityTimeoutSeconds))
      expect(queue?.MessageRetentionPeriod).toBe(String(def.retentionSeconds))
      expect(queue?.ReceiveMessageWaitTimeSeconds).toBe(String(def.receiveWaitSeconds))
      expect(JSON.parse(queue?.RedrivePolicy ?? '{}')).toEqual({
        deadLetterTargetArn: dlq?.QueueArn,
        maxReceiveCount: def.deadLetter.maxReceiveCount,
      })
      expect(dlq?.QueueArn).toContain(aws.names.deadLetterQueues[def.key])
      expect(dlq?.MessageRetentionPeriod).toBe(String(def.deadLetter.retentionSeconds))
    },
  )

  it('parks a message that is received maxReceiveCount times and never deleted in the DLQ', async () => {
    // Prepare
    const body = JSON.stringify({ jobId: 'poison' })
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: aws.queueUrls.interactive, MessageBody: body }))

    // Act: a worker that crashes on every delivery, so the message comes back at once.
    const received: string[] = []
    for (let attempt = 0; attempt < QUEUES.interactive.deadLetter.maxReceiveCount; attempt++) {
      const message = await receiveOne(clients.sqs, {
        queueUrl: aws.queueUrls.interactive,
        waitSeconds: 1,
        visibilityTimeout: 0,
      })
      received.push(message?.Body ?? 'nothing')
    }
    // The next poll finds the receive count exhausted and moves the message instead.
    const afterLimit = await receiveOne(clients.sqs, { queueUrl: aws.queueUrls.interactive, waitSeconds: 0 })
    const parked = await receiveOne(clients.sqs, { queueUrl: aws.queueUrls.interactiveDlq, waitSeconds: 1 })

    // Assess
    expect(received).toEqual(Array(QUEUES.interactive.deadLetter.maxReceiveCount).fill(body))
    expect(afterLimit).toBeUndefined()
    expect(parked?.Body).toBe(body)
  })

  it('gives a child process every name and endpoint of the stack in its env', () => {
    expect(aws.env).toEqual({
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      SPILLWAY_DYNAMODB_ENDPOINT: aws.endpoints.dynamodb,
      SPILLWAY_SQS_ENDPOINT: aws.endpoints.sqs,
      SPILLWAY_TABLE_BACKENDS: 'emu-backends',
      SPILLWAY_TABLE_JOBS: 'emu-jobs',
      SPILLWAY_TABLE_TENANTS: 'emu-tenants',
      SPILLWAY_QUEUE_INTERACTIVE_URL: aws.queueUrls.interactive,
      SPILLWAY_QUEUE_BATCH_URL: aws.queueUrls.batch,
      SPILLWAY_DLQ_INTERACTIVE_URL: aws.queueUrls.interactiveDlq,
      SPILLWAY_DLQ_BATCH_URL: aws.queueUrls.batchDlq,
    })
  })

  it('names queues by URLs on the live SQS endpoint', () => {
    for (const url of Object.values(aws.queueUrls)) expect(url.startsWith(`${aws.endpoints.sqs}/`)).toBe(true)
  })
})

describe('Function: startLocalAws with an external endpoint', () => {
  it('embeds nothing and creates the same resources at that endpoint', async () => {
    // Prepare: one endpoint serving both APIs, as LocalStack does.
    const backing = await startLocalAws({ prefix: 'unused' })
    const endpoint = await startSingleEndpoint(backing.endpoints)
    const clients = clientsFor(backing)
    try {
      // Act
      const external = await startLocalAws({ prefix: 'ext', endpointUrl: endpoint.url })
      await external.stop()

      // Assess
      expect(external.embedded).toBe(false)
      expect(external.endpoints).toEqual({ dynamodb: endpoint.url, sqs: endpoint.url })
      const { Table } = await clients.dynamo.send(new DescribeTableCommand({ TableName: 'ext-jobs' }))
      expect(Table?.GlobalSecondaryIndexes?.[0]?.IndexName).toBe(TABLES.jobs.globalIndexes[0]?.indexName)
      const { Attributes } = await clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: external.queueUrls.batch,
          AttributeNames: ['RedrivePolicy'],
        }),
      )
      expect(Attributes?.RedrivePolicy).toContain('ext-batch-dlq')
    } finally {
      destroyAwsClients(clients)
      await endpoint.stop()
      await backing.stop()
    }
  })
})

describe('Method: LocalAws.stop', () => {
  it('can be called twice', async () => {
    const aws = await startLocalAws()

    await aws.stop()

    await expect(aws.stop()).resolves.toBeUndefined()
  })
})

/**
 * What the capacity store and job store ask of DynamoDB, checked against both emulators so a
 * regression in one shows up here rather than as a flaky invariant test.
 */
describe.each(DYNAMO_ENGINES)('Emulator: %s', (engine) => {
  let aws: LocalAws
  let clients: AwsClients
  let backends: string

  beforeAll(async () => {
    aws = await startLocalAws({ prefix: 'ddb', dynamodb: engine })
    clients = clientsFor(aws)
    backends = aws.names.tables.backends
  })

  afterAll(async () => {
    destroyAwsClients(clients)
    await aws?.stop()
  })

  const names = { '#leases': 'leases', '#max': 'maxConcurrency', '#id': 'lease-1' }
  const putBackend = (id: string, leases: Record<string, number>) =>
    clients.doc.send(new PutCommand({ TableName: backends, Item: { id, maxConcurrency: 1, leases } }))
  const acquire = (id: string) =>
    clients.doc.send(
      new UpdateCommand({
        TableName: backends,
        Key: { id },
        UpdateExpression: 'SET #leases.#id = :v',
        ConditionExpression: 'size(#leases) < #max',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':v': 123 },
        ReturnValues: 'ALL_NEW',
      }),
    )

  it('runs as the engine it was asked for', () => {
    expect(aws.dynamodb.engine).toBe(engine)
    expect(aws.dynamodb.pid !== undefined).toBe(engine === 'local')
  })

  // Why DynamoDB Local is in the suite: the service refuses an expression over 4 KB (a
  // ValidationException that no retry cures) and dynalite lets it through.
  it(`${engine === 'local' ? 'refuses' : 'accepts'} a condition expression over 4 KB`, async () => {
    await putBackend('long-condition', {})
    const paths = Array.from({ length: 60 }, (_, i) => `attribute_not_exists(#leases.#r${i})`)
    const write = clients.doc.send(
      new UpdateCommand({
        TableName: backends,
        Key: { id: 'long-condition' },
        UpdateExpression: 'SET #leases.#id = :v',
        ConditionExpression: paths.join(' AND ').padEnd(4_200, ' '),
        ExpressionAttributeNames: {
          '#leases': 'leases',
          '#id': 'lease-1',
          ...Object.fromEntries(paths.map((_, i) => [`#r${i}`, `r${i}`])),
        },
        ExpressionAttributeValues: { ':v': 1 },
      }),
    )

    if (engine === 'local') await expect(write).rejects.toThrow(/expression|length|size/i)
    else await expect(write).resolves.toBeDefined()
  })

  it('sets a map entry under a size(map) < attribute condition and returns ALL_NEW', async () => {
    await putBackend('free', {})

    const { Attributes } = await acquire('free')

    expect(Attributes).toEqual({ id: 'free', maxConcurrency: 1, leases: { 'lease-1': 123 } })
  })

  it('rejects the write with ConditionalCheckFailedException when the map is full', async () => {
    await putBackend('full', { other: 1 })

    await expect(acquire('full')).rejects.toBeInstanceOf(ConditionalCheckFailedException)
  })

  it('removes a map entry and returns ALL_NEW', async () => {
    await putBackend('held', { 'lease-1': 1, other: 2 })

    const { Attributes } = await clients.doc.send(
      new UpdateCommand({
        TableName: backends,
        Key: { id: 'held' },
        UpdateExpression: 'REMOVE #leases.#id',
        ExpressionAttributeNames: { '#leases': 'leases', '#id': 'lease-1' },
        ReturnValues: 'ALL_NEW',
      }),
    )

    expect(Attributes?.leases).toEqual({ other: 2 })
  })

  it('reclaims an expired entry and sets a new one in one conditional write', async () => {
    await putBackend('stale', { old: 100 })

    const { Attributes } = await clients.doc.send(
      new UpdateCommand({
        TableName: backends,
        Key: { id: 'stale' },
        UpdateExpression: 'SET #leases.#id = :exp REMOVE #leases.#old',
        ConditionExpression:
          'attribute_not_exists(#leases.#id) AND #leases.#old < :now AND (size(#leases) < #max OR attribute_exists(#leases.#old))',
        ExpressionAttributeNames: { ...names, '#old': 'old' },
        ExpressionAttributeValues: { ':exp': 500, ':now': 200 },
        ReturnValues: 'ALL_NEW',
      }),
    )

    expect(Attributes?.leases).toEqual({ 'lease-1': 500 })
  })

  it('serialises concurrent conditional writes on one item: never more entries than the maximum', async () => {
    await clients.doc.send(
      new PutCommand({ TableName: backends, Item: { id: 'contended', maxConcurrency: 4, leases: {} } }),
    )

    const attempts = Array.from({ length: 40 }, (_, i) =>
      clients.doc.send(
        new UpdateCommand({
          TableName: backends,
          Key: { id: 'contended' },
          UpdateExpression: 'SET #leases.#id = :v',
          ConditionExpression: 'size(#leases) < #max',
          ExpressionAttributeNames: { ...names, '#id': `lease-${i}` },
          ExpressionAttributeValues: { ':v': i },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    )
    const results = await Promise.allSettled(attempts)

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(4)
    const failures = results.filter((r) => r.status === 'rejected').map((r) => r.reason)
    expect(failures.every((e) => e instanceof ConditionalCheckFailedException)).toBe(true)
  })

  it('queries the sparse by-open-status index by status and due time', async () => {
    const jobs = aws.names.tables.jobs
    const index = TABLES.jobs.globalIndexes[0]!
    const put = (Item: Record<string, unknown>) => clients.doc.send(new PutCommand({ TableName: jobs, Item }))
    await put({ id: 'due', openStatus: 'queued', checkAt: 10 })
    await put({ id: 'later', openStatus: 'queued', checkAt: 99 })
    await put({ id: 'running', openStatus: 'running', checkAt: 5 })
    await put({ id: 'done', status: 'succeeded', checkAt: 1 })

    const { Items } = await clients.doc.send(
      new QueryCommand({
        TableName: jobs,
        IndexName: index.indexName,
        KeyConditionExpression: '#s = :s AND #at <= :now',
        ExpressionAttributeNames: { '#s': index.partitionKey.name, '#at': index.sortKey!.name },
        ExpressionAttributeValues: { ':s': 'queued', ':now': 50 },
      }),
    )

    expect(Items?.map((item) => item.id)).toEqual(['due'])
  })
})
