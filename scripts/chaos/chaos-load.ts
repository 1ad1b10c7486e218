import type { Random } from '../../local/fleet/prng.ts'

/** What a chaos client asked for. */
export type RequestKind = 'sync' | 'stream' | 'held' | 'async'

/** One client request and the one outcome it saw. */
export interface ClientOutcome {
  readonly kind: RequestKind
  /** Unique text in the prompt, so the simulators' records name the request (and its job). */
  readonly marker: string
  readonly gatewayPid: number
  /** HTTP status, or 0 when the connection broke (its gateway was killed). */
  readonly status: number
  /** Epoch ms it was sent, and how long until its answer was read whole. */
  readonly sentAt: number
  readonly ms: number
  /** Why the outcome breaks the contract; undefined when it keeps it. */
  readonly problem?: string
  /** The job of a 202, and the terminal status it reached (undefined: never did). */
  readonly job?: { readonly id: string; readonly status?: string }
}

export interface LoadTarget {
  /** A live gateway to send to, and its pid (to tell a killed gateway's broken connection). */
  pickGateway(): { url: string; pid: number } | undefined
  /** Whether the gateway with this pid was killed after `since` (epoch ms). */
  killedSince(pid: number, since: number): boolean
}

export const CHAOS_MODEL = 'deepseek-r1-distill-llama-8b'
const TERMINAL = new Set(['succeeded', 'failed', 'expired', 'cancelled'])

/** Client keys by kind: strict and degrading tenants call directly, queuing ones are held or async. */
export interface ChaosKeys {
  readonly strict: string
  readonly degrade: string
  readonly queue: string
  readonly batch: string
}

/**
 * Mixed load from `clients` concurrent loops until `until`: plain and streaming
 * completions, held ones (`Prefer: wait`) and async jobs polled to their end.
 * Every answer is checked against the contract as it arrives.
 */
export async function runLoad(options: {
  target: LoadTarget
  keys: ChaosKeys
  clients: number
  until: number
  random: Random
  record: (outcome: ClientOutcome) => void
}): Promise<void> {
  let n = 0
  const loop = async (client: number) => {
    while (Date.now() < options.until) {
      const roll = options.random()
      const kind: RequestKind = roll < 0.35 ? 'sync' : roll < 0.65 ? 'stream' : roll < 0.85 ? 'held' : 'async'
      const marker = `chaos-${client}-${++n}`
      const maxTokens = 8 + Math.floor(options.random() * 56)
      const gateway = options.target.pickGateway()
      if (!gateway) {
        await sleep(50)
        continue
      }
      options.record(await oneRequest({ ...options, kind, marker, maxTokens, gateway }))
    }
  }
  await Promise.all(Array.from({ length: options.clients }, (_, i) => loop(i)))
}

async function oneRequest(o: {
  target: LoadTarget
  keys: ChaosKeys
  kind: RequestKind
  marker: string
  maxTokens: number
  gateway: { url: string; pid: number }
  random: Random
}): Promise<ClientOutcome> {
  const { kind, marker, gateway } = o
  const key =
    kind === 'held' || kind === 'async'
      ? o.random() < 0.5
        ? o.keys.queue
        : o.keys.batch
      : o.random() < 0.5
        ? o.keys.strict
        : o.keys.degrade
  const headers: Record<string, string> = {
    authorization: `Bearer ${key}`,
    'content-type': 'application/json',
    // The marker names the request in the gateways' logs too.
    'x-request-id': marker,
  }
  if (kind === 'held') headers.prefer = 'wait=8'
  if (kind === 'async') headers.prefer = 'respond-async'
  const body = {
    model: CHAOS_MODEL,
    messages: [{ role: 'user', content: marker }],
    max_tokens: o.maxTokens,
    stream: kind === 'stream' || (kind === 'held' && o.random() < 0.3),
  }
  const sentAt = Date.now()
  const base = { kind, marker, gatewayPid: gateway.pid, sentAt, ms: 0 }
  let res: Response
  let text: string
  try {
    res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    })
    text = await res.text()
    base.ms = Date.now() - sentAt
  } catch (error) {
    // A gateway SIGKILLed mid-request drops its connections: that is its explicit end.
    if (o.target.killedSince(gateway.pid, sentAt)) return { ...base, status: 0 }
    return { ...base, status: 0, problem: `connection failed with no gateway killed: ${String(error)}` }
  }
  const problem = contractProblem({
    kind,
    status: res.status,
    text,
    stream: body.stream,
    headers: res.headers,
  })
  if (problem || res.status !== 202) return { ...base, status: res.status, ...(problem ? { problem } : {}) }
  const id = (JSON.parse(text) as { id: string }).id
  return { ...base, status: 202, job: { id, ...(await pollJob({ ...o, id, key })) } }
}

