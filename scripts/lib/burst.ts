/**
 * Concurrent chat completions against a gateway, for the dashboard's browser
 * test, its screenshot and the demo. `Prefer: wait=N` holds a request that has
 * to queue (an inline answer), so a burst over capacity ends with every request
 * answered and none dropped.
 */
export interface BurstOptions {
  readonly gatewayUrl: string
  readonly key: string
  readonly model: string
  readonly count: number
  readonly maxTokens: number
  /** Seconds a queued request is held (`Prefer: wait=N`). */
  readonly holdSeconds?: number
  readonly stream?: boolean
}

export interface BurstAnswer {
  readonly status: number
  readonly route: string
  readonly hardware: string
  readonly backend: string
  readonly ms: number
  readonly queueMs?: number
}

export function burst(options: BurstOptions): Promise<BurstAnswer[]> {
  return Promise.all(Array.from({ length: options.count }, () => oneRequest(options)))
}

export async function oneRequest(options: BurstOptions): Promise<BurstAnswer> {
  const startedAt = performance.now()
  const res = await fetch(`${options.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${options.key}`,
      'content-type': 'application/json',
      prefer: `wait=${options.holdSeconds ?? 60}`,
    },
    body: JSON.stringify({
      model: options.model,
      messages: [{ role: 'user', content: 'Why do GPUs run out?' }],
      max_tokens: options.maxTokens,
      ...(options.stream ? { stream: true } : {}),
    }),
  })
  await res.arrayBuffer()
  const queueMs = Number(res.headers.get('x-spillway-queue-ms') ?? Number.NaN)
  return {
    status: res.status,
    route: res.headers.get('x-spillway-route') ?? 'none',
    hardware: res.headers.get('x-spillway-hardware') ?? 'none',
    backend: res.headers.get('x-spillway-backend') ?? 'none',
    ms: performance.now() - startedAt,
    ...(Number.isFinite(queueMs) ? { queueMs } : {}),
  }
}

/** `concurrency` clients each sending one request after another until `stop()`; resolves with every answer. */
export function steadyLoad(options: Omit<BurstOptions, 'count'> & { concurrency: number }) {
  let stopped = false
  const answers: BurstAnswer[] = []
  const client = async () => {
    while (!stopped) answers.push(await oneRequest({ ...options, count: 1 }))
  }
  const running = Promise.all(Array.from({ length: options.concurrency }, client))
  return {
    answers,
    /** Lets each client finish the request it has in flight. */
    async stop(): Promise<BurstAnswer[]> {
      stopped = true
      await running
      return answers
    },
  }
}
