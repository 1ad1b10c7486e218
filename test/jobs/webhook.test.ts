import { describe, expect, it } from 'vitest'
import type { JobRecord } from '../../shared/jobs/job-record.ts'
import {
  checkWebhookUrl,
  deliverWebhook,
  SIGNATURE_HEADER,
  signWebhook,
  verifyWebhookSignature,
} from '../../shared/jobs/webhook.ts'
import { startWebhookReceiver } from './support/webhook-receiver.ts'

const job: JobRecord = {
  id: 'job_webhook0001',
  tenantId: 'acme',
  model: 'm',
  request: {},
  stream: false,
  lane: 'interactive',
  mayDegrade: false,
  status: 'succeeded',
  requestId: 'r',
  createdAt: 1_800_000_000_000,
  updatedAt: 1_800_000_000_000,
  deadlineAt: 1_800_000_060_000,
  attempts: 1,
  result: { id: 'chatcmpl-1', choices: [] },
}

describe('Function: signWebhook / verifyWebhookSignature', () => {
  it('verifies its own signature, and nothing tampered, stale or signed with another secret', () => {
    const body = '{"a":1}'
    const header = signWebhook({ secret: 's3cret', timestampSeconds: 1000, body })
    expect(header).toMatch(/^t=1000,v1=[0-9a-f]{64}$/)
    const check = (overrides: Partial<Parameters<typeof verifyWebhookSignature>[0]>) =>
      verifyWebhookSignature({ secret: 's3cret', header, body, nowSeconds: 1010, ...overrides })
    expect(check({})).toBe(true)
    expect(check({ body: '{"a":2}' })).toBe(false)
    expect(check({ secret: 'other' })).toBe(false)
    expect(check({ nowSeconds: 2000 })).toBe(false)
    expect(check({ header: 'garbage' })).toBe(false)
  })
})

describe('Function: checkWebhookUrl', () => {
  it('refuses metadata and link-local targets and credentials, allows paths and queries', () => {
    expect(checkWebhookUrl('https://hooks.example.com/x?y=1')).toEqual({
      ok: true,
      url: 'https://hooks.example.com/x?y=1',
    })
    for (const bad of [
      'http://169.254.169.254/latest',
      'http://[fe80::1]/',
      'http://metadata.google.internal/',
      'ftp://x/',
      'https://u:p@x.com/',
      'nope',
      `https://hooks.example.com/${'a'.repeat(2048)}`,
    ]) {
      expect(checkWebhookUrl(bad).ok).toBe(false)
    }
  })
})

describe('Function: deliverWebhook', () => {
  it('retries a failing receiver with backoff and signs every attempt', async () => {
    const receiver = await startWebhookReceiver([500, 503, 204])
    try {
      const delivery = await deliverWebhook({
        job,
        url: receiver.url,
        secret: 's3cret',
        clock: Date.now,
        maxAttempts: 4,
        baseDelayMs: 20,
        timeoutMs: 2_000,
      })
      expect(delivery).toEqual({ delivered: true, attempts: 3, retryable: true })
      for (const hit of receiver.received) {
        const signed = verifyWebhookSignature({
          secret: 's3cret',
          header: String(hit.headers[SIGNATURE_HEADER]),
          body: hit.body,
          nowSeconds: Math.floor(Date.now() / 1000),
        })
        expect(signed).toBe(true)
      }
      expect(JSON.parse(receiver.received[0]?.body ?? '{}')).toMatchObject({
        type: 'job.succeeded',
        data: { id: job.id, object: 'inference.job', status: 'succeeded', result: { id: 'chatcmpl-1' } },
      })
    } finally {
      await receiver.stop()
    }
  })

  it('gives up at once on a 4xx and after maxAttempts otherwise', async () => {
    const refusing = await startWebhookReceiver([410])
    const broken = await startWebhookReceiver([500])
    try {
      const options = { job, secret: 's', clock: Date.now, maxAttempts: 3, baseDelayMs: 10, timeoutMs: 2_000 }
      expect(await deliverWebhook({ ...options, url: refusing.url })).toEqual({
        delivered: false,
        attempts: 1,
        retryable: false,
      })
      expect(await deliverWebhook({ ...options, url: broken.url })).toEqual({
        delivered: false,
        attempts: 3,
        retryable: true,
      })
    } finally {
      await Promise.all([refusing.stop(), broken.stop()])
    }
  })
})
