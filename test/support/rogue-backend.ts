import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { AGENT_KEY, MODEL } from './gateway-stack.ts'

/** A hand-written HTTP server on loopback, for backends that misbehave in ways the simulator does not. */
export interface RogueBackend {
  readonly url: string
  /** Requests seen, as `METHOD /path`. */
  readonly hits: string[]
  close(): Promise<void>
}

export async function startRogueBackend(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<RogueBackend> {
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`)
    handle(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** `GET /v1/models` as vLLM answers it, for the registration check. */
export function serveModelList(res: ServerResponse, models: readonly string[] = [MODEL]): void {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ object: 'list', data: models.map((id) => ({ id, object: 'model' })) }))
}

/** Keeps a registered backend fresh, as its agent would, until stopped. */
export function keepHeartbeating(gatewayUrl: string, id: string, everyMs = 200): () => void {
  const beat = () =>
    fetch(`${gatewayUrl}/admin/backends/${id}/heartbeat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${AGENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ running: 0, waiting: 0 }),
    })
      .then((res) => res.body?.cancel())
      .catch(() => undefined)
  void beat()
  const timer = setInterval(beat, everyMs)
  return () => clearInterval(timer)
}

export async function registerBackend(
  gatewayUrl: string,
  registration: { id: string; url: string; hardware?: string; models?: string[]; maxConcurrency?: number },
): Promise<Response> {
  return fetch(`${gatewayUrl}/admin/backends`, {
    method: 'POST',
    headers: { authorization: `Bearer ${AGENT_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ hardware: 'h20', models: [MODEL], maxConcurrency: 4, ...registration }),
  })
}
