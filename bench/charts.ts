/**
 * 8. Charts as hand-written SVG (no dependency): latency versus concurrency per
 * target, and an overflow drain over time. Small, readable on GitHub, diffable.
 */
import type { OverflowMeasured } from './overflow.ts'
import type { OverheadResult } from './overhead.ts'

export interface Series {
  readonly name: string
  readonly color: string
  readonly dashed?: boolean
  readonly points: readonly (readonly [number, number])[]
}

export interface LineChartOptions {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: readonly Series[]
  /** x values shown as categories, evenly spaced (concurrency levels). */
  readonly categoricalX?: boolean
  /** Log scale on y (latencies spanning orders of magnitude). */
  readonly logY?: boolean
  /** Draw each series as a step function (counts that change at events). */
  readonly steps?: boolean
}

const W = 860
const H = 400
const M = { top: 40, right: 250, bottom: 50, left: 64 }

export function lineChart(o: LineChartOptions): string {
  const xs = [...new Set(o.series.flatMap((s) => s.points.map(([x]) => x)))].sort((a, b) => a - b)
  const ys = o.series.flatMap((s) => s.points.map(([, y]) => y)).filter((y) => Number.isFinite(y) && y > 0)
  const plotW = W - M.left - M.right
  const plotH = H - M.top - M.bottom
  const xTicks = o.categoricalX ? xs : niceTicks(Math.max(...xs))
  const xMin = o.categoricalX ? Math.min(...xs) : 0
  const xMax = o.categoricalX ? Math.max(...xs) : (xTicks.at(-1) ?? 1)
  const x = (v: number) =>
    M.left +
    (o.categoricalX
      ? (xs.indexOf(v) / Math.max(1, xs.length - 1)) * plotW
      : ((v - xMin) / Math.max(1e-9, xMax - xMin)) * plotW)
  const linearTicks = niceTicks(Math.max(...ys, 1e-3))
  const yTop = o.logY ? niceCeil(Math.max(...ys, 1e-3)) : (linearTicks.at(-1) ?? 1)
  const yBottom = o.logY ? niceFloor(Math.min(...ys)) : 0
  const y = (v: number) => {
    const t = o.logY
      ? (Math.log10(Math.max(v, yBottom)) - Math.log10(yBottom)) / (Math.log10(yTop) - Math.log10(yBottom))
      : v / yTop
    return M.top + plotH - t * plotH
  }
  const yTicks = o.logY ? logTicks(yBottom, yTop) : linearTicks
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`,
    ...yTicks.map(
      (t) =>
        `<line x1="${M.left}" x2="${M.left + plotW}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>` +
        `<text x="${M.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`,
    ),
    ...xTicks.map(
      (v) => `<text x="${x(v).toFixed(1)}" y="${M.top + plotH + 18}" text-anchor="middle">${fmt(v)}</text>`,
    ),
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}" stroke="#444"/>`,
    `<line x1="${M.left}" x2="${M.left + plotW}" y1="${M.top + plotH}" y2="${M.top + plotH}" stroke="#444"/>`,
    `<text x="${M.left + plotW / 2}" y="${H - 10}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`,
    `<text transform="translate(16 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`,
  ]
  o.series.forEach((s, i) => {
    const points = s.points.filter(([, v]) => Number.isFinite(v) && (!o.logY || v > 0))
    const path = points
      .map(([px, py], j) => {
        const to = `${x(px).toFixed(1)},${y(py).toFixed(1)}`
        if (j === 0) return `M${to}`
        // A step holds the previous value until the event, then jumps.
        const previous = points[j - 1]?.[1] ?? py
        return o.steps ? `L${x(px).toFixed(1)},${y(previous).toFixed(1)} L${to}` : `L${to}`
      })
      .join(' ')
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : ''
    parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`)
    if (points.length <= 12) {
      for (const [px, py] of points) {
        parts.push(`<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3" fill="${s.color}"/>`)
      }
    }
    const ly = M.top + 10 + i * 20
    parts.push(
      `<line x1="${W - M.right + 16}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${W - M.right + 46}" y="${ly + 4}">${escapeXml(s.name)}</text>`,
    )
  })
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}

const COLORS = { baseline: '#555555', memory: '#1f77b4', dynamo: '#d62728' } as const

/** Latency (p50 solid, p99 dashed) against concurrency, for one payload. */
export function latencyChart(overhead: OverheadResult, payload: 'instant' | 'paced'): string {
  const cells = overhead.cells.filter((c) => c.payload === payload)
  const series: Series[] = []
  for (const target of ['baseline', 'memory', 'dynamo'] as const) {
    const label = {
      baseline: 'backend alone',
      memory: 'gateway, memory store',
      dynamo: 'gateway, DynamoDB emu.',
    }[target]
    series.push(
      {
        name: `${label} p50`,
        color: COLORS[target],
        points: cells.map((c) => [c.concurrency, c[target].latency.p50]),
      },
      {
        name: `${label} p99`,
        color: COLORS[target],
        dashed: true,
        points: cells.map((c) => [c.concurrency, c[target].latency.p99]),
      },
    )
  }
  return lineChart({
    title:
      payload === 'instant'
        ? 'Latency vs concurrency: zero-latency backend'
        : 'Latency vs concurrency: paced SSE stream (whole response)',
    xLabel: 'concurrent requests',
    yLabel: 'latency, ms (log scale)',
    series,
    categoricalX: true,
    logY: true,
  })
}

/** 0 and four or five round steps up to at least `max`. */
function niceTicks(max: number): number[] {
  const raw = max / 4
  const p = 10 ** Math.floor(Math.log10(raw))
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * p >= raw) ?? 10) * p
  const ticks: number[] = []
  for (let t = 0; t < max + step; t += step) ticks.push(Math.round(t * 1e6) / 1e6)
  return ticks
}

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p
  return 10 * p
}

function niceFloor(v: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(v, 1e-3)))
  for (const m of [5, 2, 1]) if (m * p <= v) return m * p
  return p
}

function logTicks(bottom: number, top: number): number[] {
  const ticks: number[] = []
  for (let p = Math.floor(Math.log10(bottom)); p <= Math.ceil(Math.log10(top)); p++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** p
      if (t >= bottom && t <= top) ticks.push(t)
    }
  }
  return ticks
}

function fmt(v: number): string {
  if (v === 0) return '0'
  if (Math.abs(v) >= 1000) return `${Math.round(v / 100) / 10}k`
  if (Math.abs(v) >= 10) return String(Math.round(v))
  return String(Math.round(v * 100) / 100)
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Queued jobs and busy slots over time while a burst drains. */
export function drainChart(overflow: OverflowMeasured): string {
  return lineChart({
    title: `Overflow drain: ${overflow.jobs} queued jobs on ${overflow.slots} slots`,
    xLabel: 'ms since the slots freed',
    yLabel: 'jobs',
    series: [
      {
        name: 'queued (not started)',
        color: '#d62728',
        points: overflow.timeline.map((p) => [p.ms, p.queued]),
      },
      {
        name: 'running (slots busy with jobs)',
        color: '#1f77b4',
        points: overflow.timeline.map((p) => [p.ms, p.running]),
      },
    ],
    steps: true,
  })
}
