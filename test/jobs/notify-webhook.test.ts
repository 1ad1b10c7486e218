import { describe, expect, it } from 'vitest'
import { DEFAULT_WEBHOOK_SETTINGS, worstCaseDeliveryMs } from '../../shared/jobs/notify-webhook.ts'

describe('Function: worstCaseDeliveryMs', () => {
  it('counts every attempt timing out and every backoff at its full length', () => {
    // 4 attempts × 5 s, then backoffs of 1 + 2 + 4 s between them.
    expect(worstCaseDeliveryMs(DEFAULT_WEBHOOK_SETTINGS)).toBe(27_000)
    expect(worstCaseDeliveryMs({ maxAttempts: 1, baseDelayMs: 1_000, timeoutMs: 5_000 })).toBe(5_000)
  })
})
