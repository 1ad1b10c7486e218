import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import type { JobRecord } from '../../shared/jobs/job-record.ts'
import { deliverWebhook, webhookHeaders } from '../../shared/jobs/webhook.ts'
import { generateWebhookSecret, parseWebhookSecret } from '../../shared/jobs/webhook-secret.ts'
import { checkWebhookUrl, resolveWebhookTarget } from '../../shared/jobs/webhook-url.ts'
import { isSignedWith, startWebhookReceiver, testWebhookSecret } from './support/webhook-receiver.ts'

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
const SECRET = testWebhookSecret('webhook-test')
/** Receivers listen on 127.0.0.1, which only this policy lets a webhook reach. */
const LOCAL = { policy: { allowPrivateNetworks: true } }
const resolverOf =
  (table: Record<string, string[]>, calls: string[] = []) =>
  async (host: string) => {
    calls.push(host)
    const addresses = table[host]
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
    return addresses
  }

describe('Function: webhookHeaders', () => {
  it('signs so that the Standard Webhooks library verifies it, and nothing tampered or signed otherwise', () => {
    // Prepare
    const body = '{"a":1}'
    const now = Math.floor(Date.now() / 1000)

    // Act
    const headers = webhookHeaders({ secret: SECRET, id: 'job_1', timestampSeconds: now, body })

    // Assess
    expect(headers['webhook-id']).toBe('job_1')
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
    expect(new Webhook(SECRET).verify(body, headers)).toEqual({ a: 1 })
    expect(() => new Webhook(SECRET).verify('{"a":2}', headers)).toThrow()
    expect(() => new Webhook(testWebhookSecret('other')).verify(body, headers)).toThrow()
    const stale = webhookHeaders({ secret: SECRET, id: 'job_1', timestampSeconds: now - 3600, body })
    expect(() => new Webhook(SECRET).verify(body, stale)).toThrow(/too old/)
  })
})

describe('Function: parseWebhookSecret', () => {
  it('accepts whsec_ secrets and bare base64 (what Secrets Manager generates), refuses what cannot sign', () => {
    const generated = generateWebhookSecret()
    expect(generated).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(parseWebhookSecret(generated)).toBe(generated)
    const secretsManager = 'a'.repeat(48)
    expect(parseWebhookSecret(secretsManager)).toBe(`whsec_${secretsManager}`)
    expect(() => parseWebhookSecret('whsec-test')).toThrow(/base64/)
    expect(() => parseWebhookSecret('whsec_c2hvcnQ=')).toThrow(/24 to 64 bytes/)
  })
})

describe('Function: checkWebhookUrl', () => {
  it('accepts a query string (the backend rule refuses one), paths and both schemes', () => {
    expect(checkWebhookUrl('https://hooks.example.com/in?token=abc')).toEqual({
      ok: true,
      url: 'https://hooks.example.com/in?token=abc',
    })
    expect(checkWebhookUrl('http://93.184.215.14:8080/x').ok).toBe(true)
  })

  it('refuses loopback, private, link-local and metadata targets by default', () => {
    for (const bad of [
      'http://127.0.0.1:9000/hook',
      'http://localhost/hook',
      'http://10.1.2.3/',
      'http://172.20.0.1/',
      'http://192.168.1.1/',
      'http://[::1]/',
      'http://[fd00::1]/',
      'http://[::ffff:10.0.0.1]/',
      'http://100.100.100.200/',
      'http://169.254.169.254/latest',
      'http://[fe80::1]/',
      'http://metadata.google.internal/',
      'ftp://x/',
      'https://u:p@x.com/',
      'nope',
      `https://hooks.example.com/${'a'.repeat(2048)}`,
    ]) {
      expect({ bad, ok: checkWebhookUrl(bad).ok }).toEqual({ bad, ok: false })
    }
  })

  it('allows loopback and private targets only under the explicit policy, never link-local or metadata', () => {
    const policy = { allowPrivateNetworks: true }
    expect(checkWebhookUrl('http://127.0.0.1:9000/hook', policy).ok).toBe(true)
    expect(checkWebhookUrl('http://10.1.2.3/', policy).ok).toBe(true)
    expect(checkWebhookUrl('http://169.254.169.254/latest', policy).ok).toBe(false)
    expect(checkWebhookUrl('http://metadata.google.internal/', policy).ok).toBe(false)
  })
})

