/**
 * The functions list (`/functions`) and a function's page
 * (`/functions/:name`): invocations, errors, throttles, durations, cold
 * starts, dead letters, its versions and recent logs; redeploy and delete.
 */
import { callApi } from './api.js';
import type { FunctionAnswer, FunctionsAnswer, FunctionSummary, LogsAnswer } from './api-types.js';
import { confirmAction } from './confirm.js';
import { facts, h, link, section, table, type Child } from './dom.js';
import { formatBytes, formatCount, formatDuration, formatTime } from './format.js';
import { pageHref } from './routes.js';

function triggersOf(f: FunctionSummary): string {
  const t = f.live.config.triggers;
  if (t.length === 0) return 'invoked only';
  return t.map((x) => {
    const target = x['dataset'] ?? x['view'] ?? x['dir'] ?? x['expression'];
    return typeof target === 'string' ? `${x.kind} ${target}` : x.kind;
  }).join(', ');
}

export function functionsPage(d: FunctionsAnswer): Child {
  return [
    h('h1', {}, 'Functions'),
    table(['Function', 'Version', 'Triggers', 'Invocations', 'Errors', 'Throttles', 'p50', 'p99', 'Cold starts', 'Dead letters', 'Running', 'Queued'],
      d.functions.map((f) => {
        const m = f.metrics;
        return [
          link(pageHref('functions', f.live.name), f.live.name), `v${f.live.version}`, triggersOf(f), formatCount(m.invocations),
          m.errors > 0 ? h('span', { class: 'bad' }, formatCount(m.errors)) : '0', formatCount(m.throttles),
          formatDuration(m.durationP50Ms), formatDuration(m.durationP99Ms), formatCount(m.coldStarts),
          m.deadLetters > 0 ? h('span', { class: 'bad' }, formatCount(m.deadLetters)) : '0', formatCount(m.running), formatCount(m.queued),
        ];
      }), 'No function has been deployed.', { id: 'functions' }),
  ];
}

/**
 * The function page keeps its logs between updates: they are fetched again
 * only when the invocation count moves (or on Refresh), not on every tick.
 */
export class FunctionView {
  private logs: LogsAnswer | undefined;
  private logsError = '';
  private logsFor = -1;
  private loading = false;

  constructor(private readonly name: string, private readonly rerender: () => void) {}

  render(d: FunctionAnswer, notify: (text: string) => void): Child {
    const f = d.function;
    const m = f.metrics;
    const cfg = f.live.config;
    if (m.invocations !== this.logsFor) this.loadLogs(m.invocations);
    const path = `/api/functions/${encodeURIComponent(f.live.name)}`;
    const redeploy = h('button', {
      type: 'button', id: 'redeploy-function',
      onclick: () => confirmAction({
        title: `Redeploy ${f.live.name}?`,
        message: `Deploy a new version of ${f.live.name} with the same code and configuration as v${f.live.version}? New invocations run on fresh containers.`,
        action: 'Redeploy',
        run: async () => {
          await callApi('POST', `${path}/redeploy`);
        },
        done: () => notify(`${f.live.name} redeployed.`),
      }),
    }, 'Redeploy');
    const del = h('button', {
      type: 'button', class: 'danger', id: 'delete-function',
      onclick: () => confirmAction({
        title: `Delete ${f.live.name}?`,
        message: `Delete function ${f.live.name} and every version of it? Its triggers stop. This cannot be undone.`,
        action: 'Delete function',
        run: async () => {
          await callApi('DELETE', path);
        },
        done: () => window.location.assign('/functions'),
      }),
    }, 'Delete');
    return [
      h('div', { class: 'page-head' }, h('h1', {}, `Function ${f.live.name}`), h('div', { class: 'actions' }, redeploy, del)),
      h('div', { class: 'cards' },
        stat('Invocations', formatCount(m.invocations)), stat('Errors', formatCount(m.errors), m.errors > 0),
        stat('Throttles', formatCount(m.throttles)), stat('Duration p50', formatDuration(m.durationP50Ms)),
        stat('Duration p99', formatDuration(m.durationP99Ms)), stat('Cold starts', formatCount(m.coldStarts)),
        stat('Dead letters', formatCount(m.deadLetters), m.deadLetters > 0), stat('Running / queued', `${m.running} / ${m.queued}`)),
      facts([
        ['Live version', `v${f.live.version} (${formatTime(f.live.createdAt)})`],
        ['Memory', `${formatCount(cfg.memoryMb)} MB`],
        ['Timeout', formatDuration(cfg.timeoutMs)],
        ['Concurrency', String(cfg.concurrency)],
        ['Retries', String(cfg.retries)],
        ['Dead-letter dataset', cfg.deadLetter === undefined ? 'none (dropped)' : link(pageHref('datasets', cfg.deadLetter), cfg.deadLetter)],
        ['Triggers', triggersOf(f)],
        ['Containers alive', String(m.containers)],
        ['Cold start init (mean)', m.coldStarts === 0 ? '-' : formatDuration(m.initMsMean)],
        ...(m.iteratorAgeMs === undefined ? [] : [['Iterator age', formatDuration(m.iteratorAgeMs)] as [string, Child]]),
      ]),
      section('Versions', table(['Version', 'Created', 'Code', 'Memory', 'Timeout'],
        d.versions.map((v) => [`v${v.version}${v.version === f.live.version ? ' (live)' : ''}`, formatTime(v.createdAt),
          `${v.codeSha256.slice(0, 12)} (${formatBytes(v.codeBytes)})`, `${v.config.memoryMb} MB`, formatDuration(v.config.timeoutMs)]),
        'No version.', { id: 'function-versions' })),
      section('Recent logs',
        h('button', { type: 'button', class: 'small', onclick: () => this.loadLogs(m.invocations) }, 'Refresh'),
        this.logsError === '' ? null : h('p', { class: 'bad' }, this.logsError),
        this.logs === undefined ? h('p', { class: 'empty' }, 'Loading logs…') : table(['Time', 'Level', 'Version', 'Request', 'Message'],
          [...this.logs.lines].reverse().map((l) => [formatTime(l.at), h('span', { class: `level-${l.level}` }, l.level), `v${l.version}`, l.requestId,
            h('pre', { class: 'log-line' }, l.message)]), 'No log lines.', { id: 'function-logs' })),
    ];
  }

  private loadLogs(invocations: number): void {
    if (this.loading) return;
    this.loading = true;
    this.logsFor = invocations;
    void callApi<LogsAnswer>('GET', `/api/functions/${encodeURIComponent(this.name)}/logs?limit=50`).then((logs) => {
      this.logs = logs;
      this.logsError = '';
    }, (err: unknown) => {
      this.logsError = `Could not read the logs: ${(err as Error).message}`;
    }).finally(() => {
      this.loading = false;
      this.rerender();
    });
  }
}

function stat(title: string, value: string, bad = false): HTMLElement {
  return h('div', { class: 'card' }, h('div', { class: 'card-title' }, title), h('div', { class: bad ? 'card-value bad' : 'card-value' }, value));
}
