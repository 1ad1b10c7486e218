/**
 * `/metrics` of a simulated backend: vLLM's gauge names and labels, so the same
 * scraper reads a real vLLM and the simulator, plus the simulator's own counters.
 */
import { formatPrometheusText, type PrometheusFamily } from '../../shared/backends/prometheus-text.ts'
import type { SimEngine } from './sim-engine.ts'

export function renderSimMetrics(engine: SimEngine): string {
  const { scheduler, stats } = engine
  const vllm = { engine: '0', model_name: engine.models[0] ?? '' }
  const sim = { backend: engine.id }
  const totals = stats.totals
  const gauge = (name: string, help: string, value: number, labels: Record<string, string> = vllm) =>
    ({ name, help, type: 'gauge', samples: [{ labels, value }] }) satisfies PrometheusFamily
  const counter = (name: string, help: string, value: number) =>
    ({ name, help, type: 'counter', samples: [{ labels: sim, value }] }) satisfies PrometheusFamily

  return formatPrometheusText([
    gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', scheduler.running),
    gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', scheduler.waiting),
    gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', engine.kvCacheUsage()),
    {
      name: 'vllm:request_success_total',
      help: 'Count of successfully processed requests.',
      type: 'counter',
      samples: (['stop', 'length'] as const).map((reason) => ({
        labels: { ...vllm, finished_reason: reason },
        value: totals.finished[reason],
      })),
    },
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
    counter('spillway_sim_requests_total', 'Completion requests received.', totals.requests),
    counter(
      'spillway_sim_requests_completed_total',
      'Completion requests answered in full.',
      totals.completed,
    ),
    counter('spillway_sim_requests_aborted_total', 'Requests whose client went away.', totals.aborted),
    counter('spillway_sim_requests_failed_total', 'Requests cut off or lost in a crash.', totals.failed),
    {
      name: 'spillway_sim_requests_rejected_total',
      help: 'Requests refused before any work, by reason.',
      type: 'counter',
      samples: Object.entries(totals.rejected).map(([reason, value]) => ({
        labels: { ...sim, reason },
        value,
      })),
    },
  ])
}
