/**
 * The status page's HTML and CSS (its scripts are ui/*.js, app.js first). Kept in TypeScript so that the build
 * ships them inside dist/ with the rest of the API; nothing here is generated from data, and the
 * page fills itself in with textContent only.
 */
export const UI_HTML = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>mcic status</title>
    <link rel="stylesheet" href="/ui/style.css">
    <script type="module" src="/ui/app.js"></script>
  </head>
  <body>
    <header>
      <h1>mcic</h1>
      <span id="live" class="badge pending">connecting</span>
      <span id="updated" class="muted"></span>
      <span class="spacer"></span>
      <a href="/swagger">API</a>
      <button id="forget" type="button" hidden>Forget token</button>
    </header>
    <p id="error" class="error" hidden></p>
    <form id="login" class="login" hidden>
      <label for="token-input">API token</label>
      <input id="token-input" type="password" autocomplete="off" required>
      <button type="submit">Sign in</button>
      <p class="muted">The API needs a bearer token (one of API_TOKENS). It is kept in this tab's session storage only.</p>
    </form>
    <main id="main">
      <section class="chart">
        <h2>Events per second</h2>
        <p><strong id="event-count">0</strong> events seen since this page opened, <strong id="event-rate">0</strong>/s in the last second</p>
        <svg id="chart" viewBox="0 0 600 120" preserveAspectRatio="none" role="img" aria-label="events per second over the last minute">
          <polyline id="chart-line" points=""></polyline>
        </svg>
        <p class="muted axis"><span>60 s ago</span><span id="chart-max">max 0/s</span><span>now</span></p>
      </section>
      <section>
        <h2>Clusters</h2>
        <table id="clusters">
          <thead><tr><th>Name</th><th>State</th><th>Resources</th><th>Last event</th><th>Events/s (1 min)</th></tr></thead>
          <tbody></tbody>
        </table>
      </section>
      <section>
        <h2>Servers</h2>
        <table id="servers">
          <thead><tr><th>Name</th><th>URL</th><th>State</th><th>Success rate</th><th>Deliveries/s</th><th>Pending</th><th>Dead letters</th><th>Last success</th></tr></thead>
          <tbody></tbody>
        </table>
      </section>
      <section>
        <h2>Event tail</h2>
        <div class="filters">
          <input id="tail-filter" type="search" placeholder="filter: cluster, resource, namespace, name" aria-label="filter the tail">
          <select id="tail-type" aria-label="event type">
            <option value="">all types</option>
            <option>ADDED</option>
            <option>MODIFIED</option>
            <option>DELETED</option>
          </select>
          <button id="tail-pause" type="button">Pause</button>
          <span id="tail-note" class="muted"></span>
        </div>
        <table id="tail">
          <thead><tr><th>Time</th><th>Type</th><th>Cluster</th><th>Resource</th><th>Object</th><th>Version</th></tr></thead>
          <tbody></tbody>
        </table>
      </section>
    </main>
  </body>
</html>
`;

export const UI_CSS = `:root {
  color-scheme: light dark;
  --fg: #1d232a;
  --muted: #66707a;
  --bg: #f6f7f9;
  --card: #ffffff;
  --line: #dde1e6;
  --ok: #1a7f37;
  --warn: #9a6700;
  --bad: #cf222e;
  --accent: #0969da;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #8d96a0; --bg: #0d1117; --card: #161b22; --line: #30363d; --accent: #4493f8; }
}
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: center; gap: 12px; padding: 10px 20px; background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; }
.spacer { flex: 1; }
a { color: var(--accent); }
main { padding: 12px 20px; display: grid; gap: 16px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; overflow-x: auto; }
h2 { font-size: 15px; margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
th { color: var(--muted); font-weight: 600; }
td.wrap { white-space: normal; word-break: break-all; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid currentColor; }
.watching, .active, .ADDED, .live { color: var(--ok); }
.syncing, .pending, .MODIFIED { color: var(--warn); }
.error, .disabled, .DELETED, .offline { color: var(--bad); }
ul.resources { list-style: none; margin: 0; padding: 0; }
p.error { margin: 10px 20px; padding: 8px 12px; border: 1px solid var(--bad); border-radius: 6px; }
.login { margin: 40px auto; max-width: 420px; display: grid; gap: 8px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px; }
input, select, button { font: inherit; padding: 4px 8px; }
.filters { display: flex; gap: 8px; align-items: center; margin-bottom: 8px; }
.filters input { flex: 1; max-width: 360px; }
svg#chart { width: 100%; height: 120px; background: var(--bg); border-radius: 4px; }
#chart-line { fill: none; stroke: var(--accent); stroke-width: 2; vector-effect: non-scaling-stroke; }
.axis { display: flex; justify-content: space-between; margin: 2px 0 0; font-size: 12px; }
.chart p { margin: 0 0 6px; }
`;
