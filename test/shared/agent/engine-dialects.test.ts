import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type EngineName, readEngineLoad, slotsFromMetrics } from '../../../shared/agent/engine-dialects.ts'

const page = (name: string) =>
  readFileSync(new URL(`../../fixtures/metrics/${name}`, import.meta.url), 'utf8')

describe('readEngineLoad on recorded metric pages', () => {
  const cases: {
    file: string
    engine: EngineName
    load: { running: number; waiting: number; kvCacheUsage: number }
  }[] = [
    // Two data-parallel engines: queues add up, the KV cache is the fuller engine's.
    { file: 'vllm-v1.txt', engine: 'vllm', load: { running: 5, waiting: 2, kvCacheUsage: 0.25 } },
    { file: 'vllm-v0.txt', engine: 'vllm', load: { running: 4, waiting: 1, kvCacheUsage: 0.6 } },
    { file: 'sglang.txt', engine: 'sglang', load: { running: 162, waiting: 2826, kvCacheUsage: 0.28 } },
    { file: 'sglang-legacy.txt', engine: 'sglang', load: { running: 7, waiting: 0, kvCacheUsage: 0.02 } },
    { file: 'llamacpp.txt', engine: 'llamacpp', load: { running: 2, waiting: 1, kvCacheUsage: 0 } },
    { file: 'tgi.txt', engine: 'tgi', load: { running: 12, waiting: 5, kvCacheUsage: 0 } },
  ]
  for (const { file, engine, load } of cases) {
    it(`reads running, waiting and KV use from ${file} (${engine})`, () => {
      expect(readEngineLoad(engine, page(file))).toEqual({ ok: true, load })
    })
  }

  it("refuses a page in another engine's dialect instead of reporting it idle", () => {
    const read = readEngineLoad('sglang', page('vllm-v1.txt'))
    expect(read.ok).toBe(false)
    expect(read.ok ? '' : read.reason).toContain('sglang:num_running_reqs')
  })

  it('counts only tensor-parallel rank 0 of gauges SGLang repeats per rank', () => {
    const text = [
      'sglang:num_running_reqs{model_name="m",tp_rank="0"} 3',
      'sglang:num_running_reqs{model_name="m",tp_rank="1"} 3',
      'sglang:num_queue_reqs{model_name="m",tp_rank="0"} 1',
      'sglang:num_queue_reqs{model_name="m",tp_rank="1"} 1',
    ].join('\n')
    expect(readEngineLoad('sglang', text)).toEqual({
      ok: true,
      load: { running: 3, waiting: 1, kvCacheUsage: 0 },
    })
  })

  it('reads NaN or negative gauges of a half-started server as zero, never as a heartbeat the gateway refuses', () => {
    const text =
      'vllm:num_requests_running NaN\nvllm:num_requests_waiting -1\nvllm:kv_cache_usage_perc +Inf\n'
    expect(readEngineLoad('vllm', text)).toEqual({
      ok: true,
      load: { running: 0, waiting: 0, kvCacheUsage: 0 },
    })
  })

  it('reads an openai server as idle without any metrics', () => {
    expect(readEngineLoad('openai', '')).toEqual({
      ok: true,
      load: { running: 0, waiting: 0, kvCacheUsage: 0 },
    })
  })
})

describe('slotsFromMetrics', () => {
  it("finds no max_num_seqs in vLLM's recorded cache_config_info (it needs --slots)", () => {
    expect(slotsFromMetrics('vllm', page('vllm-v1.txt'))).toBeUndefined()
    expect(slotsFromMetrics('vllm', page('vllm-v0.txt'))).toBeUndefined()
  })

  it('reads max_num_seqs from a vLLM config info gauge that carries it', () => {
    const text = 'vllm:scheduler_config_info{max_num_seqs="256",engine="0"} 1.0\n'
    expect(slotsFromMetrics('vllm', text)).toBe(256)
  })

  it("reads older SGLang's sglang:max_running_requests", () => {
    expect(slotsFromMetrics('sglang', page('sglang-legacy.txt'))).toBe(4097)
    expect(slotsFromMetrics('sglang', page('sglang.txt'))).toBeUndefined()
  })
})
