import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LocalAws, startLocalAws } from '../../local/emulators.ts'
import { destroyAwsClients } from '../../shared/aws/clients.ts'
import { DynamoJobStore } from '../../shared/jobs/dynamo-job-store.ts'
import { newJobId } from '../../shared/jobs/job-record.ts'
import { clientsFor } from '../support/aws.ts'
import { DYNAMO_ENGINES } from '../support/dynamo-engines.ts'
import { jobStoreContract, T0 } from './job-store-contract.ts'

describe.each(DYNAMO_ENGINES)('Class: DynamoJobStore on %s', (engine) => {
  let aws: LocalAws
  let clients: ReturnType<typeof clientsFor>
  let store: DynamoJobStore

  beforeAll(async () => {
    aws = await startLocalAws({ dynamodb: engine, prefix: `jobs-${engine}` })
    clients = clientsFor(aws)
    store = new DynamoJobStore({ doc: clients.doc, tableName: aws.names.tables.jobs })
  })
  afterAll(async () => {
    if (clients) destroyAwsClients(clients)
    await aws?.stop()
  })

  jobStoreContract(() => store)

  describe('Method: abandon (an item no reader can parse)', () => {
    const error = { code: 'worker_crashed', message: 'set aside', status: 502 }

    it('still fails a record that does not parse, and says it could not read it', async () => {
      const id = newJobId()
      await clients.doc.send(
        new PutCommand({
          TableName: aws.names.tables.jobs,
          Item: {
            id,
            kind: 'job',
            status: 'running',
            openStatus: 'running',
            checkAt: T0,
            requestJson: '{"x',
          },
        }),
      )
      expect(await store.abandon({ id, now: T0, error })).toEqual({ ended: true, job: undefined })
      const item = await clients.doc.send(new GetCommand({ TableName: aws.names.tables.jobs, Key: { id } }))
      expect(item.Item).toMatchObject({ status: 'failed', error })
      expect(item.Item?.openStatus).toBeUndefined()
    })
  })
})
