/**
 * The RPC floor of the serving benchmark: a grpc-js server answering the
 * same Serving service (Get/MultiGet, Scan) as `laminate serve`, from a Map
 * in memory holding every entry of one view version (read once from its
 * files at start). No versions, no leases, no checksums at read time: what
 * is left is the cost of the RPC itself.
 *
 *   node dist/bench/baselines/serving-rpc-floor.js VERSION_DIR VIEW
 * Prints `listening on HOST:PORT` once it serves.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { serveServing } from '../../src/protocol/serving-rpc.js';
import type { ScanChunkAnswer, ServedEntry } from '../../src/common/serving-shapes.js';
import { ViewFileReader } from '../../src/view/view-file-reader.js';

const [dir, view] = process.argv.slice(2);
if (!dir || !view) throw new Error('usage: serving-rpc-floor VERSION_DIR VIEW');
const values = new Map<string, Buffer>();
for (const name of readdirSync(dir).filter((n) => n.startsWith('part-')).sort()) {
  const reader = await ViewFileReader.open(join(dir, name));
  for await (const batch of reader.scanBatches()) for (const e of batch) values.set(e.key, Buffer.from(e.value));
  await reader.close();
}
const keys = [...values.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
const coverage = { version: 1, cut: [] };
const EMPTY = Buffer.alloc(0);
const server = await serveServing({
  get(q) {
    return Promise.resolve({
      view: q.view, coverage,
      entries: q.keys.map((key): ServedEntry => {
        const v = values.get(key);
        return v === undefined ? { key, value: EMPTY, found: false } : { key, value: v, found: true };
      }),
    });
  },
  async *scan(q): AsyncIterable<ScanChunkAnswer> {
    let i = 0;
    if (q.from !== undefined) while (i < keys.length && keys[i]! < q.from) i++;
    const limit = q.limit ?? Number.POSITIVE_INFINITY;
    let sent = 0;
    while (i < keys.length && sent < limit) {
      const entries: ServedEntry[] = [];
      for (; i < keys.length && entries.length < 512 && sent < limit; i++, sent++) entries.push({ key: keys[i]!, value: values.get(keys[i]!)!, found: true });
      yield { view: q.view, coverage, entries };
      await Promise.resolve();
    }
  },
}, '127.0.0.1', 0);
// Exit (rather than die) on SIGTERM, so that a `node --cpu-prof` run writes its profile.
process.once('SIGTERM', () => process.exit(0));
process.stdout.write(`listening on 127.0.0.1:${server.port}\n`);
