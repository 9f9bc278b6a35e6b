extension DashboardAsset {
    /// The page's script: fetches the JSON endpoints with the pasted key, draws the charts as SVG, polls every 5 s while the tab is visible.
    /// Written here as a raw string literal: see `DashboardAsset` for why.
    static let script = DashboardAsset(path: "/ui/dashboard.js", contentType: "text/javascript; charset=utf-8", text: #"""
// Switchyard's dashboard. Everything it shows comes from the gateway's own JSON endpoints, asked
// with the key the person pasted (kept in sessionStorage for this tab only, sent as a bearer
// token, never put in a URL). Text from the ledger is written with textContent only.
"use strict";

const KEY_STORE = "switchyard.key";
const POLL_MS = 5000;
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
let timer = null;
let generation = 0;
let updates = 0;

function storedKey() { return sessionStorage.getItem(KEY_STORE) || ""; }

function setStatus(state, text) {
  const status = $("status");
  status.dataset.state = state;
  status.textContent = text;
}

async function getJSON(path, key) {
  const response = await fetch(path, {
    headers: { "Authorization": "Bearer " + key, "Accept": "application/json" },
    cache: "no-store", credentials: "omit", redirect: "error", referrerPolicy: "no-referrer",
  });
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  return { status: response.status, body };
}

function errorText(answer) {
  const message = answer.body && answer.body.error && answer.body.error.message;
  return "HTTP " + answer.status + (message ? ": " + message : "");
}

// ---- formatting -----------------------------------------------------------------------------

function usd(value) { return "$" + (Math.abs(value) >= 100 ? value.toFixed(2) : value.toFixed(6)); }
function count(value) { return String(value); }
function percent(part, whole) { return whole > 0 ? (100 * part / whole).toFixed(1) + "%" : "–"; }
function clock(iso) { return iso.slice(11, 19); }
function day(iso) { return iso.slice(0, 10); }

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function svg(tag, attributes, parent) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const name in attributes) node.setAttribute(name, attributes[name]);
  if (parent) parent.appendChild(node);
  return node;
}

// One row per entry, each cell with a class naming its column; `rowKey` names the row (data-key).
function fillTable(id, rows, cells, rowKey) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement("tr");
    tr.dataset.key = rowKey(row);
    for (const [className, text] of cells(row)) tr.appendChild(el("td", text, className));
    body.appendChild(tr);
  }
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = el("td", "nothing yet", "empty");
    td.colSpan = $(id).tHead.rows[0].cells.length;
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

// ---- panels ---------------------------------------------------------------------------------

function renderTotals(usageByKey) {
  let requests = 0, cloud = 0, spend = 0, savings = 0;
  for (const row of usageByKey.data) {
    requests += row.requests;
    cloud += row.cloud_requests;
    spend += row.spend_usd;
    savings += row.savings_usd;
  }
  $("total-requests").textContent = count(requests);
  $("total-local").textContent = count(requests - cloud);
  $("total-cloud").textContent = count(cloud);
  $("cloud-share").textContent = percent(cloud, requests);
  $("total-spend").textContent = usd(spend);
  $("total-savings").textContent = usd(savings);
}

function renderTargets(usageByModel) {
  fillTable("targets-usage", usageByModel.data.map((row) => Object.assign({ target: row.group }, row)), (row) => [
    ["target", row.target], ["requests", count(row.requests)], ["attempts", count(row.attempts)],
    ["tokens", count(row.prompt_tokens) + " / " + count(row.completion_tokens)], ["spend", usd(row.spend_usd)],
    ["savings", usd(row.savings_usd)],
  ], (row) => row.target);
}

