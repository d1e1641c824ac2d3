/**
 * The console's charts as SVG nodes, from the geometry of chart-geometry.ts:
 * a job's event timeline and a rate line. Rebuilt on every update.
 */
import { lineGeometry, rateSeries, ROW_PX, timelineLayout, type TimelineAttempt } from './chart-geometry.js';
import { h, s } from './dom.js';
import { formatDuration, formatRate, formatTime } from './format.js';

const LABEL_PX = 110;
const AXIS_PX = 22;
const PAD_PX = 8;

/**
 * The event timeline: one lane per worker, a bar per attempt from its start
 * to its finish (or now), coloured by state (class `attempt-<STATE>`),
 * speculative ones hatched and marked; hover shows the attempt.
 */
export function timelineChart(attempts: readonly TimelineAttempt[], fromMs: number, nowMs: number, width = 900): Element {
  if (!attempts.some((a) => a.startMs > 0)) return h('p', { class: 'empty' }, 'No attempt has started yet.');
  const plotW = width - LABEL_PX - PAD_PX;
  const t = timelineLayout(attempts, fromMs, nowMs, plotW);
  const height = t.height + AXIS_PX + PAD_PX;
  return s('svg', { class: 'timeline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'Event timeline of the job\'s attempts' },
    s('defs', {}, s('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
      s('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'hatch-line' }))),
    t.lanes.map((lane, i) => s('g', { class: 'lane' },
      s('rect', { x: 0, y: lane.y, width, height: lane.rows * ROW_PX, class: i % 2 === 0 ? 'lane-bg' : 'lane-bg alt' }),
      s('text', { x: 4, y: lane.y + ROW_PX - 5, class: 'lane-label' }, lane.workerId))),
    s('g', { transform: `translate(${LABEL_PX},0)` },
      t.ticks.map((tick) => s('g', { class: 'tick' },
        s('line', { x1: tick.x, y1: 0, x2: tick.x, y2: t.height, class: 'grid' }),
        s('text', { x: tick.x, y: t.height + 14, 'text-anchor': 'middle' }, `+${formatDuration(tick.ms)}`))),
      t.bars.map((b) => {
        const y = t.lanes[b.lane]!.y + b.row * ROW_PX + 2;
        const a = b.attempt;
        const title = `${a.attemptId} (${a.kind}${a.speculative ? ', speculative' : ''}) on ${a.workerId}: ${a.state}, `
          + `${formatDuration(b.endMs - a.startMs)}${a.finishMs === 0 ? ' so far' : ''}${a.failure === '' ? '' : `; ${a.failure}`}`;
        return s('g', { class: `bar attempt-${a.state.replace(/[^A-Z_]/g, '')}${a.speculative ? ' speculative' : ''}`, 'data-attempt': a.attemptId },
          s('title', {}, title),
          s('rect', { x: b.x, y, width: b.width, height: ROW_PX - 4, rx: 2 }),
          a.speculative ? s('rect', { x: b.x, y, width: b.width, height: ROW_PX - 4, fill: 'url(#hatch)', class: 'spec-mark' }) : null,
          b.width > 70 ? s('text', { x: b.x + 3, y: y + ROW_PX - 8, class: 'bar-label' }, a.taskId.replace(/^job-\d+-/, '')) : null);
      })));
}

/** The legend of the timeline's colours. */
export function timelineLegend(): HTMLElement {
  const states = ['RUNNING', 'COMMITTING', 'SUCCEEDED', 'FAILED', 'KILLED'];
  return h('div', { class: 'legend' },
    states.map((st) => h('span', { class: 'legend-item' }, h('span', { class: `swatch attempt-${st}` }), st.toLowerCase())),
    h('span', { class: 'legend-item' }, h('span', { class: 'swatch speculative-swatch' }), 'speculative'));
}

/** A rate line over the samples' time range (records/s, or bytes/s when `bytes`). */
export function rateChart(samples: readonly { readonly at: number; readonly value: number }[], bytes: boolean, width = 640, height = 160): Element {
  const points = rateSeries(samples);
  if (points.length < 2) return h('p', { class: 'empty' }, 'Not enough history yet (the master samples every 5 s).');
  const left = 70;
  const plotW = width - left - PAD_PX;
  const plotH = height - AXIS_PX - PAD_PX;
  const from = points[0]!.at;
  const to = points[points.length - 1]!.at;
  const g = lineGeometry(points, from, to, plotW, plotH);
  const last = points[points.length - 1]!;
  return s('svg', { class: 'rate-chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': bytes ? 'Append rate, bytes per second' : 'Append rate, records per second' },
    s('g', { transform: `translate(${left},${PAD_PX})` },
      s('line', { x1: 0, y1: plotH, x2: plotW, y2: plotH, class: 'axis' }),
      s('line', { x1: 0, y1: 0, x2: 0, y2: plotH, class: 'axis' }),
      s('text', { x: -4, y: 10, 'text-anchor': 'end' }, formatRate(g.max, bytes)),
      s('text', { x: -4, y: plotH, 'text-anchor': 'end' }, '0'),
      s('text', { x: 0, y: plotH + 16 }, formatTime(from).slice(11)),
      s('text', { x: plotW, y: plotH + 16, 'text-anchor': 'end' }, formatTime(to).slice(11)),
      s('path', { d: g.area, class: 'rate-area' }),
      s('path', { d: g.line, class: 'rate-line' },
        s('title', {}, `latest: ${formatRate(last.perSec, bytes)}`))));
}
