import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'

/**
 * One HTTP(S) POST to a URL whose name was already resolved and checked: the
 * connection goes to `address` whatever DNS answers now, while the Host header,
 * TLS SNI and certificate check still use the URL's name. No redirects are
 * followed (a 3xx is just a status), no pooled socket is reused, and the
 * response body is discarded unread.
 *
 * @example
 * const status = await postPinned({ url: new URL('https://hooks.example.com/in'), address: '93.184.215.14', family: 4, headers, body, timeoutMs: 5000 })
 */
export function postPinned(options: {
  url: URL
  address: string
  family: 4 | 6
  headers: Record<string, string>
  body: string
  timeoutMs: number
}): Promise<number> {
  const lookup: LookupFunction = (_host, lookupOptions, callback) => {
    // Node asks for every address when it races IPv4 and IPv6 (autoSelectFamily).
    if (lookupOptions.all) callback(null, [{ address: options.address, family: options.family }])
    else callback(null, options.address, options.family)
  }
  const send = options.url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise<number>((resolve, reject) => {
    const request = send(
      options.url,
      {
        method: 'POST',
        headers: { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)) },
        lookup,
        agent: false,
        signal: AbortSignal.timeout(options.timeoutMs),
      },
      (response) => {
        resolve(response.statusCode ?? 0)
        response.destroy()
      },
    )
    request.once('error', reject)
    request.end(options.body)
  })
}
