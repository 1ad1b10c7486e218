import { Duration } from 'aws-cdk-lib'
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SearchExpression,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch'
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions'
import type { IFunction } from 'aws-cdk-lib/aws-lambda'
import { Topic } from 'aws-cdk-lib/aws-sns'
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions'
import type { Queue } from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import {
  type CloudWatchMetricName,
  CLOUDWATCH_METRICS as CW,
  METRICS_NAMESPACE,
} from '../../shared/observability/metric-names.ts'
import type { QueueKey } from '../../shared/tables.ts'
import type { FunctionKey } from './functions.ts'

/** Namespace of the metrics the functions emit with Powertools (`POWERTOOLS_METRICS_NAMESPACE`). */
export { METRICS_NAMESPACE }

export interface AlarmThresholds {
  /** Oldest message age on the interactive queue before it alarms (default 10 minutes). */
  interactiveOldestMessage?: Duration
  /** Oldest message age on the batch queue before it alarms (default 1 hour). */
  batchOldestMessage?: Duration
  /** Gateway 5xx responses in 5 minutes before it alarms (default 5). */
  gateway5xxPer5Minutes?: number
}

export interface SpillwayObservabilityProps {
  functions: Readonly<Record<FunctionKey, IFunction>>
  queues: Readonly<Record<QueueKey, Queue>>
  deadLetterQueues: Readonly<Record<QueueKey, Queue>>
  /** Subscribed to the alarm topic when given (the address must confirm the subscription). */
  alarmEmail?: string
  thresholds?: AlarmThresholds
}

const FIVE_MINUTES = Duration.minutes(5)

/** Alarms to one SNS topic, and one dashboard for requests, slots, queues and jobs. */
export class SpillwayObservability extends Construct {
  readonly topic: Topic
  readonly alarms: Alarm[] = []
  readonly dashboard: Dashboard

