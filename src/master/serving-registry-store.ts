/**
 * The registered serving nodes, kept across master restarts in
 * `<views>/_catalog/serving-nodes.json` (written atomically: temp file,
 * fsync, rename). Without it a restarted master forgot a node that had
 * crashed, and the speed handoff moved past the version that node still
 * served (DESIGN rule 3: on any doubt, keep).
 *
 * Saved by the master's timer, at most once a second and only when
 * membership or a node's current versions changed: a change in the last
 * second before a master crash is lost, which a live node repairs at its
 * next heartbeat.
 */
import { join } from 'node:path';
import { describe, LaminateError } from '../common/errors.js';
import { readJsonFile, writeFileAtomic } from '../storage/atomic-file.js';
import type { PersistedServingNode } from './serving-registry.js';

const FILE = 'serving-nodes.json';

/** The file's path under the view catalog's folder. */
export function servingNodesPath(catalogDir: string): string {
  return join(catalogDir, FILE);
}

function isVersions(v: unknown): v is PersistedServingNode['current'] {
  return Array.isArray(v) && v.every((x: unknown) => typeof x === 'object' && x !== null
    && typeof (x as { view?: unknown }).view === 'string' && Number.isSafeInteger((x as { version?: unknown }).version));
}

/**
 * The nodes saved last, or none when the file does not exist.
 *
 * @throws LaminateError DATA_LOSS for a file that is not a list of nodes
 *   (the master refuses to start rather than forget who holds a handoff).
 */
export async function loadServingNodes(catalogDir: string): Promise<PersistedServingNode[]> {
  const path = servingNodesPath(catalogDir);
  const parsed = await readJsonFile(path);
  if (parsed === undefined) return [];
  const nodes = (parsed as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(nodes) || !nodes.every((n: unknown) => typeof n === 'object' && n !== null
    && typeof (n as PersistedServingNode).nodeId === 'string' && typeof (n as PersistedServingNode).address === 'string'
    && Number.isSafeInteger((n as PersistedServingNode).lastHeardAt) && isVersions((n as PersistedServingNode).current))) {
    throw new LaminateError('DATA_LOSS', `Malformed '${path}': expected { nodes: [{ nodeId, address, lastHeardAt, current: [{ view, version }] }] }, got ${describe(parsed)}`);
  }
  return nodes as PersistedServingNode[];
}

/** Replaces the file with `nodes`. Safe to repeat. */
export async function saveServingNodes(catalogDir: string, nodes: readonly PersistedServingNode[]): Promise<void> {
  await writeFileAtomic(servingNodesPath(catalogDir), `${JSON.stringify({ nodes }, null, 1)}\n`);
}
