/**
 * What the agent asks the model server it sits next to: is it up, what does it
 * serve, how many sequences does it run at once, how loaded is it now. Every
 * call is bounded by a timeout and answers a value, never throws.
 */
import {
  type EngineLoad,
  type EngineName,
  positiveInt,
  readEngineLoad,
  slotsFromMetrics,
} from './engine-dialects.ts'

export interface ProbeOptions {
  readonly engine: EngineName
  /** Base URL of the server, without `/v1`. */
  readonly backendUrl: string
  /** Sent on every probe when the server demands one (`--api-key` of vLLM and llama.cpp). */
  readonly backendApiKey?: string | undefined
  readonly timeoutMs: number
  readonly signal: AbortSignal
}

export type Probed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string }

/**
 * The server's live load. `openai` servers have no metrics, so their answer to
 * `/v1/models` stands for health and the load reads as idle (the gateway's own
 * leases still bound it); every other engine must answer `/health` with 200
 * (not loading) and a `/metrics` page in its dialect.
 */
export async function probeLoad(options: ProbeOptions): Promise<Probed<EngineLoad>> {
  if (options.engine === 'openai') {
    const models = await probeModels(options)
    return models.ok ? { ok: true, value: { running: 0, waiting: 0, kvCacheUsage: 0 } } : models
  }
  const health = await get(options, '/health')
  if (!health.ok) return health
  const metrics = await get(options, '/metrics')
  if (!metrics.ok) return metrics
  const load = readEngineLoad(options.engine, metrics.value)
  return load.ok ? { ok: true, value: load.load } : { ok: false, reason: `/metrics: ${load.reason}` }
}

/** Model ids from the OpenAI-style `/v1/models` list. */
export async function probeModels(options: ProbeOptions): Promise<Probed<string[]>> {
  const page = await get(options, '/v1/models')
  if (!page.ok) return page
  const data = parseJson(page.value)
  const list = isRecord(data) && Array.isArray(data.data) ? data.data : undefined
  const ids = (list ?? []).flatMap((model: unknown) =>
    isRecord(model) && typeof model.id === 'string' && model.id !== '' ? [model.id] : [],
  )
  return ids.length > 0 ? { ok: true, value: ids } : { ok: false, reason: '/v1/models lists no model' }
}

/**
 * How many sequences the server runs at once, where it says so: llama.cpp's
 * `GET /props` `total_slots` (its `--parallel`), a vLLM or SGLang config gauge
 * (see `slotsFromMetrics`). `undefined` when the engine does not tell.
 */
export async function probeSlots(options: ProbeOptions): Promise<Probed<number | undefined>> {
  if (options.engine === 'llamacpp') {
    const props = await get(options, '/props')
    if (!props.ok) return props
    const data = parseJson(props.value)
    return { ok: true, value: isRecord(data) ? positiveInt(data.total_slots) : undefined }
  }
  if (options.engine === 'vllm' || options.engine === 'sglang') {
    const metrics = await get(options, '/metrics')
    if (!metrics.ok) return metrics
    return { ok: true, value: slotsFromMetrics(options.engine, metrics.value) }
  }
  return { ok: true, value: undefined }
}

async function get(options: ProbeOptions, path: string): Promise<Probed<string>> {
  const url = `${options.backendUrl.replace(/\/+$/, '')}${path}`
  try {
    const response = await fetch(url, {
      // llama.cpp's --api-key guards /metrics and /props too; vLLM leaves them open and ignores it.
      headers: options.backendApiKey ? { Authorization: `Bearer ${options.backendApiKey}` } : {},
      signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
    })
    const text = await response.text()
    if (!response.ok) return { ok: false, reason: `${path} answered HTTP ${response.status}` }
    return { ok: true, value: text }
  } catch (error) {
    return { ok: false, reason: `${path}: ${describeFetchFailure(error)}` }
  }
}

/** fetch hides the socket error in `cause`; its code (ECONNREFUSED…) is the stable part worth logging. */
export function describeFetchFailure(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined
  if (cause && typeof cause === 'object' && 'code' in cause) return String(cause.code)
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out'
  return error instanceof Error ? error.name : String(error)
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
