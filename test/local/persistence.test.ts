import { spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { GetQueueAttributesCommand, SendMessageCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs'
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { afterEach, describe, expect, it } from 'vitest'
import { type LocalAws, type StartLocalAwsOptions, startLocalAws } from '../../local/emulators.ts'
import { destroyAwsClients } from '../../shared/aws/clients.ts'
import { QUEUES } from '../../shared/tables.ts'
import { clientsFor, receiveOne, tempDir } from '../support/aws.ts'

describe('Function: startLocalAws (persistence)', () => {
  const cleanups: Array<() => Promise<void>> = []

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  /** Starts a stack that is stopped after the test even if the test stops it first. */
  async function start(options: StartLocalAwsOptions): Promise<LocalAws> {
    const aws = await startLocalAws(options)
    cleanups.push(() => aws.stop())
    return aws
  }

  async function writeJobAndMessage(aws: LocalAws): Promise<void> {
    const clients = clientsFor(aws)
    try {
      await clients.doc.send(
        new PutCommand({ TableName: aws.names.tables.jobs, Item: { id: 'job-1', status: 'queued' } }),
      )
      await clients.sqs.send(new SendMessageCommand({ QueueUrl: aws.queueUrls.batch, MessageBody: 'job-1' }))
    } finally {
      destroyAwsClients(clients)
    }
  }

  async function readJobAndMessage(aws: LocalAws): Promise<{ job: unknown; message: string | undefined }> {
    const clients = clientsFor(aws)
    try {
      const { Item } = await clients.doc.send(
        new GetCommand({ TableName: aws.names.tables.jobs, Key: { id: 'job-1' } }),
      )
      const message = await receiveOne(clients.sqs, { queueUrl: aws.queueUrls.batch, waitSeconds: 0 })
      return { job: Item, message: message?.Body }
    } finally {
      destroyAwsClients(clients)
    }
  }

  it('keeps items and messages across a restart on the same data directory', async () => {
    // Prepare
    const dir = await tempDir('persist')
    cleanups.push(dir.remove)
    const first = await start({ dataDir: dir.path })
    await writeJobAndMessage(first)
    await first.stop()

    // Act: the second bootstrap finds every table and queue already there.
    const second = await start({ dataDir: dir.path })

    // Assess
    expect(await readJobAndMessage(second)).toEqual({
      job: { id: 'job-1', status: 'queued' },
      message: 'job-1',
    })
  })

  it('keeps nothing across a restart without a data directory', async () => {
    const first = await start({})
    await writeJobAndMessage(first)
    await first.stop()

    const second = await start({})

    expect(await readJobAndMessage(second)).toEqual({ job: undefined, message: undefined })
  })

  it('brings a persisted queue whose attributes drifted back to its definition', async () => {
    // Prepare
    const dir = await tempDir('drift')
    cleanups.push(dir.remove)
    const first = await start({ dataDir: dir.path })
    const before = clientsFor(first)
    await before.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: first.queueUrls.interactive,
        Attributes: { VisibilityTimeout: '5' },
      }),
    )
    destroyAwsClients(before)
    await first.stop()

    // Act
    const second = await start({ dataDir: dir.path })

    // Assess
    const after = clientsFor(second)
    cleanups.push(async () => destroyAwsClients(after))
    const { Attributes } = await after.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: second.queueUrls.interactive,
        AttributeNames: ['VisibilityTimeout'],
      }),
    )
    expect(Attributes?.VisibilityTimeout).toBe(String(QUEUES.interactive.visibilityTimeoutSeconds))
  })

  it('refuses a data directory that a running stack holds', async () => {
    const dir = await tempDir('locked')
    cleanups.push(dir.remove)
    await start({ dataDir: dir.path })

    await expect(startLocalAws({ dataDir: dir.path })).rejects.toThrow(/in use by process/)
  })

  it('takes over a data directory whose holder died without stopping', async () => {
    // Prepare: the pid of a process that has already exited.
    const dir = await tempDir('stale')
    cleanups.push(dir.remove)
    const { pid } = spawnSync(process.execPath, ['-e', ''])
    await writeFile(join(dir.path, 'spillway.pid'), String(pid))

    // Act
    const aws = await start({ dataDir: dir.path })

    // Assess
    expect(aws.embedded).toBe(true)
  })
})
