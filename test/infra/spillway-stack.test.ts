import { Match, type Template } from 'aws-cdk-lib/assertions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { METRICS_NAMESPACE } from '../../infra/constructs/observability.ts'
import { VISIBILITY_TO_TIMEOUT_RATIO } from '../../infra/constructs/queues.ts'
import { DEFAULT_CONFIG, parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { parseWebhookSecret } from '../../shared/jobs/webhook-secret.ts'
import { QUEUES, TABLES, WORKER_TIMEOUT_SECONDS } from '../../shared/tables.ts'
import { type Synthesized, synthSpillway } from './synth-spillway.ts'

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>

let synth: Synthesized
let template: Template

beforeAll(async () => {
  synth = await synthSpillway({ props: { spillway: { alarmEmail: 'ops@example.com' } } })
  template = synth.template
})
afterAll(() => synth.remove())

function functionId(key: 'Gateway' | 'Worker' | 'DeadLetters' | 'Reaper'): string {
  const ids = Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) =>
    id.startsWith(`Spillway${key}`),
  )
  expect(ids).toHaveLength(1)
  return ids[0]!
}

function queueId(name: string): string {
  const ids = Object.keys(template.findResources('AWS::SQS::Queue')).filter((id) =>
    new RegExp(`^SpillwayQueues${name}[0-9A-F]{8}$`).test(id),
  )
  expect(ids).toHaveLength(1)
  return ids[0]!
}