/** Long-polls the job to a terminal status through whichever gateways are alive. */
async function pollJob(o: { target: LoadTarget; id: string; key: string }): Promise<{ status?: string }> {
  const until = Date.now() + 45_000
  while (Date.now() < until) {
    const gateway = o.target.pickGateway()
    if (!gateway) {
      await sleep(100)
      continue
    }
    try {
      const res = await fetch(`${gateway.url}/v1/jobs/${o.id}?wait=5`, {
        headers: { authorization: `Bearer ${o.key}` },
        signal: AbortSignal.timeout(15_000),
      })
      const job = (await res.json()) as { status?: string }
      if (job.status && TERMINAL.has(job.status)) return { status: job.status }
    } catch {
      await sleep(100)
    }
  }
  return {}
}

/** What is wrong with an answer, by the HTTP contract; undefined when nothing is. */
export function contractProblem(o: {
  kind: RequestKind
  status: number
  text: string
  stream: boolean
  headers: Headers
}): string | undefined {
  if (o.status === 202) {
    // A held request whose wait ran out is answered 202 too (shared/jobs/overflow.ts, as
    // docs/ARCHITECTURE.md describes it); its job is then followed to its end like an async one.
    if (o.kind !== 'async' && o.kind !== 'held') return `a ${o.kind} request got a 202`
    return o.headers.get('location')?.startsWith('/v1/jobs/') ? undefined : '202 without a job Location'
  }
  if (o.status === 200) {
    if (!o.stream) {
      try {
        const parsed = JSON.parse(o.text) as { choices?: unknown[] }
        return Array.isArray(parsed.choices) ? undefined : '200 without choices'
      } catch {
        return '200 with a body that is not JSON'
      }
    }
    const events = o.text.split('\n\n').filter((event) => event.startsWith('data: '))
    const last = events.at(-1) ?? ''
    if (last === 'data: [DONE]') return undefined
    // A stream that broke must end with an error event, never a silent truncated 200.
    return errorShapeProblem(last.slice('data: '.length))
      ? `stream ended without [DONE] or an error event: ${last.slice(0, 120)}`
      : undefined
  }
  if (o.status >= 500 && o.status !== 502 && o.status !== 503 && o.status !== 504) {
    return `server error ${o.status}: ${o.text.slice(0, 200)}`
  }
  const shape = errorShapeProblem(o.text)
  return shape ? `${o.status} ${shape}` : undefined
}

/** OpenAI's error shape: `{"error":{"message","type","param","code"}}` with a message. */
function errorShapeProblem(text: string): string | undefined {
  try {
    const { error } = JSON.parse(text) as { error?: Record<string, unknown> }
    if (!error || typeof error.message !== 'string' || error.message.length === 0)
      return 'error without a message'
    if (typeof error.type !== 'string' || !('param' in error) || !('code' in error))
      return 'error not OpenAI-shaped'
    return undefined
  } catch {
    return `error body is not JSON: ${text.slice(0, 120)}`
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
