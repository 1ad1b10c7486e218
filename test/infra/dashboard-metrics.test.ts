import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { EmfRequestSink, emitFleetGauges, emitJobOutcomes } from '../../functions/emf-metrics.ts'
import { PROJECT_ROOT } from '../../infra/constructs/functions.ts'
import { IDLE_LOAD } from '../../shared/backends/backend-record.ts'
import { CLOUDWATCH_METRICS, METRICS_NAMESPACE } from '../../shared/observability/metric-names.ts'
import { type Synthesized, synthSpillway } from './synth-spillway.ts'

/**
 * Every graph of the CDK dashboard must show a metric some function emits: the
 * names on the synthesized dashboard, the EMF lines the emitters really write,
 * and the Lambda entry points that call those emitters all have to agree.
 */
const NAMES = new Set<string>(Object.values(CLOUDWATCH_METRICS))

/** Metric names in our namespace on the dashboard body (SEARCH expressions and plain metric arrays). */
function dashboardMetricNames(body: string): Set<string> {
  const found = new Set<string>()
  const unescaped = body.replaceAll('\\', '')
  for (const [, name] of unescaped.matchAll(
    new RegExp(`Namespace="${METRICS_NAMESPACE}" MetricName="(\\w+)"`, 'g'),
  ))
    if (name) found.add(name)
  for (const [, name] of unescaped.matchAll(new RegExp(`\\["${METRICS_NAMESPACE}","(\\w+)"`, 'g')))
    if (name) found.add(name)
  return found
}

/** What the emitters write to stdout, as EMF documents. */
function captureEmf(emit: () => void): Set<string> {
  const lines: string[] = []
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk))
    return true
  })
  try {
    emit()
  } finally {
    spy.mockRestore()
  }
  const names = new Set<string>()
  for (const line of lines.join('').split('\n').filter(Boolean)) {
    const doc = JSON.parse(line) as {
      _aws?: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] }
    }
    for (const directive of doc._aws?.CloudWatchMetrics ?? []) {
      expect(directive.Namespace).toBe(METRICS_NAMESPACE)
      for (const metric of directive.Metrics) names.add(metric.Name)
    }
  }
  return names
}

describe('the CloudWatch dashboard', () => {
  let synth: Synthesized
  beforeAll(async () => {
    synth = await synthSpillway()
  }, 120_000)
  afterAll(() => synth?.remove())
  afterEach(() => vi.restoreAllMocks())

  it('graphs only metrics of CLOUDWATCH_METRICS, and every one of them', () => {
    const dashboards = Object.values(synth.template.findResources('AWS::CloudWatch::Dashboard'))
    expect(dashboards).toHaveLength(1)
    const graphed = dashboardMetricNames(JSON.stringify(dashboards[0]?.Properties.DashboardBody))
    expect([...graphed].sort()).toEqual([...NAMES].sort())
  })

  it('shows metrics the emitters really write as EMF', () => {
    const now = Date.now()
    const emitted = captureEmf(() => {
      const sink = new EmfRequestSink({ serviceName: 'spillway-gateway' })
      sink.recordRequest({
        requestId: 'r1',
        method: 'POST',
        path: '/v1/chat/completions',
        route: 'queued',
        hardware: 'h20',
        backend: 'h20-1',
        status: 200,
        durationMs: 1200,
        ttfbMs: 900,
        queueWaitMs: 800,
      })
      sink.capacityWanted('m', 2)
      emitJobOutcomes('spillway-worker', { succeeded: 1 })
      emitFleetGauges({
        serviceName: 'spillway-reaper',
        now,
        heartbeatStaleMs: 15_000,
        backends: [
          {
            id: 'h20-1',
            url: 'http://10.0.0.1:8000',
            hardware: 'h20',
            models: ['m'],
            maxConcurrency: 4,
            state: 'active',
            registeredAt: now,
            heartbeatAt: now,
            load: IDLE_LOAD,
            leases: { a: now + 60_000 },
          },
        ],
      })
    })
    expect([...emitted].sort()).toEqual([...NAMES].sort())
  })

  it('has each emitter called from a Lambda entry point', () => {
    const source = (fn: string) => readFileSync(join(PROJECT_ROOT, 'functions', fn, 'lambda.ts'), 'utf8')
    expect(source('gateway')).toContain('new EmfRequestSink(')
    expect(source('worker')).toContain('emitJobOutcomes(')
    expect(source('reaper')).toContain('emitFleetGauges(')
  })
})
