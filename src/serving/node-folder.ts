/**
 * A serving node's folder (`laminate serve --data DIR`):
 *
 *   DIR/node-id     the node's id, chosen at its first start and kept, so
 *                   that the master knows a restarted node as the same one
 *   DIR/LOCK        the pid of the process using the folder
 *   DIR/views/      local copies of the versions it serves (version-loader.ts)
 *
 * Two processes on one folder would remove each other's copies: the lock
 * refuses a second one while the first lives. A lock left by a process
 * that died (SIGKILL) is taken over, as its pid no longer runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, LaminateError } from '../common/errors.js';
import { writeFileAtomic } from '../view/durable-files.js';

const NODE_ID_FILE = 'node-id';
const LOCK_FILE = 'LOCK';
const NODE_ID_RE = /^serving-[0-9a-f]{12}$/;

/** The folder of local copies under a node's folder. */
export function localViewsDir(dataDir: string): string {
  return join(dataDir, 'views');
}

/** A new node id: `serving-` and 12 hex digits. */
export function newServingNodeId(): string {
  return `serving-${randomBytes(6).toString('hex')}`;
}

/**
 * The node's id: read from its folder, or chosen and written there at the
 * first start. Called once per start.
 *
 * @throws LaminateError DATA_LOSS when the file holds something else than an id.
 */
export async function nodeIdOf(dataDir: string): Promise<string> {
  const path = join(dataDir, NODE_ID_FILE);
  try {
    const text = (await readFile(path, 'utf8')).trim();
    if (!NODE_ID_RE.test(text)) throw new LaminateError('DATA_LOSS', `Malformed '${path}': expected a serving node id like serving-0a1b2c3d4e5f, got ${describe(text.slice(0, 40))}`);
    return text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = newServingNodeId();
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
export async function lockFolder(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const held = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  if (Number.isSafeInteger(held) && held > 0 && held !== process.pid && alive(held)) {
    throw new LaminateError('FAILED_PRECONDITION', `Serving node folder '${dataDir}' is in use by process ${held}: give each serving node its own --data`);
  }
  await writeFileAtomic(join(dataDir, LOCK_FILE), Buffer.from(`${process.pid}\n`));
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await rm(path, { force: true });
  };
}
