/**
 * Errors that mean DynamoDB or SQS is overloaded or unreachable right now, once the
 * SDK's own retries are spent: a client should retry shortly (503 with Retry-After),
 * unlike a bug (500). Anything else is not transient.
 */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
])

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'])

export function isTransientAwsError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const detail = error as Error & {
    $retryable?: unknown
    $metadata?: { httpStatusCode?: number }
    code?: unknown
  }
  if (detail.$retryable) return true
  if (TRANSIENT_NAMES.has(error.name)) return true
  const status = detail.$metadata?.httpStatusCode
  if (status !== undefined && (status === 429 || status >= 500)) return true
  // Connection failures carry no HTTP status; the SDK attaches `$metadata` after its retries.
  return typeof detail.code === 'string' && NETWORK_CODES.has(detail.code) && detail.$metadata !== undefined
}
