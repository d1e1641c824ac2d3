/**
 * `laminate speed-status`: the speed processes (what each folds and how
 * far) and, per view, the handoff cut with the serving nodes that hold it
 * back; `laminate forget-serving-node NODE`: an operator's word that a
 * serving node is gone for good, so that its last report stops holding the
 * speed handoff.
 */
import type { Command } from 'commander';
import type { SpeedStatus } from '../common/speed-status.js';
import { ViewsClient } from '../protocol/view-rpc.js';
import { address } from './arguments.js';
import { print } from './client-command.js';

function ago(at: number, now: number): string {
  return `${((now - at) / 1000).toFixed(1)} s ago`;
}

/** The status as text, one line per process partition group and per view. */
export function formatSpeedStatus(s: SpeedStatus, now: number): string[] {
  const lines = ['speed processes'];
  if (s.nodes.length === 0) lines.push('  none running: answers are batch only');
  for (const n of s.nodes) {
    lines.push(`  ${n.nodeId} ${n.address} heard ${ago(n.lastHeardAt, now)}`);
    for (const a of n.assigned) {
      const report = n.views.find((v) => v.view === a.view);
      const parts = a.partitions.map((p) => {
        const r = report?.partitions.find((x) => x.partition === p);
        if (r === undefined) return `p${p} starting`;
        const state = r.stopped ? ` STOPPED at ${r.stopped.offset}: ${r.stopped.message}` : r.busy ? ` busy (${r.busy})` : '';
        return `p${p} [${r.start}, ${r.applied}) lag ${r.end - r.applied}${state}`;
      });
      lines.push(`    ${a.view}: ${parts.join('; ')}${report?.watermark !== undefined ? `; watermark ${new Date(report.watermark).toISOString()}` : ''}`);
    }
  }
  lines.push('handoff');
  if (s.handoffs.length === 0) lines.push('  no view deployed');
  for (const h of s.handoffs) {
    const held = h.heldBy.length === 0 ? 'at the current version'
      : `held back by ${h.heldBy.map((x) => `${x.nodeId} (serving v${x.version}${x.live ? '' : `, down: last heard ${ago(x.lastHeardAt, now)}`})`).join(', ')}`;
    lines.push(`  ${h.view}: v${h.currentVersion} cut ${h.handoffCut.join(',')} ${held}; keeps ${h.cuts.length} cut(s)`);
  }
  return lines;
}

export function registerSpeedStatus(program: Command): void {
  program.command('speed-status').description('the speed processes, and per view the handoff cut with the serving nodes that hold it back')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--json', 'print the status as JSON')
    .action(async (o: { master: string; json?: boolean }) => {
      const views = new ViewsClient(o.master);
      try {
        const s = await views.listSpeedNodes();
        if (o.json === true) print(JSON.stringify(s));
        else for (const line of formatSpeedStatus(s, Date.now())) print(line);
      } finally {
        views.close();
      }
    });
  program.command('forget-serving-node').description('forget a serving node gone for good: it no longer holds the speed handoff back')
    .argument('<node>', 'the serving node\'s id (serving-...)')
    .requiredOption('--master <host:port>', 'the master', address)
    .action(async (node: string, o: { master: string }) => {
      const views = new ViewsClient(o.master);
      try {
        const forgotten = await views.forgetServingNode(node);
        print(forgotten ? `serving node ${node} forgotten` : `serving node ${node} was not registered`);
        if (!forgotten) process.exitCode = 1;
      } finally {
        views.close();
      }
    });
}
