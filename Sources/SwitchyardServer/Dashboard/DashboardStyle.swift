extension DashboardAsset {
    /// The page's style sheet.
    /// Written here as a raw string literal: see `DashboardAsset` for why.
    static let style = DashboardAsset(path: "/ui/dashboard.css", contentType: "text/css; charset=utf-8", text: #"""
:root { --ink: #1d2430; --muted: #6b7280; --line: #e3e6eb; --panel: #ffffff; --back: #f4f5f7; --local: #2f9e6e; --cloud: #3b6fd8; --warn: #d9822b; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 13px/1.35 system-ui, "DejaVu Sans", sans-serif; color: var(--ink); background: var(--back); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 12px 20px; padding: 12px 24px; background: var(--ink); color: #fff; }
header h1 { margin: 0; font-size: 18px; letter-spacing: .02em; }
.access { display: flex; gap: 6px; }
input, select, button { font: inherit; border-radius: 4px; border: 1px solid #9aa3b2; padding: 4px 8px; }
input { width: 280px; }
button { background: #fff; color: var(--ink); cursor: pointer; }
.window { display: flex; gap: 6px; align-items: center; }
#status { margin-left: auto; font-size: 13px; opacity: .85; }
#status[data-state="error"] { color: #ffb4a8; opacity: 1; }
main { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); grid-auto-flow: row dense; gap: 12px; padding: 12px 20px; }
.viewer { grid-column: 1 / -1; margin: 0; color: var(--muted); }
.tiles { grid-column: 1 / -1; display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; }
.tile, .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; }
.tile h2, .panel h2 { margin: 0 0 8px; font-size: 13px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.tile b { display: block; font-size: 24px; font-weight: 600; }
.tile small { color: var(--muted); }
.tile.savings b { color: var(--local); }
.wide { grid-column: 1 / -1; }
.chart svg { width: 100%; height: auto; display: block; }
.chart .grid { stroke: var(--line); }
.chart .axis, .chart .label, .chart .value { font-size: 11px; fill: var(--muted); }
.chart .label { font-size: 12px; }
.chart .label { fill: var(--ink); }
rect.local { fill: var(--local); }
rect.cloud { fill: var(--cloud); }
rect.escalation { fill: var(--warn); }
.legend { float: right; text-transform: none; letter-spacing: 0; font-weight: 400; }
.legend i { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px; border-radius: 2px; }
.legend i.local { background: var(--local); }
.legend i.cloud { background: var(--cloud); }
table { width: 100%; border-collapse: collapse; font-size: 12px; }
th { text-align: left; font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--line); padding: 4px 6px; }
td { border-bottom: 1px solid var(--line); padding: 3px 6px; font-variant-numeric: tabular-nums; }
td.empty, p.empty { color: var(--muted); font-style: italic; }
td.reason { max-width: 320px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.budget { margin-bottom: 10px; }
.budget-title { display: flex; justify-content: space-between; font-size: 13px; }
.budget .period, .muted { color: var(--muted); font-weight: 400; text-transform: none; }
.bar { display: flex; height: 10px; background: var(--back); border-radius: 5px; overflow: hidden; margin: 3px 0; }
.bar .spent { background: var(--cloud); }
.bar .reserved { background: #a9c0ee; }
.bar.hot .spent { background: var(--warn); }
.figures { font-size: 12px; color: var(--muted); }
dl.engine { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 10px; }
dl.engine dt { color: var(--muted); }
dl.engine dd { margin: 0; font-weight: 600; }
#engine-phase[data-phase="ready"] { color: var(--local); }
#engine-phase[data-phase="restarting"], #engine-phase[data-phase="stopped"] { color: #c2410c; }
footer { padding: 8px 24px 24px; color: var(--muted); font-size: 12px; }
@media (max-width: 900px) { main, .tiles { grid-template-columns: 1fr; } }
"""#)
}
