/**
 * `/metrics` of a simulated backend in the dialect of the engine it imitates
 * (vLLM, SGLang, llama.cpp, TGI; an `openai` server has no engine gauges), with
 * the real gauge names and labels, so the agent reads a real server and the
 * simulator alike; plus the simulator's own counters in every dialect.
 */
import { formatPrometheusText, type PrometheusFamily } from '../../shared/backends/prometheus-text.ts'
import type { SimEngine } from './sim-engine.ts'

type Gauge = (name: string, help: string, value: number, labels?: Record<string, string>) => PrometheusFamily

const gaugeOf: Gauge = (name, help, value, labels = {}) => ({
  name,
  help,
  type: 'gauge',
  samples: [{ labels, value }],
})

export function renderSimMetrics(engine: SimEngine): string {
  const { scheduler, stats } = engine
  const sim = { backend: engine.id }
  const gauge: Gauge = (name, help, value, labels = sim) => gaugeOf(name, help, value, labels)
  const counter = (name: string, help: string, value: number) =>
    ({ name, help, type: 'counter', samples: [{ labels: sim, value }] }) satisfies PrometheusFamily

  return formatPrometheusText([
    ...engineFamilies(engine),
    gauge('spillway_sim_max_num_seqs', 'Sequences the simulator runs at once.', scheduler.maxNumSeqs, sim),
    gauge(
      'spillway_sim_peak_concurrent_requests',
      'Most requests held at once (running plus waiting) since the last reset.',
      scheduler.peak,
      sim,
    ),
    gauge(
      'spillway_sim_peak_running_requests',
      'Most requests running at once since the last reset.',
      scheduler.peakRunning,
      sim,
    ),
    counter('spillway_sim_requests_total', 'Completion requests received.', stats.totals.requests),
    counter(
      'spillway_sim_requests_completed_total',
      'Completion requests answered in full.',
      stats.totals.completed,
    ),
    counter('spillway_sim_requests_aborted_total', 'Requests whose client went away.', stats.totals.aborted),
    counter(
      'spillway_sim_requests_failed_total',
      'Requests cut off or lost in a crash.',
      stats.totals.failed,
    ),
    {
      name: 'spillway_sim_requests_rejected_total',
      help: 'Requests refused before any work, by reason.',
      type: 'counter',
      samples: Object.entries(stats.totals.rejected).map(([reason, value]) => ({
        labels: { ...sim, reason },
        value,
      })),
    },
  ])
}

/** The engine's own gauges, as each engine names and labels them (see test/fixtures/metrics). */
function engineFamilies(engine: SimEngine): PrometheusFamily[] {
  const { scheduler } = engine
  const model = engine.models[0] ?? ''
  switch (engine.engine) {
    case 'vllm': {
      const vllm = { engine: '0', model_name: model }
      const totals = engine.stats.totals
      return [
        gaugeOf(
          'vllm:num_requests_running',
          'Number of requests in model execution batches.',
          scheduler.running,
          vllm,
        ),
        gaugeOf(
          'vllm:num_requests_waiting',
          'Number of requests waiting to be processed.',
          scheduler.waiting,
          vllm,
        ),
        gaugeOf(
          'vllm:kv_cache_usage_perc',
          'KV-cache usage. 1 means 100 percent usage.',
          engine.kvCacheUsage(),
          vllm,
        ),
        {
          name: 'vllm:request_success_total',
          help: 'Count of successfully processed requests.',
          type: 'counter',
          samples: (['stop', 'length'] as const).map((reason) => ({
            labels: { ...vllm, finished_reason: reason },
            value: totals.finished[reason],
          })),
        },
        gaugeOf('vllm:cache_config_info', 'Information of the LLMEngine CacheConfig', 1, {
          block_size: '16',
          cache_dtype: 'auto',
          engine: '0',
          num_gpu_blocks: String(Math.floor(engine.profile.kvCacheTokens / 16)),
        }),
      ]
    }
    case 'sglang': {
      const labels = { model_name: model }
      return [
        gaugeOf('sglang:num_running_reqs', 'The number of running requests', scheduler.running, labels),
        gaugeOf(
          'sglang:num_queue_reqs',
          'The number of requests in the waiting queue',
          scheduler.waiting,
          labels,
        ),
        gaugeOf('sglang:token_usage', 'The token usage', engine.kvCacheUsage(), labels),
      ]
    }
    case 'llamacpp':
      return [
        gaugeOf('llamacpp:requests_processing', 'Number of requests processing.', scheduler.running),
        gaugeOf('llamacpp:requests_deferred', 'Number of requests deferred.', scheduler.waiting),
      ]
    case 'tgi':
      return [
        { name: 'tgi_queue_size', type: 'gauge', samples: [{ labels: {}, value: scheduler.waiting }] },
        {
          name: 'tgi_batch_current_size',
          type: 'gauge',
          samples: [{ labels: {}, value: scheduler.running }],
        },
      ]
    case 'openai':
      return []
  }
}
