/**
 * The dashboard's page and style: static, no build step. Its script is
 * `dashboard-script.ts`, served from `/dashboard/app.js` so the page's content
 * security policy can forbid inline script.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Spillway dashboard</title>
<link rel="icon" href="data:,">
<style>
:root { --bg:#0f1419; --card:#172029; --line:#263441; --text:#e6edf3; --dim:#8b9bab;
  --leased:#f0a33a; --free:#2b3b4a; --ok:#3fb950; --warn:#d29922; --bad:#f85149;
  --primary:#58a6ff; --fallback:#bc8cff; --queued:#f0a33a; --none:#8b9bab; }
* { box-sizing:border-box }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--text) }
header { display:flex; align-items:baseline; gap:16px; padding:14px 22px; border-bottom:1px solid var(--line) }
header h1 { font-size:18px; margin:0 }
header .dim { color:var(--dim) }
main { display:grid; grid-template-columns:repeat(auto-fit, minmax(380px, 1fr)); gap:16px; padding:16px 22px }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px }
section.wide { grid-column:1 / -1 }
h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); margin:0 0 10px }
.pool { margin-bottom:12px } .pool:last-child { margin-bottom:0 }
.pool-title { font-weight:600; margin-bottom:4px }
.backend { display:grid; grid-template-columns:80px 1fr 92px; align-items:center; gap:8px; padding:3px 0 }
.slots { display:flex; flex-wrap:wrap; gap:3px }
.slot { width:14px; height:14px; border-radius:3px; background:var(--free) }
.slot.leased { background:var(--leased) }
.badge { font-size:12px; padding:1px 7px; border-radius:10px; text-align:center }
.healthy { background:#12361d; color:var(--ok) } .degraded { background:#3a2d0c; color:var(--warn) } .out { background:#3d1214; color:var(--bad) }
.reasons { grid-column:2 / -1; color:var(--dim); font-size:12px }
.nums { display:flex; gap:18px; flex-wrap:wrap }
.num b { display:block; font-size:22px; font-variant-numeric:tabular-nums }
.num span { color:var(--dim); font-size:12px }
.series { display:grid; grid-template-columns:130px 1fr 70px; align-items:center; gap:8px; padding:2px 0 }
.series svg { width:100%; height:28px }
.rate { text-align:right; font-variant-numeric:tabular-nums }
table { width:100%; border-collapse:collapse; font-size:13px }
td, th { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); vertical-align:top }
th { color:var(--dim); font-weight:500 }
.outcome-primary { color:var(--primary) } .outcome-fallback { color:var(--fallback) }
.outcome-saturated, .outcome-queued { color:var(--queued) } .outcome-no-backend { color:var(--bad) }
.empty { color:var(--dim) }
#login { display:none; gap:8px; align-items:center } #login.shown { display:flex }
input { background:var(--bg); color:var(--text); border:1px solid var(--line); border-radius:4px; padding:4px 8px }
button { background:var(--primary); color:#0b0f14; border:0; border-radius:4px; padding:5px 10px; cursor:pointer }
</style>
</head>
<body>
<header>
  <h1>Spillway</h1>
  <span class="dim" id="status">connecting…</span>
  <form id="login"><label for="key">admin key</label><input id="key" type="password" autocomplete="off"><button type="submit">Show</button></form>
</header>
<main>
  <section id="pools-section"><h2>GPU and CPU pools</h2><div id="pools" class="empty">no backends yet</div></section>
  <section id="queue-section"><h2>Overflow queue</h2><div id="queues" class="nums"></div><h2 style="margin-top:14px">Job outcomes</h2><div id="outcomes" class="nums"></div></section>
  <section id="rates-section"><h2>Requests per second by route · hardware</h2><div id="rates" class="empty">no requests yet</div></section>
  <section id="decisions-section" class="wide"><h2>Last routing decisions</h2><table><thead><tr><th>time</th><th>model</th><th>outcome</th><th>backend</th><th>why</th></tr></thead><tbody id="decisions"></tbody></table></section>
</main>
<script src="/dashboard/app.js"></script>
</body>
</html>
`
