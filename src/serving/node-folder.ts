/**
 * A serving node's folder (`laminate serve --data DIR`):
 *
 *   DIR/node-id     the node's id (src/view/node-folder.ts)
 *   DIR/LOCK        the pid of the process using the folder
 *   DIR/views/      local copies of the versions it serves (version-loader.ts)
 *
 * Two processes on one folder would remove each other's copies: the lock
 * refuses a second one while the first lives.
 */
import { join } from 'node:path';
import { lockNodeFolder, newNodeId, nodeIdIn, type NodeRole } from '../view/node-folder.js';

const SERVING: NodeRole = { prefix: 'serving', name: 'serving node', flag: '--data' };

/** The folder of local copies under a node's folder. */
export function localViewsDir(dataDir: string): string {
  return join(dataDir, 'views');
}

/** A new node id: `serving-` and 12 hex digits. */
export function newServingNodeId(): string {
  return newNodeId(SERVING);
}

/** The node's id, kept in its folder (see nodeIdIn). */
export function nodeIdOf(dataDir: string): Promise<string> {
  return nodeIdIn(dataDir, SERVING);
}

/** Takes the folder for this process (see lockNodeFolder). */
export function lockFolder(dataDir: string): Promise<() => Promise<void>> {
  return lockNodeFolder(dataDir, SERVING);
}