function renderTimeline(board) {
  const holder = $("timeline-chart");
  holder.replaceChildren();
  const since = Date.parse(board.window.since), until = Date.parse(board.window.until);
  const width = board.window.bucket_seconds * 1000;
  const slots = Math.max(1, Math.round((until - since) / width));
  const local = new Array(slots).fill(0), cloud = new Array(slots).fill(0);
  for (const bucket of board.timeline) {
    const n = Math.round((Date.parse(bucket.start) - since) / width);
    if (n >= 0 && n < slots) { local[n] = bucket.local_requests; cloud[n] = bucket.cloud_requests; }
  }
  const top = Math.max(1, ...local.map((v, i) => v + cloud[i]));
  // Drawn at the size it is shown, so that its text is the page's size.
  const W = Math.max(480, holder.clientWidth), H = 180, left = 36, bottom = 22, plotH = H - bottom - 8, step = (W - left) / slots;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "local and cloud requests over time" }, holder);
  for (const fraction of [0, 0.5, 1]) {
    const y = 8 + plotH * (1 - fraction);
    svg("line", { x1: left, x2: W, y1: y, y2: y, class: "grid" }, chart);
    svg("text", { x: left - 6, y: y + 4, class: "axis", "text-anchor": "end" }, chart).textContent = String(Math.round(top * fraction));
  }
  for (let i = 0; i < slots; i++) {
    const x = left + i * step + step * 0.15, w = Math.max(1, step * 0.7);
    const hLocal = plotH * local[i] / top, hCloud = plotH * cloud[i] / top;
    const group = svg("g", { "data-slot": i, "data-local": local[i], "data-cloud": cloud[i] }, chart);
    svg("rect", { x, y: 8 + plotH - hLocal, width: w, height: hLocal, class: "local" }, group);
    svg("rect", { x, y: 8 + plotH - hLocal - hCloud, width: w, height: hCloud, class: "cloud" }, group);
    const start = new Date(since + i * width).toISOString();
    svg("title", {}, group).textContent = `${board.window.bucket_seconds >= 86400 ? day(start) : start.slice(0, 16).replace("T", " ")}: ${local[i]} local, ${cloud[i]} cloud`;
    const every = Math.ceil(slots / 8);
    if (i % every === 0) {
      const label = board.window.bucket_seconds >= 86400 ? day(start).slice(5) : (board.window.name === "1d" ? start.slice(11, 16) : day(start).slice(5) + " " + start.slice(11, 13) + "h");
      svg("text", { x: left + i * step + step / 2, y: H - 6, class: "axis", "text-anchor": "middle" }, chart).textContent = label;
    }
  }
}

