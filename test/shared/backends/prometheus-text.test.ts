import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  findSamples,
  formatPrometheusText,
  type PrometheusFamily,
  parsePrometheusText,
} from '../../../shared/backends/prometheus-text.ts'

const VLLM_PAGE = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3.0
vllm:num_requests_running{engine="1",model_name="m"} 1.0
# TYPE vllm:request_success_total counter
vllm:request_success_total{finished_reason="stop",model_name="m"} 1.2e+03 1700000000000
# a plain comment
weird_value{le="+Inf"} +Inf
not a sample
nan_value NaN
`

describe('parsePrometheusText', () => {
  it('reads a vLLM page: labels, types, help, exponents, timestamps, NaN and Inf', () => {
    const page = parsePrometheusText(VLLM_PAGE)
    expect(findSamples(page.samples, 'vllm:num_requests_running').map((s) => s.value)).toEqual([3, 1])
    expect(findSamples(page.samples, 'vllm:num_requests_running', { engine: '1' })).toHaveLength(1)
    expect(findSamples(page.samples, 'vllm:request_success_total')[0]).toEqual({
      name: 'vllm:request_success_total',
      labels: { finished_reason: 'stop', model_name: 'm' },
      value: 1200,
      timestampMs: 1_700_000_000_000,
    })
    expect(findSamples(page.samples, 'weird_value')[0]?.value).toBe(Number.POSITIVE_INFINITY)
    expect(findSamples(page.samples, 'nan_value')[0]?.value).toBeNaN()
    expect(page.types).toEqual({
      'vllm:num_requests_running': 'gauge',
      'vllm:request_success_total': 'counter',
    })
    expect(page.help['vllm:num_requests_running']).toBe('Number of requests in model execution batches.')
    expect(page.invalidLines).toEqual([9])
  })

  it('reports malformed label sets and values instead of guessing', () => {
    const page = parsePrometheusText('a{b="c} 1\na{b=c} 1\na 1x\na 1 2 3\na{b="\\q"} 1\na{b="c"}1\n')
    expect(page.samples).toEqual([])
    expect(page.invalidLines).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'a_:{}="\\, \n#01.e+-InfNa\t') }), (text) => {
        const page = parsePrometheusText(text)
        for (const sample of page.samples) expect(sample.name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/)
      }),
    )
  })
})

const metricName = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/)
const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,10}$/)
const family: fc.Arbitrary<PrometheusFamily> = fc.record({
  name: metricName,
  help: fc.option(
    fc.string().map((help) => help.trim()),
    { nil: undefined },
  ),
  type: fc.constantFrom('counter', 'gauge', 'untyped'),
  samples: fc.array(
    fc.record(
      {
        labels: fc.dictionary(labelName, fc.string(), { maxKeys: 4 }),
        value: fc.double(),
        timestampMs: fc.integer({ min: -1e12, max: 1e13 }),
      },
      { requiredKeys: ['labels', 'value'] },
    ),
    { maxLength: 4 },
  ),
})

describe('formatPrometheusText', () => {
  it('writes text that parses back to the same samples, types and help', () => {
    fc.assert(
      fc.property(fc.uniqueArray(family, { selector: (f) => f.name, maxLength: 5 }), (families) => {
        const page = parsePrometheusText(formatPrometheusText(families))
        expect(page.invalidLines).toEqual([])
        expect(page.samples).toEqual(families.flatMap((f) => f.samples.map((s) => ({ name: f.name, ...s }))))
        for (const f of families) {
          expect(page.types[f.name]).toBe(f.type)
          expect(page.help[f.name]).toBe(f.help)
        }
      }),
    )
  })
})
