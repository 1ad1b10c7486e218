import { Agent, request } from 'node:http'

/** One chat completion as the load generator saw it. Times in ms from `startedAt`. */
export interface CallResult {
  readonly ok: boolean
  readonly status: number
  readonly latencyMs: number
  /** Streams: time to the first content token. */
  readonly ttftMs?: number
  /** Streams: the longest wait between two reads that carried tokens. */
  readonly maxGapMs?: number
  readonly error?: string
}

export interface CallTarget {
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
}

export interface CallOptions {
  readonly agent: Agent
  readonly target: CallTarget
  readonly body: Buffer
  readonly stream: boolean
  /** `performance.now()` the latency counts from (the scheduled time, for open-loop load). */
  readonly startedAt?: number
}

/** A keep-alive pool big enough that the load generator never queues behind its own sockets. */
export function loadAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 1024 })
}

// A token event, not the role chunk (`"content":""`) nor the finish chunk.
const TOKEN = /"content":"[^"]/

/**
 * POSTs with `node:http` rather than fetch: the same lean client for the
 * baseline and the gateway, so its own cost is equal on both sides and cancels.
 */
export function callCompletion(options: CallOptions): Promise<CallResult> {
  const startedAt = options.startedAt ?? performance.now()
  const { url, headers } = options.target
  return new Promise((resolve) => {
    const req = request(
      {
        agent: options.agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': options.body.length },
      },
      (res) => {
        let ttft: number | undefined
        let lastToken = 0
        let maxGap = 0
        let tail = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          if (!options.stream) {
            tail += chunk
            return
          }
          if (TOKEN.test(chunk)) {
            const now = performance.now()
            if (ttft === undefined) ttft = now - startedAt
            else maxGap = Math.max(maxGap, now - lastToken)
            lastToken = now
          }
          tail = (tail + chunk).slice(-32)
        })
        res.on('end', () => {
          const latencyMs = performance.now() - startedAt
          const complete = options.stream ? tail.includes('[DONE]') : tail.includes('"choices"')
          const ok = res.statusCode === 200 && complete
          resolve({
            ok,
            status: res.statusCode ?? 0,
            latencyMs,
            ...(options.stream && ttft !== undefined ? { ttftMs: ttft, maxGapMs: maxGap } : {}),
            ...(ok ? {} : { error: `status ${res.statusCode}${complete ? '' : ', incomplete body'}` }),
          })
        })
        res.on('error', (error) =>
          resolve({ ok: false, status: 0, latencyMs: performance.now() - startedAt, error: error.message }),
        )
      },
    )
    req.on('error', (error) =>
      resolve({ ok: false, status: 0, latencyMs: performance.now() - startedAt, error: error.message }),
    )
    req.end(options.body)
  })
}