function renderEscalations(board) {
  const holder = $("escalations-chart");
  holder.replaceChildren();
  if (board.escalations.length === 0) { holder.appendChild(el("p", "No cascade escalated in this window.", "empty")); return; }
  const top = Math.max(...board.escalations.map((e) => e.count));
  const rowH = 26, W = Math.max(320, holder.clientWidth), labelW = 140;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${rowH * board.escalations.length + 4}`, role: "img", "aria-label": "escalations by reason" }, holder);
  board.escalations.forEach((entry, i) => {
    const group = svg("g", { "data-reason": entry.reason }, chart);
    const y = 4 + i * rowH;
    svg("text", { x: labelW - 8, y: y + 15, class: "label", "text-anchor": "end" }, group).textContent = entry.reason || "(none)";
    const w = (W - labelW - 44) * entry.count / top;
    svg("rect", { x: labelW, y, width: Math.max(1, w), height: rowH - 8, class: "escalation" }, group);
    svg("text", { x: labelW + w + 6, y: y + 15, class: "value count" }, group).textContent = count(entry.count);
  });
}

function renderBudgets(board) {
  const holder = $("budgets");
  holder.replaceChildren();
  if (board.budgets.length === 0) { holder.appendChild(el("p", "No budget applies.", "empty")); return; }
  for (const budget of board.budgets) {
    const row = el("div", null, "budget");
    row.dataset.budget = budget.scope + ":" + budget.id;
    const title = el("div", null, "budget-title");
    title.appendChild(el("span", budget.scope === "tenant" ? "tenant " + budget.id : "key " + (budget.name || budget.id), "who"));
    title.appendChild(el("span", budget.period + (budget.period === "total" ? "" : " " + budget.period_key), "period"));
    row.appendChild(title);
    const bar = el("div", null, "bar");
    const spent = el("div", null, "spent"), reserved = el("div", null, "reserved");
    const limit = budget.limit_usd > 0 ? budget.limit_usd : 1;
    spent.style.width = Math.min(100, 100 * budget.spent_usd / limit) + "%";
    reserved.style.width = Math.min(100, 100 * budget.reserved_usd / limit) + "%";
    if (budget.used_ratio >= 0.9) bar.classList.add("hot");
    bar.append(spent, reserved);
    row.appendChild(bar);
    const figures = el("div", null, "figures");
    figures.append(el("span", usd(budget.spent_usd), "spent-usd"), document.createTextNode(" spent of "),
      el("span", usd(budget.limit_usd), "limit-usd"), document.createTextNode(" · reserved "), el("span", usd(budget.reserved_usd), "reserved-usd"));
    row.appendChild(figures);
    holder.appendChild(row);
  }
  if (board.budgets_truncated) holder.appendChild(el("p", "More budgets than shown: see switchyard keys list.", "empty"));
}

function renderLatency(board) {
  fillTable("latency", board.latency, (row) => [
    ["target", row.target], ["tier", row.tier], ["attempts", count(row.attempts)], ["p50", row.p50_ms + " ms"], ["p95", row.p95_ms + " ms"],
  ], (row) => row.target);
}

function renderDecisions(board) {
  fillTable("decisions", board.decisions, (row) => [
    ["time", row.time.slice(0, 10) + " " + clock(row.time)], ["rule", row.rule], ["route", row.route], ["target", row.target],
    ["outcome", row.outcome], ["reason", row.reason || "first candidate"], ["cost", usd(row.cost_usd)], ["latency", row.latency_ms + " ms"],
  ], (row) => row.request_id);
}

function renderEngine(board) {
  const panel = $("engine-panel");
  if (board.viewer.role !== "admin") { panel.hidden = true; return; }
  panel.hidden = false;
  const engine = board.engine;
  $("engine-model").textContent = engine ? engine.model : "no local model";
  $("engine-phase").textContent = engine ? engine.phase : "–";
  $("engine-phase").dataset.phase = engine ? engine.phase : "none";
  $("engine-busy").textContent = engine ? engine.busy_slots + " / " + engine.slots : "–";
  $("engine-queue").textContent = engine ? count(engine.queued) : "–";
  $("engine-restarts").textContent = engine ? count(engine.restarts) : "–";
  $("engine-exit").textContent = engine && engine.last_exit ? engine.last_exit : "–";
  fillTable("gates", board.targets, (row) => [
    ["target", row.name], ["kind", row.kind], ["status", row.status], ["running", row.running + " / " + row.max_concurrency],
    ["queued", row.queued + " / " + row.queue_depth],
  ], (row) => row.name);
}

// The calibration the gateway learned (GET /v1/switchyard/calibration): shown when it answers 200
// (the admin, a policy that learns), hidden otherwise. Its version, labels by source, how good it is
// on labels it was not fitted on, and each learned threshold with its estimated risk and bound.
function renderCalibration(answer) {
  const panel = $("calibration-panel");
  const list = $("calibration");
  list.replaceChildren();
  const body = answer.body;
  if (answer.status !== 200 || !body || typeof body !== "object") { panel.hidden = true; return; }
  panel.hidden = false;
  const number = (v) => typeof v === "number" && isFinite(v) ? v.toFixed(3) : "-";
  const row = (name, text) => { list.appendChild(el("dt", name)); list.appendChild(el("dd", text)); };
  row("version", String(body.version) + (body.fitted ? " (fitted on " + body.labels_used + " labels)" : " (not fitted yet)"));
  const labels = body.labels || {};
  row("labels", ["escalation", "shadow", "feedback"].map((s) => s + " " + (labels[s] || 0)).join(", "));
  const held = body.held_out;
  row("held out", held ? held.labels + " labels: log-loss " + number(held.log_loss) + ", AUROC " + number(held.auroc) : "none yet");
  for (const [rule, t] of Object.entries(body.thresholds || {})) {
    let text = (typeof t.value === "number" ? number(t.value) : String(t.value)) + " (" + t.source + (t.drift ? ", drift" : "") + ", " + t.labels + " labels)";
    if (typeof t.estimated_risk === "number") text += "; estimated risk " + number(t.estimated_risk) + " ≤ bound " + number(t.risk_bound);
    row("threshold " + rule, text);
  }
}

// ---- cycle ----------------------------------------------------------------------------------

function clearBoard() {
  $("board").hidden = true;
  for (const id of ["total-requests", "total-local", "total-cloud", "cloud-share", "total-spend", "total-savings", "viewer",
    "engine-model", "engine-phase", "engine-busy", "engine-queue", "engine-restarts", "engine-exit"]) $(id).textContent = "";
  for (const id of ["timeline-chart", "escalations-chart", "budgets", "calibration"]) $(id).replaceChildren();
  for (const id of ["targets-usage", "latency", "decisions", "gates"]) $(id).tBodies[0].replaceChildren();
  $("engine-panel").hidden = true;
  $("calibration-panel").hidden = true;
}

async function refresh() {
  clearTimeout(timer);
  const mine = ++generation;
  const key = storedKey();
  if (!key) { clearBoard(); setStatus("locked", "Paste the admin key, or your API key to see your own usage."); return; }
  setStatus("loading", "Loading…");
  try {
    const board = await getJSON("/v1/switchyard/dashboard?window=" + encodeURIComponent($("window").value), key);
    if (mine !== generation) return;
    if (board.status === 401 || board.status === 403) {
      // A refused key is forgotten, and nothing is shown or asked again until another is pasted.
      clearBoard();
      sessionStorage.removeItem(KEY_STORE);
      setStatus("error", "The gateway refused the key: " + errorText(board));
      return;
    }
    if (board.status !== 200) throw new Error(errorText(board));
    const range = "&since=" + board.body.window.since_day + "&until=" + board.body.window.until_day;
    const [byKey, byModel, calibration] = await Promise.all([
      getJSON("/v1/switchyard/usage?group_by=key" + range, key),
      getJSON("/v1/switchyard/usage?group_by=model" + range, key),
      // The calibration is the admin's to see: a key holder's page does not ask.
      board.body.viewer.role === "admin" ? getJSON("/v1/switchyard/calibration", key) : Promise.resolve({ status: 0 }),
    ]);
    if (mine !== generation) return;
    if (byKey.status !== 200 || byModel.status !== 200) throw new Error("usage: " + errorText(byKey.status !== 200 ? byKey : byModel));
    $("board").hidden = false;
    const viewer = board.body.viewer;
    $("viewer").textContent = viewer.role === "admin" ? "admin: every key" : "key " + (viewer.name || viewer.key_id) + ": its own usage";
    renderTotals(byKey.body);
    renderTargets(byModel.body);
    renderTimeline(board.body);
    renderEscalations(board.body);
    renderBudgets(board.body);
    renderLatency(board.body);
    renderDecisions(board.body);
    renderEngine(board.body);
    renderCalibration(calibration);
    updates += 1;
    $("status").dataset.updates = String(updates);
    setStatus("ok", "Updated " + clock(board.body.generated_at) + " UTC");
  } catch (error) {
    if (mine !== generation) return;
    // Kept polling: a gateway restarting or a ledger briefly out of reach comes back by itself.
    setStatus("error", "Not updated: " + error.message);
  }
  if (mine === generation) timer = setTimeout(poll, POLL_MS);
}

function poll() {
  if (document.visibilityState === "hidden") { timer = setTimeout(poll, POLL_MS); return; }
  refresh();
}

function useKey() {
  const input = $("key-input");
  const key = input.value.trim();
  input.value = "";
  if (!key) return;
  sessionStorage.setItem(KEY_STORE, key);
  refresh();
}

function forgetKey() {
  sessionStorage.removeItem(KEY_STORE);
  generation += 1;
  clearTimeout(timer);
  clearBoard();
  setStatus("locked", "Key forgotten. Paste a key to see the dashboard.");
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-use").addEventListener("click", useKey);
  $("key-input").addEventListener("keydown", (event) => { if (event.key === "Enter") useKey(); });
  $("key-forget").addEventListener("click", forgetKey);
  $("window").addEventListener("change", refresh);
  refresh();
});
"""#)
}
