import { Hono } from 'hono'
import type { AppEnv } from '../app-deps.ts'
import { openApiDocument } from '../openapi.ts'

/**
 * `GET /openapi.json` and `GET /docs`, a page that renders it. Self-contained (no
 * CDN, no build): the network may be closed, and a Lambda bundle stays small. The
 * document is built once per process; it depends only on the code.
 */
export function apiDocRoutes(options: { version: string }) {
  let document: ReturnType<typeof openApiDocument> | undefined
  return new Hono<AppEnv>()
    .get('/openapi.json', (c) => {
      document ??= openApiDocument(options.version)
      return c.json(document)
    })
    .get('/docs', (c) =>
      c.html(DOCS_PAGE, 200, {
        // The page runs only its own inline script and reads only this origin.
        'content-security-policy':
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
      }),
    )
}

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Spillway API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 1.5rem;color:#1b1f24}
h1{margin:.2rem 0}.op{border:1px solid #d0d7de;border-radius:6px;margin:.6rem 0}
summary{cursor:pointer;padding:.5rem .7rem;list-style:none}summary::-webkit-details-marker{display:none}
.m{display:inline-block;min-width:4.2rem;font:600 12px ui-monospace,monospace;text-transform:uppercase}
.get{color:#0969da}.post{color:#1a7f37}.delete{color:#cf222e}.path{font-family:ui-monospace,monospace}
.auth{float:right;color:#57606a;font-size:12px}.body{padding:0 .9rem .7rem}
pre{background:#f6f8fa;padding:.6rem;overflow:auto;max-height:24rem;font-size:12px}
table{border-collapse:collapse}td,th{padding:.15rem .6rem .15rem 0;text-align:left;vertical-align:top}
</style></head>
<body><h1>Spillway API</h1><p id="intro">Loading <a href="/openapi.json">/openapi.json</a>…</p><main id="ops"></main>
<script>
const el = (tag, attrs, ...children) => {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v)
  for (const child of children) node.append(child)
  return node
}
const json = (value) => el('pre', {}, JSON.stringify(value, null, 2))
fetch('/openapi.json').then((r) => r.json()).then((doc) => {
  document.getElementById('intro').textContent = doc.info.description + ' Version ' + doc.info.version + '.'
  const ops = document.getElementById('ops')
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const auth = (op.security || []).map((s) => Object.keys(s)[0]).join(' or ') || 'no key'
      const body = el('div', { class: 'body' }, el('p', {}, op.summary))
      if (op.parameters && op.parameters.length) {
        const rows = op.parameters.map((p) => el('tr', {}, el('td', {}, el('code', {}, p.name)), el('td', {}, p.in), el('td', {}, p.description || '')))
        body.append(el('h4', {}, 'Parameters'), el('table', {}, ...rows))
      }
      const request = op.requestBody && op.requestBody.content['application/json']
      if (request) body.append(el('h4', {}, 'Request body'), json(request.schema))
      body.append(el('h4', {}, 'Responses'))
      for (const [status, r] of Object.entries(op.responses)) {
        const schema = r.content && r.content['application/json'] && r.content['application/json'].schema
        const item = el('details', {}, el('summary', {}, status + ' ' + r.description))
        if (schema) item.append(json(schema))
        body.append(item)
      }
      ops.append(el('details', { class: 'op', id: op.operationId },
        el('summary', {}, el('span', { class: 'm ' + method }, method), el('span', { class: 'path' }, path), el('span', { class: 'auth' }, auth)),
        body))
    }
  }
}).catch((e) => { document.getElementById('intro').textContent = 'Could not load /openapi.json: ' + e })
</script></body></html>
`
