/**
 * The console's stylesheet, served as /ui/app.css by pages.ts. Kept in a
 * module (not a .css file) so that `tsc` carries it into dist/ like every
 * other part of the console, with no copy step in the build.
 */
export const APP_CSS = `
:root {
  --bg: #f6f7f9; --panel: #fff; --ink: #1d2330; --muted: #687083; --line: #dde1e8; --accent: #2f6fde;
  --ok: #2e9d5b; --run: #2f6fde; --commit: #8a5cd1; --bad: #d23f3f; --warn: #d98a1c; --idle: #9aa3b2;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
header.nav { display: flex; align-items: center; gap: 24px; padding: 0 20px; height: 46px; background: #1f2633; color: #fff; }
header.nav .brand { font-weight: 700; letter-spacing: .5px; color: #fff; }
#nav-links { display: flex; gap: 4px; flex: 1; }
#nav-links a { color: #c9d1e0; padding: 12px 10px; border-bottom: 3px solid transparent; }
#nav-links a.active { color: #fff; border-bottom-color: #6ea0ff; }
#nav-links a:hover { color: #fff; text-decoration: none; }
#live-status { font-size: 12px; color: #9fe0b7; }
#live-status.lost, #live-status.problem { color: #ffb4b4; }
.banner { margin: 12px 20px 0; padding: 10px 14px; border-radius: 6px; }
.banner.problem, .banner.lost { background: #fde8e8; color: #8d1f1f; border: 1px solid #f3b9b9; }
.banner.info { background: #e8f0fd; color: #1e3f7a; border: 1px solid #b9cdf3; }
main { padding: 8px 20px 40px; max-width: 1400px; }
h1 { font-size: 22px; margin: 14px 0 10px; display: flex; align-items: center; gap: 10px; }
h2 { font-size: 16px; margin: 22px 0 8px; }
section { margin-top: 8px; }
.page-head { display: flex; align-items: center; justify-content: space-between; gap: 16px; }
.actions { display: flex; gap: 8px; }
table { border-collapse: collapse; width: 100%; background: var(--panel); border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .3px; color: var(--muted); }
td.empty, p.empty { color: var(--muted); font-style: italic; }
ul.plain { list-style: none; margin: 0; padding: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; background: var(--panel); border: 1px solid var(--line); padding: 10px 14px; margin: 10px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-all; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--idle); }
.state-RUNNING { background: var(--run); }
.state-ALIVE { background: var(--ok); }
.state-COMMITTING { background: var(--commit); }
.state-SUCCEEDED, .state-PUBLISHED { background: var(--ok); }
.state-FAILED, .state-LOST { background: var(--bad); }
.state-KILLED { background: var(--warn); }
.state-PENDING { background: var(--idle); }
.progress { position: relative; height: 18px; min-width: 120px; background: #e6e9ef; border-radius: 4px; overflow: hidden; }
.progress-fill { position: absolute; inset: 0 auto 0 0; transition: width .4s; }
.progress-label { position: relative; display: block; text-align: center; font-size: 12px; line-height: 18px; color: #10141c; }
#job-progress .progress { height: 24px; margin: 6px 0; }
#job-progress .progress-label { line-height: 24px; font-weight: 600; }
.message { padding: 6px 10px; background: #fff8e6; border: 1px solid #f1dca6; border-radius: 4px; }
.bad { color: var(--bad); }
.message.bad { background: #fde8e8; border-color: #f3b9b9; }
.cause, pre.log-line { white-space: pre-wrap; word-break: break-word; font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace; margin: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 10px 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 140px; color: var(--ink); }
a.card:hover { border-color: var(--accent); text-decoration: none; }
.card-title { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .3px; }
.card-value { font-size: 22px; font-weight: 600; }
.card-note { font-size: 12px; color: var(--muted); }
button { font: inherit; padding: 6px 14px; border-radius: 4px; border: 1px solid #b8c0cc; background: #fff; cursor: pointer; }
button:hover { border-color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
button.small { padding: 2px 8px; font-size: 12px; }
button:disabled { opacity: .6; cursor: default; }
dialog.confirm { border: 1px solid var(--line); border-radius: 8px; padding: 18px 22px; max-width: 480px; }
dialog.confirm::backdrop { background: rgba(20, 26, 38, .45); }
dialog h3 { margin: 0 0 8px; }
.dialog-buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 14px; }
.dialog-error { color: var(--bad); font-weight: 600; }
.chart-box { background: var(--panel); border: 1px solid var(--line); padding: 8px; overflow-x: auto; }
svg text { font-size: 11px; fill: var(--muted); }
svg .lane-bg { fill: #fafbfc; }
svg .lane-bg.alt { fill: #f1f3f6; }
svg .lane-label { fill: var(--ink); font-weight: 600; }
svg .grid { stroke: #dde1e8; stroke-dasharray: 2 3; }
svg .axis { stroke: #9aa3b2; }
svg .bar rect { stroke: rgba(0, 0, 0, .25); stroke-width: .5; }
svg .bar text.bar-label { fill: #fff; font-size: 10px; pointer-events: none; }
svg .hatch-line { stroke: rgba(255, 255, 255, .7); stroke-width: 3; }
svg .bar.speculative rect:first-of-type { stroke: #111; stroke-width: 1.5; stroke-dasharray: 3 2; }
.attempt-RUNNING, svg .attempt-RUNNING rect:first-of-type { fill: var(--run); background: var(--run); }
.attempt-COMMITTING, svg .attempt-COMMITTING rect:first-of-type { fill: var(--commit); background: var(--commit); }
.attempt-SUCCEEDED, svg .attempt-SUCCEEDED rect:first-of-type { fill: var(--ok); background: var(--ok); }
.attempt-FAILED, svg .attempt-FAILED rect:first-of-type { fill: var(--bad); background: var(--bad); }
.attempt-KILLED, svg .attempt-KILLED rect:first-of-type { fill: var(--warn); background: var(--warn); }
.legend { display: flex; gap: 14px; font-size: 12px; color: var(--muted); margin: 4px 0; }
.legend-item { display: inline-flex; align-items: center; gap: 5px; }
.swatch { display: inline-block; width: 14px; height: 10px; border-radius: 2px; }
.speculative-swatch { background: repeating-linear-gradient(45deg, #777, #777 2px, #fff 2px, #fff 4px); border: 1px dashed #111; }
svg .rate-line { fill: none; stroke: var(--accent); stroke-width: 2; }
svg .rate-area { fill: rgba(47, 111, 222, .15); }
.level-warn { color: var(--warn); font-weight: 600; }
.level-error { color: var(--bad); font-weight: 600; }
.summary { color: var(--muted); }
code { font: 12px ui-monospace, Menlo, Consolas, monospace; }
`;
