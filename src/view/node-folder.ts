/**
 * A node's own folder, shared by the serving node (`laminate serve --data`)
 * and the speed process (`laminate speed --data`):
 *
 *   DIR/node-id     the node's id, chosen at its first start and kept, so
 *                   that the master knows a restarted node as the same one
 *   DIR/LOCK        the pid of the process using the folder
 *
 * Two processes on one folder would undo each other's work: the lock
 * refuses a second one while the first lives. A lock left by a process
 * that died (SIGKILL) is taken over, as its pid no longer runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, LaminateError } from '../common/errors.js';
import { writeFileAtomic } from './durable-files.js';

const NODE_ID_FILE = 'node-id';
const LOCK_FILE = 'LOCK';

/** The kind of node a folder belongs to: its ids start with `<role>-`, its messages name it. */
export interface NodeRole {
  /** 'serving', 'speed'. */
  readonly prefix: string;
  /** 'serving node', 'speed process': for messages. */
  readonly name: string;
  /** The flag that chooses the folder, for messages. */
  readonly flag: string;
}

/** A new node id: the role's prefix and 12 hex digits. */
export function newNodeId(role: NodeRole): string {
  return `${role.prefix}-${randomBytes(6).toString('hex')}`;
}

/**
 * The node's id: read from its folder, or chosen and written there at the
 * first start. Called once per start.
 *
 * @throws LaminateError DATA_LOSS when the file holds something else than an id of that role.
 */
export async function nodeIdIn(dataDir: string, role: NodeRole): Promise<string> {
  const path = join(dataDir, NODE_ID_FILE);
  try {
    const text = (await readFile(path, 'utf8')).trim();
    if (!new RegExp(`^${role.prefix}-[0-9a-f]{12}$`).test(text)) {
      throw new LaminateError('DATA_LOSS', `Malformed '${path}': expected a ${role.name} id like ${role.prefix}-0a1b2c3d4e5f, got ${describe(text.slice(0, 40))}`);
    }
    return text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = newNodeId(role);
  await mkdir(dataDir, { recursive: true });
  await writeFileAtomic(join(dataDir, NODE_ID_FILE), Buffer.from(`${id}\n`));
  return id;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: a process of another user has that pid; it lives.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the folder for this process; returns the function that gives it
 * back (removes the lock; safe to call twice).
 *
 * @throws LaminateError FAILED_PRECONDITION when a live process holds it.
 */
export async function lockNodeFolder(dataDir: string, role: NodeRole): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const held = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  if (Number.isSafeInteger(held) && held > 0 && held !== process.pid && alive(held)) {
    const capital = role.name.charAt(0).toUpperCase() + role.name.slice(1);
    throw new LaminateError('FAILED_PRECONDITION', `${capital} folder '${dataDir}' is in use by process ${held}: give each ${role.name} its own ${role.flag}`);
  }
  await writeFileAtomic(join(dataDir, LOCK_FILE), Buffer.from(`${process.pid}\n`));
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await rm(path, { force: true });
  };
}
