/**
 * A backend's live load read from a vLLM `/metrics` page. Engines of a
 * data-parallel server each report their own gauges (label `engine`), so queue
 * lengths are summed and the KV cache usage is the fullest engine's. Versions
 * before v0.9 called the cache gauge `vllm:gpu_cache_usage_perc`.
 */
import { findSamples, parsePrometheusText } from '../../shared/backends/prometheus-text.ts'

export interface VllmLoad {
  readonly running: number
  readonly waiting: number
  readonly kvCacheUsage: number
}

export type ReadVllmLoadResult =
  | { readonly ok: true; readonly load: VllmLoad }
  | { readonly ok: false; readonly reason: string }

export function readVllmLoad(metricsText: string): ReadVllmLoadResult {
  const { samples } = parsePrometheusText(metricsText)
  const running = findSamples(samples, 'vllm:num_requests_running')
  const waiting = findSamples(samples, 'vllm:num_requests_waiting')
  if (running.length === 0 || waiting.length === 0)
    return { ok: false, reason: 'no vllm:num_requests_* gauges' }
  let cache = findSamples(samples, 'vllm:kv_cache_usage_perc')
  if (cache.length === 0) cache = findSamples(samples, 'vllm:gpu_cache_usage_perc')
  const sum = (list: typeof running) => list.reduce((total, sample) => total + sample.value, 0)
  return {
    ok: true,
    load: {
      running: sum(running),
      waiting: sum(waiting),
      kvCacheUsage: cache.reduce((max, sample) => Math.max(max, sample.value), 0),
    },
  }
}
