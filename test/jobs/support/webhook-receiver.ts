import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import { vi } from 'vitest'

export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/** A valid Standard Webhooks secret (`whsec_` + base64 of 32 bytes), distinct per label. */
export function testWebhookSecret(label: string): string {
  return `whsec_${Buffer.from(label.padEnd(32, '.').slice(0, 32)).toString('base64')}`
}

/**
 * Whether a received webhook verifies with the Standard Webhooks library and `secret`, as any
 * receiver would check it. The library judges freshness against the wall clock; a sender on a
 * test clock is checked with the wall clock set to `nowMs`.
 */
export function isSignedWith(hit: ReceivedWebhook | undefined, secret: string, nowMs?: number): boolean {
  if (!hit) return false
  const headers = Object.fromEntries(
    Object.entries(hit.headers).flatMap(([name, value]) =>
      typeof value === 'string' ? [[name, value]] : [],
    ),
  )
  if (nowMs !== undefined) vi.useFakeTimers({ now: nowMs, toFake: ['Date'] })
  try {
    new Webhook(secret).verify(hit.body, headers)
    return true
  } catch {
    return false
  } finally {
    if (nowMs !== undefined) vi.useRealTimers()
  }
}

/**
 * A loopback HTTP server that answers with the given statuses in turn (the last one repeats).
 * `holdMs` keeps each request open that long before answering, so `peakInFlight()` shows how
 * many deliveries a sender had going at once.
 */
export async function startWebhookReceiver(
  statuses: number[],
  options: { holdMs?: number } = {},
): Promise<{
  url: string
  received: ReceivedWebhook[]
  peakInFlight(): number
  stop(): Promise<void>
}> {
  const received: ReceivedWebhook[] = []
  let inFlight = 0
  let peak = 0
  const server = createServer((req, res) => {
    inFlight++
    peak = Math.max(peak, inFlight)
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      received.push({ headers: req.headers, body })
      const status = statuses[Math.min(received.length, statuses.length) - 1] ?? 200
      setTimeout(() => {
        inFlight--
        res.writeHead(status).end()
      }, options.holdMs ?? 0)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/spillway?source=test`,
    received,
    peakInFlight: () => peak,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
