/**
 * How each model server reports its live load, as data: which `/metrics`
 * gauges mean running, waiting and KV cache use. Names checked against each
 * engine's documentation and sources (see test/fixtures/metrics/README.md):
 *
 *   vllm      vllm:num_requests_running · vllm:num_requests_waiting · vllm:kv_cache_usage_perc
 *             (before v0.9: vllm:gpu_cache_usage_perc)
 *   sglang    sglang:num_running_reqs · sglang:num_queue_reqs · sglang:token_usage
 *   llamacpp  llamacpp:requests_processing · llamacpp:requests_deferred
 *             (· llamacpp:kv_cache_usage_ratio, only in older builds)
 *   tgi       tgi_batch_current_size · tgi_queue_size (no KV gauge)
 *   openai    no metrics: health and models only
 */
import { findSamples, type PrometheusSample, parsePrometheusText } from '../backends/prometheus-text.ts'

export const ENGINES = ['vllm', 'sglang', 'llamacpp', 'tgi', 'openai'] as const
export type EngineName = (typeof ENGINES)[number]

export function isEngineName(name: string): name is EngineName {
  return (ENGINES as readonly string[]).includes(name)
}

/** Live load in the gateway's heartbeat terms. */
export interface EngineLoad {
  readonly running: number
  readonly waiting: number
  /** 0..1 */
  readonly kvCacheUsage: number
}

export interface MetricDialect {
  /** Gauge names, first present wins (newer name first). */
  readonly running: readonly string[]
  readonly waiting: readonly string[]
  readonly kvCache: readonly string[]
}

export const METRIC_DIALECTS: Readonly<Record<Exclude<EngineName, 'openai'>, MetricDialect>> = {
  vllm: {
    running: ['vllm:num_requests_running'],
    waiting: ['vllm:num_requests_waiting'],
    kvCache: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
  },
  sglang: {
    running: ['sglang:num_running_reqs'],
    waiting: ['sglang:num_queue_reqs'],
    kvCache: ['sglang:token_usage'],
  },
  llamacpp: {
    running: ['llamacpp:requests_processing'],
    waiting: ['llamacpp:requests_deferred'],
    kvCache: ['llamacpp:kv_cache_usage_ratio'],
  },
  tgi: {
    running: ['tgi_batch_current_size'],
    waiting: ['tgi_queue_size'],
    kvCache: [],
  },
}

export type ReadEngineLoadResult =
  | { readonly ok: true; readonly load: EngineLoad }
  | { readonly ok: false; readonly reason: string }

/**
 * Reads one engine's `/metrics` page. Data-parallel engines report a gauge per
 * engine or rank, so queue lengths are summed and KV use is the fullest one's;
 * SGLang repeats its gauges per tensor-parallel rank, so only rank 0 counts.
 *
 * @example readEngineLoad('sglang', text) // { ok: true, load: { running: 162, waiting: 2826, kvCacheUsage: 0.28 } }
 */
export function readEngineLoad(engine: EngineName, metricsText: string): ReadEngineLoadResult {
  if (engine === 'openai') return { ok: true, load: { running: 0, waiting: 0, kvCacheUsage: 0 } }
  const dialect = METRIC_DIALECTS[engine]
  const { samples } = parsePrometheusText(metricsText)
  const running = firstPresent(samples, dialect.running)
  const waiting = firstPresent(samples, dialect.waiting)
  if (!running || !waiting) {
    return { ok: false, reason: `no ${[...dialect.running, ...dialect.waiting].join(' / ')} gauges` }
  }
  const cache = firstPresent(samples, dialect.kvCache) ?? []
  const sum = (list: readonly PrometheusSample[]) => list.reduce((total, s) => total + finite(s.value), 0)
  return {
    ok: true,
    load: {
      running: sum(running),
      waiting: sum(waiting),
      kvCacheUsage: Math.min(
        1,
        cache.reduce((max, s) => Math.max(max, finite(s.value)), 0),
      ),
    },
  }
}

function firstPresent(
  samples: readonly PrometheusSample[],
  names: readonly string[],
): PrometheusSample[] | undefined {
  for (const name of names) {
    const found = findSamples(samples, name)
    const rankZero = found.filter((s) => s.labels.tp_rank === undefined || s.labels.tp_rank === '0')
    if (rankZero.length > 0) return rankZero
  }
  return undefined
}

/** A NaN or infinite gauge (a half-started server) must not reach the heartbeat, which refuses it. */
function finite(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0
}

/**
 * Sequences the server runs at once, when its metrics say so: a `max_num_seqs`
 * label on a `vllm:*_config_info` gauge (vLLM's info gauges carry config as
 * labels; `vllm:cache_config_info` has no such label in the versions checked,
 * so vLLM usually needs `--slots`), or SGLang's `sglang:max_running_requests`
 * gauge (older SGLang versions).
 */
export function slotsFromMetrics(engine: EngineName, metricsText: string): number | undefined {
  const { samples } = parsePrometheusText(metricsText)
  if (engine === 'vllm') {
    for (const sample of samples) {
      if (!sample.name.startsWith('vllm:') || !sample.name.endsWith('_config_info')) continue
      const slots = positiveInt(sample.labels.max_num_seqs)
      if (slots) return slots
    }
  }
  if (engine === 'sglang') {
    const [sample] = findSamples(samples, 'sglang:max_running_requests')
    return positiveInt(sample?.value)
  }
  return undefined
}

export function positiveInt(value: unknown): number | undefined {
  const number = typeof value === 'string' ? Number(value) : value
  return typeof number === 'number' && Number.isInteger(number) && number >= 1 ? number : undefined
}
