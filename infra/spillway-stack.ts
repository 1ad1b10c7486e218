import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib'
import type { Construct } from 'constructs'
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
      BackendsTable: { value: tables.backends.tableName, description: 'SPILLWAY_TABLE_BACKENDS' },
      JobsTable: { value: tables.jobs.tableName, description: 'SPILLWAY_TABLE_JOBS' },
      TenantsTable: {
        value: tables.tenants.tableName,
        description: 'SPILLWAY_TABLE_TENANTS (spillway keys)',
      },
      InteractiveQueueUrl: {
        value: queues.interactive.queueUrl,
        description: 'SPILLWAY_QUEUE_INTERACTIVE_URL',
      },
      BatchQueueUrl: { value: queues.batch.queueUrl, description: 'SPILLWAY_QUEUE_BATCH_URL' },
      InteractiveDeadLetterQueueUrl: {
        value: deadLetterQueues.interactive.queueUrl,
        description: 'SPILLWAY_DLQ_INTERACTIVE_URL',
      },
      BatchDeadLetterQueueUrl: {
        value: deadLetterQueues.batch.queueUrl,
        description: 'SPILLWAY_DLQ_BATCH_URL',
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
