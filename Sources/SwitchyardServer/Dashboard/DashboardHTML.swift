extension DashboardAsset {
    /// The page itself: markup only; its script and style sheet are the two other assets (a strict CSP allows no inline script or style).
    /// Written here as a raw string literal: see `DashboardAsset` for why.
    static let html = DashboardAsset(path: "/ui", contentType: "text/html; charset=utf-8", text: #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Switchyard</title>
<link rel="stylesheet" href="/ui/dashboard.css">
<script src="/ui/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>Switchyard</h1>
  <div class="access">
    <input id="key-input" type="password" autocomplete="off" spellcheck="false" placeholder="Admin key, or your API key (sy-…)" aria-label="Key">
    <button id="key-use" type="button">Show</button>
    <button id="key-forget" type="button">Forget key</button>
  </div>
  <label class="window">Window
    <select id="window">
      <option value="1d">today</option>
      <option value="7d">7 days</option>
      <option value="30d">30 days</option>
      <option value="90d">90 days</option>
    </select>
  </label>
  <span id="status" data-state="locked" data-updates="0">Loading…</span>
</header>
<main id="board" hidden>
  <p id="viewer" class="viewer"></p>
  <section class="tiles">
    <div class="tile"><h2>Requests</h2><b id="total-requests"></b><small><span id="total-local"></span> on the box · <span id="total-cloud"></span> to the cloud</small></div>
    <div class="tile"><h2>Cloud share</h2><b id="cloud-share"></b><small>of requests with a cloud attempt</small></div>
    <div class="tile"><h2>Cloud spend</h2><b id="total-spend"></b><small>every attempt, failed ones too</small></div>
    <div class="tile savings"><h2>Savings</h2><b id="total-savings"></b><small>answers served on the box, at the reference cloud price</small></div>
  </section>
  <section class="panel wide">
    <h2>Local and cloud requests <span class="legend"><i class="local"></i>on the box <i class="cloud"></i>cloud</span></h2>
    <div id="timeline-chart" class="chart"></div>
  </section>
  <section class="panel">
    <h2>Escalations by reason</h2>
    <div id="escalations-chart" class="chart"></div>
  </section>
  <section class="panel" id="engine-panel" hidden>
    <h2>Engine <span id="engine-model" class="muted"></span></h2>
    <dl class="engine">
      <dt>phase</dt><dd id="engine-phase"></dd>
      <dt>busy slots</dt><dd id="engine-busy"></dd>
      <dt>queued</dt><dd id="engine-queue"></dd>
      <dt>restarts</dt><dd id="engine-restarts"></dd>
      <dt>last exit</dt><dd id="engine-exit"></dd>
    </dl>
    <table id="gates"><thead><tr><th>target</th><th>kind</th><th>status</th><th>running</th><th>queued</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="panel">
    <h2>Budgets</h2>
    <div id="budgets"></div>
  </section>
  <section class="panel">
    <h2>Latency per target</h2>
    <table id="latency"><thead><tr><th>target</th><th>tier</th><th>attempts</th><th>p50</th><th>p95</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="panel wide">
    <h2>Usage per target</h2>
    <table id="targets-usage"><thead><tr><th>target</th><th>requests</th><th>attempts</th><th>tokens in / out</th><th>spend</th><th>savings</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="panel" id="calibration-panel" hidden>
    <h2>Calibration</h2>
    <dl id="calibration" class="engine"></dl>
  </section>
  <section class="panel wide">
    <h2>Recent decisions</h2>
    <table id="decisions"><thead><tr><th>time (UTC)</th><th>rule</th><th>route</th><th>target</th><th>outcome</th><th>reason</th><th>cost</th><th>latency</th></tr></thead><tbody></tbody></table>
  </section>
</main>
<footer>Served by the gateway itself: no external assets. The key stays in this tab (sessionStorage) and is sent only to this gateway.</footer>
</body>
</html>
"""#)
}