  constructor(scope: Construct, id: string, props: SpillwayObservabilityProps) {
    super(scope, id)
    const { functions, queues, deadLetterQueues } = props
    this.topic = new Topic(this, 'AlarmTopic', { displayName: 'Spillway alarms', enforceSSL: true })
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail))

    const lanes: QueueKey[] = ['interactive', 'batch']
    for (const lane of lanes) {
      // The DLQ handler drains the DLQ within seconds, so "not empty" also counts what it took:
      // anything received from a DLQ means a job died, even if the DLQ is empty again.
      const dlq = deadLetterQueues[lane]
      this.alarm(`${lane}DeadLetters`, {
        metric: new MathExpression({
          expression: 'received + visible',
          usingMetrics: {
            received: dlq.metricNumberOfMessagesReceived({ statistic: 'Sum', period: FIVE_MINUTES }),
            visible: dlq.metricApproximateNumberOfMessagesVisible({
              statistic: 'Maximum',
              period: FIVE_MINUTES,
            }),
          },
          label: `${lane} DLQ messages`,
          period: FIVE_MINUTES,
        }),
        threshold: 1,
        description: `Messages reached the ${lane} dead-letter queue: jobs failed after repeated crashes.`,
      })
    }
    const oldest = {
      interactive: props.thresholds?.interactiveOldestMessage ?? Duration.minutes(10),
      batch: props.thresholds?.batchOldestMessage ?? Duration.hours(1),
    }
    for (const lane of lanes) {
      this.alarm(`${lane}OldestMessage`, {
        metric: queues[lane].metricApproximateAgeOfOldestMessage({
          statistic: 'Maximum',
          period: FIVE_MINUTES,
        }),
        threshold: oldest[lane].toSeconds(),
        description: `The ${lane} queue holds a message older than ${oldest[lane].toHumanString()}: no capacity, or the worker is stuck.`,
      })
    }
    this.alarm('gateway5xx', {
      metric: new Metric({
        namespace: 'AWS/Lambda',
        metricName: 'Url5xxCount',
        dimensionsMap: { FunctionName: functions.gateway.functionName },
        statistic: 'Sum',
        period: FIVE_MINUTES,
      }),
      threshold: props.thresholds?.gateway5xxPer5Minutes ?? 5,
      description: 'The gateway Function URL answered 5xx (function errors or timeouts).',
    })
    for (const [key, fn] of Object.entries(functions)) {
      this.alarm(`${key}Errors`, {
        metric: fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }),
        threshold: 1,
        description: `The ${key} function failed (uncaught error or timeout).`,
      })
      this.alarm(`${key}Throttles`, {
        metric: fn.metricThrottles({ statistic: 'Sum', period: FIVE_MINUTES }),
        threshold: 1,
        description: `The ${key} function was throttled: account concurrency or its own limit.`,
      })
    }

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) })
    // Only names from CLOUDWATCH_METRICS, which the functions emit (test/infra/dashboard-metrics.test.ts).
    const search = (metricName: CloudWatchMetricName, statistic: string) =>
      new SearchExpression({
        expression: `SEARCH('Namespace="${METRICS_NAMESPACE}" MetricName="${metricName}"', '${statistic}', 60)`,
        label: `${metricName} ${statistic}`,
        period: Duration.minutes(1),
      })
    const queueDepth: IMetric[] = lanes.flatMap((lane) => [
      queues[lane].metricApproximateNumberOfMessagesVisible({
        label: `${lane} waiting`,
        period: Duration.minutes(1),
      }),
      queues[lane].metricApproximateNumberOfMessagesNotVisible({
        label: `${lane} in flight`,
        period: Duration.minutes(1),
      }),
      deadLetterQueues[lane].metricApproximateNumberOfMessagesVisible({
        label: `${lane} DLQ`,
        period: Duration.minutes(1),
      }),
    ])
    this.dashboard.addWidgets(
      graph('Requests by route, hardware and status', [search(CW.requests, 'Sum')]),
      graph('Slots in use and free per hardware class', [
        search(CW.slotsInUse, 'Maximum'),
        search(CW.slotsFree, 'Minimum'),
      ]),
    )
    this.dashboard.addWidgets(
      graph('Request duration and time to first token (ms)', [
        search(CW.requestDuration, 'p99'),
        search(CW.timeToFirstToken, 'p50'),
        search(CW.timeToFirstToken, 'p99'),
      ]),
      graph('Backend state (0 healthy, 1 degraded, 2 out)', [search(CW.backendState, 'Maximum')]),
    )
    this.dashboard.addWidgets(
      graph('Queue depth', queueDepth),
      graph('Queue wait (ms)', [search(CW.queueWait, 'p50'), search(CW.queueWait, 'p99')]),
    )
    this.dashboard.addWidgets(
      graph('Job outcomes', [search(CW.jobOutcomes, 'Sum')]),
      graph('Capacity wanted (requests waiting per model)', [search(CW.capacityWanted, 'Maximum')]),
    )
    this.dashboard.addWidgets(
      graph(
        'Function errors and throttles',
        Object.entries(functions).flatMap(([key, fn]) => [
          fn.metricErrors({ label: `${key} errors`, period: Duration.minutes(1) }),
          fn.metricThrottles({ label: `${key} throttles`, period: Duration.minutes(1) }),
        ]),
      ),
      graph(
        'Function duration p99',
        Object.entries(functions).map(([key, fn]) =>
          fn.metricDuration({ label: key, statistic: 'p99', period: Duration.minutes(1) }),
        ),
      ),
    )
  }

  private alarm(id: string, options: { metric: IMetric; threshold: number; description: string }): void {
    const alarm = new Alarm(this, `${id.charAt(0).toUpperCase()}${id.slice(1)}Alarm`, {
      metric: options.metric,
      threshold: options.threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // Quiet metrics (no traffic, no errors) publish nothing: that is healthy, not unknown.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    })
    alarm.addAlarmAction(new SnsAction(this.topic))
    this.alarms.push(alarm)
  }
}

function graph(title: string, left: IMetric[]): GraphWidget {
  return new GraphWidget({ title, left, width: 12, height: 6 })
}
