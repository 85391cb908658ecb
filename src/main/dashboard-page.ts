// The dashboard's HTML and stylesheet, kept in the build (no file to copy
// into dist/ or the container). The page holds no data and no inline script
// or style: the browser code (src/dashboard) fills the empty elements below,
// by id, with textContent.

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PodMeter</title>
<link rel="icon" href="dashboard/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="dashboard/uplot.css">
<link rel="stylesheet" href="dashboard/dashboard.css">
<script src="dashboard/uplot.js"></script>
<script type="module" src="dashboard/app.js"></script>
</head>
<body>
<header>
  <h1>PodMeter <span id="host" class="muted"></span></h1>
  <span id="status" class="status">connecting…</span>
</header>
<main>
  <section class="tiles">
    <div class="tile"><span class="label">requests/s</span><span id="t-rate" class="value">–</span></div>
    <div class="tile"><span class="label">p50</span><span id="t-p50" class="value">–</span></div>
    <div class="tile"><span class="label">p99</span><span id="t-p99" class="value">–</span></div>
    <div class="tile"><span class="label">p99.9</span><span id="t-p999" class="value">–</span></div>
    <div class="tile"><span class="label">errors/s</span><span id="t-errors" class="value">–</span></div>
    <div class="tile"><span class="label">mesh mode</span><span id="t-mode" class="value mode">–</span></div>
  </section>
  <section class="card">
    <h2>Request rate <span class="muted">per second, from the request counter</span></h2>
    <div id="chart-rate" class="chart"></div>
  </section>
  <section class="card">
    <h2>Latency over time <span class="muted">service time in the pod, the last 1–2 s, ms (log)</span></h2>
    <div id="chart-latency" class="chart"></div>
  </section>
  <section class="card wide">
    <h2>Latency distribution <span class="muted">percentile spectrum, ms (log)</span>
      <span class="switch" role="group" aria-label="range">
        <button type="button" id="range-lifetime" class="on">since start or reset</button>
        <button type="button" id="range-window">last seconds</button>
      </span>
    </h2>
    <div id="chart-spectrum" class="chart"></div>
    <p id="spectrum-note" class="muted small"></p>
  </section>
  <section class="card">
    <h2>Memory <span class="muted">MiB</span></h2>
    <div id="chart-memory" class="chart"></div>
    <p id="memory-note" class="muted small"></p>
  </section>
  <section class="card">
    <h2>Mesh</h2>
    <p><span id="mesh-mode" class="mode big">–</span> <span id="mesh-flags" class="muted"></span></p>
    <h3>Evidence, strongest first</h3>
    <ul id="mesh-evidence"></ul>
    <h3>Requests by hops crossed</h3>
    <table><tbody id="mesh-hops"></tbody></table>
  </section>
  <section class="card">
    <h2>Errors and totals</h2>
    <table><tbody id="totals"></tbody></table>
  </section>
  <section class="card">
    <h2>This page's own request <span class="muted">as the pod saw it (/debug/headers)</span></h2>
    <table><tbody id="headers"></tbody></table>
  </section>
</main>
</body>
</html>
`

// A gauge; also keeps the browser from asking for /favicon.ico.
export const DASHBOARD_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<circle cx="16" cy="18" r="13" fill="#1f6feb"/><path d="M16 18 L24 9" stroke="#fff" stroke-width="3" stroke-linecap="round"/>
</svg>
`

export const DASHBOARD_CSS = `:root {
  --bg: #f6f7f9; --card: #fff; --ink: #1b1f24; --muted: #5b6470; --line: #dde1e6;
  --accent: #1f6feb; --bad: #c62828; --good: #2e7d32;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: var(--bg);
}
body { margin: 0; }
header { display: flex; align-items: center; justify-content: space-between; padding: 10px 20px;
  background: var(--card); border-bottom: 1px solid var(--line); }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 15px; margin: 0 0 8px; display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
h3 { font-size: 13px; margin: 12px 0 4px; color: var(--muted); }
.muted { color: var(--muted); font-weight: normal; font-size: 13px; }
.small { font-size: 12px; margin: 6px 0 0; }
.status { font-size: 13px; padding: 3px 10px; border-radius: 12px; background: #eee; }
.status.live { background: #e3f2e5; color: var(--good); }
.status.down { background: #fde7e7; color: var(--bad); }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 14px; padding: 14px 20px; }
.tiles { grid-column: 1 / -1; display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 10px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; display: flex; flex-direction: column; }
.tile .label { font-size: 12px; color: var(--muted); }
.tile .value { font-size: 22px; font-variant-numeric: tabular-nums; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
.chart { width: 100%; min-height: 240px; }
.mode { font-weight: 600; }
.mode.big { font-size: 20px; padding: 2px 10px; border-radius: 6px; background: #eef3fd; color: var(--accent); }
ul { margin: 0; padding-left: 18px; font-size: 13px; }
li { margin: 2px 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
td { border-top: 1px solid var(--line); padding: 3px 6px; vertical-align: top; overflow-wrap: anywhere; }
td:first-child { color: var(--muted); white-space: nowrap; width: 1%; }
td.num { font-variant-numeric: tabular-nums; }
.switch { margin-left: auto; }
.switch button { font: inherit; font-size: 12px; padding: 2px 8px; border: 1px solid var(--line); background: var(--card); cursor: pointer; }
.switch button.on { background: var(--accent); color: #fff; border-color: var(--accent); }
.bad { color: var(--bad); }
`
