/**
 * Every metric Spillway emits, in one place, so the code, the CDK dashboard and
 * the test that holds them together all agree on the names.
 */

/** Prometheus names (`GET /metrics` on the Node gateway and the local stack). */
export const PROMETHEUS_METRICS = {
  requests: 'spillway_requests_total',
  requestDuration: 'spillway_request_duration_seconds',
  timeToFirstToken: 'spillway_time_to_first_token_seconds',
  queueWait: 'spillway_queue_wait_seconds',
  slots: 'spillway_slots',
  queueDepth: 'spillway_queue_depth',
  queueOldestJobAge: 'spillway_queue_oldest_job_age_seconds',
  jobs: 'spillway_jobs_total',
  backendState: 'spillway_backend_state',
  capacityWanted: 'spillway_capacity_wanted',
} as const

/** CloudWatch namespace of the embedded-metric-format lines the functions write (Powertools Metrics). */
export const METRICS_NAMESPACE = 'Spillway'

/**
 * CloudWatch metric names and the function that emits each one. The dashboard
 * may graph only these; `test/infra/dashboard-metrics.test.ts` checks both ends.
 */
export const CLOUDWATCH_METRICS = {
  /** Gateway, one per chat completion; dimensions Route, Hardware, Status. */
  requests: 'Requests',
  /** Gateway, ms to the end of the body; dimensions Route, Hardware. */
  requestDuration: 'RequestDuration',
  /** Gateway, ms to the first body byte; dimensions Route, Hardware. */
  timeToFirstToken: 'TimeToFirstToken',
  /** Gateway (held answers) and worker (each job started), ms from creation to start. */
  queueWait: 'QueueWait',
  /** Gateway, requests waiting for a model with no capacity; dimension Model. */
  capacityWanted: 'CapacityWanted',
  /** Reaper, each run; dimension Hardware. */
  slotsInUse: 'SlotsInUse',
  slotsFree: 'SlotsFree',
  /** Reaper, each run: 0 healthy, 1 degraded, 2 out; dimension Backend. */
  backendState: 'BackendState',
  /** Worker and DLQ handler, one per job that ends; dimension Status. */
  jobOutcomes: 'JobOutcomes',
} as const

export type CloudWatchMetricName = (typeof CLOUDWATCH_METRICS)[keyof typeof CLOUDWATCH_METRICS]