describe('Function: resolveWebhookTarget', () => {
  it('refuses a name that resolves to the metadata service, or to a private address by default', async () => {
    const resolve = resolverOf({
      '169.254.169.254.nip.io': ['169.254.169.254'],
      'intranet.example.com': ['93.184.215.14', '10.0.0.5'],
    })
    expect(
      await resolveWebhookTarget({ url: 'http://169.254.169.254.nip.io/latest', resolve }),
    ).toMatchObject({
      ok: false,
      retryable: false,
      reason: expect.stringContaining('169.254.169.254'),
    })
    expect(await resolveWebhookTarget({ url: 'https://intranet.example.com/in', resolve })).toMatchObject({
      ok: false,
      retryable: false,
    })
  })

  it('fails closed, and retryably, when the name does not resolve or the resolver is too slow', async () => {
    const slow = () => new Promise<string[]>((resolve) => setTimeout(() => resolve(['93.184.215.14']), 500))
    expect(
      await resolveWebhookTarget({ url: 'https://hooks.example.com/', resolve: slow, timeoutMs: 50 }),
    ).toMatchObject({ ok: false, retryable: true })
    expect(
      await resolveWebhookTarget({ url: 'https://nowhere.example.com/', resolve: resolverOf({}) }),
    ).toMatchObject({ ok: false, retryable: true })
  })
})

describe('Function: deliverWebhook', () => {
  it('retries a failing receiver with backoff and signs every attempt', async () => {
    const receiver = await startWebhookReceiver([500, 503, 204])
    try {
      const delivery = await deliverWebhook({
        job,
        url: receiver.url,
        secret: SECRET,
        clock: Date.now,
        maxAttempts: 4,
        baseDelayMs: 20,
        timeoutMs: 2_000,
        ...LOCAL,
      })
      expect(delivery).toEqual({ delivered: true, attempts: 3, retryable: true })
      for (const hit of receiver.received) {
        expect(isSignedWith(hit, SECRET)).toBe(true)
        expect(hit.headers['webhook-id']).toBe(job.id)
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
      const options = {
        job,
        secret: SECRET,
        clock: Date.now,
        maxAttempts: 3,
        baseDelayMs: 10,
        timeoutMs: 2_000,
        ...LOCAL,
      }
      expect(await deliverWebhook({ ...options, url: refusing.url })).toMatchObject({
        delivered: false,
        attempts: 1,
        retryable: false,
      })
      expect(await deliverWebhook({ ...options, url: broken.url })).toMatchObject({
        delivered: false,
        attempts: 3,
        retryable: true,
      })
    } finally {
      await Promise.all([refusing.stop(), broken.stop()])
    }
  })

  it('refuses a loopback receiver by default without connecting to it', async () => {
    const receiver = await startWebhookReceiver([204])
    try {
      const delivery = await deliverWebhook({
        job,
        url: receiver.url,
        secret: SECRET,
        clock: Date.now,
        maxAttempts: 3,
        baseDelayMs: 10,
        timeoutMs: 2_000,
      })
      expect(delivery).toMatchObject({ delivered: false, attempts: 1, retryable: false })
      expect(receiver.received).toHaveLength(0)
    } finally {
      await receiver.stop()
    }
  })

  it('connects to the address it checked, and checks the name again on every attempt', async () => {
    // Prepare: a name no real resolver knows, pointed at the receiver, then re-pointed (DNS rebinding).
    const receiver = await startWebhookReceiver([503])
    const port = new URL(receiver.url).port
    const calls: string[] = []
    const answers = [['127.0.0.1'], ['169.254.169.254']]
    const resolveHost = async (host: string) => {
      calls.push(host)
      return answers.shift() ?? []
    }
    try {
      // Act
      const delivery = await deliverWebhook({
        job,
        url: `http://hooks.spillway.test:${port}/in?token=abc`,
        secret: SECRET,
        clock: Date.now,
        maxAttempts: 4,
        baseDelayMs: 10,
        timeoutMs: 2_000,
        resolveHost,
        ...LOCAL,
      })

      // Assess
      expect(receiver.received).toHaveLength(1)
      expect(receiver.received[0]?.headers.host).toBe(`hooks.spillway.test:${port}`)
      expect(calls).toEqual(['hooks.spillway.test', 'hooks.spillway.test'])
      expect(delivery).toMatchObject({ delivered: false, attempts: 2, retryable: false })
      expect(delivery.reason).toContain('169.254.169.254')
    } finally {
      await receiver.stop()
    }
  })
})
