import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../../shared/jobs/webhook.ts'

export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/** Whether a received webhook carries a valid signature for `secret`, checked at `nowMs`. */
export function isSignedWith(hit: ReceivedWebhook | undefined, secret: string, nowMs = Date.now()): boolean {
  return verifyWebhookSignature({
    secret,
    header: String(hit?.headers[SIGNATURE_HEADER]),
    body: hit?.body ?? '',
    nowSeconds: Math.floor(nowMs / 1000),
  })
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
