/**
 * The sequential reference: runs a job module's map and reduce in one loop
 * over the whole input, with none of the engine's code (no splits, sort
 * buffer, shuffle or merge), and formats the output as the spec says. Every
 * integration test compares the engine's output with this.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

interface AnyJob {
  map(record: unknown, emit: (k: string, v: unknown) => void, ctx: unknown): unknown;
  reduce(key: string, values: unknown[], emit: (k: string, v: unknown) => void, ctx: unknown): unknown;
}

async function inputFiles(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths.map((x) => resolve(x))) {
    if ((await stat(p)).isDirectory()) {
      for (const f of (await readdir(p)).sort()) {
        if (f.startsWith('.') || f.startsWith('_')) continue;
        if ((await stat(join(p, f))).isFile()) out.push(join(p, f));
      }
    } else out.push(p);
  }
  return out;
}

function formatLine(key: string, value: unknown): string {
  const needsQuote = (s: string): boolean => /[\t\n\r]/.test(s);
  const k = needsQuote(key) ? JSON.stringify(key) : key;
  const v = typeof value === 'string' ? (needsQuote(value) ? JSON.stringify(value) : value) : JSON.stringify(value);
  return `${k}\t${v}`;
}

/** Output lines (without line endings) in key order, as one reducer would write them. */
export async function runSequential(jobPath: string, inputs: string[], format: 'text' | 'whole' | 'jsonl' = 'text'): Promise<string[]> {
  const job = ((await import(resolve(jobPath))) as { default: AnyJob }).default;
  const groups = new Map<string, unknown[]>();
  const emit = (k: string, v: unknown): void => {
    // Values go through a JSON round trip as they would through msgpack.
    const copy = v === undefined ? v : JSON.parse(JSON.stringify(v));
    const list = groups.get(k);
    if (list) list.push(copy);
    else groups.set(k, [copy]);
  };
  for (const path of await inputFiles(inputs)) {
    const text = await readFile(path, 'utf8');
    const ctx = { path, attemptId: 'sequential', counter: () => {} };
    if (format === 'whole') {
      await job.map(text, emit, ctx);
      continue;
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const raw of lines) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (format === 'jsonl') {
        if (line.trim() !== '') await job.map(JSON.parse(line), emit, ctx);
      } else await job.map(line, emit, ctx);
    }
  }
  const keys = [...groups.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const out: string[] = [];
  for (const key of keys) {
    await job.reduce(key, groups.get(key)!, (k, v) => out.push(formatLine(k, v)), { path: '', attemptId: 'sequential', counter: () => {} });
  }
  return out;
}

/** The lines of a committed output folder, part by part; throws if _SUCCESS is missing. */
export async function readOutput(dir: string): Promise<{ parts: string[][]; lines: string[] }> {
  const names = await readdir(dir);
  if (!names.includes('_SUCCESS')) throw new Error(`${dir} has no _SUCCESS`);
  const parts: string[][] = [];
  for (const f of names.filter((n) => n.startsWith('part-')).sort()) {
    const text = await readFile(join(dir, f), 'utf8');
    parts.push(text === '' ? [] : text.replace(/\n$/, '').split('\n'));
  }
  return { parts, lines: parts.flat() };
}

/** Byte order of the keys of output lines. */
export function byKey(a: string, b: string): number {
  const ka = a.slice(0, a.indexOf('\t'));
  const kb = b.slice(0, b.indexOf('\t'));
  return Buffer.compare(Buffer.from(ka), Buffer.from(kb));
}
