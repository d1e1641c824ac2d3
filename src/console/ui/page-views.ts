/**
 * The views list (`/views`) and a view's page (`/views/:name`): versions with
 * their cuts, the build history, which version each serving node serves, the
 * speed side's lag and freshness, the handoff, and rollback to an older
 * version.
 */
import { callApi } from './api.js';
import type { ViewAnswer, ViewsAnswer } from './api-types.js';
import { confirmAction } from './confirm.js';
import { badge, facts, h, link, section, table, type Child } from './dom.js';
import { formatAgo, formatBytes, formatCount, formatCut, formatDuration, formatTime, speedLagFreshness } from './format.js';
import { pageHref } from './routes.js';

export function viewsPage(d: ViewsAnswer): Child {
  return [
    h('h1', {}, 'Views'),
    table(['View', 'Source', 'Merge', 'Current version', 'Current cut', 'Partitions', 'Builds', 'Last build'],
      d.views.map((v) => [
        link(pageHref('views', v.name), v.name), link(pageHref('datasets', v.source), v.source), v.merge,
        v.currentVersion === 0 ? 'none yet' : `v${v.currentVersion}`, formatCut(v.currentCut), String(v.partitions),
        v.everyMs > 0 ? `every ${formatDuration(v.everyMs)}` : 'on demand',
        v.lastBuildError === '' ? 'ok' : h('span', { class: 'bad' }, v.lastBuildError),
      ]), 'No view has been deployed.', { id: 'views' }),
  ];
}

export function viewPage(d: ViewAnswer, notify: (text: string) => void): Child {
  const v = d.view;
  const rollback = (version: number): HTMLButtonElement => h('button', {
    type: 'button', class: 'danger small', 'data-rollback': version,
    onclick: () => confirmAction({
      title: `Roll ${v.name} back to v${version}?`,
      message: `Serve version ${version} of view ${v.name} as current instead of v${v.currentVersion}? Serving nodes switch within a heartbeat.`,
      action: `Roll back to v${version}`,
      run: async () => {
        await callApi('POST', `/api/views/${encodeURIComponent(v.name)}/rollback`, { version });
      },
      done: () => notify(`${v.name} rolled back to v${version}.`),
    }),
  }, `Roll back to v${version}`);
  const handoff = d.speed.handoff;
  return [
    h('h1', {}, `View ${v.name}`),
    v.lastBuildError === '' ? null : h('p', { class: 'message bad' }, `Last build failed: ${v.lastBuildError}`),
    facts([
      ['Source', link(pageHref('datasets', v.source), v.source)],
      ['Merge', v.merge],
      ['Current version', h('span', { id: 'current-version' }, v.currentVersion === 0 ? 'none yet' : `v${v.currentVersion}`)],
      ['Current cut', formatCut(v.currentCut)],
      ['Partitions', String(v.partitions)],
      ['Builds', v.everyMs > 0 ? `every ${formatDuration(v.everyMs)}` : 'on demand'],
      ['Versions kept', String(v.keep)],
      ['Deployed', formatTime(v.deployedAt)],
      ['Definition', h('code', {}, v.definitionHash.slice(0, 16))],
    ]),
    section('Versions', table(['Version', 'Cut', 'Records', 'Keys', 'Bytes', 'Built', 'Job', 'Served by', ''],
      d.versions.map((ver) => [
        ver.current ? h('strong', {}, `v${ver.version} (current)`) : `v${ver.version}`,
        formatCut(ver.cut), formatCount(ver.records), formatCount(ver.keys), formatBytes(ver.bytes), formatTime(ver.builtAt),
        ver.jobId === '' ? '-' : link(pageHref('jobs', ver.jobId), ver.jobId),
        [ver.servedBy.length === 0 ? 'none' : ver.servedBy.join(', '),
          ver.refusedBy.length === 0 ? null : h('div', { class: 'bad' }, `refused: ${ver.refusedBy.join('; ')}`)],
        ver.current ? null : rollback(ver.version),
      ]), 'No version published yet.', { id: 'versions' })),
    section('Builds', table(['Version', 'State', 'Cut', 'Kind', 'Job', 'Error'],
      d.builds.map((b) => [
        `v${b.version}`, badge(b.state), formatCut(b.cut), b.incremental ? `incremental on v${b.baseVersion}` : 'full',
        b.jobId === '' ? '-' : link(pageHref('jobs', b.jobId), b.jobId), b.error === '' ? '' : h('span', { class: 'bad' }, b.error),
      ]), 'No build yet.', { id: 'builds' })),
    section('Serving nodes', table(['Node', 'Address', 'Serves', 'Loaded', 'Last heard'],
      d.servingNodes.map((n) => [
        n.nodeId, n.address, n.serves === 0 ? 'none' : `v${n.serves}`, n.loaded.length === 0 ? 'none' : n.loaded.map((x) => `v${x}`).join(', '),
        formatAgo(n.lastHeardAt, d.at),
      ]), 'No serving node holds this view.', { id: 'view-serving' })),
    section('Speed layer', table(['Node', 'Address', 'Partitions', 'Lag (records)', 'Freshness', 'Notes'],
      d.speed.nodes.map((n) => {
        const lf = n.report === null ? undefined : speedLagFreshness(n.report, d.at);
        const notes = (n.report?.partitions ?? []).flatMap((p) => [
          p.stopped === undefined ? '' : `p${p.partition} stopped at ${p.stopped.offset}: ${p.stopped.message}`,
          p.busy === undefined ? '' : `p${p.partition}: ${p.busy}`,
        ]).filter((x) => x !== '');
        return [n.nodeId, n.address, n.partitions.join(', '), lf === undefined ? 'no report yet' : formatCount(lf.lag), lf?.freshness ?? '-',
          notes.length === 0 ? '' : h('span', { class: 'bad' }, notes.join('; '))];
      }), 'No speed process runs this view.', { id: 'view-speed' }),
    handoff === null ? h('p', { class: 'empty' }, 'No handoff: the speed layer does not run this view.') : facts([
      ['Handoff cut', formatCut(handoff.handoffCut)],
      ['Kept boundaries', handoff.cuts.length === 0 ? 'none' : handoff.cuts.map((c) => formatCut(c)).join(' ')],
      ['Current version', handoff.currentVersion === 0 ? 'none' : `v${handoff.currentVersion}`],
      ['Held back by', handoff.heldBy.length === 0 ? 'nobody (at the current version)'
        : handoff.heldBy.map((x) => `${x.nodeId} serving v${x.version}${x.live ? '' : ` (down, heard ${formatAgo(x.lastHeardAt, d.at)})`}`).join('; ')],
    ])),
  ];
}
