/**
 * The Prometheus text exposition format (version 0.0.4), both ways: enough to
 * write the simulator's `/metrics` and to read a vLLM server's. Malformed lines
 * are reported, never thrown, because a scrape of a half-broken server is still
 * worth its good lines.
 */

export type PrometheusType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface PrometheusSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
  readonly timestampMs?: number
}

export interface PrometheusFamily {
  readonly name: string
  readonly help?: string
  readonly type: PrometheusType
  readonly samples: readonly Omit<PrometheusSample, 'name'>[]
}

export interface ParsePrometheusResult {
  readonly samples: readonly PrometheusSample[]
  readonly types: Readonly<Record<string, PrometheusType>>
  readonly help: Readonly<Record<string, string>>
  /** 1-based numbers of lines that were neither comments nor valid samples. */
  readonly invalidLines: readonly number[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const TYPES: readonly string[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped']

/** @example formatPrometheusText([{ name: 'up', type: 'gauge', samples: [{ labels: {}, value: 1 }] }]) */
export function formatPrometheusText(families: readonly PrometheusFamily[]): string {
  const lines: string[] = []
  for (const family of families) {
    if (family.help !== undefined) lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`)
    lines.push(`# TYPE ${family.name} ${family.type}`)
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels)
        .map(([key, value]) => `${key}="${escapeLabel(value)}"`)
        .join(',')
      const timestamp = sample.timestampMs === undefined ? '' : ` ${sample.timestampMs}`
      lines.push(`${family.name}${labels ? `{${labels}}` : ''} ${formatValue(sample.value)}${timestamp}`)
    }
  }
  return `${lines.join('\n')}\n`
}

/** @example parsePrometheusText('vllm:num_requests_running{model_name="m"} 2.0\n').samples[0]?.value // 2 */
export function parsePrometheusText(text: string): ParsePrometheusResult {
  const samples: PrometheusSample[] = []
  const types: Record<string, PrometheusType> = {}
  const help: Record<string, string> = {}
  const invalidLines: number[] = []
  for (const [index, rawLine] of text.split('\n').entries()) {
    const line = rawLine.replace(/\r$/, '').trim()
    if (line === '') continue
    if (line.startsWith('#')) {
      const meta = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line)
      if (meta?.[1] === 'TYPE' && TYPES.includes(meta[3] ?? ''))
        types[meta[2] ?? ''] = meta[3] as PrometheusType
      else if (meta?.[1] === 'HELP') help[meta[2] ?? ''] = unescapeHelp(meta[3] ?? '')
      continue
    }
    const sample = parseSample(line)
    if (sample) samples.push(sample)
    else invalidLines.push(index + 1)
  }
  return { samples, types, help, invalidLines }
}

/** Samples of one metric whose labels include every given pair. */
export function findSamples(
  samples: readonly PrometheusSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): PrometheusSample[] {
  return samples.filter(
    (sample) =>
      sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  )
}

function parseSample(line: string): PrometheusSample | undefined {
  const name = METRIC_NAME.exec(line)?.[0]
  if (!name) return undefined
  let rest = line.slice(name.length)
  const labels: Record<string, string> = {}
  if (rest.startsWith('{')) {
    const parsed = parseLabels(rest.slice(1), labels)
    if (parsed === undefined) return undefined
    rest = parsed
  }
  if (!/^[ \t]/.test(rest)) return undefined
  const fields = rest.trim().split(/[ \t]+/)
  if (fields.length > 2) return undefined
  const value = parseValue(fields[0] ?? '')
  if (value === undefined) return undefined
  if (fields[1] === undefined) return { name, labels, value }
  if (!/^-?\d+$/.test(fields[1])) return undefined
  return { name, labels, value, timestampMs: Number(fields[1]) }
}

/** Reads `a="x",b="y"}` into `labels`; returns the text after `}`. */
function parseLabels(text: string, labels: Record<string, string>): string | undefined {
  let rest = text.trimStart()
  while (!rest.startsWith('}')) {
    const key = LABEL_NAME.exec(rest)?.[0]
    if (!key) return undefined
    rest = rest.slice(key.length).trimStart()
    if (!rest.startsWith('="')) return undefined
    let value = ''
    let i = 2
    for (; i < rest.length && rest[i] !== '"'; i++) {
      if (rest[i] !== '\\') value += rest[i]
      else {
        const escaped = rest[++i]
        if (escaped === 'n') value += '\n'
        else if (escaped === '\\' || escaped === '"') value += escaped
        else return undefined
      }
    }
    if (i >= rest.length) return undefined
    labels[key] = value
    rest = rest.slice(i + 1).trimStart()
    if (rest.startsWith(',')) rest = rest.slice(1).trimStart()
    else if (!rest.startsWith('}')) return undefined
  }
  return rest.slice(1)
}

function parseValue(text: string): number | undefined {
  const lower = text.toLowerCase()
  if (lower === 'nan') return Number.NaN
  if (/^\+?inf(inity)?$/.test(lower)) return Number.POSITIVE_INFINITY
  if (/^-inf(inity)?$/.test(lower)) return Number.NEGATIVE_INFINITY
  return FLOAT.test(text) ? Number(text) : undefined
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  return Object.is(value, -0) ? '-0' : String(value)
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function unescapeHelp(value: string): string {
  return value.replace(/\\(\\|n)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : '\\'))
}
