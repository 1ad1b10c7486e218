import { Hono } from 'hono'
import type { JobStore } from '../../jobs/job-store.ts'
import { type DashboardData, dashboardData } from '../../observability/dashboard-data.ts'
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
/** Polls within this share one read of the fleet, the queues and the job counts, however many pages are open. */
const DATA_CACHE_MS = 1000

export function dashboardRoutes(options: {
  observability: Observability
  adminKeyHash: string
  jobs?: JobStore
}) {
  let cached: { at: number; data: Promise<DashboardData> } | undefined
  const data = () => {
    const now = options.observability.clock()
    if (!cached || now - cached.at >= DATA_CACHE_MS) {
      const entry = { at: now, data: dashboardData(options.observability, options.jobs) }
      entry.data.catch(() => {
        if (cached === entry) cached = undefined
      })
      cached = entry
    }
    return cached.data
  }
  return new Hono<AppEnv>()
    .get('/dashboard', (c) =>
      c.html(DASHBOARD_HTML, 200, {
        // Styles inline, the one script same-origin, data from this origin only; nothing else loads.
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
      return c.json(await data())
    })
}
