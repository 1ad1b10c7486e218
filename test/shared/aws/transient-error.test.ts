import { describe, expect, it } from 'vitest'
import { isTransientAwsError } from '../../../shared/aws/transient-error.ts'

const named = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name, ...extra })

describe('Function: isTransientAwsError', () => {
  it('counts throttling, 5xx and connection failures after the SDK retried as transient', () => {
    expect(isTransientAwsError(named('ThrottlingException'))).toBe(true)
    expect(isTransientAwsError(named('ProvisionedThroughputExceededException'))).toBe(true)
    expect(isTransientAwsError(named('Whatever', { $metadata: { httpStatusCode: 503 } }))).toBe(true)
    expect(isTransientAwsError(named('Error', { code: 'ECONNREFUSED', $metadata: { attempts: 4 } }))).toBe(
      true,
    )
    expect(isTransientAwsError(named('Whatever', { $retryable: { throttling: true } }))).toBe(true)
  })

  it('leaves bugs and bad requests as they are', () => {
    expect(isTransientAwsError(new TypeError('x is undefined'))).toBe(false)
    expect(isTransientAwsError(named('ValidationException', { $metadata: { httpStatusCode: 400 } }))).toBe(
      false,
    )
    expect(
      isTransientAwsError(named('ConditionalCheckFailedException', { $metadata: { httpStatusCode: 400 } })),
    ).toBe(false)
    // A refused connection that did not come through the SDK (a backend, say) is not the store's.
    expect(isTransientAwsError(named('Error', { code: 'ECONNREFUSED' }))).toBe(false)
    expect(isTransientAwsError('ECONNREFUSED')).toBe(false)
  })
})