describe('SpillwayStack', () => {
  it('serves the gateway from a public Function URL that streams responses', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      InvokeMode: 'RESPONSE_STREAM',
      TargetFunctionArn: { 'Fn::GetAtt': [functionId('Gateway'), 'Arn'] },
    })
  })

  it('runs every function on ARM64 and nodejs24.x with source maps enabled', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Resources[string][]
    expect(functions).toHaveLength(4)
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps' } },
      })
    }
  })

  it('feeds the worker from both queues with partial batch failures and a concurrency cap', () => {
    for (const queue of ['Interactive', 'Batch']) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queueId(queue), 'Arn'] },
        FunctionName: { Ref: functionId('Worker') },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 5 },
        BatchSize: 5,
      })
    }
  })

  it('feeds the DLQ handler from both dead-letter queues', () => {
    for (const queue of ['InteractiveDeadLetter', 'BatchDeadLetter']) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queueId(queue), 'Arn'] },
        FunctionName: { Ref: functionId('DeadLetters') },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      })
    }
  })

  it('redrives each work queue to its own dead-letter queue after maxReceiveCount', () => {
    for (const [name, definition] of [
      ['Interactive', QUEUES.interactive],
      ['Batch', QUEUES.batch],
    ] as const) {
      template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [queueId(`${name}DeadLetter`), 'Arn'] },
          maxReceiveCount: definition.deadLetter.maxReceiveCount,
        },
        SqsManagedSseEnabled: true,
      })
    }
  })

  it('keeps every queue visibility timeout at least 6x its consumer timeout', () => {
    const timeoutOf = (id: string) =>
      (template.findResources('AWS::Lambda::Function')[id] as Resources[string]).Properties.Timeout as number
    expect(timeoutOf(functionId('Worker'))).toBe(WORKER_TIMEOUT_SECONDS)
    const queues = template.findResources('AWS::SQS::Queue') as Resources
    const pairs = [
      ['Interactive', 'Worker'],
      ['Batch', 'Worker'],
      ['InteractiveDeadLetter', 'DeadLetters'],
      ['BatchDeadLetter', 'DeadLetters'],
    ] as const
    for (const [queue, consumer] of pairs) {
      const visibility = queues[queueId(queue)]!.Properties.VisibilityTimeout as number
      expect(visibility).toBeGreaterThanOrEqual(VISIBILITY_TO_TIMEOUT_RATIO * timeoutOf(functionId(consumer)))
    }
  })

  it('enforces TLS on every queue', () => {
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy')) as Resources[string][]
    expect(policies).toHaveLength(4)
    for (const policy of policies) {
      expect(JSON.stringify(policy.Properties)).toContain('"aws:SecureTransport":"false"')
    }
  })

  it('builds on-demand tables with PITR, TTL and KMS encryption from the shared definitions', () => {
    for (const definition of Object.values(TABLES)) {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [{ AttributeName: definition.partitionKey.name, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: definition.ttlAttribute, Enabled: true },
        // SSEEnabled with no key ARN: the AWS-managed KMS key (aws/dynamodb).
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: false,
      })
    }
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'by-open-status' }),
        Match.objectLike({ IndexName: 'by-webhook-due' }),
      ],
    })
  })

  it('deletes tables with the stack by default (a personal account)', () => {
    const tables = Object.values(template.findResources('AWS::DynamoDB::Table')) as {
      DeletionPolicy?: string
    }[]
    expect(tables.map((table) => table.DeletionPolicy)).toEqual(['Delete', 'Delete', 'Delete'])
  })

  it('alarms on DLQ arrivals, oldest message age, gateway 5xx and every throttle, to the SNS topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resources[string][]
    const topicId = Object.keys(template.findResources('AWS::SNS::Topic'))[0]!
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }])
    const metricNames = alarms.map((alarm) =>
      alarm.Properties.MetricName
        ? String(alarm.Properties.MetricName)
        : JSON.stringify(alarm.Properties.Metrics)
            .match(/"MetricName":"(\w+)"/g)
            ?.join(','),
    )
    const count = (name: string) => metricNames.filter((names) => names?.includes(name)).length
    expect(count('NumberOfMessagesReceived')).toBe(2)
    expect(count('ApproximateAgeOfOldestMessage')).toBe(2)
    expect(count('Url5xxCount')).toBe(1)
    expect(count('Throttles')).toBe(4)
    expect(count('Errors')).toBe(4)
  })

  it('mails the alarms when an address is given', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    })
  })

  it('draws requests by route and hardware, slots, queue depth and job outcomes on the dashboard', () => {
    const dashboard = Object.values(
      template.findResources('AWS::CloudWatch::Dashboard'),
    )[0] as Resources[string]
    const body = JSON.stringify(dashboard.Properties.DashboardBody)
    for (const metric of ['Requests', 'SlotsInUse', 'JobOutcomes']) {
      expect(body).toContain(
        `Namespace=\\\\\\"${METRICS_NAMESPACE}\\\\\\" MetricName=\\\\\\"${metric}\\\\\\"`,
      )
    }
    expect(body).toContain('ApproximateNumberOfMessagesVisible')
  })

  it('gives each function its own log group with a retention', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup')) as Resources[string][]
    expect(groups).toHaveLength(4)
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30)
    for (const key of ['Gateway', 'Worker', 'DeadLetters', 'Reaper'] as const) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp(`^Spillway${key}Logs`) } },
      })
    }
  })

  it('runs the reaper every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionId('Reaper'), 'Arn'] } })],
    })
  })

  it('tells each function where the tables and queues it uses are, none it does not, and which config to run', () => {
    const resources = {
      SPILLWAY_TABLE_BACKENDS: { Ref: expect.stringMatching(/^SpillwayTablesBackends/) },
      SPILLWAY_TABLE_JOBS: { Ref: expect.stringMatching(/^SpillwayTablesJobs/) },
      SPILLWAY_TABLE_TENANTS: { Ref: expect.stringMatching(/^SpillwayTablesTenants/) },
      SPILLWAY_QUEUE_INTERACTIVE_URL: { Ref: queueId('Interactive') },
      SPILLWAY_QUEUE_BATCH_URL: { Ref: queueId('Batch') },
      SPILLWAY_DLQ_INTERACTIVE_URL: { Ref: queueId('InteractiveDeadLetter') },
      SPILLWAY_DLQ_BATCH_URL: { Ref: queueId('BatchDeadLetter') },
    }
    type Resource = keyof typeof resources
    const lanes: Resource[] = ['SPILLWAY_QUEUE_INTERACTIVE_URL', 'SPILLWAY_QUEUE_BATCH_URL']
    const uses: Record<string, Resource[]> = {
      Gateway: Object.keys(resources) as Resource[],
      // The tenant's policy travels on the job: no tenants table for the worker.
      Worker: ['SPILLWAY_TABLE_BACKENDS', 'SPILLWAY_TABLE_JOBS', ...lanes],
      DeadLetters: ['SPILLWAY_TABLE_JOBS'],
      Reaper: ['SPILLWAY_TABLE_BACKENDS', 'SPILLWAY_TABLE_JOBS', ...lanes],
    }
    const functions = template.findResources('AWS::Lambda::Function') as Resources
    for (const [key, used] of Object.entries(uses)) {
      const variables = (
        functions[functionId(key as 'Gateway')]!.Properties.Environment as {
          Variables: Record<string, unknown>
        }
      ).Variables
      expect(variables, key).toMatchObject({
        ...Object.fromEntries(used.map((name) => [name, resources[name]])),
        POWERTOOLS_SERVICE_NAME: expect.stringMatching(/^spillway-(gateway|worker|dlq|reaper)$/),
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        LOG_LEVEL: 'INFO',
      })
      for (const name of Object.keys(resources) as Resource[]) {
        if (!used.includes(name)) expect(variables[name], `${key} ${name}`).toBeUndefined()
      }
      expect(JSON.parse(String(variables.SPILLWAY_CONFIG))).toEqual(parseGatewayConfig(DEFAULT_CONFIG))
    }
  })

  it('gives every function that ends jobs the webhook secret ARN, so each can sign webhooks', () => {
    const secretIds = Object.keys(template.findResources('AWS::SecretsManager::Secret')).filter((id) =>
      id.startsWith('SpillwaySecretsWebhookKey'),
    )
    expect(secretIds).toHaveLength(1)
    const functions = template.findResources('AWS::Lambda::Function') as Resources
    for (const key of ['Worker', 'Reaper', 'DeadLetters'] as const) {
      const fn = functions[functionId(key as 'Gateway')]!
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables
      expect(variables.SPILLWAY_WEBHOOK_SECRET_ARN, key).toEqual({ Ref: secretIds[0] })
    }
  })

  it('generates a webhook secret that signs as a Standard Webhooks key, and lets no function post to private networks', () => {
    const [secret] = Object.values(
      template.findResources('AWS::SecretsManager::Secret', {
        Properties: { Description: Match.stringLikeRegexp('webhooks') },
      }),
    ) as Resources[string][]
    const generate = secret?.Properties.GenerateSecretString as Record<string, unknown>
    // Letters and digits only, a multiple of 4 long: always base64, of 24 to 64 bytes.
    expect(generate).toMatchObject({ ExcludePunctuation: true, IncludeSpace: false })
    expect(parseWebhookSecret('A'.repeat(Number(generate.PasswordLength)))).toMatch(/^whsec_/)
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function')) as Resources[string][]) {
      const variables = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables
      expect(variables?.SPILLWAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS).toBeUndefined()
    }
  })

  it('outputs the URL, the tables, the queues and the secret ARNs', () => {
    const outputs = Object.keys(template.findOutputs('*'))
    expect(outputs).toEqual(
      expect.arrayContaining([
        'Url',
        'BackendsTable',
        'JobsTable',
        'TenantsTable',
        'InteractiveQueueUrl',
        'BatchQueueUrl',
        'AdminKeySecretArn',
        'AgentKeySecretArn',
        'WebhookSecretArn',
        'BackendKeySecretArn',
      ]),
    )
  })
})
