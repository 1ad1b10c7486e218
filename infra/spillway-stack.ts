import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib'
import type { Construct } from 'constructs'
import { DEAD_LETTER_QUEUE_ENV, QUEUE_ENV, TABLE_ENV } from '../shared/runtime/env-names.ts'
import { SpillwayGateway, type SpillwayGatewayProps } from './constructs/spillway-gateway.ts'

export interface SpillwayStackProps extends StackProps {
  spillway?: SpillwayGatewayProps
}

/**
 * One stack, one `SpillwayGateway`, and the outputs a user needs after `cdk deploy`:
 * the HTTPS URL, the table names (for `npm run keys`), the queue URLs and the secret ARNs.
 * Environment-agnostic (no account or region), so `cdk synth` needs no credentials.
 */
export class SpillwayStack extends Stack {
  readonly spillway: SpillwayGateway

  constructor(scope: Construct, id: string, props: SpillwayStackProps = {}) {
    super(scope, id, {
      description:
        'Spillway: serverless OpenAI-compatible inference gateway (GPU leases, CPU fallback, SQS overflow)',
      ...props,
    })
    const spillway = new SpillwayGateway(this, 'Spillway', props.spillway)
    this.spillway = spillway
    const { tables } = spillway.tables
    const { queues, deadLetterQueues } = spillway.queues
    const { secrets } = spillway.secrets
    const outputs: Record<string, { value: string; description: string }> = {
      Url: { value: spillway.url.url, description: 'Gateway HTTPS URL (OpenAI baseURL: append v1)' },
      Region: { value: this.region, description: 'Region of the deployment (AWS_REGION for the tools)' },
      BackendsTable: { value: tables.backends.tableName, description: TABLE_ENV.backends },
      JobsTable: { value: tables.jobs.tableName, description: TABLE_ENV.jobs },
      TenantsTable: {
        value: tables.tenants.tableName,
        description: `${TABLE_ENV.tenants} (spillway keys)`,
      },
      InteractiveQueueUrl: {
        value: queues.interactive.queueUrl,
        description: QUEUE_ENV.interactive,
      },
      BatchQueueUrl: { value: queues.batch.queueUrl, description: QUEUE_ENV.batch },
      InteractiveDeadLetterQueueUrl: {
        value: deadLetterQueues.interactive.queueUrl,
        description: DEAD_LETTER_QUEUE_ENV.interactive,
      },
      BatchDeadLetterQueueUrl: {
        value: deadLetterQueues.batch.queueUrl,
        description: DEAD_LETTER_QUEUE_ENV.batch,
      },
      AdminKeySecretArn: { value: secrets.admin.secretArn, description: 'Secret holding the admin key' },
      AgentKeySecretArn: {
        value: secrets.agent.secretArn,
        description: 'Secret holding the backend agent key',
      },
      BackendKeySecretArn: {
        value: secrets.backend.secretArn,
        description: 'Secret holding the key sent to backends (vLLM --api-key)',
      },
      WebhookSecretArn: {
        value: secrets.webhook.secretArn,
        description: 'Secret holding the webhook signing key (receivers verify with whsec_ + its value)',
      },
      AlarmTopicArn: { value: spillway.observability.topic.topicArn, description: 'SNS topic of the alarms' },
      DashboardName: {
        value: spillway.observability.dashboard.dashboardName,
        description: 'CloudWatch dashboard',
      },
    }
    for (const [id, output] of Object.entries(outputs)) new CfnOutput(this, id, output)
  }
}
