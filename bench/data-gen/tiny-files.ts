/** Many one-line files, one map task each: the tasks benchmark's input. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes `count` files of one short line into dir (created); returns dir. */
export function writeTinyFiles(dir: string, count: number): string {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) writeFileSync(join(dir, `f-${String(i).padStart(5, '0')}.txt`), `record ${i}\n`);
  return dir;
}
