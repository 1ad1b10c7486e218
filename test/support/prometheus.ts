import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format'

export interface Scrape {
  readonly families: PrometheusFamily[]
  readonly text: string
}

/** `GET /metrics`, parsed by a Prometheus text parser (a malformed exposition fails here). */
export async function scrape(gatewayUrl: string, adminKey?: string): Promise<Scrape> {
  const res = await fetch(`${gatewayUrl}/metrics`, {
    headers: adminKey ? { authorization: `Bearer ${adminKey}` } : {},
  })
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  const text = await res.text()
  return { families: parsePrometheusTextFormat(text), text }
}

/**
 * A histogram's `_count` per label set, read from the text: the parser keeps
 * only the last label set of a labelled histogram, so it cannot be used for these.
 */
export function histogramCounts(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>()
  const line = new RegExp(`^${name}_count(?:\\{(.*)\\})? (\\S+)$`, 'gm')
  for (const [, labels = '', value] of text.matchAll(line)) out.set(labels, Number(value))
  return out
}

/** Every sample of a counter or gauge family as `label=value,…` → value. */
export function samples(families: readonly PrometheusFamily[], name: string): Map<string, number> {
  const family = families.find((f) => f.name === name)
  const out = new Map<string, number>()
  for (const sample of family?.metrics ?? []) {
    out.set(labelKey(sample.labels ?? {}), Number(sample.value))
  }
  return out
}

export function labelKey(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
}
