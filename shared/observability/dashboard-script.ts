/**
 * The dashboard's script, plain browser JavaScript served at `/dashboard/app.js`:
 * polls `/dashboard/data` every second and redraws with DOM calls and
 * `textContent` only (nothing from the data is parsed as HTML). A 401 shows a
 * key field; the key stays in sessionStorage, sent as a bearer header.
 */
export const DASHBOARD_SCRIPT = `'use strict'
const KEY = 'spillway-admin-key'
const $ = (id) => document.getElementById(id)
const el = (tag, attrs, ...children) => {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value)
  for (const child of children) node.append(child)
  return node
}
const SVG = 'http://www.w3.org/2000/svg'

$('login').addEventListener('submit', (event) => {
  event.preventDefault()
  sessionStorage.setItem(KEY, $('key').value)
  $('login').classList.remove('shown')
  poll()
})

let timer
async function poll() {
  clearTimeout(timer)
  try {
    const key = sessionStorage.getItem(KEY)
    const res = await fetch('/dashboard/data', { headers: key ? { authorization: 'Bearer ' + key } : {}, cache: 'no-store' })
    if (res.status === 401) {
      $('status').textContent = 'needs the admin key'
      $('login').classList.add('shown')
      return
    }
    if (!res.ok) throw new Error('HTTP ' + res.status)
    draw(await res.json())
    $('status').textContent = 'live · ' + new Date().toLocaleTimeString()
  } catch (error) {
    $('status').textContent = 'disconnected (' + error.message + '), retrying'
  }
  timer = setTimeout(poll, 1000)
}

function draw(data) {
  drawPools(data.pools, data.removed)
  drawQueues(data.queues, data.jobs)
  drawRates(data.rates)
  drawDecisions(data.decisions)
}

function drawPools(pools, removed) {
  const root = $('pools')
  root.replaceChildren()
  root.classList.toggle('empty', pools.length === 0)
  if (pools.length === 0) root.textContent = 'no backends yet'
  for (const pool of pools) {
    const box = el('div', { class: 'pool', 'data-pool': pool.hardware, 'data-leased': String(pool.leased) },
      el('div', { class: 'pool-title' }, pool.hardware + ' · ' + pool.leased + ' of ' + pool.slots + ' slots leased'))
    for (const b of pool.backends) {
      const slots = el('div', { class: 'slots' })
      for (let i = 0; i < b.maxConcurrency; i++) slots.append(el('span', { class: i < b.leased ? 'slot leased' : 'slot' }))
      const row = el('div', { class: 'backend', 'data-backend': b.id, 'data-leased': String(b.leased), 'data-health': b.health },
        el('span', {}, b.id), slots, el('span', { class: 'badge ' + b.health }, b.health))
      const notes = [...b.reasons, 'heartbeat ' + (b.heartbeatAgeMs / 1000).toFixed(1) + ' s ago',
        'running ' + b.running + ', waiting ' + b.waiting, 'KV ' + Math.round(b.kvCacheUsage * 100) + '%']
      row.append(el('span', { class: 'reasons' }, notes.join(' · ')))
      box.append(row)
    }
    root.append(box)
  }
  if (removed.length) root.append(el('div', { class: 'reasons' }, 'removed: ' + removed.join(', ')))
}

function num(label, value, attrs) {
  return el('div', Object.assign({ class: 'num' }, attrs || {}), el('b', {}, String(value)), el('span', {}, label))
}

function drawQueues(lanes, jobs) {
  const root = $('queues')
  root.replaceChildren()
  let depth = 0
  for (const lane of lanes) {
    const inLane = lane.waiting + lane.delayed + lane.inFlight
    depth += inLane
    const age = lane.oldestJobAgeMs === null ? 'none waiting' : 'oldest ' + (lane.oldestJobAgeMs / 1000).toFixed(1) + ' s'
    root.append(num(lane.lane + ' (waiting ' + lane.waiting + ', delayed ' + lane.delayed + ', in flight ' + lane.inFlight + ', DLQ ' + lane.deadLettered + ' · ' + age + ')', inLane,
      { 'data-lane': lane.lane, 'data-oldest-age-ms': lane.oldestJobAgeMs === null ? '' : String(lane.oldestJobAgeMs) }))
  }
  if (jobs.queued !== undefined) root.append(num('jobs queued', jobs.queued, { 'data-jobs': 'queued' }))
  if (jobs.running !== undefined) root.append(num('jobs running', jobs.running, { 'data-jobs': 'running' }))
  root.setAttribute('data-depth', String(depth + (jobs.queued || 0)))
  const outcomes = $('outcomes')
  outcomes.replaceChildren()
  const entries = Object.entries(jobs.outcomes)
  if (entries.length === 0) outcomes.append(el('span', { class: 'empty' }, 'no job has ended yet'))
  for (const [status, count] of entries) outcomes.append(num(status, count, { 'data-outcome': status }))
}

function sparkline(points, color) {
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('viewBox', '0 0 ' + points.length + ' 28')
  svg.setAttribute('preserveAspectRatio', 'none')
  const max = Math.max(1, ...points)
  const path = document.createElementNS(SVG, 'polyline')
  path.setAttribute('points', points.map((p, i) => i + ',' + (27 - (p / max) * 25).toFixed(1)).join(' '))
  path.setAttribute('fill', 'none')
  path.setAttribute('stroke', color)
  path.setAttribute('stroke-width', '1.5')
  path.setAttribute('vector-effect', 'non-scaling-stroke')
  svg.append(path)
  return svg
}

function drawRates(series) {
  const root = $('rates')
  root.replaceChildren()
  root.classList.toggle('empty', series.length === 0)
  if (series.length === 0) root.textContent = 'no requests yet'
  const colors = { primary: '#58a6ff', fallback: '#bc8cff', queued: '#f0a33a', none: '#8b9bab' }
  for (const s of series) {
    const recent = s.perSecond.slice(-5).reduce((a, b) => a + b, 0) / 5
    root.append(el('div', { class: 'series', 'data-route': s.route, 'data-hardware': s.hardware, 'data-total': String(s.total) },
      el('span', {}, s.route + ' · ' + s.hardware), sparkline(s.perSecond, colors[s.route] || '#e6edf3'),
      el('span', { class: 'rate' }, recent.toFixed(1) + '/s')))
  }
}

function drawDecisions(decisions) {
  const root = $('decisions')
  root.replaceChildren()
  for (const d of decisions.slice(0, 15)) {
    root.append(el('tr', { 'data-outcome': d.outcome },
      el('td', {}, new Date(d.at).toLocaleTimeString()), el('td', {}, d.model),
      el('td', { class: 'outcome-' + d.outcome }, d.outcome === 'saturated' ? 'saturated → queue' : d.outcome),
      el('td', {}, d.backendId || '—'), el('td', {}, d.reason)))
  }
}

poll()
`
