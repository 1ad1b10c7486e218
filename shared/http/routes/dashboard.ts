import { Hono } from 'hono'
import type { JobStore } from '../../jobs/job-store.ts'
import { dashboardData } from '../../observability/dashboard-data.ts'
import { DASHBOARD_HTML } from '../../observability/dashboard-page.ts'
import { DASHBOARD_SCRIPT } from '../../observability/dashboard-script.ts'
import type { Observability } from '../../observability/observability.ts'
import type { AppEnv } from '../app-deps.ts'
import { adminUnlessOpen } from './metrics.ts'

/**
 * `GET /dashboard`: a static page (no data in it, so it needs no key) that polls
 * `GET /dashboard/data` every second with the admin key the operator typed
 * (kept in sessionStorage), or with none when the local stack opened it.
 */
export function dashboardRoutes(options: {
  observability: Observability
  adminKeyHash: string
  jobs?: JobStore
}) {
  return new Hono<AppEnv>()
    .get('/dashboard', (c) =>
      c.html(DASHBOARD_HTML, 200, {
        // Everything is inline and same-origin; nothing else may load or run.
        'content-security-policy':
          "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
        'cache-control': 'no-store',
      }),
    )
    .get('/dashboard/app.js', (c) =>
      c.body(DASHBOARD_SCRIPT, 200, {
        'content-type': 'text/javascript; charset=utf-8',
        'cache-control': 'no-store',
      }),
    )
    .get('/dashboard/data', adminUnlessOpen(options), async (c) => {
      c.header('cache-control', 'no-store')
      return c.json(await dashboardData(options.observability, options.jobs))
    })
}
