import { Agent, request } from 'node:http'
import { Readable } from 'node:stream'
import type { BackendCallOptions, BackendClient } from '../../shared/backends/backend-client.ts'

/**
 * An experiment, not a product: the gateway's BackendClient over `node:http`
 * instead of the global fetch, to measure what fetch costs on the hot path.
 */
export class NodeHttpBackendClient implements BackendClient {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 256 })

  chatCompletions(options: BackendCallOptions): Promise<Response> {
    const url = new URL('/v1/chat/completions', options.backend.url)
    const body = JSON.stringify(options.body)
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.#agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'content-length': Buffer.byteLength(body),
          },
          signal: options.signal,
        },
        (res) => {
          const headers = new Headers()
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') headers.set(name, value)
          }
          const init = { status: res.statusCode ?? 502, headers }
          if (options.body.stream === true) {
            resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, init))
            return
          }
          // A whole answer is read here, with no web stream in between.
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => resolve(new Response(Buffer.concat(chunks), init)))
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }
}
