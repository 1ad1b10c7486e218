/**
 * Public AWS list prices the cost model uses, in one table: us-east-1, on-demand,
 * first pricing tier, no free tier, as published on the AWS pricing pages
 * (Lambda, DynamoDB on-demand since the November 2024 reduction, SQS standard).
 * Change them here; every cost figure in latest.json follows.
 */
export const PRICES = {
  region: 'us-east-1',
  checked: '2026-01',
  lambda: {
    /** USD per GB-second, Arm (Graviton): the stack deploys arm64. */
    perGbSecondArm: 0.0000133334,
    /** USD per request (0.20 per million). */
    perRequest: 0.2 / 1e6,
    /** Function URLs cost nothing beyond the invocation; streaming is free for the first 6 MB per response. */
    functionUrl: 0,
  },
  dynamodb: {
    /** On-demand, USD per write request unit (0.625 per million). */
    perWriteRequestUnit: 0.625 / 1e6,
    /** On-demand, USD per read request unit (0.125 per million). */
    perReadRequestUnit: 0.125 / 1e6,
  },
  sqs: {
    /** Standard queue, USD per request (0.40 per million; each 64 KB chunk of a payload is one request). */
    perRequest: 0.4 / 1e6,
  },
} as const

/** The gateway function's memory in the CDK stack (`infra/constructs/spillway-gateway.ts`, default). */
export const GATEWAY_MEMORY_MB = 256
/** Lambda gives one full vCPU at 1,769 MB and a proportional share below it. */
export const FULL_VCPU_MEMORY_MB = 1769
