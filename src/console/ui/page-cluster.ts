/**
 * The overview (`/`) and the cluster page (`/cluster`): workers with their
 * slots, memory, health and running attempts; serving nodes with the
 * versions they hold; speed nodes with their lag and freshness.
 */
import type { ClusterAnswer, Overview } from './api-types.js';
import { badge, facts, h, link, section, table, type Child } from './dom.js';
import { formatAgo, formatCount, formatDuration, formatTime, speedLagFreshness } from './format.js';

export function overviewPage(o: Overview): Child {
  const c = o.counts;
  const card = (href: string, title: string, value: Child, note: Child = null): HTMLElement =>
    h('a', { class: 'card', href }, h('div', { class: 'card-title' }, title), h('div', { class: 'card-value' }, value), note === null ? null : h('div', { class: 'card-note' }, note));
  return [
    h('h1', {}, 'Overview'),
    h('div', { class: 'cards' },
      card('/jobs', 'Jobs running', formatCount(c.jobsRunning), `${formatCount(c.jobsTotal)} known`),
      card('/cluster', 'Workers alive', formatCount(c.workersAlive), c.workersLost > 0 ? h('span', { class: 'bad' }, `${c.workersLost} lost`) : 'none lost'),
      card('/datasets', 'Datasets', formatCount(c.datasets)),
      card('/views', 'Views', formatCount(c.views)),
      card('/functions', 'Functions', formatCount(c.functions)),
      card('/cluster', 'Serving nodes', formatCount(c.servingNodes)),
      card('/cluster', 'Speed nodes', formatCount(c.speedNodes))),
    section('Master', facts([
      ['gRPC address', o.master.address],
      ['HTTP address', o.master.httpAddress],
      ['Started', `${formatTime(o.master.startedAt)} (up ${formatDuration(o.at - o.master.startedAt)})`],
    ])),
  ];
}

export function clusterPage(c: ClusterAnswer): Child {
  const now = c.at;
  const alive = c.workers.filter((w) => w.alive).length;
  return [
    h('h1', {}, 'Cluster'),
    section(`Workers (${alive} alive, ${c.workers.length - alive} lost)`, table(
      ['Worker', 'Health', 'Slots used', 'Memory used', 'Last heartbeat', 'Running attempts', 'Shuffle'],
      c.workers.map((w) => [
        w.workerId,
        badge(w.alive ? 'ALIVE' : 'LOST', w.alive ? 'alive' : 'lost'),
        `${w.usedSlots} / ${w.slots}`,
        `${formatCount(w.usedMemoryMb)} / ${formatCount(w.memoryMb)} MB`,
        formatAgo(w.lastHeartbeatMs, now),
        w.runningAttemptIds.length === 0 ? '-' : h('ul', { class: 'plain' }, w.runningAttemptIds.map((id) => h('li', {}, attemptLink(id)))),
        `${w.shuffleAddress}${w.externalShuffle ? ' (node service)' : ''}`,
      ]), 'No worker has registered.', { id: 'workers' })),
    section('Serving nodes', table(
      ['Node', 'Address', 'Last heard', 'Versions loaded'],
      c.servingNodes.map((n) => [
        n.nodeId, n.address, formatAgo(n.lastHeardAt, now),
        n.loaded.length === 0 ? 'none' : h('ul', { class: 'plain' }, n.loaded.map((l) => h('li', {}, link(`/views/${encodeURIComponent(l.view)}`, l.view), ` v${l.version}`))),
      ]), 'No serving node.', { id: 'serving-nodes' })),
    section('Speed nodes', table(
      ['Node', 'Address', 'Last heard', 'View', 'Partitions', 'Lag (records)', 'Freshness'],
      c.speed.nodes.flatMap((n) => {
        const views = n.views.length === 0 ? [undefined] : n.views;
        return views.map((v) => {
          const lf = v === undefined ? undefined : speedLagFreshness(v, now);
          return [
            n.nodeId, n.address, formatAgo(n.lastHeardAt, now),
            v === undefined ? 'none' : link(`/views/${encodeURIComponent(v.view)}`, v.view),
            v === undefined ? '-' : v.partitions.map((p) => p.partition).join(', '),
            lf === undefined ? '-' : formatCount(lf.lag),
            lf === undefined ? '-' : lf.freshness,
          ];
        });
      }), 'No speed node.', { id: 'speed-nodes' })),
  ];
}

/** An attempt id links to its job's page (job-0007-m-00012-a2 -> /jobs/job-0007). */
function attemptLink(attemptId: string): Child {
  const job = /^(job-\d+)-/.exec(attemptId)?.[1];
  return job === undefined ? attemptId : link(`/jobs/${encodeURIComponent(job)}`, attemptId);
}
